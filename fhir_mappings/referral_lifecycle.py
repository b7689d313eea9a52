"""One referral's life: from the facts the app holds to the one stage that pages, worker and filing read.

draft → sent → delivered → received → accepted → answered → filed, with declined → re-routed,
cancelled, on hold (the physician asks for more records), failed (the delivery needs "Try
again") and overdue against the due date. The facts are the outbox row's state, the clinic's
Task as last read (``TaskState``), the filing, and what the ATP did (cancel, re-route, records
added). docs/delivery.md, "The referral's life", maps each stage to the FHIR states of the EHR's
ServiceRequest and the clinic's Task. Pure: the clock is a parameter.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from fhir_mappings.codes import DECLINE_REASON_DISPLAY, MORE_RECORDS, TASK_STATUS_DISPLAY
from fhir_mappings.task import TaskState

Stage = Literal[
    "draft", "sent", "delivered", "received", "accepted", "on-hold", "overdue", "answered", "filed",
    "declined", "rerouted", "cancelled", "failed",
]  # fmt: skip
Action = Literal["try-again", "cancel", "reroute", "add-records"]
WorkerStep = Literal["deliver", "drop", "cancel-task", "send-records", "follow"]
OPEN_TASK = frozenset({"requested", "received", "accepted", "in-progress", "on-hold", "ready", "draft"})


@dataclass(frozen=True)
class ReferralFacts:
    """What the app knows of one referral."""

    outbox: str | None  # pending | sent | closed | dead; None while the draft is written to the EHR
    task: TaskState | None = None  # the clinic's Task as last read
    filing: str | None = None  # awaiting-launch | filed
    last_error: str | None = None  # the delivery's last failure, in plain words
    cancel_reason: str | None = None  # set once the ATP cancelled, in their words
    rerouted_to: str | None = None  # the referral number of the one that replaced it
    records_pending: bool = False  # records the ATP added wait for the worker


@dataclass(frozen=True)
class Lifecycle:
    """The referral's stage, what a person reads about it and what they may do now."""

    stage: Stage
    headline: str
    detail: str
    actions: frozenset[Action] = frozenset()
    visit: datetime | None = None  # the visit the physician scheduled
    due: datetime | None = None  # when the opinion is due

    def allows(self, action: Action) -> bool:
        """Whether ``action`` may be taken now."""
        return action in self.actions


def lifecycle_from_facts(facts: ReferralFacts, now: datetime) -> Lifecycle:
    """The one stage of the referral at ``now`` (timezone-aware)."""
    task = facts.task
    status = task.status if task else None
    if facts.rerouted_to:
        reason = _reason(task)
        return Lifecycle("rerouted", "Declined, and sent to another physician",
                         f"{reason} You sent it again as referral {facts.rerouted_to}.")  # fmt: skip
    if facts.cancel_reason and status not in ("completed", "rejected"):
        settled = status in (None, "cancelled") or facts.outbox == "closed"
        told = "" if settled else " Second Opinion tells the clinic."
        words = f"You cancelled this referral: “{facts.cancel_reason}”.{told}"
        return Lifecycle("cancelled", "Cancelled", words)
    if status == "cancelled":
        words = f": {task.reason}" if task and task.reason else "."
        return Lifecycle("cancelled", "Cancelled", f"The referral was cancelled at the clinic{words}")
    before = _before_the_clinic(facts)
    if before is not None:
        return _overdue(before, now)
    assert task is not None
    if status in ("completed", "rejected", "failed", "entered-in-error"):
        return _closed(facts, task)
    return _overdue(_open(facts, task), now)


