"""Encryption at rest for tokens and PHI columns: AES-256-GCM with key ids (NIST SP 800-38D).

``SMART_APP_DATA_KEYS`` holds ``kid:base64key`` pairs, space-separated: new
values are sealed with the first key, and any listed key opens a value sealed
under its kid, so keys rotate by putting a new key first and dropping the old
one once no row uses it. A value is stored as ``v1.<kid>.<base64(nonce‖ciphertext)>``.
A sealed value cannot be searched, so a column that must be (the patient of a referral) gets a
*blind index* beside it: an HMAC-SHA-256 of the value under a key derived from each data key
(HKDF, RFC 5869), so equal values find each other and a copy of the database alone learns nothing.
``python -m smart_app data-key PATH`` writes a new key line (mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text, TypeDecorator
from sqlalchemy.engine import Connection, Dialect, Engine

PREFIX = "v1"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_DIALECT_ATTRIBUTE = "_second_opinion_data_keys"


class DataKeyError(RuntimeError):
    """The data keys are missing or malformed, or a stored value cannot be opened."""


class DataKeys:
    """The keys that seal and open stored values; the first one seals."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise DataKeyError("no data key: set SMART_APP_DATA_KEYS (kid:base64key)")
        for kid, key in keys:
            if not _KID.fullmatch(kid) or len(key) != 32:
                raise DataKeyError(f"data key {kid!r}: needs a short kid and 32 bytes (AES-256)")
        self._current = keys[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        self._index_keys = {kid: _index_key(key) for kid, key in keys}

    @classmethod
    def parse(cls, text: str) -> DataKeys:
        """Read ``kid:base64key kid:base64key …``; the error never repeats a key."""
        keys: list[tuple[str, bytes]] = []
        for item in text.split():
            kid, _, encoded = item.partition(":")
            try:
                keys.append((kid, base64.urlsafe_b64decode(encoded.encode("ascii"))))
            except (binascii.Error, ValueError) as error:
                raise DataKeyError(f"data key {kid!r} is not base64") from error
        return cls(keys)

    def seal(self, plaintext: str) -> str:
        """Encrypt with the current key and a fresh 96-bit nonce."""
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), self._current.encode())
        return f"{PREFIX}.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, stored: str) -> str:
        """Decrypt a value sealed under any listed key."""
        version, _, rest = stored.partition(".")
        kid, _, body = rest.partition(".")
        aead = self._keys.get(kid)
        if version != PREFIX or aead is None:
            raise DataKeyError(f"stored value sealed under unknown key id {kid!r}")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            return aead.decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise DataKeyError(f"a stored value under key id {kid!r} does not open") from error


    def blind_index(self, value: str) -> str:
        """The searchable stand-in for ``value`` under the current key: ``<kid>.<hex HMAC>``."""
        return _blind(self._current, self._index_keys[self._current], value)

    def blind_indexes(self, value: str) -> list[str]:
        """``value``'s stand-in under every listed key (rows written before a rotation still match)."""
        return [_blind(kid, key, value) for kid, key in self._index_keys.items()]


def _index_key(key: bytes) -> bytes:
    info = b"second-opinion blind index v1"
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _blind(kid: str, key: bytes, value: str) -> str:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(value.encode())
    return f"{kid}.{mac.finalize().hex()}"


def data_keys_of(bind: Engine | Connection) -> DataKeys:
    """The keys bound to ``bind``'s engine (``bind_data_keys``)."""
    return _keys_of(bind.dialect)


def bind_data_keys(engine: Engine, keys: DataKeys) -> None:
    """Give ``EncryptedText`` columns of this engine their keys (one key set per engine)."""
    setattr(engine.dialect, _DIALECT_ATTRIBUTE, keys)


def _keys_of(dialect: Dialect) -> DataKeys:
    keys = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if not isinstance(keys, DataKeys):
        raise DataKeyError("this database has no data keys: pass data_keys to Store")
    return keys


class EncryptedText(TypeDecorator[str]):
    """A text column stored sealed with the engine's ``DataKeys``."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keys_of(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keys_of(dialect).open(value)


def new_key_line(kid: str) -> str:
    """A fresh ``kid:base64key`` for ``SMART_APP_DATA_KEYS``."""
    return f"{kid}:{base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def generate_key_file(path: Path) -> str:
    """Write a new key line to ``path`` (created 0600; an existing file is kept); returns its text."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = new_key_line(base64.urlsafe_b64encode(os.urandom(6)).decode())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(line + "\n")
    return line
