"""Launches and the referral ledger against a real SQLite database."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from smart_app.config import Registration, Settings
from smart_app.crypto import DataKeys, new_key_line
from smart_app.errors import LaunchError, LaunchExpired, LaunchRequired, ReferralNotFound
from smart_app.launches import BrowserBinding, Launches, cookie_name
from smart_app.referrals.ledger import ReferralLedger
from smart_app.referrals.worker import run_loop
from smart_app.smart.authorize import AuthorizationRequest
from smart_app.smart.token import TokenResponse
from smart_app.store import Launch, ReferralRecord, Store, token_hash

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REGISTRATION = Registration(key="ehr", name="EHR", iss="https://ehr.example.org/fhir", client_id="so",
                            scopes="launch openid fhirUser")
REQUEST = AuthorizationRequest(state="state-1", code_verifier="v" * 64, nonce="n-1", url="https://x")
TOKEN = TokenResponse(access_token="at-secret", scope="launch", expires_at=None, patient="wc-1",
                      refresh_token="rt-secret")
SETTINGS = Settings(registrations=Path("."), launch_ttl_seconds=600)
KEYS = DataKeys.parse(new_key_line("k1"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    created = Store(f"sqlite:///{tmp_path / 'app.sqlite3'}", KEYS)
    created.create_schema()
    return created


@pytest.fixture
def launches(store: Store) -> Launches:
    return Launches(store, SETTINGS)


def _cookies(binding: BrowserBinding) -> dict[str, str]:
    return {cookie_name(SETTINGS, binding.key): binding.cookie}


def _activate(launches: Launches, binding: BrowserBinding) -> BrowserBinding:
    pending = launches.take_pending(_cookies(binding), "state-1", NOW + timedelta(seconds=30))
    return launches.activate(pending, TOKEN, "Practitioner/atp-1", NOW)


def test_a_launch_becomes_active_once(launches: Launches) -> None:
    binding = launches.start(REGISTRATION, REQUEST, NOW)
    active_binding = _activate(launches, binding)
    active = launches.active(binding.key, _cookies(active_binding), NOW + timedelta(minutes=5))
    assert (active.patient, active.fhir_user, active.code_verifier) == ("wc-1", "Practitioner/atp-1", None)
    with pytest.raises(LaunchExpired):
        launches.take_pending(_cookies(binding), "state-1", NOW)


def test_the_callback_renews_the_cookie_so_a_planted_one_opens_nothing(launches: Launches) -> None:
    planted = launches.start(REGISTRATION, REQUEST, NOW)
    renewed = _activate(launches, planted)
    assert renewed.key == planted.key and renewed.cookie != planted.cookie
    with pytest.raises(LaunchRequired):
        launches.active(planted.key, _cookies(planted), NOW)


def test_a_launch_needs_its_own_key_and_cookie(launches: Launches) -> None:
    first = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    other_request = AuthorizationRequest("state-2", "w" * 64, "n-2", "https://x")
    second_pending = launches.start(REGISTRATION, other_request, NOW)
    second = launches.activate(
        launches.take_pending(_cookies(second_pending), "state-2", NOW), TOKEN, "Practitioner/a", NOW
    )
    with pytest.raises(LaunchRequired):  # one tab's cookie does not open the other tab's launch
        launches.active(second.key, {cookie_name(SETTINGS, second.key): first.cookie}, NOW)
    assert launches.active(first.key, _cookies(first), NOW).id == first.key


def test_the_database_keeps_cookie_hashes_and_sealed_tokens(launches: Launches, store: Store) -> None:
    binding = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    launches.save_chart(binding.key, '{"patient": {"name": "Rivera, Ana", "birth_date": "1980-02-03"}}', NOW)
    with store.engine.connect() as connection:
        raw = " ".join(str(v) for v in connection.execute(text("SELECT * FROM launches")).one())
    for secret in (binding.cookie, "at-secret", "rt-secret", "Rivera", "1980-02-03", "wc-1"):
        assert secret not in raw
    assert token_hash(binding.cookie) in raw


def test_values_sealed_under_an_old_key_open_after_rotation(tmp_path: Path) -> None:
    old, new = new_key_line("old"), new_key_line("new")
    url = f"sqlite:///{tmp_path / 'rotate.sqlite3'}"
    before = Store(url, DataKeys.parse(old))
    before.create_schema()
    first = Launches(before, SETTINGS)
    binding = _activate(first, first.start(REGISTRATION, REQUEST, NOW))
    after = Launches(Store(url, DataKeys.parse(f"{new} {old}")), SETTINGS)
    assert after.active(binding.key, _cookies(binding), NOW).access_token == "at-secret"


def test_the_sqlite_file_is_private_to_its_owner(store: Store, tmp_path: Path) -> None:
    mode = stat.S_IMODE((tmp_path / "app.sqlite3").stat().st_mode)
    assert mode == 0o600


def test_a_slow_sign_in_expires(launches: Launches) -> None:
    binding = launches.start(REGISTRATION, REQUEST, NOW)
    with pytest.raises(LaunchExpired, match="expired"):
        launches.take_pending(_cookies(binding), "state-1", NOW + timedelta(minutes=11))


def test_another_browser_cannot_complete_the_sign_in(launches: Launches) -> None:
    binding = launches.start(REGISTRATION, REQUEST, NOW)
    with pytest.raises(LaunchError, match="another browser"):
        launches.take_pending({cookie_name(SETTINGS, binding.key): "someone-elses"}, "state-1", NOW)


def test_purge_removes_expired_launches_and_their_rows(launches: Launches, store: Store) -> None:
    binding = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    ReferralLedger(store).claim("r1", binding.key, REGISTRATION.iss, NOW)
    later = NOW + timedelta(hours=9)
    with pytest.raises(LaunchRequired):
        launches.active(binding.key, _cookies(binding), later)
    assert store.purge_expired(later) == 1
    with store.transaction() as db:
        assert db.get(Launch, binding.key) is None
        assert db.get(ReferralRecord, "r1") is None  # foreign keys on: the cascade ran


def test_only_one_request_may_refresh_at_a_time(launches: Launches) -> None:
    binding = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    assert launches.claim_refresh(binding.key, NOW)
    assert not launches.claim_refresh(binding.key, NOW + timedelta(seconds=5))
    launches.keep_refreshed(binding.key, TokenResponse("at-2", "launch", None, refresh_token="rt-2"))
    assert launches.claim_refresh(binding.key, NOW + timedelta(seconds=6))
    assert launches.active(binding.key, _cookies(binding), NOW).refresh_token == "rt-2"


def test_the_ledger_sends_a_referral_once(launches: Launches, store: Store) -> None:
    launch_id = launches.start(REGISTRATION, REQUEST, NOW).key
    ledger = ReferralLedger(store)
    assert ledger.claim("r1", launch_id, REGISTRATION.iss, NOW) == "send"
    assert ledger.claim("r1", launch_id, REGISTRATION.iss, NOW) == "in-flight"
    ledger.mark_sent("r1", "sr-9", NOW)
    assert ledger.claim("r1", launch_id, REGISTRATION.iss, NOW) == "sent"
    assert ledger.status("r1", launch_id).service_request_id == "sr-9"
    with pytest.raises(ReferralNotFound):
        ledger.status("r1", "another-session")


def test_a_failed_send_can_be_retried_at_once(launches: Launches, store: Store) -> None:
    launch_id = launches.start(REGISTRATION, REQUEST, NOW).key
    ledger = ReferralLedger(store)
    assert ledger.claim("r2", launch_id, REGISTRATION.iss, NOW) == "send"
    ledger.release("r2")
    assert ledger.claim("r2", launch_id, REGISTRATION.iss, NOW) == "send"
    assert ledger.claim("r2", launch_id, REGISTRATION.iss, NOW + timedelta(minutes=1)) == "send"


def test_the_worker_loop_purges_expired_launches_on_a_schedule(launches: Launches, store: Store) -> None:
    """Expired launches go without anyone launching again: the delivery worker purges them."""
    binding = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    stop, passes = threading.Event(), []

    def deliver() -> int:  # the worker's pass; stop once the loop has come round a few times
        passes.append(1)
        if len(passes) >= 3:
            stop.set()
        return 0

    later = NOW + timedelta(hours=9)
    run_loop(deliver, 0.001, stop, purge=lambda: store.purge_expired(later), purge_every=60)
    with store.transaction() as db:
        assert db.get(Launch, binding.key) is None


def test_a_request_loads_the_launch_without_its_chart(launches: Launches) -> None:
    """The chart (500 KB sealed at 5,000 conditions) is read only by the steps that need it."""
    binding = _activate(launches, launches.start(REGISTRATION, REQUEST, NOW))
    launches.save_chart(binding.key, '{"conditions": []}', NOW)
    row = launches.active(binding.key, _cookies(binding), NOW)
    assert {"chart_json", "draft_json"} <= inspect(row).unloaded
    assert launches.chart_json(binding.key) == '{"conditions": []}'
