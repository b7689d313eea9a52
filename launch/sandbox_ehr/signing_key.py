"""The RSA key that signs id_tokens, generated once and kept in the data directory.

SMART App Launch 2.2 `sso-openid-connect`: id_tokens are verifiable against `jwks_uri`
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

KEY_FILE = "id_token_key.pem"


def load_signing_key(data_dir: Path, file_name: str = KEY_FILE) -> RSAKey:
    """Load (or create on first run) the RS256 key, with kid = its RFC 7638 thumbprint."""
    path = data_dir / file_name
    if not path.exists():
        _write_new_key(path)
    key = RSAKey.import_key(path.read_bytes())
    return RSAKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint(), "use": "sig"})


def public_jwks(key: RSAKey) -> dict[str, Any]:
    """The public JWK Set served at /oauth/jwks."""
    jwk = key.as_dict(private=False)
    jwk["alg"] = "RS256"
    return {"keys": [jwk]}


def _write_new_key(path: Path) -> None:
    """Generate a 2048-bit RSA key and store it as PKCS#8 PEM readable only by us."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