def _before_the_clinic(facts: ReferralFacts) -> Lifecycle | None:
    """Draft, sent, failed and delivered: the stages the clinic has not acted in yet."""
    if facts.outbox is None:
        words = "Second Opinion is writing the referral to the EHR. Reload this page in a moment."
        return Lifecycle("draft", "Being sent", words)
    if facts.outbox == "dead":
        return Lifecycle("failed", "Not delivered: needs your attention",
                         f"The referral could not be delivered. {facts.last_error or ''} "
                         "Press “Try again” once the problem is solved.".replace("  ", " "),
                         frozenset({"try-again", "cancel"}))  # fmt: skip
    if facts.outbox == "pending":
        retry = (f" The last attempt did not get through ({facts.last_error}); it will be tried again "
                 "automatically.") if facts.last_error else ""  # fmt: skip
        return Lifecycle("sent", "Sent: waiting to be delivered",
                         f"The referral is in the EHR; Second Opinion is delivering it to the clinic.{retry}",
                         frozenset({"cancel"}))  # fmt: skip
    if facts.task is None or facts.task.status in ("requested", "ready", "draft"):
        due = _moment(facts.task.due_by) if facts.task else None
        return Lifecycle("delivered", "Delivered to the receiving clinic",
                         "The second-opinion physician has not opened it yet.", frozenset({"cancel"}),
                         due=due)  # fmt: skip
    return None


def _open(facts: ReferralFacts, task: TaskState) -> Lifecycle:
    """Received, accepted (or being written) and on hold."""
    due, visit = _moment(task.due_by), _moment(task.visit)
    if task.status == "received":
        return Lifecycle("received", "Received by the physician",
                         "The physician has opened the referral and has not accepted it yet.",
                         frozenset({"cancel"}), due=due)  # fmt: skip
    if task.status == "on-hold":
        return _on_hold(facts, task, due)
    writing = " and is writing the opinion" if task.status == "in-progress" else ""
    scheduled = " The visit is scheduled: see below." if visit else ""
    return Lifecycle("accepted", "Accepted", f"The physician accepted the referral{writing}.{scheduled}",
                     frozenset({"cancel"}), visit=visit, due=due)  # fmt: skip


def _on_hold(facts: ReferralFacts, task: TaskState, due: datetime | None) -> Lifecycle:
    """On hold; only a request for more records lets the ATP add records."""
    asked = task.notes[-1] if task.notes else task.reason
    if task.reason_code != MORE_RECORDS[0]:
        words = f": “{asked}”" if asked else "."
        return Lifecycle("on-hold", "On hold", f"The physician put the referral on hold{words}",
                         frozenset({"cancel"}), due=due)  # fmt: skip
    if facts.records_pending:
        return Lifecycle("on-hold", "On hold: your records are on their way",
                         "The records you added are being delivered to the clinic.", frozenset({"cancel"}),
                         due=due)  # fmt: skip
    request = f"The physician asks: “{asked}”. " if asked else ""
    return Lifecycle("on-hold", "On hold: the physician asks for more records",
                     f"{request}Choose the records to send from the patient's chart.",
                     frozenset({"add-records", "cancel"}), due=due)  # fmt: skip


def _closed(facts: ReferralFacts, task: TaskState) -> Lifecycle:
    """Answered, filed or declined: the clinic is done with it."""
    if task.status != "completed":
        reroute = (" You can send it to another physician: the questions, reasons and records go with "
                   "it, with nothing to retype.")  # fmt: skip
        return Lifecycle("declined", "Declined by the physician", f"{_reason(task)}{reroute}",
                         frozenset({"reroute"}))  # fmt: skip
    visit = _moment(task.visit)
    if facts.filing == "filed":
        return Lifecycle("filed", "Answered and filed",
                         "The physician signed the opinion; it is filed in the patient's chart.", visit=visit)
    later = (" It will be filed to the patient's chart the next time you open Second Opinion for this "
             "patient.") if facts.filing == "awaiting-launch" else ""  # fmt: skip
    words = f"The physician signed the opinion: the answers are below.{later}"
    return Lifecycle("answered", "Answered", words, visit=visit)


def _overdue(lifecycle: Lifecycle, now: datetime) -> Lifecycle:
    """Past its due date and still open: overdue, with the same actions."""
    if lifecycle.due is None or now <= lifecycle.due:
        return lifecycle
    return Lifecycle("overdue", f"Overdue: {lifecycle.headline[0].lower()}{lifecycle.headline[1:]}",
                     f"The opinion was due and has not come back yet. {lifecycle.detail}",
                     lifecycle.actions, lifecycle.visit, lifecycle.due)  # fmt: skip


