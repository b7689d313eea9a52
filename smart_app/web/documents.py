"""The referral letter and the injured worker's handout: print views and PDFs.

Each route is limited to the launch that created the referral, exactly as the confirmation
page is: the ledger row must belong to this launch, and the ServiceRequest is read back from
the EHR by our identifier and the launch's patient.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response, render_template, request

from fhir_mappings.handout import LANGUAGES, Handout, Language, handout_from_letter, long_date
from fhir_mappings.letter import Letter, LetterContext, letter_from_service_request
from smart_app.errors import ReferralInvalid, ReferralNotFound
from smart_app.referrals.documents import handout_pdf, letter_pdf, letter_rows, return_instructions
from smart_app.store import Launch
from smart_app.web.compose import kept_chart, read_back
from smart_app.web.guard import protect
from smart_app.web.times import local

logger = logging.getLogger(__name__)
bp = Blueprint("documents", __name__)
protect(bp)  # at import: a blueprint is set up once, however many apps register it


@bp.get("/referrals/<referral_id>/letter")
def letter_page(referral_id: str) -> str:
    """The letter as a page to print."""
    known_id, letter = _letter(referral_id)
    return render_template("letter.html", letter=letter, rows=letter_rows(letter, _date(letter)),
                           return_instructions=return_instructions(letter), referral_id=known_id)


@bp.get("/referrals/<referral_id>/letter.pdf")
def letter_download(referral_id: str) -> Response:
    """The letter as a PDF."""
    known_id, letter = _letter(referral_id)
    logger.info("referral.letter id=%s", known_id)
    return _pdf(letter_pdf(letter, _date(letter)), f"referral-letter-{known_id}.pdf")


@bp.get("/referrals/<referral_id>/handout")
def handout_page(referral_id: str) -> str:
    """The worker's handout as a page to print."""
    known_id, handout = _handout(referral_id)
    return render_template("handout.html", handout=handout, referral_id=known_id)


@bp.get("/referrals/<referral_id>/handout.pdf")
def handout_download(referral_id: str) -> Response:
    """The worker's handout as a PDF."""
    known_id, handout = _handout(referral_id)
    logger.info("referral.handout id=%s lang=%s", known_id, handout.language)
    return _pdf(handout_pdf(handout), f"second-opinion-{handout.language}-{known_id}.pdf")


def _letter(referral_id: str) -> tuple[str, Letter]:
    """This launch's referral id and the letter from its ServiceRequest, read back from the EHR."""
    launch, known_id, service_request = read_back(referral_id)
    if service_request is None:
        raise ReferralNotFound(
            "This referral is not in the EHR yet.", "Reload the page in a moment."
        )
    return known_id, letter_from_service_request(service_request, context=_context(launch))


def _handout(referral_id: str) -> tuple[str, Handout]:
    """The handout in the language the query asks for (English when none)."""
    wanted = request.args.get("lang", "en")
    language: Language | None = next((lang for lang in LANGUAGES if lang == wanted), None)
    if language is None:
        raise ReferralInvalid("The handout exists in English (en) and Spanish (es) only.")
    known_id, letter = _letter(referral_id)
    return known_id, handout_from_letter(letter, language)


def _context(launch: Launch) -> LetterContext:
    """What the chart this launch read adds (birth date, claim, contacts), if it is still loaded."""
    chart = kept_chart(launch)
    if chart is None:
        return LetterContext()
    return LetterContext(patient=chart.patient, coverage=chart.coverage, requester=chart.requester,
                         conditions=chart.conditions, physicians=chart.physicians)


def _date(letter: Letter) -> str | None:
    """The letter's date: the day it was sent in the deployment's time zone (SMART_APP_TIME_ZONE)."""
    try:
        sent = datetime.fromisoformat(letter.authored_at or "")
    except ValueError:
        return None
    return long_date(local(sent).date().isoformat(), "en") if sent.tzinfo else None


def _pdf(data: bytes, filename: str) -> Response:
    """A PDF download (RFC 6266 Content-Disposition)."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
