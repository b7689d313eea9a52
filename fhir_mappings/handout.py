"""A one-page, plain-language note for the injured worker about the second-opinion visit.

Built from the referral letter's content (fhir_mappings.letter), in English or Spanish, at about
a 6th-grade reading level (https://www.plainlanguage.gov/guidelines/).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from fhir_mappings.domain import CoverageSummary, Modality
from fhir_mappings.letter import Contact, Letter, letter_from_service_request

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True)
class Section:
    """A heading, its sentences, and an optional list."""

    heading: str
    sentences: tuple[str, ...]
    items: tuple[str, ...] = ()
    one_per_line: bool = False  # an address block: each sentence on its own line


@dataclass(frozen=True)
class Handout:
    """The whole note: title and sections, in one language."""

    language: Language
    title: str
    sections: tuple[Section, ...]

    def text(self) -> str:
        """Everything as plain text, one sentence or list item per line."""
        lines = [self.title]
        for section in self.sections:
            lines += [section.heading, *section.sentences, *(f"{item}." for item in section.items)]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Words:
    """The fixed words of one language; {atp}, {doctor}, {clinic}, {claim}, {number}, {address},
    {phone}, {start}, {end} are filled in. The ATP and the second-opinion doctor are named once each."""

    title: str
    headings: tuple[str, str, str, str, str, str, str]
    why_named: str
    why_unnamed: str
    why: tuple[str, ...]
    not_ime: tuple[str, ...]
    in_charge: tuple[str, ...]
    visit: dict[Modality | None, tuple[str, ...]]
    who: tuple[str, str]
    address: str
    phone: str
    call: str  # set a day and time, when no window is known
    call_between: str  # the same, within the requested window
    may_call: str  # a record review
    bring: dict[Modality | None, tuple[str, ...]]
    claim: str
    number: str  # the referral number, for the worker to quote when they call
    next: tuple[str, ...]
    the_doctor: str
    the_clinic: str
    months: tuple[str, ...]
    date: str  # "{month} {day}, {year}"


_EN = _Words(
    title="Your second-opinion visit",
    headings=("Why a second opinion?", "This is not an IME", "Your doctor stays in charge",
              "What kind of visit", "Who and where", "What to bring", "What happens next"),
    why_named="{atp}, your doctor for this work injury, asked another doctor to look at it.",
    why_unnamed="Your doctor asked another doctor to look at your work injury.",
    why=("This doctor will answer a few questions about your care.",
         "This is called a second opinion."),
    not_ime=("An IME is an exam that the insurance company asks for.",
             "This visit is not an IME.",
             "Your own doctor asked for it, to help plan your care."),
    in_charge=("Your doctor is still in charge of your care for this injury.",
               "The new doctor will not take over your care.",
               "Keep going to your visits with your doctor."),
    visit={
        "in-person": ("You will see the doctor at the clinic.",),
        "telehealth": ("You will talk with the doctor on a video call.",
                       "You can use a phone or a computer."),
        "record-review": ("The doctor will read your medical records.",
                          "You do not need to go to a visit."),
        None: ("The clinic will tell you what kind of visit it is.",),
    },
    who=("Doctor: {doctor}.", "Clinic: {clinic}."),
    address="Address: {address}.",
    phone="Phone: {phone}.",
    call="The clinic will call you to set a day and time.",
    call_between="The clinic will call you to set a day and time between {start} and {end}.",
    may_call="The clinic may call you with a question.",
    bring={
        "in-person": ("A photo ID", "A list of the drugs you take",
                      "Any X-rays or test results you have", "Your questions for the doctor"),
        "telehealth": ("A quiet room with good light", "A phone or computer with a camera",
                       "A list of the drugs you take", "Your questions for the doctor"),
        "record-review": ("Nothing: your doctor will send your records",),
        None: ("A photo ID", "A list of the drugs you take"),
    },
    claim="Your claim number: {claim}",
    number="Your referral number: {number}",
    next=("The new doctor will write a letter to your doctor with the answers.",
          "Your doctor will talk with you about it.",
          "Then you and your doctor will plan what to do next."),
    the_doctor="the doctor named in your letter",
    the_clinic="the clinic named in your letter",
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    date="{month} {day}, {year}",
)

_ES = _Words(
    title="Su cita para una segunda opinión",
    headings=("¿Por qué una segunda opinión?", "Esto no es un IME", "Su médico sigue a cargo",
              "Qué tipo de cita es", "Quién y dónde", "Qué debe traer", "Qué pasa después"),
    why_named="{atp}, su médico para esta lesión del trabajo, le pidió a otro médico que la vea.",
    why_unnamed="Su médico le pidió a otro médico que vea su lesión del trabajo.",
    why=("Este médico va a contestar unas preguntas sobre su caso.",
         "Esto se llama una segunda opinión."),
    not_ime=("Un IME es un examen que pide la compañía de seguros.",
             "Esta cita no es un IME.",
             "Su propio médico la pidió, para ayudar con su caso."),
    in_charge=("Su médico sigue a cargo de su cuidado para esta lesión.",
               "El otro médico no va a tomar su caso.",
               "Siga yendo a sus citas con su médico."),
    visit={
        "in-person": ("Usted va a ver al médico en la clínica.",),
        "telehealth": ("Usted va a hablar con el médico por video.",
                       "Puede usar un teléfono o una computadora."),
        "record-review": ("El médico va a leer su expediente médico.",
                          "Usted no tiene que ir a una cita."),
        None: ("La clínica le va a decir qué tipo de cita es.",),
    },
    who=("Médico: {doctor}.", "Clínica: {clinic}."),
    address="Dirección: {address}.",
    phone="Teléfono: {phone}.",
    call="La clínica le va a llamar para fijar el día y la hora.",
    call_between="La clínica le va a llamar para fijar el día y la hora, entre el {start} y el {end}.",
    may_call="La clínica le puede llamar con una pregunta.",
    bring={
        "in-person": ("Una identificación con foto", "Una lista de sus medicinas",
                      "Sus rayos X o pruebas, si los tiene", "Sus preguntas para el médico"),
        "telehealth": ("Un cuarto tranquilo y con buena luz", "Un teléfono o computadora con cámara",
                       "Una lista de sus medicinas", "Sus preguntas para el médico"),
        "record-review": ("Nada: su médico va a mandar su expediente",),
        None: ("Una identificación con foto", "Una lista de sus medicinas"),
    },
    claim="Su número de reclamo: {claim}",
    number="Su número de referencia: {number}",
    next=("El otro médico le va a escribir una carta a su médico con las respuestas.",
          "Su médico va a hablar con usted sobre la carta.",
          "Luego usted y su médico van a decidir qué hacer."),
    the_doctor="el médico que nombra su carta",
    the_clinic="la clínica que nombra su carta",
    months=("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
            "septiembre", "octubre", "noviembre", "diciembre"),
    date="{day} de {month} de {year}",
)

_WORDS: dict[Language, _Words] = {"en": _EN, "es": _ES}


def long_date(value: str, language: Language) -> str:
    """"April 15, 2026" or "15 de abril de 2026" for a FHIR date (or dateTime); as sent if not one."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    words = _WORDS[language]
    return words.date.format(month=words.months[day.month - 1], day=day.day, year=day.year)


