"""Which page URLs can be asked for at once: only plain _count/_offset windows with a known total."""

from __future__ import annotations

from smart_app.chart.paging import matches, offset_windows

BASE = "http://ehr.example.org/fhir/Condition"


def _page(next_url: str | None, total: object = 2500) -> dict[str, object]:
    links = [{"relation": "next", "url": next_url}] if next_url else []
    return {"resourceType": "Bundle", "total": total, "link": links}


def test_the_remaining_windows_are_listed_in_order() -> None:
    first = _page(f"{BASE}?patient=p1&clinical-status=active&_count=1000&_offset=1000")
    assert offset_windows(first) == [
        f"{BASE}?patient=p1&clinical-status=active&_count=1000&_offset=1000",
        f"{BASE}?patient=p1&clinical-status=active&_count=1000&_offset=2000",
    ]


def test_opaque_links_or_an_unknown_total_are_followed_one_by_one() -> None:
    assert offset_windows(_page(f"{BASE}?_getpages=abc&_page=2")) == []
    assert offset_windows(_page(f"{BASE}?_count=100&_offset=100", total=None)) == []
    assert offset_windows(_page(f"{BASE}?_count=100&_offset=100", total=True)) == []
    assert offset_windows(_page(f"{BASE}?_count=0&_offset=100")) == []
    assert offset_windows(_page(None)) == []


def test_only_matches_are_results() -> None:
    bundle = {"entry": [{"resource": {"id": "a"}}, {"resource": {"id": "b"}, "search": {"mode": "include"}},
                        "junk", {"resource": "junk"}, {"resource": {"id": "c"}, "search": {"mode": "match"}}]}
    assert [r["id"] for r in matches(bundle)] == ["a", "c"]
