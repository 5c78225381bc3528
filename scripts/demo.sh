#!/usr/bin/env bash
# The main job on the embedded default: SQLite kpibot.db here, the shipped sample data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/kpibot" demo "$@"
