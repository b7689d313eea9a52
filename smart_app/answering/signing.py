"""Sign the opinion: the letter (PDF) at the clinic, the Task completed with every output, a Provenance.

In this order, each safe to repeat: the DocumentReference is a conditional create on
``{ns}/sid/opinion|<referral id>`` (a second signing finds the first letter); the Task is
completed with ``If-Match`` on the version read (a Task completed meanwhile with this letter is
success, anything else a plain conflict); the Provenance follows where the grant allows it (one the
clinic refuses does not unsign the opinion: it is logged, by id only).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from fhir_mappings.codes import OPINION_IDENTIFIER_ID, identifier_system
from fhir_mappings.domain import Conclusion, SignedOpinion
from fhir_mappings.errors import MappingError
from fhir_mappings.incoming import AnsweringPhysician, IncomingReferral
from fhir_mappings.opinion_rules import OpinionDraft, opinion_from_draft
from fhir_mappings.signed_opinion import OpinionLetter, letter_document, signing_provenance
from fhir_mappings.task_workflow import WORKING, completed_task
from smart_app.answering.letter_pdf import opinion_pdf
from smart_app.answering.referral import load_referral
from smart_app.answering.steps import changed, take_step
from smart_app.chart.fhir_client import FhirClient
from smart_app.errors import EhrError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signing:
    """Who signs what, when, where."""

    client: FhirClient
    physician: AnsweringPhysician
    task_id: str
    ns: str
    now: datetime  # timezone-aware
    zone: tzinfo  # the times the letter shows
    with_provenance: bool = True


def sign(signing: Signing, draft: OpinionDraft) -> str:
    """Sign the draft; the letter's reference at the clinic. OpinionIncomplete names what is missing."""
    opened = load_referral(signing.client, signing.physician, signing.task_id, signing.ns,
                           signing.now.astimezone(signing.zone).date())  # fmt: skip
    state = opened.incoming.state
    if state.status == "completed" and state.opinion:
        return state.opinion  # signed before (a double submit, or another tab)
    if state.status not in WORKING:
        raise changed(state.status)
    answers, conclusion = opinion_from_draft(draft, opened.incoming.questions,
                                             signing.now.astimezone(signing.zone).date())
    letter_reference = _store_letter(signing, opened.incoming, answers, conclusion, opened.task)
    opinion = SignedOpinion(answers, conclusion, letter_reference, visit=state.visit)
    instant = _instant(signing.now)
    take_step(signing.client, signing.physician, signing.task_id, signing.ns,
              lambda task: completed_task(task, instant, opinion, signing.ns), "sign")  # fmt: skip
    if signing.with_provenance:
        _record_signature(signing, [f"Task/{signing.task_id}", letter_reference], instant)
    logger.info("answering.signed task=%s", signing.task_id)
    return letter_reference


def _store_letter(
    signing: Signing, incoming: IncomingReferral, answers: tuple[str, ...], conclusion: Conclusion,
    task: dict[str, object],
) -> str:
    """The signed PDF as a DocumentReference at the clinic (found, not duplicated, on a repeat)."""
    referral_id = incoming.referral_id or signing.task_id
    letter = OpinionLetter(
        referral_id=referral_id, patient=incoming.patient, birth_date=incoming.birth_date,
        claim=incoming.claim,
        requester=incoming.requester, physician=signing.physician.name,
        clinic=(signing.physician.organization or (None, None))[1], visit_type=incoming.visit_type,
        visit=_shown(incoming.state.visit, signing.zone), reasons=incoming.reasons, scope=incoming.scope,
        answered=tuple(zip(incoming.questions, answers, strict=True)), conclusion=conclusion,
        signed=signing.now.astimezone(signing.zone).strftime("%Y-%m-%d %H:%M %Z"),
    )  # fmt: skip
    author = {"reference": signing.physician.reference, "display": signing.physician.name}
    pdf = base64.b64encode(opinion_pdf(letter)).decode("ascii")
    try:
        document = letter_document(referral_id=referral_id, task=task, author=author, pdf_base64=pdf,
                                   signed_at=_instant(signing.now), ns=signing.ns)  # fmt: skip
    except MappingError as error:
        raise EhrError("The signed letter could not be written as FHIR R4.") from error
    key = f"identifier={identifier_system(signing.ns, OPINION_IDENTIFIER_ID)}|{referral_id}"
    created = signing.client.create(document, if_none_exist=key)
    return f"DocumentReference/{created.resource_id}"


def _record_signature(signing: Signing, targets: list[str], instant: str) -> None:
    author = {"reference": signing.physician.reference, "display": signing.physician.name}
    try:
        provenance = signing_provenance(targets=targets, author=author, signed_at=instant, ns=signing.ns,
                                        organization=signing.physician.organization)  # fmt: skip
        signing.client.create(provenance)
    except (EhrError, MappingError) as error:
        logger.warning("answering.provenance_unwritten task=%s error=%s", signing.task_id,
                       type(error).__name__)


def _instant(moment: datetime) -> str:
    """A FHIR instant in UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _shown(value: str | None, zone: tzinfo) -> str | None:
    """A FHIR dateTime as the physician's zone shows it."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment.tzinfo else value
