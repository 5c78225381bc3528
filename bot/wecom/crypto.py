"""WeCom's callback cryptography (the WXBizMsgCrypt protocol), on the ``cryptography`` package.

WeCom signs every callback with SHA-1 over the sorted token, timestamp, nonce and ciphertext,
and encrypts the message with AES-256-CBC: key = base64(EncodingAESKey + "="), IV = the key's
first 16 bytes, PKCS#7 padding to 32-byte blocks. The plain text is 16 random bytes, the
message length as 4 bytes big-endian, the message, then the receiver id (the CorpID).

Why not wechatpy: its last release is from 2021 and it pulls in a whole WeChat SDK (and an
optional second crypto backend) for these forty lines of protocol; the cipher itself comes
from ``cryptography``, which is maintained and audited. Only the framing is written here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_KEY_CHARS = 43
_BLOCK_BITS = 256  # WeCom pads to 32-byte blocks, not AES's 16
_RANDOM_PREFIX = 16


class CallbackCryptoError(Exception):
    """A callback that cannot be trusted or read."""


class BadSignatureError(CallbackCryptoError):
    """The signature does not match: the callback did not come from WeCom."""


class UndecryptableError(CallbackCryptoError):
    """The ciphertext is not valid for our key (bad base64, padding or framing)."""


class ForeignReceiverError(CallbackCryptoError):
    """The message decrypts, but it was meant for another corp (or suite)."""


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey; ValueError if it is not one."""
    if len(encoding_aes_key) != AES_KEY_CHARS:
        raise ValueError(
            f"EncodingAESKey 应为 {AES_KEY_CHARS} 个字符，实际 {len(encoding_aes_key)} 个"
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey 不是合法的 Base64 字符串") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey 解码后应为 32 字节")
    return key


def signature(token: str, timestamp: str, nonce: str, ciphertext: str) -> str:
    """WeCom's msg_signature: hex SHA-1 over the four strings sorted and joined."""
    joined = "".join(sorted((token, timestamp, nonce, ciphertext)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sealed:
    """An encrypted message with what WeCom sends beside it."""

    ciphertext: str
    timestamp: str
    nonce: str
    msg_signature: str


class CallbackCrypto:
    """Signs, verifies, encrypts and decrypts with one app's Token, EncodingAESKey and CorpID."""

    def __init__(self, token: str, encoding_aes_key: str, receiver_id: str) -> None:
        self._token = token
        self._key = decode_aes_key(encoding_aes_key)
        self.receiver_id = receiver_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def verify(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> None:
        """Raise :class:`BadSignatureError` unless ``msg_signature`` signs the other three."""
        expected = signature(self._token, timestamp, nonce, ciphertext)
        if not hmac.compare_digest(expected, msg_signature.strip().lower()):
            raise BadSignatureError("msg_signature mismatch")

    def decrypt(self, ciphertext: str) -> str:
        """The message inside ``ciphertext``; checks padding, framing and the receiver id."""
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UndecryptableError("ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise UndecryptableError("ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise UndecryptableError("bad PKCS#7 padding") from exc
        header = _RANDOM_PREFIX + 4
        if len(plain) < header:
            raise UndecryptableError("plain text shorter than its header")
        (length,) = struct.unpack(">I", plain[_RANDOM_PREFIX:header])
        if header + length > len(plain):
            raise UndecryptableError("declared length beyond the plain text")
        message = plain[header : header + length]
        receiver = plain[header + length :]
        try:
            text = message.decode("utf-8")
            receiver_text = receiver.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UndecryptableError("plain text is not UTF-8") from exc
        if receiver_text != self.receiver_id:
            raise ForeignReceiverError(f"receiver {receiver_text!r} is not ours")
        return text

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of ``message`` framed for our receiver id (as WeCom would send)."""
        prefix = random_prefix if random_prefix is not None else os.urandom(_RANDOM_PREFIX)
        if len(prefix) != _RANDOM_PREFIX:
            raise ValueError("the random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receiver_id.encode("utf-8")
        padder = padding.PKCS7(_BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def seal(self, message: str, timestamp: str, nonce: str) -> Sealed:
        """Encrypt and sign: what WeCom puts in a callback (and what a passive reply needs)."""
        ciphertext = self.encrypt(message)
        return Sealed(
            ciphertext, timestamp, nonce, signature(self._token, timestamp, nonce, ciphertext)
        )

    def open(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> str:
        """Verify, then decrypt: the one way callback input is read."""
        self.verify(msg_signature, timestamp, nonce, ciphertext)
        return self.decrypt(ciphertext)
