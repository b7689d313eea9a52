"""`python -m sandbox_ehr`: seed, then serve the EHR and the receiving clinic in one process.

Prints `Sandbox EHR ready: http://HOST:PORT/` once both servers accept connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator
from typing import Any

import uvicorn

from .app import create_clinic_asgi, create_ehr_asgi
from .config import SandboxSettings, load_settings
from .fhir_servers import build_clinic_server, build_ehr_server
from .seed import seed_clinic, seed_ehr

logger = logging.getLogger(__name__)
QUIET_LOGGERS = ("authlib", "urllib3", "httpx", "uvicorn.access")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_both`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _server(app: Any, settings: SandboxSettings, port: int) -> _Server:
    """A uvicorn server with the access log off (URLs carry patient ids)."""
    config = uvicorn.Config(app, host=settings.host, port=port, access_log=False,
                            log_level="warning", lifespan="off", log_config=None)
    return _Server(config)


async def serve_both(settings: SandboxSettings) -> None:
    """Run both servers until SIGINT/SIGTERM, announcing readiness on stdout."""
    ehr, clinic = build_ehr_server(settings), build_clinic_server(settings)
    seed_ehr(ehr.ctx, settings)
    seed_clinic(clinic.ctx, settings)
    servers = [_server(create_ehr_asgi(settings, ehr), settings, settings.ehr_port),
               _server(create_clinic_asgi(settings, clinic), settings, settings.clinic_port)]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop, servers)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    if await _all_started(servers, tasks):
        print(f"Sandbox EHR ready: {settings.ehr_root}/", flush=True)
    else:
        _stop(servers)
    await asyncio.gather(*tasks)


async def _all_started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> bool:
    """Wait until every server listens; False if one of them gave up first."""
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            return False
        await asyncio.sleep(0.05)
    return True


def _stop(servers: list[_Server]) -> None:
    """Ask every server to finish."""
    for server in servers:
        server.should_exit = True


def main() -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(serve_both(load_settings()))


if __name__ == "__main__":
    main()
