"""Draft orders that ask for an IME or a DIME (CDS Hooks ``order-select``: ``context.draftOrders``).

No standard code for an independent medical examination was verified (docs/fhir-mapping.md §9),
so a draft ServiceRequest is recognised by the words of its code (text and displays) and its
orderDetail: "IME", "DIME", "independent medical exam(ination)" or "evaluation".
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fhir_mappings.codeable_concept import text_from_codeable_concept
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError
from fhir_mappings.reference import reference_from_resource

ImeKind = Literal["IME", "DIME"]
_DIME = re.compile(r"(?-i:\bDIME\b)|division[- ]independent medical (?:exam|evaluation)", re.IGNORECASE)
_IME = re.compile(r"(?-i:\bIMEs?\b)|independent medical (?:exam|evaluation)", re.IGNORECASE)


@dataclass(frozen=True)
class ImeOrder:
    """A selected draft order for an examination the ATP does not request for their own questions."""

    reference: str  # "ServiceRequest/draft-1"
    kind: ImeKind
    text: str  # what the order says it is, as the EHR wrote it


def ime_orders_from_draft_orders(draft_orders: Any, selections: Sequence[str]) -> list[ImeOrder]:
    """The selected draft ServiceRequests that name an IME or a DIME (the others are not ours to judge)."""
    chosen = set(selections)
    found = []
    for entry in mappings_from_element(mapping_from_element(draft_orders).get("entry")):
        resource = mapping_from_element(entry.get("resource"))
        if resource.get("resourceType") != "ServiceRequest":
            continue
        try:
            reference = reference_from_resource(resource)
        except MappingError:
            continue  # a draft without a usable id cannot be one of the selections
        if reference not in chosen:
            continue
        text = _order_text(resource)
        kind: ImeKind | None = "DIME" if _DIME.search(text) else "IME" if _IME.search(text) else None
        if kind is not None:
            found.append(ImeOrder(reference, kind, text))
    return found


def _order_text(resource: Mapping[str, Any]) -> str:
    """ServiceRequest.code text and displays, then each orderDetail's text."""
    code = mapping_from_element(resource.get("code"))
    parts = [text_from_codeable_concept(code) or ""]
    parts += [string_from_element(c.get("display")) or "" for c in mappings_from_element(code.get("coding"))]
    parts += [text_from_codeable_concept(d) or "" for d in mappings_from_element(resource.get("orderDetail"))]
    return " · ".join(dict.fromkeys(p for p in parts if p))
