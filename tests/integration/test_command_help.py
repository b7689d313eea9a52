"""``flask --app smart_app <command> --help`` needs no settings; a missing setting is one plain line.

Run as an operator would on a fresh clone: a new process, no ``SMART_APP_*`` variable, and a
working directory with nothing in it (so nothing of the app is read, and nothing is created).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox_server import REPO_ROOT

COMMANDS = {"deliver": "--loop", "smoke": "--wait", "purge": "Delete expired launches"}


def _flask(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_APP_", "FLASK_"))}
    env.update(settings)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "smart_app", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_works_with_no_settings(tmp_path: Path, command: str) -> None:
    done = _flask(tmp_path, command, "--help")
    assert done.returncode == 0, done.stderr
    assert COMMANDS[command] in done.stdout
    assert done.stderr == ""
    assert list(tmp_path.iterdir()) == []  # no database, no key, no folder


@pytest.mark.parametrize("args", [["deliver"], ["deliver", "--loop"], ["purge"], ["smoke", "sandbox"]])
def test_a_missing_data_key_is_one_plain_line(args: list[str]) -> None:
    done = _flask(REPO_ROOT, *args)  # the registrations of a fresh clone are there
    assert done.returncode == 1
    assert done.stderr == "Error: no data key: set SMART_APP_DATA_KEYS (kid:base64key)\n"
    assert done.stdout == ""


def test_a_wrong_setting_is_one_plain_line(tmp_path: Path) -> None:
    done = _flask(tmp_path, "deliver", SMART_APP_PUBLIC_URL="not a url")
    assert done.returncode == 1
    assert done.stderr == "Error: SMART_APP_PUBLIC_URL: must be an absolute http(s) URL\n"
