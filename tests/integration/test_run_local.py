"""``make run``'s script (launch/run-local.sh) on free ports: its logs, and what it does when a part dies.

A killed delivery worker is restarted, on the terminal and in its log; when the sandbox dies
the script says which part stopped and why, shows the end of its log and stops the rest.
Logs are 0600, appended across runs, and rotated past 10 MiB. Processes are only ever
stopped by the ids this test read from the script's own children.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from tests.sandbox_server import REPO_ROOT, free_port

READY_SECONDS = 120


class RunLocal:
    """The script as a subprocess; its stdout and stderr lines collected as they come."""

    def __init__(self, data_dir: Path) -> None:
        self.ports = {name: free_port() for name in ("APP_PORT", "EHR_PORT", "CLINIC_PORT")}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_APP_", "SANDBOX_"))}
        env.update({"HOST": "127.0.0.1", "DATA_DIR": str(data_dir)})
        env.update({name: str(port) for name, port in self.ports.items()})
        self.process = subprocess.Popen(["bash", "launch/run-local.sh"], cwd=REPO_ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._pumps = [threading.Thread(target=self._pump, args=(stream, kept), daemon=True)
                       for stream, kept in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: IO[str], kept: list[str]) -> None:
        for line in stream:
            kept.append(line)
            self._lines.put(line)

    def wait_for(self, words: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(words in line for line in self.out + self.err):
            assert time.monotonic() < deadline, f"no {words!r} in {seconds} s:\n{self.said}"
            try:
                self._lines.get(timeout=0.5)
            except queue.Empty:
                ended = self.process.poll() is not None and not any(p.is_alive() for p in self._pumps)
                assert not ended, f"the script ended without saying {words!r}:\n{self.said}"

    @property
    def said(self) -> str:
        return "".join(self.out + self.err)

    def children(self, words: str) -> list[int]:
        """The ids of the script's own child processes whose command line holds ``words``."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children if words in _command_line(int(c))]

    def child(self, words: str, other_than: int | None = None, seconds: float = 30) -> int:
        """The one such child, waited for (until it execs, a fork shows the script's command line)."""
        deadline = time.monotonic() + seconds
        while (found := [pid for pid in self.children(words) if pid != other_than]) == []:
            assert time.monotonic() < deadline, f"no child process {words!r} in {seconds} s:\n{self.said}"
            time.sleep(0.2)
        [pid] = found
        return pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # its trap stops what it started
            self.process.wait(timeout=60)
        for pump in self._pumps:
            pump.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A DATA_DIR with logs from an earlier run: one readable by all, one past the rotation size."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "worker.log").write_text("an earlier run's line\n")
    (data / "worker.log").chmod(0o644)
    with (data / "app.log").open("wb") as big:
        big.truncate(10 * 1024 * 1024 + 1)
    return data


@pytest.fixture
def run_local(data_dir: Path) -> Iterator[RunLocal]:
    running = RunLocal(data_dir)
    try:
        yield running
    finally:
        running.stop()


def test_make_run_restarts_a_killed_worker_and_explains_a_dead_sandbox(
    run_local: RunLocal, data_dir: Path
) -> None:
    run_local.wait_for("Ctrl-C stops everything", READY_SECONDS)  # the banner's last line
    ehr_url = f"http://127.0.0.1:{run_local.ports['EHR_PORT']}/"
    assert any("Second Opinion is running." in line for line in run_local.out)
    assert any(ehr_url in line for line in run_local.out)  # the sandbox URL to open
    for name in ("sandbox.log", "app.log", "worker.log"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert (data_dir / "worker.log").read_text().startswith("an earlier run's line\n")  # appended
    assert (data_dir / "app.log.1").stat().st_size > 10 * 1024 * 1024  # rotated, not lost
    assert (data_dir / "app.log").stat().st_size < 1024 * 1024

    worker = run_local.child("deliver --loop")
    os.kill(worker, signal.SIGKILL)
    run_local.wait_for("The delivery worker stopped (killed by SIGKILL); restarting it.", 30)
    restarted = run_local.child("deliver --loop", other_than=worker)
    assert "restarting it" in (data_dir / "worker.log").read_text()

    app = run_local.child("gunicorn")
    os.kill(run_local.child("sandbox_ehr"), signal.SIGKILL)
    assert run_local.process.wait(timeout=60) == 1
    run_local.wait_for("The sandbox EHR stopped (killed by SIGKILL); stopping everything.", 5)
    run_local.wait_for("Sandbox EHR ready", 5)  # the end of its log
    deadline = time.monotonic() + 30
    while _alive(app) or _alive(restarted):
        assert time.monotonic() < deadline, "the app or the worker outlived the script"
        time.sleep(0.2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{run_local.ports['APP_PORT']}/healthz", timeout=5)
