"""What the ATP sees of their referrals: the lifecycle's stage, history, answers and letter, across launches.

Who sees a referral (docs/delivery.md, "Who sees a referral"): the physician who sent it, from
any of their launches at that EHR, whatever the launch's patient. The verified ``fhirUser`` and
the ``iss`` of the current launch must be the ones it was sent with; anyone else's is a 404. Every
read page is built from what the outbox keeps, never from the launch's patient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fhir_mappings.opinion import conclusion_lines
from fhir_mappings.referral_lifecycle import Lifecycle, ReferralFacts, history_text, lifecycle_from_facts
from fhir_mappings.referral_number import referral_number_from_id, referral_number_from_text
from fhir_mappings.task import TaskState, task_state_from_task
from smart_app.errors import ReferralNotFound
from smart_app.store import DeliveryEvent, DeliveryRecord, Store


@dataclass(frozen=True)
class HistoryLine:
    """One event, in plain words."""

    at: datetime
    text: str


@dataclass(frozen=True)
class ReferralView:
    """A referral as its page and the list show it."""

    id: str
    created_at: datetime
    lifecycle: Lifecycle
    summary: dict[str, Any]
    result: dict[str, Any]
    task: TaskState | None
    service_request_id: str
    rerouted_to: str | None = None  # the referral sent instead of this declined one
    replaces: str | None = None  # the declined referral this one was sent instead of
    history: tuple[HistoryLine, ...] = ()

    @property
    def number(self) -> str:
        """The referral number a person reads out on the phone."""
        return referral_number_from_id(self.id)

    @property
    def rerouted_number(self) -> str | None:
        """The number of the referral sent instead of this one."""
        return referral_number_from_id(self.rerouted_to) if self.rerouted_to else None

    @property
    def answered(self) -> list[tuple[str, str | None]]:
        """Each question with its answer (None until answered), in the ATP's order."""
        answers = list(self.task.answers if self.task else self.result.get("answers") or [])
        questions = list(self.summary.get("questions") or [])
        return [(q, answers[i] if i < len(answers) else None) for i, q in enumerate(questions)]

    @property
    def conclusion(self) -> list[tuple[str, str]]:
        """The signed conclusion, MMI first; empty until the physician signs."""
        if self.task is None or self.task.conclusion is None:
            return []
        return conclusion_lines(self.task.conclusion)

    @property
    def has_letter(self) -> bool:
        """Whether the clinic attached an opinion letter the page can open."""
        opinion = self.result.get("opinion")
        return isinstance(opinion, dict) and bool(opinion.get("data"))


class Tracking:
    """Reads referrals for one physician at one EHR."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store, self._ns = store, namespace

    def list(self, fhir_user: str, iss: str, now: datetime, number: str | None = None) -> list[ReferralView]:
        """The physician's referrals, newest first; only the one of ``number`` when given."""
        wanted = referral_number_from_text(number) if number else None
        with self._store.reading() as db:
            rows = db.execute(
                select(DeliveryRecord)
                .where(DeliveryRecord.fhir_user == fhir_user, DeliveryRecord.iss == iss)
                .order_by(DeliveryRecord.created_at.desc(), DeliveryRecord.id)
            ).scalars()
            views = [self._view(row, (), now) for row in rows]
        return [v for v in views if v.number == wanted] if number else views

    def one(self, referral_id: str, fhir_user: str, iss: str, now: datetime) -> ReferralView:
        """One referral with its history; ReferralNotFound for anyone else's."""
        with self._store.reading() as db:
            row = db.get(DeliveryRecord, referral_id)
            if row is None or row.fhir_user != fhir_user or row.iss != iss:
                raise not_found()
            events = db.execute(
                select(DeliveryEvent)
                .where(DeliveryEvent.delivery_id == referral_id)
                .order_by(DeliveryEvent.at, DeliveryEvent.id)
            ).scalars()
            history = tuple(HistoryLine(e.at, history_text(e.kind, e.detail)) for e in events)
            return self._view(row, history, now)

    def payload(self, referral_id: str, fhir_user: str, iss: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The transaction Bundle the referral was delivered as and the summary kept beside it (the
        letter and handout are built from the two)."""
        with self._store.reading() as db:
            row = db.get(DeliveryRecord, referral_id)
            if row is None or row.fhir_user != fhir_user or row.iss != iss:
                raise not_found()
            bundle: dict[str, Any] = json.loads(row.payload_json)
            summary: dict[str, Any] = json.loads(row.summary_json)
            return bundle, summary

    def patient_of(self, referral_id: str, fhir_user: str, iss: str) -> str:
        """The referral's patient at the EHR ("Patient/…"), to check a launch may write for it."""
        with self._store.reading() as db:
            row = db.get(DeliveryRecord, referral_id)
            if row is None or row.fhir_user != fhir_user or row.iss != iss:
                raise not_found()
            return row.patient_reference

    def _view(self, row: DeliveryRecord, history: tuple[HistoryLine, ...], now: datetime) -> ReferralView:
        return view_from_row(row, self._ns, now, history)


def view_from_row(
    row: DeliveryRecord, ns: str, now: datetime, history: tuple[HistoryLine, ...] = ()
) -> ReferralView:
    """The referral as its outbox row holds it, with its stage at ``now``."""
    result = json.loads(row.result_json) if row.result_json else {}
    task = _task_state(row, result, ns)
    rerouted = referral_number_from_id(row.rerouted_to) if row.rerouted_to else None
    facts = ReferralFacts(
        outbox=row.state, task=task, filing=row.filing, last_error=row.last_error,
        cancel_reason=row.cancel_reason, rerouted_to=rerouted, records_pending=bool(row.records_json),
    )  # fmt: skip
    return ReferralView(
        id=row.id, created_at=row.created_at, lifecycle=lifecycle_from_facts(facts, now),
        summary=json.loads(row.summary_json), result=result, task=task,
        service_request_id=row.service_request_id, rerouted_to=row.rerouted_to, replaces=row.replaces,
        history=history,
    )  # fmt: skip


def not_found() -> ReferralNotFound:
    """The same answer for a referral that does not exist and for another physician's."""
    return ReferralNotFound(
        "There is no such referral among yours.",
        "Open the list of your referrals and choose one from there.",
    )


def _task_state(row: DeliveryRecord, result: dict[str, Any], ns: str) -> TaskState | None:
    """The Task as last read; rows followed before the Task was kept have only its status and result."""
    if row.task_json:
        return task_state_from_task(json.loads(row.task_json), ns)
    if row.task_status is None:
        return None
    return TaskState(task_id=row.task_id, status=row.task_status, reason=result.get("reason"),
                     answers=tuple(result.get("answers") or ()))  # fmt: skip
