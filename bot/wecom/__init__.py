"""The WeCom (企业微信 / 政务微信) front door: crypto, callbacks, API client, server glue."""
