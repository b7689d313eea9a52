"""The physician's drafts, kept on the server as they type: one row per clinic, Task and physician.

Saved before anything is sent to the clinic, so a timeout, an ended launch or a double submit
loses nothing; sealed at rest like every other PHI the app keeps. Signing is claimed in the row
(one signing at a time, across workers) and recorded there once the clinic holds the opinion.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from fhir_mappings.opinion_rules import CONCLUSION_FIELDS, OpinionDraft
from smart_app.store import AnswerDraft, Store

SIGNING_HOLD = timedelta(seconds=60)


@dataclass(frozen=True)
class KeptDraft:
    """A draft as stored, and whether (and as what) it was signed."""

    draft: OpinionDraft
    updated_at: datetime
    signed_at: datetime | None = None
    letter_reference: str | None = None


def draft_key(iss: str, task_id: str, fhir_user: str) -> str:
    """The row's id: one draft per clinic server, Task and physician."""
    return hashlib.sha256(json.dumps([iss, task_id, fhir_user]).encode()).hexdigest()


def draft_to_json(draft: OpinionDraft) -> str:
    """What is sealed in the row."""
    return json.dumps({"answers": draft.answers, **{k: draft.value(k) for k in CONCLUSION_FIELDS}})


def draft_from_json(text: str) -> OpinionDraft:
    """The stored draft; unknown keys are ignored."""
    values = json.loads(text)
    answers = [str(a) for a in values.get("answers") or []]
    return OpinionDraft(answers, {k: str(values.get(k) or "") for k in CONCLUSION_FIELDS})


class Drafts:
    """Keeps, claims and closes the physician's drafts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, key: str) -> KeptDraft | None:
        """The draft, if one was kept."""
        with self._store.transaction() as db:
            row = db.get(AnswerDraft, key)
            if row is None:
                return None
            draft = draft_from_json(row.fields_json)
            return KeptDraft(draft, row.updated_at, row.signed_at, row.letter_reference)

    def save(self, key: str, iss: str, task_id: str, draft: OpinionDraft, now: datetime) -> bool:
        """Keep what was typed; False (and nothing changes) once the opinion is signed."""
        text = draft_to_json(draft)
        try:
            with self._store.transaction() as db:
                row = db.get(AnswerDraft, key, with_for_update=True)
                if row is None:
                    db.add(AnswerDraft(id=key, iss=iss, task_id=task_id, fields_json=text, updated_at=now))
                    return True
                if row.signed_at is not None:
                    return False
                row.fields_json, row.updated_at = text, now
                return True
        except IntegrityError:  # two first saves at once: the other one inserted; save over it
            return self.save(key, iss, task_id, draft, now)

    def claim_signing(self, key: str, now: datetime) -> bool:
        """The one right to sign this draft now (a double submit waits for the first one)."""
        with self._store.transaction() as db:
            result = db.execute(
                update(AnswerDraft)
                .where(AnswerDraft.id == key, AnswerDraft.signed_at.is_(None))
                .where(or_(AnswerDraft.signing_until.is_(None), AnswerDraft.signing_until < now))
                .values(signing_until=now + SIGNING_HOLD)
            )
            return bool(getattr(result, "rowcount", 0))

    def release(self, key: str) -> None:
        """Signing failed: the draft stays, and may be signed again at once."""
        with self._store.transaction() as db:
            db.execute(update(AnswerDraft).where(AnswerDraft.id == key).values(signing_until=None))

    def signed(self, key: str, letter_reference: str, now: datetime) -> None:
        """The clinic holds the signed opinion: the draft is closed."""
        with self._store.transaction() as db:
            db.execute(update(AnswerDraft).where(AnswerDraft.id == key).values(
                signed_at=now, letter_reference=letter_reference, signing_until=None))  # fmt: skip
