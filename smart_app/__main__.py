"""Key files for a deployment: ``python -m smart_app data-key PATH`` or ``signing-key PATH``.

Each creates its file (mode 0600) unless one is there, so ``make run`` may call it on every
start. It lives here, not behind ``python -m smart_app.crypto``, because running a module of a
package that the package itself imports executes that module twice (runpy's RuntimeWarning).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from smart_app import crypto, keys

USAGE = "usage: python -m smart_app data-key PATH | signing-key PATH"


def main(argv: Sequence[str]) -> int:
    """Create the named key file; prints the signing key's kid (a data key stays unprinted)."""
    if len(argv) != 2 or argv[0] not in ("data-key", "signing-key"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "data-key":
        crypto.generate_key_file(Path(argv[1]))
    else:
        print(keys.generate_key_file(Path(argv[1])).kid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
