"""The key commands ``make run`` calls start with no warning (runpy used to warn about
``smart_app.crypto`` and ``smart_app.keys``, which the package imports before running them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN_LOCAL = Path(__file__).resolve().parents[2] / "launch" / "run-local.sh"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "smart_app", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_both_key_files_are_created_without_a_warning(tmp_path: Path) -> None:
    data, signing = _run("data-key", str(tmp_path / "data.key")), _run("signing-key", str(tmp_path / "s.pem"))
    assert (data.returncode, data.stderr, data.stdout) == (0, "", "")  # the data key is never printed
    assert (signing.returncode, signing.stderr) == (0, "")
    assert signing.stdout.strip()  # the kid
    assert (tmp_path / "data.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "s.pem").stat().st_mode & 0o777 == 0o600


def test_a_wrong_command_says_how_to_use_it() -> None:
    wrong = _run("generate", "x")
    assert wrong.returncode == 2 and "usage: python -m smart_app data-key PATH" in wrong.stderr


def test_make_run_calls_them_without_silencing_warnings() -> None:
    script = RUN_LOCAL.read_text()
    assert "-m smart_app data-key" in script and "-m smart_app signing-key" in script
    assert " -W " not in script
