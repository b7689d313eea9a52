"""The key the sandbox EHR signs its CDS Hooks calls with (ES384, P-384), in the data directory.

CDS Hooks 2.0 §Trusting CDS Clients: the CDS client signs a JWT for every call and publishes its
public key in a JWK Set; the app's registration names that JWKS URL (`cds_jwks_uri`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

KEY_FILE = "cds_client_key.pem"
ALGORITHM = "ES384"


def load_cds_key(data_dir: Path) -> ECKey:
    """Load (or create on first run) the EC P-384 key, with kid = its RFC 7638 thumbprint."""
    path = data_dir / KEY_FILE
    if not path.exists():
        _write_new_key(path)
    key = ECKey.import_key(path.read_bytes())
    return ECKey.import_key(
        key.as_dict(private=True), {"kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}
    )


def cds_jwks(key: ECKey) -> dict[str, Any]:
    """The public JWK Set the app fetches (`/cds-client/jwks`)."""
    return {"keys": [key.as_dict(private=False)]}


def _write_new_key(path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
