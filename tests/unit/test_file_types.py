"""Which files a record review sends (fhir_mappings/file_type.py), and the file names the clinic sees."""

from __future__ import annotations

import re

import pytest

from fhir_mappings.file_type import MAX_TITLE, FileRefused, attachment_title, check_shareable_file
from fhir_mappings.shared_record import shared_record_from_resource

CDA = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id/></ClinicalDocument>')


@pytest.mark.parametrize("content_type, data", [
    ("application/pdf", b"%PDF-1.7\n..."),
    ("Application/PDF; name=report.pdf", b"%PDF-1.4"),
    ("image/png", b"\x89PNG\r\n\x1a\n...."),
    ("image/jpeg", b"\xff\xd8\xff\xe0..JFIF"),
    ("image/gif", b"GIF89a...."),
    ("image/webp", b"RIFF\x10\x00\x00\x00WEBPVP8 "),
    ("text/plain", b"Work status: modified duty, no lifting over 20 lb.\r\n\tRe-check in 2 weeks.\f"),
    ("text/plain; charset=UTF-8", "Señora Núñez: dolor lumbar".encode()),
    ("text/plain; charset=\"us-ascii\"", b"plain"),
    ("text/plain", b"\xef\xbb\xbfNote with a byte order mark"),
    ("text/plain", b"<3 the patient is better; a < b"),
    ("application/xml", CDA),
    ("text/xml", CDA.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")),
])
def test_files_a_clinic_can_open_are_sent(content_type: str, data: bytes) -> None:
    check_shareable_file(content_type, data)


@pytest.mark.parametrize("content_type, data, words", [
    ("application/x-msdownload", b"MZ\x90", "is of type application/x-msdownload"),
    ("application/octet-stream", b"%PDF-1.4", "is of type application/octet-stream"),
    ("text/html", b"<p>note</p>", "is of type text/html"),
    ("image/svg+xml", b"<svg/>", "is of type image/svg+xml"),
    ("application/dicom", b"\x00" * 132 + b"DICM", "is of type application/dicom"),
    ("application/pdf", b"<html><script>alert(1)</script>", "labelled a PDF, but what it holds is not a PDF"),
    ("application/pdf", b" %PDF-1.4", "not a PDF"),
    ("image/png", b"\xff\xd8\xff\xe0", "not a PNG image"),
    ("image/webp", b"RIFF\x10\x00\x00\x00AVI ", "not a WebP image"),
    ("text/plain", b"<!DOCTYPE html><title>x</title>", "not plain text"),
    ("text/plain", b"  <script>alert(1)</script>", "not plain text"),
    ("text/plain", b"note\x00with a NUL", "not plain text"),
    ("text/plain", b"caf\xe9", "not plain text"),  # Latin-1, not UTF-8
    ("text/plain; charset=windows-1252", b"x", "in the windows-1252 character set"),
    ("application/xml", b"<Patient xmlns='http://hl7.org/fhir'/>", "not a CDA clinical document"),
    ("application/xml", b"<ClinicalDocument/>", "not a CDA clinical document"),  # no HL7 v3 namespace
    ("application/xml", b"<ClinicalDocument xmlns='urn:hl7-org:v3'", "not a CDA clinical document"),
    ("application/xml", b'<!DOCTYPE d [<!ENTITY a "aaaa">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>',
     "document type declaration"),
    ("application/xml", b'<!DOCTYPE d SYSTEM "file:///etc/passwd"><ClinicalDocument xmlns="urn:hl7-org:v3"/>',
     "document type declaration"),
    (None, b"%PDF-1.4", "does not say what type of file it is"),
    ("  ", b"%PDF-1.4", "does not say what type of file it is"),
    ("pdf", b"%PDF-1.4", "has a file type Second Opinion cannot read"),
    ("application/pdf\n<script>", b"%PDF-1.4", "has a file type Second Opinion cannot read"),
])
def test_other_files_are_refused_in_plain_words(content_type: str | None, data: bytes, words: str) -> None:
    with pytest.raises(FileRefused, match=re.escape(words)) as refused:
        check_shareable_file(content_type, data)
    assert str(refused.value).endswith(".")


@pytest.mark.parametrize("title, cleaned", [
    ("../../../../etc/passwd\x00.pdf", "etc-passwd.pdf"),
    ("..\\..\\windows\\system32\\cmd.exe", "windows-system32-cmd.exe"),
    ("Imaging report (PDF)", "Imaging report (PDF)"),
    ("MRI L4 / L5.pdf", "MRI L4-L5.pdf"),
    ("report\u202efdp.exe", "reportfdp.exe"),  # no right-to-left override to disguise the extension
    ("line\r\nbreak\ttab", "line break tab"),
    ("/// ..", None),
    ("\x00\x01", None),
])
def test_titles_become_clean_file_names(title: str, cleaned: str | None) -> None:
    assert attachment_title(title) == cleaned


def test_a_long_title_is_cut_keeping_its_extension() -> None:
    cleaned = attachment_title("x" * 500 + ".pdf")
    assert cleaned is not None and len(cleaned) == MAX_TITLE and cleaned.endswith("….pdf")


def test_the_clinics_copy_carries_the_clean_title() -> None:
    record = {"resourceType": "DocumentReference", "status": "current", "subject": {"reference": "Patient/p"},
              "content": [{"attachment": {"contentType": "application/pdf", "data": "JVBERi0=",
                                          "title": "../../../../etc/passwd\x00.pdf"}},
                          {"attachment": {"contentType": "application/pdf", "data": "JVBERi0=",
                                          "title": "//"}}]}
    copy = shared_record_from_resource(record, {"system": "urn:x", "value": "1"}, "urn:uuid:p")
    assert [c["attachment"].get("title") for c in copy["content"]] == ["etc-passwd.pdf", None]
