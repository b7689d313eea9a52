"""Deliver claimed referrals to the receiving clinic and follow their Task until it is done.

The Task is followed by polling with backoff and, where the clinic offers Subscriptions,
by an R4 rest-hook Subscription whose (empty) notification makes the next poll due at once.

At-least-once: a delivery is retried until the clinic answers 2xx; the Bundle's
conditional creates make a repeat find the first write (exactly-once in effect).
408, 429, 5xx, timeouts and unreachable servers are transient (exponential backoff
with jitter, ``Retry-After`` honoured); any other 4xx is permanent: the row goes to
the dead letters with a reason in plain words and waits for the ATP's "Try again".
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.referral_lifecycle import ReferralFacts, status_event, worker_step
from fhir_mappings.service_request import identifier_search_from_referral_id
from fhir_mappings.subscription import offers_subscriptions, subscription_for_referral
from fhir_mappings.task import TaskState, task_state_from_task
from fhir_mappings.task_workflow import TransitionRefused
from fhir_mappings.transaction import task_id_from_transaction_response
from smart_app.chart.fhir_client import FhirClient
from smart_app.http_pool import HttpPool
from smart_app.keys import KeyRing
from smart_app.referrals.clinic_http import Clinic, ClinicHttp, DeliveryFailed
from smart_app.referrals.filing import Filing
from smart_app.referrals.outbox import (
    DEFAULT_PACING,
    Claimed,
    Event,
    Outbox,
    Pacing,
    backoff_seconds,
    poll_seconds,
)
from smart_app.referrals.receivers import Receiver
from smart_app.referrals.task_changes import cancel_at_clinic, records_to_clinic
from smart_app.smart.backend_services import BackendClient, BackendTokenError, BackendTokens
from smart_app.smart.client_assertion import SigningKey
from smart_app.store import token_hash
from smart_app.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 3600.0
SUBSCRIPTION_LIFETIME = timedelta(days=180)  # Subscription.end: a forgotten one lapses at the clinic
CAPABILITY_CACHE_SECONDS = 3600.0


class Deliverer:
    """One worker's loop body: claim due rows, deliver or poll each, record the outcome."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        receivers: Mapping[str, Receiver],
        keys: KeyRing,
        tokens: BackendTokens,
        http: HttpPool,
        namespace: str,
        worker: str,
        clock: Callable[[], datetime],
        ehr_backends: Mapping[str, BackendClient] | None = None,
        filing: Filing | None = None,
        pacing: Pacing = DEFAULT_PACING,
        hook_base: str | None = None,
    ) -> None:
        self._outbox, self._receivers, self._keys = outbox, receivers, keys
        self._tokens, self._http, self._ns = tokens, http, namespace
        self._calls = ClinicHttp(tokens, http)
        self._worker, self._clock = worker, clock
        self._ehr_backends, self._filing, self._pacing = ehr_backends or {}, filing, pacing
        self._hook_base = hook_base.rstrip("/") if hook_base else None  # "{public_url}/hooks/task"
        self._offers = TtlCache[bool](CAPABILITY_CACHE_SECONDS)  # receiver base → offers Subscriptions

    def run_once(self, limit: int = 10) -> int:
        """Process every due row this worker can claim now; the number processed."""
        claims = self._outbox.claim(self._worker, self._clock(), limit)
        for claim in claims:
            self._process(claim)
        return len(claims)

    def _process(self, claim: Claimed) -> None:
        clinic = self._clinic(claim.receiver_url)
        if clinic is None:
            self._dead(claim, "The receiving clinic's address is no longer registered with Second Opinion.")
            return
        try:
            step = worker_step(_facts(claim, None)) if claim.state == "pending" else "follow"
            if step == "drop":
                self._record(claim, None, state="closed", last_error=None)  # cancelled before delivery
            elif step == "deliver":
                self._deliver(claim, clinic)
            else:
                self._track(claim, clinic)
        except DeliveryFailed as failure:
            self._failed(claim, failure)

    def _failed(self, claim: Claimed, failure: DeliveryFailed) -> None:
        """Transient: later. A token refusal: later, for a bounded time, then a dead letter. Else dead."""
        now = self._clock()
        if failure.token_refused:
            since = claim.token_refused_at or now
            if (now - since).total_seconds() < self._pacing.token_refusal_window:
                self._later(claim, failure, token_refused_at=since)
                return
            logger.warning("referral.token_refused_too_long id=%s", claim.id)
        if failure.transient:
            self._later(claim, failure)
        else:
            self._dead(claim, failure.message)

    def _deliver(self, claim: Claimed, clinic: Clinic) -> None:
        """POST the transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction)."""
        body = self._fhir(clinic, "POST", clinic.receiver.base_url, claim.payload)
        task_id = task_id_from_transaction_response(body)
        now = self._clock()
        self._outbox.record(
            claim, self._worker, now, ("delivered", None),
            state="sent", task_id=task_id, task_status="requested", attempts=claim.attempts + 1,
            polls=0, last_error=None, next_attempt_at=now + timedelta(seconds=poll_seconds(0, self._pacing)),
            token_refused_at=None, **self._subscribe(claim, clinic, now),
        )  # fmt: skip
        logger.info("referral.delivered id=%s attempts=%s", claim.id, claim.attempts + 1)

    def _track(self, claim: Claimed, clinic: Clinic) -> None:
        """Read the Task, make the ATP's change (cancel, records) if one waits, record what changed."""
        base = clinic.receiver.base_url
        if claim.task_id:
            task = self._fhir(clinic, "GET", f"{base}/Task/{claim.task_id}", None)
        else:  # the transaction response named no Task: find it by our identifier
            task = self._task_by_identifier(clinic, claim.id)
        task, events, values = self._atps_change(claim, clinic, task)
        state = task_state_from_task(task, self._ns)
        changed = state.status != claim.task_status
        if changed:
            events.append(status_event(state))
            logger.info("referral.status id=%s status=%s", claim.id, state.status)
        polls = 0 if changed else claim.polls + 1
        values.update(task_status=state.status, polls=polls, last_error=None, task_json=json.dumps(task))
        values.update(task_id=state.task_id or claim.task_id, token_refused_at=None)
        if state.final:
            values.update(state="closed", result_json=json.dumps(self._result(clinic, state)))
            values.update(filing="awaiting-launch")
        else:
            values["next_attempt_at"] = self._clock() + timedelta(seconds=poll_seconds(polls, self._pacing))
        self._outbox.record(claim, self._worker, self._clock(), events, **values)
        if state.final:
            self._unsubscribe(claim, clinic)
            self._file_by_backend(claim)

    def _atps_change(
        self, claim: Claimed, clinic: Clinic, task: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Event], dict[str, Any]]:
        """Cancel the Task or deliver the records the ATP added, as the lifecycle says; the Task after."""
        state = task_state_from_task(task, self._ns)
        step = worker_step(_facts(claim, state))
        try:
            if step == "cancel-task":
                reason = claim.cancel_reason or ""
                return cancel_at_clinic(self._calls, clinic, task, reason, self._clock()), [], {}
            if step == "send-records" and claim.records is not None:
                moved = records_to_clinic(self._calls, clinic, task, claim.records, self._ns, self._clock())
                return moved, [("records-delivered", None)], {"records_json": None}
        except TransitionRefused:  # the physician moved the Task meanwhile: follow it as it is
            logger.info("referral.change_overtaken id=%s step=%s", claim.id, step)
        if claim.records is not None and state.status != "on-hold":
            return task, [("records-dropped", None)], {"records_json": None}
        return task, [], {}

    def _subscribe(self, claim: Claimed, clinic: Clinic, now: datetime) -> dict[str, str]:
        """Ask the clinic to ping our hook when the Task changes; {} where it offers no Subscriptions.

        Best effort: polling goes on either way. The hook's token is random and kept hashed.
        """
        if self._hook_base is None or not self._offers_subscriptions(clinic):
            return {}
        token = secrets.token_urlsafe(32)
        end = (now + SUBSCRIPTION_LIFETIME).isoformat().replace("+00:00", "Z")
        resource = subscription_for_referral(claim.id, self._ns, f"{self._hook_base}/{token}", end)
        try:
            created = self._fhir(clinic, "POST", f"{clinic.receiver.base_url}/Subscription", resource)
        except DeliveryFailed as failure:
            logger.warning("referral.subscription_refused id=%s transient=%s", claim.id, failure.transient)
            return {}
        subscription_id = created.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            return {}
        return {"subscription_id": subscription_id[:64], "hook_hash": token_hash(token)}

    def _unsubscribe(self, claim: Claimed, clinic: Clinic) -> None:
        """The Task is closed: the clinic may forget our Subscription (best effort)."""
        if not claim.subscription_id:
            return
        url = f"{clinic.receiver.base_url}/Subscription/{quote(claim.subscription_id, safe='')}"
        try:
            self._fhir(clinic, "DELETE", url, None)
        except DeliveryFailed:
            logger.info("referral.subscription_left id=%s", claim.id)

    def _offers_subscriptions(self, clinic: Clinic) -> bool:
        """From the clinic's CapabilityStatement, read at most once an hour per worker."""

        def load(base: str) -> bool:
            try:
                return offers_subscriptions(self._fhir(clinic, "GET", f"{base}/metadata", None))
            except DeliveryFailed:
                return False  # kept for the hour too: polling follows the Task meanwhile

        return self._offers.get(clinic.receiver.base_url, load)

    def _file_by_backend(self, claim: Claimed) -> None:
        """File at once where the EHR's registration names a Backend Services client."""
        backend = self._ehr_backends.get(claim.iss)
        if backend is None or self._filing is None:
            return  # filed with the ATP's token at their next launch
        try:
            token = self._tokens.token(backend)
        except BackendTokenError:
            logger.warning("opinion.backend_token_failed id=%s", claim.id)
            return
        client = FhirClient(self._http.for_url(claim.iss), claim.iss, token, self._http.timeout)
        self._filing.file(client, claim.id)

    def _task_by_identifier(self, clinic: Clinic, referral_id: str) -> dict[str, Any]:
        """``GET [base]/Task?identifier={ns}/sid/referral|<id>`` (the contract's polling search)."""
        token = quote(identifier_search_from_referral_id(referral_id, self._ns), safe="")
        bundle = self._fhir(clinic, "GET", f"{clinic.receiver.base_url}/Task?identifier={token}", None)
        tasks = [r for r in resources_from_bundle(bundle) if r.get("resourceType") == "Task"]
        if not tasks:
            raise DeliveryFailed(
                "The receiving clinic does not show the referral's task yet.", transient=True
            )
        return tasks[0]

    def _result(self, clinic: Clinic, state: TaskState) -> dict[str, Any]:
        """What the ATP's page shows: answers in order, the reason, the opinion letter."""
        result: dict[str, Any] = {"status": state.status, "reason": state.reason,
                                  "answers": list(state.answers)}  # fmt: skip
        if state.opinion and state.opinion.startswith("DocumentReference/"):
            document = self._fhir(clinic, "GET", f"{clinic.receiver.base_url}/{state.opinion}", None)
            attachments = [c.get("attachment") or {} for c in document.get("content") or []]
            if attachments:
                result["opinion"] = {k: attachments[0].get(k) for k in ("contentType", "data", "title")}
        return result

    def _fhir(self, clinic: Clinic, method: str, url: str, body: Any) -> dict[str, Any]:
        """One call with the Backend Services token; failures become DeliveryFailed."""
        return self._calls.call(clinic, method, url, body)

    def _clinic(self, receiver_url: str) -> Clinic | None:
        receiver = self._receivers.get(receiver_url)
        key = _key(self._keys, receiver.kid) if receiver else None
        if receiver is None or key is None:
            return None
        client = BackendClient(receiver.base_url, receiver.client_id, receiver.scopes, key)
        return Clinic(receiver, client)

    def _later(self, claim: Claimed, failure: DeliveryFailed, **values: Any) -> None:
        wait = backoff_seconds(claim.attempts, self._pacing)
        if failure.retry_after is not None:
            wait = max(wait, min(failure.retry_after, MAX_RETRY_AFTER_SECONDS))
        now = self._clock()
        self._outbox.record(
            claim, self._worker, now, ("retry", failure.message),
            attempts=claim.attempts + 1, last_error=failure.message,
            next_attempt_at=now + timedelta(seconds=wait), **values,
        )  # fmt: skip
        logger.info("referral.retry id=%s attempts=%s wait=%.1f", claim.id, claim.attempts + 1, wait)

    def _dead(self, claim: Claimed, message: str) -> None:
        attempts = claim.attempts + 1
        self._record(claim, ("failed", message), state="dead", attempts=attempts, last_error=message)
        logger.warning("referral.dead_letter id=%s", claim.id)

    def _record(self, claim: Claimed, event: Event | None, **values: Any) -> None:
        self._outbox.record(claim, self._worker, self._clock(), event, **values)


def _facts(claim: Claimed, task: TaskState | None) -> ReferralFacts:
    """What the lifecycle needs to say the worker's next step."""
    return ReferralFacts(outbox=claim.state, task=task, cancel_reason=claim.cancel_reason,
                         records_pending=claim.records is not None)  # fmt: skip


def _key(keys: KeyRing, kid: str | None) -> SigningKey | None:
    if kid is None:
        return keys.current
    return next((k for k in keys.keys if k.kid == kid), None)
