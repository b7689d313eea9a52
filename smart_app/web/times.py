"""Times as people read them: in the deployment's time zone (``SMART_APP_TIME_ZONE``).

The data keeps UTC; pages show local time with the zone's abbreviation, and put the UTC
instant in ``<time datetime>`` for machines (https://html.spec.whatwg.org/#the-time-element).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup, escape

from smart_app.services import services


def local(moment: datetime) -> datetime:
    """``moment`` in the deployment's zone (a naive value is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(services().settings.zone)


def local_text(moment: datetime, seconds: bool = False) -> str:
    """"2026-12-06 12:05 MST": the local time and the zone's abbreviation."""
    shown = local(moment)
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def time_element(moment: datetime, seconds: bool = False) -> Markup:
    """``<time datetime="…Z">local text</time>``: UTC for machines, local time for people."""
    instant = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    machine = instant.isoformat(timespec="seconds").replace("+00:00", "Z")
    return Markup(f'<time datetime="{escape(machine)}">{escape(local_text(moment, seconds))}</time>')


def fhir_time_element(value: str | None) -> Markup | str:
    """A FHIR dateTime with its offset shown as ``time_element``; anything else as sent."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return time_element(moment) if moment.tzinfo else value


def register_time_filters(app: Flask) -> None:
    """``{{ moment|local_time }}``, ``{{ moment|local_time(seconds=True) }}`` and ``{{ text|fhir_time }}``."""
    app.add_template_filter(time_element, "local_time")
    app.add_template_filter(fhir_time_element, "fhir_time")
