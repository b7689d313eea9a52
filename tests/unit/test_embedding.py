"""Safe SMART style values from allowed origins only (app-launch.html#customizing-an-apps-look-and-feel)."""

from __future__ import annotations

from smart_app.config import Registration
from smart_app.web.embedding import allowed_style_url, safe_style, stylesheet

REGISTRATION = Registration(key="ehr", name="EHR", iss="https://ehr.example.org/fhir", client_id="so",
                            scopes="launch", frame_ancestors=("https://portal.example.org",))


def test_style_documents_come_only_from_the_iss_or_a_framing_origin() -> None:
    assert allowed_style_url("https://ehr.example.org/style.json", REGISTRATION)
    assert allowed_style_url("https://portal.example.org/s.json", REGISTRATION)
    assert not allowed_style_url("https://evil.example/style.json", REGISTRATION)
    assert not allowed_style_url("http://ehr.example.org/style.json", REGISTRATION)  # other scheme
    assert not allowed_style_url("https://ehr.example.org.evil.example/s.json", REGISTRATION)


def test_values_that_could_break_out_of_css_are_dropped() -> None:
    found = safe_style({
        "color_text": "#1b1b1b",
        "color_background": "red; } body { background: url(https://evil.example/x)",
        "color_highlight": "rgba(0, 0, 0, 0.4)",
        "dim_font_size": "16px",
        "dim_border_radius": "expression(alert(1))",
        "font_family_body": "system-ui, 'Segoe UI', sans-serif",
        "font_family_heading": "x</style><script>",
        "unknown": "#ffffff",
    })
    assert found == {
        "--ehr-color-text": "#1b1b1b",
        "--ehr-color-highlight": "rgba(0, 0, 0, 0.4)",
        "--ehr-font-size": "16px",
        "--ehr-font-body": "system-ui, 'Segoe UI', sans-serif",
    }


def test_a_document_that_is_not_an_object_gives_nothing() -> None:
    assert safe_style(["#fff"]) == {}
    assert stylesheet({}) == ":root {\n}\n"


def test_rules_only_use_the_variables_given() -> None:
    sheet = stylesheet({"--ehr-color-text": "#000"})
    assert "body { color: var(--ehr-color-text); }" in sheet
    assert "--ehr-font-body" not in sheet
