"""The letter and the handout after a real send: print views and PDFs, only for the sending launch."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from pypdf import PdfReader

from fhir_mappings.codes import SCOPE_STATEMENT
from tests.pages import launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")
QUESTIONS = ["Is the diagnosis of lumbar strain correct?", "Is the patient at MMI?"]


@pytest.fixture(scope="module")
def sent(sandbox: Sandbox) -> Iterator[tuple[requests.Session, str]]:
    """A browser whose launch sent a referral for wc-1, and the confirmation page's URL."""
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, question=QUESTIONS)
    confirmation = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert confirmation.status_code == 200 and "Referral sent" in confirmation.text
    assert confirmation.url.endswith("?sent=1")  # the referral's page, with its "Referral sent" notice
    yield browser, confirmation.url.removesuffix("?sent=1")


def _pdf_text(response: requests.Response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_confirmation_links_the_letter_and_both_handouts(
    sent: tuple[requests.Session, str]
) -> None:
    browser, url = sent
    page = browser.get(url, timeout=30).text.replace("&amp;", "&")
    path = urlsplit(url).path
    for link in ("/letter", "/letter.pdf", "/handout?lang=en", "/handout.pdf?lang=es"):
        assert f'href="{path}{link}"' in page


def test_the_letter_pdf_holds_the_questions_the_scope_and_the_claim(
    sent: tuple[requests.Session, str]
) -> None:
    browser, url = sent
    pdf = browser.get(f"{url}/letter.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="referral-letter-')
    assert pdf.headers["Cache-Control"] == "no-store"
    text = _pdf_text(pdf)
    for expected in (f"1. {QUESTIONS[0]}", f"2. {QUESTIONS[1]}", SCOPE_STATEMENT,
                     "Workers' compensation claim: WC-2026-", "Visit type: "):
        assert expected in text


def test_the_letter_print_view(sent: tuple[requests.Session, str]) -> None:
    browser, url = sent
    page = browser.get(f"{url}/letter", timeout=30)
    assert page.status_code == 200
    for expected in (*QUESTIONS, SCOPE_STATEMENT, "Second-opinion referral", "Download the letter"):
        assert expected in page.text.replace("&#39;", "'")
    assert "<script" not in page.text and "style=" not in page.text


@pytest.mark.parametrize(("lang", "title", "sentence"), [
    ("en", "Your second-opinion visit", "This visit is not an IME."),
    ("es", "Su cita para una segunda opinión", "Esta cita no es un IME."),
])
def test_the_handout_in_both_languages(
    sent: tuple[requests.Session, str], lang: str, title: str, sentence: str
) -> None:
    browser, url = sent
    page = browser.get(f"{url}/handout", params={"lang": lang}, timeout=30)
    assert page.status_code == 200 and title in page.text and sentence in page.text
    assert f'lang="{lang}"' in page.text
    pdf = browser.get(f"{url}/handout.pdf", params={"lang": lang}, timeout=30)
    assert pdf.headers["Content-Disposition"].startswith(f'attachment; filename="second-opinion-{lang}-')
    text = _pdf_text(pdf)
    assert title in text and sentence in text


def test_an_unknown_language_is_refused_in_plain_words(sent: tuple[requests.Session, str]) -> None:
    browser, url = sent
    page = browser.get(f"{url}/handout.pdf", params={"lang": "fr"}, timeout=30)
    assert page.status_code == 422 and "English (en) and Spanish (es)" in page.text


def test_the_same_atp_opens_them_from_a_launch_for_another_patient(
    sandbox: Sandbox, sent: tuple[requests.Session, str]
) -> None:
    """One rule for every referral page: the ATP's own sends, whatever the launch's patient."""
    _, url = sent
    own, page = launch_from_ehr(sandbox, patient="wc-2")
    mine = url.replace(launch_key(url), launch_key(page.url))
    for suffix in ("", "/letter", "/letter.pdf", "/handout?lang=en", "/handout.pdf?lang=es"):
        assert own.get(f"{mine}{suffix}", timeout=30).status_code == 200, suffix
    # everything the letter says comes from the outbox, none from this launch's chart (wc-2's)
    letter = own.get(f"{mine}/letter", timeout=30).text
    for expected in ("Dana Whitfield", "March 12, 1984", "303-555-0145", "1450 Larimer Street"):
        assert expected in letter


def test_another_atp_cannot_open_them(sandbox: Sandbox, sent: tuple[requests.Session, str]) -> None:
    _, url = sent
    other, other_page = launch_from_ehr(sandbox, practitioner="atp-2")
    own_key, other_key = launch_key(url), launch_key(other_page.url)
    for suffix in ("", "/letter", "/letter.pdf", "/handout?lang=en", "/handout.pdf?lang=es", "/opinion"):
        # the other launch's own prefix with this referral id: not its referral
        answer = other.get(f"{url.replace(own_key, other_key)}{suffix}", timeout=30)
        assert answer.status_code == 404 and "Referral not found" in answer.text
        # this launch's URL in the other browser: that browser holds no cookie for it
        assert other.get(f"{url}{suffix}", timeout=30).status_code == 401
    assert requests.get(f"{url}/letter.pdf", timeout=30).status_code == 401  # no launch at all


def test_a_name_outside_latin1_keeps_every_letter_and_the_letter_says_how_to_reply(
    sandbox: Sandbox,
) -> None:
    """wc-20 is Thị Ngọc Ánh Nguyễn: the letter and the handout PDFs keep her name; the letter
    gives her birth date, the date of injury, the due date and the referring clinic's phone and fax."""
    browser, page = launch_from_ehr(sandbox, patient="wc-20")
    data = referral_form(page.text, question=QUESTIONS, physician="PractitionerRole/so-1")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200, sent.text
    url = sent.url.removesuffix("?sent=1")
    letter = _pdf_text(browser.get(f"{url}/letter.pdf", timeout=30))
    handout = _pdf_text(browser.get(f"{url}/handout.pdf", params={"lang": "es"}, timeout=30))
    assert "Patient: Thị Ngọc Ánh Nguyễn" in letter
    assert letter.count("?") == sum(question.count("?") for question in QUESTIONS)  # no letter became "?"
    for expected in ("Date of birth: May 9, 1986", "Date of injury: October 6, 2025",
                     "Referring clinic: Front Range Occupational Health", "Phone: 303-555-0145",
                     "Fax: 303-555-0141", "Opinion needed by: ", "How to return the opinion"):
        assert expected in letter
    assert "Thị Ngọc Ánh Nguyễn" not in handout  # the worker's own name is not on her handout
    assert "Teléfono: 303-555-0152." in handout  # Dr. Chen's direct line
    view = browser.get(f"{url}/letter", timeout=30).text.replace("&#39;", "'")
    for expected in ("Date of birth", "May 9, 1986", "Date of injury", "303-555-0145"):
        assert expected in view
