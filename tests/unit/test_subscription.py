"""The Task Subscription: exact JSON, and reading whether a clinic offers Subscriptions."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.subscription import offers_subscriptions, subscription_for_referral

NS = "https://so.example.org/fhir"


def test_the_subscription_asks_for_an_empty_rest_hook_on_the_referrals_task() -> None:
    assert subscription_for_referral(
        "r-1", NS, "https://app.example.org/hooks/task/t0k3n", "2027-05-22T12:00:00Z"
    ) == {
        "resourceType": "Subscription",
        "status": "requested",
        "end": "2027-05-22T12:00:00Z",
        "reason": "Second Opinion follows the status of its referral",
        "criteria": "Task?identifier=https%3A%2F%2Fso.example.org%2Ffhir%2Fsid%2Freferral%7Cr-1",
        "channel": {"type": "rest-hook", "endpoint": "https://app.example.org/hooks/task/t0k3n"},
    }


def _statement(*resources: dict[str, Any], mode: str = "server") -> dict[str, Any]:
    return {"resourceType": "CapabilityStatement", "rest": [{"mode": mode, "resource": list(resources)}]}


@pytest.mark.parametrize(
    ("statement", "offered"),
    [
        (_statement({"type": "Subscription", "interaction": [{"code": "read"}, {"code": "create"}]}), True),
        (_statement({"type": "Subscription", "interaction": [{"code": "read"}]}), False),
        (_statement({"type": "Task", "interaction": [{"code": "create"}]}), False),
        (_statement({"type": "Subscription", "interaction": [{"code": "create"}]}, mode="client"), False),
        ({"resourceType": "CapabilityStatement"}, False),
        ({"rest": "not a list"}, False),
    ],
)
def test_a_clinic_offers_subscriptions_only_with_subscription_create(
    statement: dict[str, Any], offered: bool
) -> None:
    assert offers_subscriptions(statement) is offered
