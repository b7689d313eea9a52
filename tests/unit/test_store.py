"""Launch sessions and the referral ledger against a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smart_app.config import Registration, Settings
from smart_app.errors import LaunchError, LaunchExpired, ReferralNotFound, SessionRequired
from smart_app.referrals import ReferralLedger
from smart_app.sessions import Sessions
from smart_app.smart.authorize import AuthorizationRequest
from smart_app.smart.token import TokenResponse
from smart_app.store import LaunchSession, Store, token_hash

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REGISTRATION = Registration(key="ehr", name="EHR", iss="https://ehr.example.org/fhir", client_id="so",
                            scopes="launch openid fhirUser")
REQUEST = AuthorizationRequest(state="state-1", code_verifier="v" * 64, nonce="n-1", url="https://x")
TOKEN = TokenResponse(access_token="at", scope="launch", expires_at=None, patient="wc-1")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    created = Store(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    created.create_schema()
    return created


@pytest.fixture
def sessions(store: Store, tmp_path: Path) -> Sessions:
    return Sessions(store, Settings(registrations=tmp_path, launch_ttl_seconds=600))


def test_a_launch_becomes_an_active_session_once(sessions: Sessions) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    pending = sessions.take_pending(cookie, "state-1", NOW + timedelta(seconds=30))
    assert (pending.code_verifier, pending.nonce, pending.iss) == ("v" * 64, "n-1", REGISTRATION.iss)
    sessions.activate(pending, TOKEN, "Practitioner/atp-1", NOW)
    active = sessions.active(cookie, NOW + timedelta(minutes=5))
    assert (active.patient, active.fhir_user, active.code_verifier) == ("wc-1", "Practitioner/atp-1", None)
    with pytest.raises(LaunchExpired):
        sessions.take_pending(cookie, "state-1", NOW)


def test_the_database_keys_sessions_by_hash_not_by_cookie(sessions: Sessions, store: Store) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    with store.session() as db:
        row = db.get(LaunchSession, token_hash(cookie))
        assert row is not None and row.id != cookie and row.state_hash != "state-1"


def test_a_slow_sign_in_expires(sessions: Sessions) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    with pytest.raises(LaunchExpired, match="expired"):
        sessions.take_pending(cookie, "state-1", NOW + timedelta(minutes=11))


def test_another_browser_cannot_complete_the_sign_in(sessions: Sessions) -> None:
    sessions.start(REGISTRATION, REQUEST, NOW)
    with pytest.raises(LaunchError, match="another browser"):
        sessions.take_pending("someone-elses-cookie", "state-1", NOW)


def test_expired_sessions_are_refused_and_purged(sessions: Sessions, store: Store) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    sessions.activate(sessions.take_pending(cookie, "state-1", NOW), TOKEN, "Practitioner/a", NOW)
    later = NOW + timedelta(hours=9)
    with pytest.raises(SessionRequired):
        sessions.active(cookie, later)
    assert store.purge_expired(later) == 1
    with store.session() as db:
        assert db.get(LaunchSession, token_hash(cookie)) is None


def test_the_ledger_sends_a_referral_once(sessions: Sessions, store: Store) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    ledger, session_id = ReferralLedger(store), token_hash(cookie)
    assert ledger.claim("r1", session_id, REGISTRATION.iss, NOW) == "send"
    assert ledger.claim("r1", session_id, REGISTRATION.iss, NOW) == "in-flight"
    ledger.mark_sent("r1", "sr-9", NOW)
    assert ledger.claim("r1", session_id, REGISTRATION.iss, NOW) == "sent"
    assert ledger.status("r1", session_id).service_request_id == "sr-9"
    with pytest.raises(ReferralNotFound):
        ledger.status("r1", "another-session")


def test_a_failed_send_can_be_retried_at_once(sessions: Sessions, store: Store) -> None:
    cookie = sessions.start(REGISTRATION, REQUEST, NOW)
    ledger, session_id = ReferralLedger(store), token_hash(cookie)
    assert ledger.claim("r2", session_id, REGISTRATION.iss, NOW) == "send"
    ledger.release("r2")
    assert ledger.claim("r2", session_id, REGISTRATION.iss, NOW) == "send"
    assert ledger.claim("r2", session_id, REGISTRATION.iss, NOW + timedelta(minutes=1)) == "send"
