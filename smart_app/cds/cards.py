"""The cards: https://cds-hooks.hl7.org/2.0/#card-attributes.

Each card has a ``uuid`` (for feedback), a summary under 140 characters that starts "Consider a
second opinion", an indicator, a source, the evidence as GitHub-flavoured Markdown, one
suggestion to accept, ``overrideReasons`` (Codings with a display) and one ``smart`` link to
the app's launch URL whose ``appContext`` carries the suggested reasons and questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from fhir_mappings.codes import CDS_OVERRIDE_REASON_SYSTEM_ID, CDS_OVERRIDE_REASONS, local_system
from fhir_mappings.ime_order import ImeOrder
from fhir_mappings.rules import QUESTION_BY_TOPIC
from fhir_mappings.stuck_case import Verdict
from smart_app.cds.app_context import app_context_from_suggestion

SUMMARY_PREFIX = "Consider a second opinion: "
MAX_SUMMARY = 139  # "<140-character summary"
SOURCE_LABEL = "Second Opinion: stuck-case check"
LINK_LABEL = "Open Second Opinion with the suggested reasons and questions"
SUGGESTION_LABEL = "Ask for a second opinion"
SECOND_OPINION_VS_IME = (
    "A second opinion is your own tool as the treating physician: another physician answers your "
    "questions and you keep the patient's care; an IME is requested by the insurer, the employer or "
    "an attorney, usually when MMI or an impairment rating is disputed, and the requester picks the "
    "examiner (in Colorado the Division's own IME is the DIME)."
)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#+!|~])")
Indicator = Literal["info", "warning", "critical"]


def stuck_case_card(verdict: Verdict, public_url: str, ns: str, uuids: tuple[str, str]) -> dict[str, Any]:
    """The patient-view card for a stuck case (``uuids``: the card's and its suggestion's)."""
    lines = "\n".join(f"- {_escaped(finding.evidence)}" for finding in verdict.findings)
    detail = (
        f"**Why this case looks stuck**\n\n{lines}\n\n**Second opinion or IME?** {SECOND_OPINION_VS_IME}\n\n"
        "Open Second Opinion from this card: the reasons and questions are filled in; change them freely."
    )
    phrases = [finding.summary for finding in verdict.findings]
    reasons = [c.reference for c in verdict.facts.conditions]
    return _card(
        uuids,
        _summary(phrases),
        "info",
        detail,
        public_url,
        ns,
        app_context_from_suggestion(reasons, verdict.questions),
    )


def ime_order_card(
    orders: Sequence[ImeOrder], reasons: Sequence[str], public_url: str, ns: str, uuids: tuple[str, str]
) -> dict[str, Any]:
    """The order-select card when the selected draft orders ask for an IME or a DIME."""
    kinds = sorted({order.kind for order in orders})
    named = "; ".join(f'"{_escaped(order.text[:120])}"' for order in orders)
    phrase = (
        "a DIME settles MMI or rating disputes"
        if kinds == ["DIME"]
        else "an IME answers the insurer's questions"
    )
    detail = (
        f"You selected an order for {' and '.join(f'a {k}' if k == 'DIME' else f'an {k}' for k in kinds)}: "
        f"{named}.\n\n{SECOND_OPINION_VS_IME}\n\nIf what you need is another physician's answer to your own "
        "clinical questions (the diagnosis, the treatment plan, when MMI can be expected), ask for a second "
        "opinion instead: opinion only, no transfer of care."
    )
    questions = [QUESTION_BY_TOPIC[topic] for topic in ("Diagnosis", "Treatment plan", "MMI")]
    return _card(
        uuids,
        _summary([f"{phrase}, a second opinion answers yours"]),
        "warning",
        detail,
        public_url,
        ns,
        app_context_from_suggestion(list(reasons), questions),
    )


def _card(
    uuids: tuple[str, str],
    summary: str,
    indicator: Indicator,
    detail: str,
    public_url: str,
    ns: str,
    app_context: str,
) -> dict[str, Any]:
    system = local_system(ns, CDS_OVERRIDE_REASON_SYSTEM_ID)
    return {
        "uuid": uuids[0],
        "summary": summary,
        "indicator": indicator,
        "detail": detail,
        "source": {"label": SOURCE_LABEL},
        "suggestions": [{"label": SUGGESTION_LABEL, "uuid": uuids[1], "isRecommended": True}],
        "selectionBehavior": "at-most-one",
        "overrideReasons": [
            {"system": system, "code": code, "display": display}
            for code, display in CDS_OVERRIDE_REASONS.items()
        ],
        "links": [
            {"label": LINK_LABEL, "url": f"{public_url}/launch", "type": "smart", "appContext": app_context}
        ],
    }


def _summary(phrases: Sequence[str]) -> str:
    """ "Consider a second opinion: …" with as many of the phrases as fit under 140 characters."""
    kept = list(phrases)
    while kept and len(SUMMARY_PREFIX + "; ".join(kept)) > MAX_SUMMARY:
        kept.pop()
    text = SUMMARY_PREFIX + "; ".join(kept) if kept else SUMMARY_PREFIX + "this case shows no progress"
    return text[:MAX_SUMMARY]


def _escaped(text: str) -> str:
    """Text from the EHR shown as itself in Markdown (GFM backslash escapes)."""
    return _MARKDOWN.sub(r"\\\1", text)
