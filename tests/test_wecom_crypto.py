"""WeCom callback crypto: WeCom's own worked examples, round trips, and tampering."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.wecom.crypto import (
    BadSignatureError,
    CallbackCrypto,
    ForeignReceiverError,
    UndecryptableError,
    decode_aes_key,
    signature,
)

# The worked example of WeCom's WXBizMsgCrypt samples (callback documentation).
DOC_TOKEN = "QDG6eK"
DOC_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DOC_CORP_ID = "wx5823bf96d3bd56c7"
DOC_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCU"
    "pj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
    "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+"
    "3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MB"
    "H27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDB"
    "S8R07+qN+E7Q=="
)
DOC_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
# The enterprise-WeChat edition of the same samples (weworkapi ``callback/Sample.py``).
WW_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
WW_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
WW_CORP_ID = "ww1436e0e65a779aee"
WW_ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_documented_message_verifies_and_decrypts() -> None:
    crypto = CallbackCrypto(DOC_TOKEN, DOC_AES_KEY, DOC_CORP_ID)
    plain = crypto.open(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", DOC_ENCRYPT
    )
    assert plain == (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
        "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
        "<CreateTime>1409659813</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[hello]]></Content>\n"
        "<MsgId>4561255354251345929</MsgId>\n"
        "<AgentID>218</AgentID>\n"
        "</xml>"
    )


def test_documented_url_verifications() -> None:
    doc = CallbackCrypto(DOC_TOKEN, DOC_AES_KEY, DOC_CORP_ID)
    echo = doc.open(
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", DOC_ECHOSTR
    )
    assert echo == "1616140317555161061"
    wework = CallbackCrypto(WW_TOKEN, WW_AES_KEY, WW_CORP_ID)
    echo = wework.open(
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", WW_ECHOSTR
    )
    assert echo == "1288432023552776189"


def test_signature_is_order_independent_sha1() -> None:
    assert signature("b", "a", "d", "c") == signature("a", "b", "c", "d")
    assert signature(DOC_TOKEN, "1409659813", "1372623149", DOC_ENCRYPT) == (
        "477715d11cdb4164915debcba66cb864d751f3e6"
    )


@given(st.text(max_size=3000), st.text(min_size=1, max_size=40))
def test_round_trip_any_message(message: str, corp_id: str) -> None:
    crypto = CallbackCrypto("token", KEY, corp_id)
    sealed = crypto.seal(message, "1700000000", "nonce")
    assert len(base64.b64decode(sealed.ciphertext)) % 32 == 0
    assert crypto.open(sealed.msg_signature, sealed.timestamp, sealed.nonce, sealed.ciphertext) == (
        message
    )


def test_fixed_prefix_gives_the_documented_ciphertext() -> None:
    """Encrypting the documented plain text with its own random prefix reproduces WeCom's bytes."""
    doc = CallbackCrypto(DOC_TOKEN, DOC_AES_KEY, DOC_CORP_ID)
    plain = doc.decrypt(DOC_ENCRYPT)
    key = decode_aes_key(DOC_AES_KEY)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    prefix = (decryptor.update(base64.b64decode(DOC_ENCRYPT)) + decryptor.finalize())[:16]
    assert doc.encrypt(plain, random_prefix=prefix) == DOC_ENCRYPT


def test_every_flipped_signature_character_is_refused() -> None:
    crypto = CallbackCrypto("token", KEY, "corp")
    sealed = crypto.seal("<xml/>", "1700000000", "n")
    for index in range(len(sealed.msg_signature)):
        char = sealed.msg_signature[index]
        forged = (
            sealed.msg_signature[:index]
            + ("0" if char != "0" else "1")
            + (sealed.msg_signature[index + 1 :])
        )
        with pytest.raises(BadSignatureError):
            crypto.verify(forged, sealed.timestamp, sealed.nonce, sealed.ciphertext)


@pytest.mark.parametrize("field", ["timestamp", "nonce", "ciphertext", "token"])
def test_changing_any_signed_field_breaks_the_signature(field: str) -> None:
    crypto = CallbackCrypto("token", KEY, "corp")
    sealed = crypto.seal("<xml/>", "1700000000", "n")
    values = {"timestamp": sealed.timestamp, "nonce": sealed.nonce, "ciphertext": sealed.ciphertext}
    if field == "token":
        checker = CallbackCrypto("other-token", KEY, "corp")
    else:
        checker = crypto
        values[field] = values[field][:-2] + ("AA" if values[field][-2:] != "AA" else "BB")
    with pytest.raises(BadSignatureError):
        checker.verify(
            sealed.msg_signature, values["timestamp"], values["nonce"], values["ciphertext"]
        )


def test_ciphertext_tampering_is_undecryptable() -> None:
    """Flipping a byte of the last block breaks the padding; of a middle block, the framing."""
    crypto = CallbackCrypto("token", KEY, "corp")
    ciphertext = base64.b64decode(crypto.encrypt("<xml><Content>hi</Content></xml>"))
    last_block = bytearray(ciphertext)
    last_block[-1] ^= 0x01
    with pytest.raises(UndecryptableError):
        crypto.decrypt(base64.b64encode(bytes(last_block)).decode())
    length_block = bytearray(ciphertext)
    length_block[3] ^= 0x80  # CBC: the flip lands on byte 19 of the plain text, in the length
    with pytest.raises(UndecryptableError):
        crypto.decrypt(base64.b64encode(bytes(length_block)).decode())


@pytest.mark.parametrize(
    "ciphertext",
    [
        "",
        "not base64!",
        "QUJD",
        base64.b64encode(b"x" * 17).decode(),
        base64.b64encode(b"x" * 32).decode(),
    ],
)
def test_garbage_is_undecryptable(ciphertext: str) -> None:
    with pytest.raises(UndecryptableError):
        CallbackCrypto("token", KEY, "corp").decrypt(ciphertext)


def test_a_message_for_another_corp_is_refused() -> None:
    sender = CallbackCrypto("token", KEY, "ww-other-corp")
    with pytest.raises(ForeignReceiverError):
        CallbackCrypto("token", KEY, "ww-our-corp").decrypt(sender.encrypt("<xml/>"))


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (KEY[:-1], "43 个字符"),
        (KEY + "H", "43 个字符"),
        ("!" * 43, "Base64"),
    ],
)
def test_bad_aes_keys_are_refused_plainly(key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_aes_key(key)
