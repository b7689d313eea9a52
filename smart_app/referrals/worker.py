"""The delivery worker: ``flask --app smart_app deliver`` (one pass) or ``--loop`` (until stopped).

The command itself is in ``smart_app.commands``; this module is what it runs.

Any number of workers may run on any number of machines against one database:
the outbox lease (and ``SKIP LOCKED`` on PostgreSQL) gives each due row to one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from smart_app.referrals.delivery import Deliverer
from smart_app.referrals.filing import Filing
from smart_app.referrals.outbox import Outbox
from smart_app.services import Services, services, utcnow
from smart_app.smart.backend_services import BackendClient

logger = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 300.0


def worker_name() -> str:
    """``host:pid:thread``: unique among live workers, for the lease."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


def ehr_backends(svc: Services) -> dict[str, BackendClient]:
    """The EHRs whose registration names a Backend Services client (no ATP needed to file)."""
    key = svc.keys.current
    return {
        iss: BackendClient(iss, r.backend_client_id, r.backend_scopes or "", key)
        for iss, r in svc.registrations.items()
        if r.backend_client_id and key is not None
    }


def deliverer_from_services(
    svc: Services,
    worker: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    backends: Mapping[str, BackendClient] | None = None,
) -> Deliverer:
    """A Deliverer wired to the app's store, receivers, keys and HTTP pool.

    ``backends``: the EHRs it files to by Backend Services; by default every registration with one.
    """
    return Deliverer(
        outbox=Outbox(svc.store),
        receivers=svc.receivers,
        keys=svc.keys,
        tokens=svc.backend_tokens,
        http=svc.http,
        namespace=svc.settings.namespace,
        worker=worker or worker_name(),
        clock=clock,
        ehr_backends=ehr_backends(svc) if backends is None else backends,
        filing=Filing(svc.store, svc.settings.namespace, clock),
        hook_base=f"{svc.settings.public_url.rstrip('/')}/hooks/task",
    )


def run_loop(
    deliver: Callable[[], int],
    interval: float,
    stop: threading.Event,
    purge: Callable[[], int] | None = None,
    purge_every: float = PURGE_EVERY_SECONDS,
) -> None:
    """Deliver until ``stop`` is set; sleep ``interval`` when nothing was due.

    ``purge`` (expired launches) runs at the start and then every ``purge_every`` seconds,
    so expired tokens and charts go on a schedule, not when someone happens to launch.
    """
    next_purge = time.monotonic()
    while not stop.is_set():
        if purge is not None and time.monotonic() >= next_purge:
            next_purge = time.monotonic() + purge_every
            _quietly("purge", purge)
        busy = _quietly("pass", deliver)
        if not busy:
            stop.wait(interval)


def _quietly(name: str, job: Callable[[], int]) -> int:
    """Run one job; the loop must outlive a database blip (the rows stay queued)."""
    try:
        return job()
    except Exception as error:
        logger.error("worker.%s_failed error=%s", name, type(error).__name__)
        return 0


def purge_expired_launches() -> int:
    """Delete expired launches (tokens, chart, draft) and what belongs to them; how many went."""
    removed = services().store.purge_expired(utcnow())
    if removed:
        logger.info("launches.purged count=%s", removed)
    return removed
