"""The app's own signing keys: private keys from files named in settings, public keys as a JWKS.

The first file is the current signing key; the others are still published so
that assertions signed before a rotation keep verifying until they expire
(rotation by ``kid``, the RFC 7638 thumbprint). ``python -m smart_app signing-key PATH``
writes a new P-384 key (mode 0600) for the sandbox or a rotation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from smart_app.smart.client_assertion import SigningKey


class KeyFileError(RuntimeError):
    """A key file named in settings cannot be used (message names the file, never its content)."""


def signing_key_from_pem(pem: bytes, source: str) -> SigningKey:
    """An RSA (≥ 2048 bits, RS384) or EC P-384 (ES384) private key."""
    for key_type in (RSAKey, ECKey):
        try:
            key = key_type.import_key(pem)
        except (JoseError, ValueError, TypeError):
            continue
        if not key.is_private:
            raise KeyFileError(f"{source} holds a public key; the app needs the private key")
        if isinstance(key, ECKey):
            if key.curve_name != "P-384":
                raise KeyFileError(f"{source}: EC keys must be on P-384 (ES384)")
            return SigningKey(key, key.thumbprint(), "ES384")
        if key.raw_value.key_size < 2048:
            raise KeyFileError(f"{source}: RSA keys must have at least 2048 bits")
        return SigningKey(key, key.thumbprint(), "RS384")
    raise KeyFileError(f"{source} is not a PEM RSA or EC private key")


class KeyRing:
    """The current signing key and every key still published."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        self.keys = tuple(keys)

    @classmethod
    def from_files(cls, paths: Sequence[Path]) -> KeyRing:
        """Read each file; a missing or unreadable file stops the app at start-up."""
        keys = []
        for path in paths:
            try:
                pem = path.read_bytes()
            except OSError as error:
                raise KeyFileError(f"cannot read key file {path}: {error.strerror}") from error
            keys.append(signing_key_from_pem(pem, str(path)))
        return cls(keys)

    @property
    def current(self) -> SigningKey | None:
        """The key new assertions are signed with (None when no key is configured)."""
        return self.keys[0] if self.keys else None

    def jwks(self) -> dict[str, Any]:
        """The public half of every key (RFC 7517 §5), each with ``kid``, ``alg`` and ``use``."""
        return {
            "keys": [
                {**k.key.as_dict(private=False), "kid": k.kid, "alg": k.alg, "use": "sig"}
                for k in self.keys
            ]
        }


def generate_key_file(path: Path) -> SigningKey:
    """Write a new EC P-384 private key to ``path`` (created 0600; an existing file is kept)."""
    if path.exists():
        return signing_key_from_pem(path.read_bytes(), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ECKey.generate_key("P-384", private=True)
    pem = key.as_pem(private=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return signing_key_from_pem(pem, str(path))
