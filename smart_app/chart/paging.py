"""Reading every page of a search (https://hl7.org/fhir/R4/http.html#paging), in parallel when it can be.

``next`` links are followed one after another, except when the server's links
are plain ``_count``/``_offset`` windows and it says how many matches there
are (``Bundle.total``): then the remaining windows are requested at once, so a
chart of any size costs one more round trip, not one per page. Anything else
falls back to following ``next``.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fhir_mappings.bundle import next_link_from_bundle
from fhir_mappings.element import mapping_from_element, mappings_from_element
from smart_app.chart.fhir_client import FhirClient

MAX_PAGES = 50  # past 50 pages the chart says how many it did not read
PARALLEL_PAGES = 6


def all_pages(client: FhirClient, first: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The matches of every page; False when paging stopped at ``MAX_PAGES``."""
    resources, page, pages = matches(first), first, 1
    windows = offset_windows(first)
    if windows:
        with ThreadPoolExecutor(max_workers=PARALLEL_PAGES) as pool:
            fetched = list(pool.map(client.page, windows[: MAX_PAGES - 1]))
        for page in fetched:
            resources.extend(matches(page))
        pages += len(fetched)
    while link := next_link_from_bundle(page):
        if pages >= MAX_PAGES:
            return resources, False
        page = client.page(link)
        resources.extend(matches(page))
        pages += 1
    return resources, True


def offset_windows(first: Mapping[str, Any]) -> list[str]:
    """The URLs of the pages after ``first``, when its next link is an ``_offset`` window."""
    link, total = next_link_from_bundle(first), total_of(first)
    if not link or total is None:
        return []
    parts = urlsplit(link)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if not all(_digits(params.get(name, "")) for name in ("_offset", "_count")):
        return []
    start, size = int(params["_offset"]), int(params["_count"])
    if size <= 0:
        return []

    def window(offset: int) -> str:
        moved = [(k, str(offset) if k == "_offset" else v) for k, v in query]
        return urlunsplit(parts._replace(query=urlencode(moved)))

    return [window(offset) for offset in range(start, total, size)]


def matches(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Entries with search.mode "match" (or none): includes are not the search's results."""
    return [
        dict(resource)
        for entry in mappings_from_element(bundle.get("entry"))
        if (resource := mapping_from_element(entry.get("resource")))
        and mapping_from_element(entry.get("search")).get("mode", "match") == "match"
    ]


def total_of(bundle: Mapping[str, Any]) -> int | None:
    """``Bundle.total`` when it is a count."""
    total = bundle.get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def _digits(value: str) -> bool:
    """ASCII digits only: ``"²".isdigit()`` is true, and ``int("²")`` fails."""
    return value.isascii() and value.isdigit()
