"""The CDS Hooks service over HTTP against the live app: discovery, trust, request checks, cards, feedback."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

import pytest
import requests
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey
from sqlalchemy import select

from smart_app.cds.records import CardFeedback
from smart_app.services import services
from tests.cds_calls import (
    ORDER_SELECT,
    PATIENT_VIEW,
    call,
    hook_body,
    prefetch,
    sandbox_key,
    signed_jwt,
    templates,
)
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")
URL_ATTRS = ("url",)


@pytest.fixture
def endpoint(app_url: str) -> str:
    return f"{app_url}/cds-services/{PATIENT_VIEW}"


def stuck_body(sandbox: Sandbox, app_url: str, patient: str = "wc-10") -> dict[str, Any]:
    return hook_body(
        "patient-view", patient, prefetch=prefetch(sandbox, templates(app_url, PATIENT_VIEW), patient)
    )


def test_discovery_lists_patient_view_with_prefetch_and_an_order_hook(app_url: str) -> None:
    response = requests.get(f"{app_url}/cds-services", timeout=10)
    assert response.status_code == 200
    services_ = {s["hook"]: s for s in response.json()["services"]}
    view = services_["patient-view"]
    assert view["id"] == PATIENT_VIEW and view["description"] and view["title"]
    assert set(view["prefetch"]) == {
        "conditions",
        "coverage",
        "encounters",
        "mmi",
        "functionScores",
        "workRestrictions",
        "secondOpinions",
    }
    assert all("{{context.patientId}}" in q for q in view["prefetch"].values())
    assert services_["order-select"]["id"] == ORDER_SELECT


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _refusals(sandbox: Sandbox, endpoint: str) -> dict[str, str | None]:
    now = int(time.time())
    stranger = ECKey.generate_key("P-384", {"kid": "stranger"})
    impostor = ECKey.generate_key("P-384", {"kid": str(sandbox_key(sandbox).kid)})
    claims = {
        "iss": sandbox.ehr_url.rstrip("/"),
        "aud": endpoint,
        "iat": now,
        "exp": now + 300,
        "jti": "x" + str(now),
    }
    return {
        "no token": None,
        "not a JWT": "not-a-jwt",
        "wrong aud": signed_jwt(sandbox, endpoint + "-other"),
        "aud of another service": signed_jwt(sandbox, endpoint.replace(PATIENT_VIEW, ORDER_SELECT)),
        "expired": signed_jwt(sandbox, endpoint, iat=now - 900, exp=now - 600),
        "exp too far ahead": signed_jwt(sandbox, endpoint, exp=now + 3600),
        "issued in the future": signed_jwt(sandbox, endpoint, iat=now + 600, exp=now + 700),
        "no jti": signed_jwt(sandbox, endpoint, jti=None),
        "unknown iss": signed_jwt(sandbox, endpoint, iss="https://ehr.example.org"),
        "unknown key": signed_jwt(sandbox, endpoint, key=stranger),
        "another key under the sandbox's kid": signed_jwt(sandbox, endpoint, key=impostor),
        "alg none": _unsigned(claims, {"alg": "none", "typ": "JWT", "kid": "x"}),
        "HS256": jwt.encode(
            {"alg": "HS256", "typ": "JWT", "kid": str(sandbox_key(sandbox).kid)},
            claims,
            OctKey.import_key("shared-secret-shared-secret-1234"),
            algorithms=["HS256"],
        ),
        "jku elsewhere": jwt.encode(
            {
                "alg": "ES384",
                "typ": "JWT",
                "kid": str(sandbox_key(sandbox).kid),
                "jku": "https://attacker.example/jwks",
            },
            claims,
            sandbox_key(sandbox),
            algorithms=["ES384"],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "not a JWT",
        "wrong aud",
        "aud of another service",
        "expired",
        "exp too far ahead",
        "issued in the future",
        "no jti",
        "unknown iss",
        "unknown key",
        "another key under the sandbox's kid",
        "alg none",
        "HS256",
        "jku elsewhere",
    ],
)
def test_an_untrusted_call_is_refused_401_with_no_card(
    sandbox: Sandbox, app_url: str, endpoint: str, case: str
) -> None:
    token = _refusals(sandbox, endpoint)[case]
    response = call(app_url, PATIENT_VIEW, stuck_body(sandbox, app_url), token)
    assert response.status_code == 401, response.text
    assert response.json()["resourceType"] == "OperationOutcome" and "cards" not in response.json()
    assert response.json()["issue"][0]["code"] == "security"


def test_a_replayed_jti_is_refused(sandbox: Sandbox, app_url: str, endpoint: str) -> None:
    token = signed_jwt(sandbox, endpoint)
    body = stuck_body(sandbox, app_url)
    assert call(app_url, PATIENT_VIEW, body, token).status_code == 200
    again = call(app_url, PATIENT_VIEW, body, token)
    assert again.status_code == 401 and "cards" not in again.json()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{not json", "not JSON"),
        ([], "not a JSON object"),
        ({"hook": "order-sign"}, "patient-view hook"),
        ({"hook": "patient-view", "hookInstance": str(uuid.uuid4())}, "context is required"),
        (
            {
                "hook": "patient-view",
                "hookInstance": "nope",
                "context": {"userId": "Practitioner/a", "patientId": "p"},
            },
            "hookInstance",
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/a", "patientId": "../Patient"},
            },
            "patientId",
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Patient/a", "patientId": "p"},
            },
            "userId",
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/a", "patientId": "p"},
                "prefetch": {"other": None},
            },
            "did not ask",
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/a", "patientId": "p"},
                "prefetch": {"mmi": [1]},
            },
            "FHIR resource",
        ),
    ],
)
def test_a_body_that_is_not_a_hook_request_is_400(
    sandbox: Sandbox, app_url: str, endpoint: str, body: Any, says: str
) -> None:
    response = call(app_url, PATIENT_VIEW, body, signed_jwt(sandbox, endpoint))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome" and says in response.text


def test_without_prefetch_or_fhir_access_it_is_412(sandbox: Sandbox, app_url: str, endpoint: str) -> None:
    response = call(app_url, PATIENT_VIEW, hook_body("patient-view", "wc-10"), signed_jwt(sandbox, endpoint))
    assert response.status_code == 412 and response.json()["issue"][0]["code"] == "incomplete"


def test_the_token_is_used_only_on_the_registered_fhir_server(
    sandbox: Sandbox, app_url: str, endpoint: str
) -> None:
    body = hook_body(
        "patient-view",
        "wc-10",
        fhirServer="https://elsewhere.example/fhir",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.rs",
            "subject": "x",
        },
    )
    response = call(app_url, PATIENT_VIEW, body, signed_jwt(sandbox, endpoint))
    assert response.status_code == 400 and "registered" in response.text


def _no_null_or_empty(value: Any, path: str = "") -> None:
    """CDS Hooks 2.0 §Null and empty JSON elements."""
    assert value is not None and value not in ("", [], {}), path
    if isinstance(value, dict):
        for key, item in value.items():
            _no_null_or_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _no_null_or_empty(item, f"{path}[{n}]")


def check_card(card: dict[str, Any], app_url: str) -> None:
    """The card rules of CDS Hooks 2.0 §Card Attributes, and ours."""
    _no_null_or_empty(card)
    assert str(uuid.UUID(card["uuid"])) == card["uuid"]
    assert card["summary"].startswith("Consider a second opinion") and len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert isinstance(card["source"]["label"], str)
    assert isinstance(card["detail"], str) and "IME is requested by the insurer" in card["detail"]
    assert card["selectionBehavior"] in ("at-most-one", "any")
    assert all(s["label"] and uuid.UUID(s["uuid"]) for s in card["suggestions"])
    assert all(set(r) == {"system", "code", "display"} for r in card["overrideReasons"])
    (link,) = card["links"]
    assert link["type"] == "smart" and link["url"] == f"{app_url}/launch" and link["label"]
    context = json.loads(link["appContext"])
    assert context["questions"] and all(re.fullmatch(r"Condition/[\w.-]+", r) for r in context["reasons"])


def test_a_stuck_case_gets_one_card_with_the_evidence(sandbox: Sandbox, app_url: str, endpoint: str) -> None:
    response = call(
        app_url, PATIENT_VIEW, stuck_body(sandbox, app_url, "wc-10"), signed_jwt(sandbox, endpoint)
    )
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    check_card(card, app_url)
    assert "no MMI 40 weeks after the injury" in card["summary"]
    assert re.search(r"Injured \d{4}-\d\d-\d\d .*40 weeks ago.*7 visits since", card["detail"])
    assert json.loads(card["links"][0]["appContext"])["reasons"] == [
        "Condition/wc-10-cond-1",
        "Condition/wc-10-cond-2",
    ]


@pytest.mark.parametrize("patient", ["wc-13", "wc-14", "wc-15"])
def test_a_progressing_case_or_mmi_gets_no_card(
    sandbox: Sandbox, app_url: str, endpoint: str, patient: str
) -> None:
    response = call(
        app_url, PATIENT_VIEW, stuck_body(sandbox, app_url, patient), signed_jwt(sandbox, endpoint)
    )
    assert response.status_code == 200 and response.json() == {"cards": []}


def _order(patient: str, text: str) -> dict[str, Any]:
    draft = {
        "resourceType": "ServiceRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{patient}"},
    }
    return {
        "selections": ["ServiceRequest/draft-1"],
        "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]},
    }


@pytest.mark.parametrize(
    ("text", "cards"),
    [("Independent medical examination (IME)", 1), ("DIME", 1), ("Physical therapy, 6 visits", 0)],
)
def test_the_order_hook_answers_an_ime_draft(sandbox: Sandbox, app_url: str, text: str, cards: int) -> None:
    endpoint = f"{app_url}/cds-services/{ORDER_SELECT}"
    body = hook_body(
        "order-select",
        "wc-11",
        context=_order("wc-11", text),
        prefetch=prefetch(sandbox, templates(app_url, ORDER_SELECT), "wc-11"),
    )
    response = call(app_url, ORDER_SELECT, body, signed_jwt(sandbox, endpoint))
    assert response.status_code == 200 and len(response.json()["cards"]) == cards
    if cards:
        card = response.json()["cards"][0]
        check_card(card, app_url)
        assert card["indicator"] == "warning" and "second opinion" in card["summary"]


def _feedback(
    sandbox: Sandbox, app_url: str, items: list[dict[str, Any]], token: str | None = "sign"
) -> requests.Response:
    url = f"{app_url}/cds-services/{PATIENT_VIEW}/feedback"
    headers = {"Authorization": f"Bearer {signed_jwt(sandbox, url)}"} if token else {}
    return requests.post(url, json={"feedback": items}, headers=headers, timeout=10)


def test_feedback_records_outcomes_without_the_comment(
    sandbox: Sandbox, app_url: str, endpoint: str, flask_app: Flask
) -> None:
    cards = [
        call(app_url, PATIENT_VIEW, stuck_body(sandbox, app_url), signed_jwt(sandbox, endpoint)).json()[
            "cards"
        ][0]
        for _ in range(2)
    ]
    system = cards[0]["overrideReasons"][0]["system"]
    items = [
        {
            "card": cards[0]["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": cards[0]["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-12-01T10:00:00Z",
        },
        {
            "card": cards[1]["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-12-01T10:00:00Z",
            "overrideReason": {
                "reason": {"system": system, "code": "progressing"},
                "userComment": "Sentinel comment",
            },
        },
    ]
    assert _feedback(sandbox, app_url, items, token=None).status_code == 401
    assert _feedback(sandbox, app_url, items).status_code == 200
    with flask_app.app_context(), services().store.transaction() as db:
        rows = db.scalars(
            select(CardFeedback).where(CardFeedback.card_uuid.in_([c["uuid"] for c in cards]))
        ).all()
        assert sorted((r.outcome, r.override_reason, r.accepted_suggestions) for r in rows) == [
            ("accepted", None, 1),
            ("overridden", "progressing", 0),
        ]
        assert "Sentinel" not in repr([vars(r) for r in rows])


@pytest.mark.parametrize(
    "item",
    [
        {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
        {"card": "not-a-uuid", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
        {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
        {"card": str(uuid.uuid4()), "outcome": "maybe", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
        {"card": str(uuid.uuid4()), "outcome": "overridden"},
    ],
)
def test_feedback_that_is_not_about_our_cards_is_400(
    sandbox: Sandbox, app_url: str, item: dict[str, Any]
) -> None:
    response = _feedback(sandbox, app_url, [item])
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"