def handout_from_service_request(
    resource: Mapping[str, Any], language: Language, coverage: CoverageSummary | None = None
) -> Handout:
    """The worker's note from the ServiceRequest the EHR holds (and the chart's claim)."""
    return handout_from_letter(letter_from_service_request(resource, coverage), language)


def handout_from_letter(letter: Letter, language: Language) -> Handout:
    """The worker's note for this referral: the ATP and the physician named once, where and when."""
    words = _WORDS[language]
    receiver = letter.receiver or Contact()
    slots = {
        "atp": letter.requester or "",
        "doctor": letter.physician or words.the_doctor,
        "clinic": letter.clinic or words.the_clinic,
        "claim": letter.claim or "",
        "number": letter.number or "",
        "address": receiver.address or "",
        "phone": receiver.phone or "",
        "start": long_date(letter.window[0], language) if letter.window else "",
        "end": long_date(letter.window[1], language) if letter.window else "",
    }
    why = (words.why_named if letter.requester else words.why_unnamed, *words.why)
    bring = (words.bring[letter.modality] + ((words.claim,) if letter.claim else ())
             + ((words.number,) if letter.number else ()))  # fmt: skip
    parts = (why, words.not_ime, words.in_charge, words.visit[letter.modality],
             _who(letter, receiver, words), (), words.next)
    sections = tuple(
        Section(heading, _filled(sentences, slots), _filled(bring, slots) if index == 5 else (),
                one_per_line=index == 4)
        for index, (heading, sentences) in enumerate(zip(words.headings, parts, strict=True))
    )
    return Handout(language, words.title, sections)


def _who(letter: Letter, receiver: Contact, words: _Words) -> tuple[str, ...]:
    """Doctor, clinic, the address of an in-person visit, the clinic's phone, and when."""
    address = (words.address,) if receiver.address and letter.modality == "in-person" else ()
    phone = (words.phone,) if receiver.phone else ()
    if letter.modality == "record-review":
        when = words.may_call
    else:
        when = words.call_between if letter.window else words.call
    return (*words.who, *address, *phone, when)


def _filled(texts: tuple[str, ...], slots: dict[str, str]) -> tuple[str, ...]:
    """The texts with the slots filled in, each starting with a capital letter."""
    filled = (text.format(**slots) for text in texts)
    return tuple(text[:1].upper() + text[1:] for text in filled)
