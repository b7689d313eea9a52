"""The files the physician opens: the records shared for review, and their own signed letter.

Served from the clinic's own server (never the EHR's). A PDF, an image or plain text is shown
in the browser; anything else is downloaded. Nothing in a file may run or load anything (CSP
``sandbox``, ``default-src 'none'``), and nothing is framed, sniffed or cached.
"""

from __future__ import annotations

import logging

from flask import Response

from fhir_mappings.review_records import SHOWN, attachments, file_content, file_name, media_type
from smart_app.answering.referral import OpenReferral
from smart_app.chart.fhir_client import FhirClient
from smart_app.errors import ReferralNotFound

logger = logging.getLogger(__name__)
FILE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'; sandbox"


def record_file(opened: OpenReferral, record: int, file: int) -> Response:
    """File ``file`` of shared record ``record`` (both 1-based, as the page numbers them)."""
    rows = {row.number: row for row in opened.records}
    row = rows.get(record)
    found = opened.resources.get(row.reference) if row else None
    files = attachments(found) if found else []
    if not 1 <= file <= len(files) or (data := file_content(files[file - 1])) is None:
        raise ReferralNotFound("This referral shares no such file.", "Open the referral's page again.")
    attachment = files[file - 1]
    logger.info("answering.record_file task=%s", opened.incoming.task_id)
    return _file(data, media_type(attachment), file_name(attachment, record, file))


def signed_letter(client: FhirClient, opened: OpenReferral) -> Response:
    """The letter the Task's ``opinion`` output names, read from the clinic."""
    reference = opened.incoming.state.opinion
    if not reference or not reference.startswith("DocumentReference/"):
        raise ReferralNotFound("This referral has no signed letter yet.", "Sign the opinion first.")
    document = client.read("DocumentReference", reference.removeprefix("DocumentReference/"))
    pdf = next((a for a in attachments(document) if media_type(a) == "application/pdf"), None)
    data = file_content(pdf) if pdf else None
    if data is None:
        raise ReferralNotFound("The clinic holds no PDF for this letter.", "Open the referral's page again.")
    return _file(data, "application/pdf", f"second-opinion-{opened.incoming.referral_id or 'letter'}.pdf")


def _file(data: bytes, kind: str, name: str) -> Response:
    response = Response(data, status=200, content_type=kind if kind in SHOWN else "application/octet-stream")
    disposition = "inline" if kind in SHOWN else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


