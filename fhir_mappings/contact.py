"""Where to reach a clinic or a physician: an Address as one line, a phone and a fax number.

https://hl7.org/fhir/R4/datatypes.html#Address and #ContactPoint, read liberally: the first
address that is not ``old``, and the first ContactPoint of each system, ``work`` use first.
"""

from collections.abc import Mapping
from typing import Any, Literal

from fhir_mappings.element import (
    mapping_from_element,
    mappings_from_element,
    string_from_element,
    strings_from_element,
)

TelecomSystem = Literal["phone", "fax"]


def address_text_from_addresses(addresses: Any) -> str | None:
    """"12 Main St, Suite 3, Denver, CO 80202": Address.text when given, else built from its parts."""
    for address in mappings_from_element(addresses):
        if string_from_element(address.get("use")) == "old":
            continue
        if text := string_from_element(address.get("text")):
            return text
        region = " ".join(
            part for part in (string_from_element(address.get("state")),
                              string_from_element(address.get("postalCode"))) if part
        )
        parts = [*strings_from_element(address.get("line")), string_from_element(address.get("city")), region]
        line = ", ".join(part for part in parts if part)
        if line:
            return line
    return None


def telecom_from_contact_points(contact_points: Any, system: TelecomSystem) -> str | None:
    """The first ``system`` ContactPoint's value, a ``work`` one before any other (``old`` ones skipped)."""
    found = [
        point
        for point in mappings_from_element(contact_points)
        if string_from_element(point.get("system")) == system
        and string_from_element(point.get("value"))
        and string_from_element(point.get("use")) != "old"
    ]
    found.sort(key=lambda point: string_from_element(point.get("use")) != "work")
    return string_from_element(found[0].get("value")) if found else None


def contact_from_resource(resource: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(phone, fax) of an Organization or a PractitionerRole (both have ``telecom``)."""
    telecom = mapping_from_element(resource).get("telecom")
    return telecom_from_contact_points(telecom, "phone"), telecom_from_contact_points(telecom, "fax")