def _reason(task: TaskState | None) -> str:
    """Why it was declined: the coded reason's words and the physician's, as the Task carries them."""
    if task is None:
        return "It was declined."
    coded = next((words for code, words in DECLINE_REASON_DISPLAY.items() if code == task.reason_code), None)
    text = task.reason or ""
    if coded and not text.startswith(coded):
        text = f"{coded}: {text}" if text else coded
    if task.status == "failed":
        return f"The clinic could not do it{': ' + text if text else ''}."
    return f"Reason: {text}." if text else "The physician gave no reason."


def _moment(value: str | None) -> datetime | None:
    """A FHIR dateTime or date as an aware datetime (a date means the end of that day, UTC)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def worker_step(facts: ReferralFacts) -> WorkerStep:
    """What the delivery worker does next with the referral, the clinic's Task as just read."""
    if facts.outbox == "pending":
        return "drop" if facts.cancel_reason else "deliver"
    status = facts.task.status if facts.task else None
    if facts.cancel_reason and status in OPEN_TASK:
        return "cancel-task"
    if facts.records_pending and status == "on-hold":
        return "send-records"
    return "follow"


def closes(task: TaskState) -> bool:
    """Whether the worker stops following the Task: the clinic will not change it any more."""
    return task.final


@dataclass(frozen=True)
class EhrOutcome:
    """What the filing writes to the EHR for a closed Task, and the history line it leaves."""

    document: bool  # the opinion as a DocumentReference
    service_request_status: str | None  # R4 ServiceRequest.status: completed or revoked
    event: str  # "filed" or "order-revoked"


def ehr_outcome_from_task_status(task_status: str) -> EhrOutcome | None:
    """Completed: file the opinion and complete the order; declined or cancelled: revoke the order."""
    if task_status == "completed":
        return EhrOutcome(True, "completed", "filed")
    if task_status in ("rejected", "cancelled", "failed"):
        return EhrOutcome(False, "revoked", "order-revoked")
    return None


EVENT_TEXT = {
    "queued": "Queued for delivery",
    "delivered": "Delivered to the receiving clinic",
    "retry": "Delivery will be tried again",
    "failed": "Delivery failed",
    "retry-requested": "You asked to try again",
    "filed": "Opinion filed to the patient's chart",
    "order-revoked": "The referral is marked revoked in the EHR",
    "cancel-requested": "You cancelled the referral",
    "rerouted": "You sent it to another physician as referral",
    "replaces": "Sent again after this referral was declined:",
    "records-added": "You added records",
    "records-delivered": "The records you added reached the clinic",
    "records-dropped": "The physician no longer waited for records; the records you added were not sent",
    "task-received": "The physician opened the referral",
    "task-accepted": "The physician accepted the referral",
    "task-in-progress": "The physician started the opinion",
    "task-on-hold": "The physician asked for more records",
    "task-completed": "The physician signed the opinion",
    "task-rejected": "The physician declined the referral",
    "task-cancelled": "The referral is cancelled at the clinic",
}
_SPACED = frozenset({"rerouted", "replaces"})  # the detail (a referral number) follows without a colon


def history_text(kind: str, detail: str | None) -> str:
    """One line of the referral's history in plain words."""
    if kind == "status":  # before this lifecycle the worker kept the Task status's display
        return f"The clinic set the status to {detail}"
    text = EVENT_TEXT.get(kind)
    if text is None and kind.startswith("task-"):
        text = f"The clinic set the status to {TASK_STATUS_DISPLAY.get(kind[5:], kind[5:])}"
    text = text or kind
    if not detail:
        return text
    return f"{text} {detail}" if kind in _SPACED else f"{text}: {detail}"


def status_event(task: TaskState) -> tuple[str, str | None]:
    """The history event the worker records when the Task's status changes."""
    detail = task.reason if task.status in ("rejected", "cancelled", "on-hold", "failed") else None
    if task.status == "on-hold" and task.notes:
        detail = task.notes[-1]
    return f"task-{task.status}", detail
