"""The referral letter and the injured worker's handout: print views and PDFs.

Built from the transaction Bundle the outbox keeps for the referral (its ServiceRequest, Coverage,
Patient and reasons) and the two clinics' contacts kept beside it, so they open from any of the
sending ATP's launches, whatever the launch's patient, and for no one else (docs/delivery.md,
"Who sees a referral").
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response, render_template, request

from fhir_mappings.handout import LANGUAGES, Handout, Language, handout_from_letter, long_date
from fhir_mappings.letter import Letter, letter_from_transaction
from fhir_mappings.referral_number import referral_number_from_id
from smart_app.errors import ReferralInvalid, ReferralNotFound
from smart_app.referrals.documents import handout_pdf, letter_pdf, letter_rows, return_instructions
from smart_app.referrals.routing import contacts_from_summary
from smart_app.web.guard import current_launch, protect
from smart_app.web.referrals import tracking
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
    filename = f"referral-letter-{referral_number_from_id(known_id)}.pdf"
    return _pdf(letter_pdf(letter, _date(letter)), filename)


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
    number = referral_number_from_id(known_id)
    return _pdf(handout_pdf(handout), f"second-opinion-{handout.language}-{number}.pdf")


def _letter(referral_id: str) -> tuple[str, Letter]:
    """The referral id and its letter, if it is one of this ATP's referrals: from the Bundle the outbox
    keeps and the two clinics' contacts kept beside it, whatever the launch's patient."""
    launch = current_launch()
    bundle, summary = tracking().payload(referral_id, launch.fhir_user or "", launch.iss)
    letter = letter_from_transaction(bundle, *contacts_from_summary(summary))
    if letter is None:
        raise ReferralNotFound("This referral has no letter.", "Open the referral's page instead.")
    return referral_id, letter


def _handout(referral_id: str) -> tuple[str, Handout]:
    """The handout in the language the query asks for (English when none)."""
    wanted = request.args.get("lang", "en")
    language: Language | None = next((lang for lang in LANGUAGES if lang == wanted), None)
    if language is None:
        raise ReferralInvalid("The handout exists in English (en) and Spanish (es) only.")
    known_id, letter = _letter(referral_id)
    return known_id, handout_from_letter(letter, language)


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
