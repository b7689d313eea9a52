"""Following a referral's Task by an R4 rest-hook Subscription: https://hl7.org/fhir/R4/subscription.html.

Where the receiving clinic offers Subscriptions (its CapabilityStatement lists the
Subscription resource with ``create``), the app asks to be told when the Task changes.
The notification is empty (no ``channel.payload``: "the notification is an empty POST",
https://hl7.org/fhir/R4/subscription.html#rest-hook), so nothing about the patient is sent
to the hook; the app then reads the Task as it does when polling, and polling stays on as
the fallback.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.subscription import Subscription

from fhir_mappings.element import mappings_from_element, string_from_element
from fhir_mappings.service_request import identifier_search_from_referral_id

SUBSCRIPTION_REASON = "Second Opinion follows the status of its referral"


def subscription_for_referral(referral_id: str, ns: str, endpoint: str, end: str) -> dict[str, Any]:
    """A requested rest-hook Subscription on the referral's Task, by our identifier, until ``end``."""
    resource: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "end": end,
        "reason": SUBSCRIPTION_REASON,
        "criteria": f"Task?identifier={quote(identifier_search_from_referral_id(referral_id, ns), safe='')}",
        "channel": {"type": "rest-hook", "endpoint": endpoint},
    }
    Subscription.model_validate(resource)
    return resource


def offers_subscriptions(capability_statement: Mapping[str, Any]) -> bool:
    """True when a server-mode ``rest`` lists Subscription with the ``create`` interaction."""
    for rest in mappings_from_element(capability_statement.get("rest")):
        if string_from_element(rest.get("mode")) != "server":
            continue
        for resource in mappings_from_element(rest.get("resource")):
            if string_from_element(resource.get("type")) != "Subscription":
                continue
            interactions = mappings_from_element(resource.get("interaction"))
            if "create" in {string_from_element(i.get("code")) for i in interactions}:
                return True
    return False
