"""The app's commands: ``flask --app smart_app deliver | purge | smoke``.

They are Flask plugin commands (the ``flask.commands`` entry points in pyproject.toml), so
Flask finds them without building the app: ``--help`` needs no settings. Each builds the app
only when it runs, and a setting that stops the app (``ConfigError``) is one plain line on
stderr and exit status 1, not a traceback.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import ParamSpec, TypeVar

import click
from flask import Flask
from flask.cli import ScriptInfo

from smart_app.config import ConfigError
from smart_app.referrals.worker import deliverer_from_services, purge_expired_launches, run_loop
from smart_app.services import services

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def command_app() -> Flask:
    """The app named by ``--app``, or a ClickException with the setting that stops it."""
    try:
        return click.get_current_context().ensure_object(ScriptInfo).load_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def with_app(command: Callable[P, R]) -> Callable[P, R]:
    """Run ``command`` inside the app's context, building the app first (like ``with_appcontext``)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with command_app().app_context():
            return command(*args, **kwargs)

    return run


@click.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped (SIGTERM or Ctrl-C).")
@click.option("--interval", default=1.0, show_default=True, help="Seconds to sleep when idle.")
@with_app
def deliver_command(loop: bool, interval: float) -> None:
    """Deliver due referrals to receiving clinics and follow their Tasks."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    deliverer = deliverer_from_services(services())
    if not loop:
        click.echo(f"processed {deliverer.run_once(limit=100)}")
        return
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logger.info("worker.started")
    started = time.monotonic()
    run_loop(deliverer.run_once, interval, stop, purge=purge_expired_launches)
    logger.info("worker.stopped seconds=%.0f", time.monotonic() - started)


@click.command("purge")
@with_app
def purge_command() -> None:
    """Delete expired launches and the rows that belong to them (run it from cron or a timer)."""
    removed = purge_expired_launches()
    click.echo(f"purged {removed} expired launches")
