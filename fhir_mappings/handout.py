"""A one-page, plain-language note for the injured worker about the second-opinion visit.

Built from the referral letter's content (fhir_mappings.letter), in English or Spanish, at about
a 6th-grade reading level (https://www.plainlanguage.gov/guidelines/).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from fhir_mappings.domain import CoverageSummary, Modality
from fhir_mappings.letter import Letter, letter_from_service_request

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True)
class Section:
    """A heading, its sentences, and an optional list."""

    heading: str
    sentences: tuple[str, ...]
    items: tuple[str, ...] = ()


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
    """The fixed words of one language; {atp}, {doctor}, {clinic} are filled in."""

    title: str
    headings: tuple[str, str, str, str, str, str, str]
    why: tuple[str, ...]
    not_ime: tuple[str, ...]
    in_charge: tuple[str, ...]
    visit: dict[Modality | None, tuple[str, ...]]
    who: tuple[str, ...]
    when: dict[Modality | None, str]
    bring: dict[Modality | None, tuple[str, ...]]
    claim: str
    number: str  # the referral number, for the worker to quote when they call
    next: tuple[str, ...]
    your_doctor: str
    the_doctor: str
    the_clinic: str


_EN = _Words(
    title="Your second-opinion visit",
    headings=("Why a second opinion?", "This is not an IME", "Your doctor stays in charge",
              "What kind of visit", "Who and where", "What to bring", "What happens next"),
    why=("{atp} asked another doctor to look at your work injury.",
         "This doctor will answer a few questions about your care.",
         "This is called a second opinion."),
    not_ime=("An IME is an exam that the insurance company asks for.",
             "This visit is not an IME.",
             "Your own doctor asked for it, to help plan your care."),
    in_charge=("{atp} is still your doctor for this injury.",
               "The new doctor will not take over your care.",
               "Keep going to your visits with {atp}."),
    visit={
        "in-person": ("You will see the doctor at the clinic.",),
        "telehealth": ("You will talk with the doctor on a video call.",
                       "You can use a phone or a computer."),
        "record-review": ("The doctor will read your medical records.",
                          "You do not need to go to a visit."),
        None: ("The clinic will tell you what kind of visit it is.",),
    },
    who=("Doctor: {doctor}.", "Clinic: {clinic}."),
    when={"record-review": "The clinic may call you with a question.",
          None: "The clinic will call you to set a day and time.",
          "in-person": "The clinic will call you to set a day and time.",
          "telehealth": "The clinic will call you to set a day and time."},
    bring={
        "in-person": ("A photo ID", "A list of the drugs you take",
                      "Any X-rays or test results you have", "Your questions for the doctor"),
        "telehealth": ("A quiet room with good light", "A phone or computer with a camera",
                       "A list of the drugs you take", "Your questions for the doctor"),
        "record-review": ("Nothing: {atp} will send your records",),
        None: ("A photo ID", "A list of the drugs you take"),
    },
    claim="Your claim number: {claim}",
    number="Your referral number: {number}",
    next=("The doctor will write a letter to {atp} with the answers.",
          "{atp} will talk with you about it.",
          "Then you and {atp} will plan what to do next."),
    your_doctor="your doctor",
    the_doctor="the doctor named in your letter",
    the_clinic="the clinic named in your letter",
)

_ES = _Words(
    title="Su cita para una segunda opinión",
    headings=("¿Por qué una segunda opinión?", "Esto no es un IME", "Su médico sigue a cargo",
              "Qué tipo de cita es", "Quién y dónde", "Qué debe traer", "Qué pasa después"),
    why=("{atp} le pidió a otro médico que vea su lesión del trabajo.",
         "Este médico va a contestar unas preguntas sobre su caso.",
         "Esto se llama una segunda opinión."),
    not_ime=("Un IME es un examen que pide la compañía de seguros.",
             "Esta cita no es un IME.",
             "Su propio médico la pidió, para ayudar con su caso."),
    in_charge=("{atp} sigue siendo su médico para esta lesión.",
               "El otro médico no va a tomar su caso.",
               "Siga yendo a sus citas con {atp}."),
    visit={
        "in-person": ("Usted va a ver al médico en la clínica.",),
        "telehealth": ("Usted va a hablar con el médico por video.",
                       "Puede usar un teléfono o una computadora."),
        "record-review": ("El médico va a leer su expediente médico.",
                          "Usted no tiene que ir a una cita."),
        None: ("La clínica le va a decir qué tipo de cita es.",),
    },
    who=("Médico: {doctor}.", "Clínica: {clinic}."),
    when={"record-review": "La clínica le puede llamar con una pregunta.",
          None: "La clínica le va a llamar para fijar el día y la hora.",
          "in-person": "La clínica le va a llamar para fijar el día y la hora.",
          "telehealth": "La clínica le va a llamar para fijar el día y la hora."},
    bring={
        "in-person": ("Una identificación con foto", "Una lista de sus medicinas",
                      "Sus rayos X o pruebas, si los tiene", "Sus preguntas para el médico"),
        "telehealth": ("Un cuarto tranquilo y con buena luz", "Un teléfono o computadora con cámara",
                       "Una lista de sus medicinas", "Sus preguntas para el médico"),
        "record-review": ("Nada: {atp} va a mandar su expediente",),
        None: ("Una identificación con foto", "Una lista de sus medicinas"),
    },
    claim="Su número de reclamo: {claim}",
    number="Su número de referencia: {number}",
    next=("El médico le va a escribir una carta a {atp} con las respuestas.",
          "{atp} va a hablar con usted sobre la carta.",
          "Luego usted y {atp} van a decidir qué hacer."),
    your_doctor="su médico",
    the_doctor="el médico que nombra su carta",
    the_clinic="la clínica que nombra su carta",
)

_WORDS: dict[Language, _Words] = {"en": _EN, "es": _ES}


def handout_from_service_request(
    resource: Mapping[str, Any], language: Language, coverage: CoverageSummary | None = None
) -> Handout:
    """The worker's note from the ServiceRequest the EHR holds (and the chart's claim)."""
    return handout_from_letter(letter_from_service_request(resource, coverage), language)


def handout_from_letter(letter: Letter, language: Language) -> Handout:
    """The worker's note for this referral; names the ATP, the physician, the clinic and the claim."""
    words = _WORDS[language]
    slots = {
        "atp": letter.requester or words.your_doctor,
        "doctor": letter.physician or words.the_doctor,
        "clinic": letter.clinic or words.the_clinic,
        "claim": letter.claim or "",
        "number": letter.number or "",
    }
    bring = (words.bring[letter.modality] + ((words.claim,) if letter.claim else ())
             + ((words.number,) if letter.number else ()))  # fmt: skip
    who = (*words.who, words.when[letter.modality])
    parts = (words.why, words.not_ime, words.in_charge, words.visit[letter.modality], who, (),
             words.next)
    sections = tuple(
        Section(heading, _filled(sentences, slots), _filled(bring, slots) if index == 5 else ())
        for index, (heading, sentences) in enumerate(zip(words.headings, parts, strict=True))
    )
    return Handout(language, words.title, sections)


def _filled(texts: tuple[str, ...], slots: dict[str, str]) -> tuple[str, ...]:
    """The texts with the slots filled in, each starting with a capital letter."""
    filled = (text.format(**slots) for text in texts)
    return tuple(text[:1].upper() + text[1:] for text in filled)
