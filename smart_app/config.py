"""Settings and EHR registrations, read once at start-up and validated; no Flask here.

Settings come from ``SMART_APP_*`` environment variables. Each EHR the app may
be launched from is registered in one TOML file in the registrations folder;
the set of registered ``iss`` values is the issuer allow-list.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fhir_mappings.stuck_case import StuckThresholds

ClientAuth = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
RefreshScope = Literal["offline_access", "online_access"]
ScopeStyle = Literal["auto", "v1", "v2"]
Role = Literal["atp", "physician"]  # the treating physician who refers, the physician who answers
IdTokenNonce = Literal["required", "if-present"]
BasicEncoding = Literal["form-urlencoded", "raw"]

M = TypeVar("M", bound=BaseModel)

_ENV_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ConfigError(RuntimeError):
    """The app cannot start: a setting or a registration is wrong (message says which)."""


def absolute_url(value: str) -> str:
    """An absolute http(s) URL without its trailing slash, else ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Deployment settings; every URL and port the app uses comes from here."""

    model_config = SettingsConfigDict(env_prefix="SMART_APP_", frozen=True, extra="ignore")

    public_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///.data/smart_app.sqlite3"
    registrations: Path = Path("launch/registrations")
    receivers: Path = Path("launch/receivers")  # receiving clinics' FHIR endpoints (allow-list)
    namespace: str = "https://so.example.org/fhir"
    cookie_secure: bool = True
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    launch_ttl_seconds: int = Field(default=600, gt=0)
    session_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    signing_key_files: str = ""  # PEM private keys, space-separated; the first one signs
    data_keys: str = Field(default="", repr=False)  # kid:base64key …, the first one seals
    framed: bool = False  # EHRs show the app in a cross-site iframe: SameSite=None over https
    refresh_margin_seconds: int = Field(default=120, ge=0, le=3600)
    directory_url: str = ""  # FHIR base of the physician directory; "" = the launching EHR
    directory_bearer: str = ""  # bearer token for that directory, if it needs one
    time_zone: str = "America/Denver"  # IANA zone the pages show times in (UTC stays in the data)
    # The stuck-case check (CDS Hooks patient-view): docs/domain-rules.md names each one's source.
    stuck_weeks_without_mmi: int = Field(default=26, ge=1, le=520)
    stuck_same_restrictions_weeks: int = Field(default=6, ge=1, le=520)
    stuck_scored_visits: int = Field(default=3, ge=2, le=50)
    stuck_min_function_gain: float = Field(default=10.0, gt=0, le=100)
    stuck_recent_opinion_days: int = Field(default=180, ge=0, le=3650)

    @property
    def stuck_thresholds(self) -> StuckThresholds:
        """The stuck-case thresholds as the pure rules take them."""
        return StuckThresholds(
            weeks_without_mmi=self.stuck_weeks_without_mmi,
            same_restrictions_weeks=self.stuck_same_restrictions_weeks,
            scored_visits=self.stuck_scored_visits,
            min_function_gain=self.stuck_min_function_gain,
            recent_opinion_days=self.stuck_recent_opinion_days,
        )

    @property
    def signing_key_paths(self) -> tuple[Path, ...]:
        """The app's private key files (first = current), for client assertions and the JWKS."""
        return tuple(Path(p) for p in self.signing_key_files.split())

    @field_validator("public_url", "namespace")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        return absolute_url(value)

    @field_validator("directory_url")
    @classmethod
    def _optional_absolute_url(cls, value: str) -> str:
        return absolute_url(value) if value else value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name, e.g. America/Denver") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The deployment's time zone, for the times people read."""
        return ZoneInfo(self.time_zone)

    @property
    def cross_site_cookie(self) -> bool:
        """``SameSite=None; Secure`` when framed over https or on loopback (RFC 6265bis §5.4.7).

        Browsers treat http://127.0.0.1 and http://localhost as secure contexts
        (W3C Secure Contexts §3.1), so Secure cookies work there too.
        """
        loopback = urlsplit(self.public_url).hostname in ("127.0.0.1", "localhost", "::1")
        return self.framed and (self.public_url.startswith("https://") or loopback)

    @property
    def redirect_uri(self) -> str:
        """The callback URL registered with every EHR."""
        return f"{self.public_url}/callback"


def settings_from_environment() -> Settings:
    """The deployment's settings; a wrong one stops start-up in one line that names its variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = (
            f"SMART_APP_{str(e['loc'][0]).upper() if e['loc'] else 'SETTINGS'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise ConfigError("; ".join(problems)) from error


class Registration(BaseModel):
    """One EHR the app is registered with (one TOML file in the registrations folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the file's stem, used in URLs and logs
    name: str
    iss: str
    client_id: str = ""  # required unless open_server
    client_auth: ClientAuth = "none"
    client_secret_env: str | None = None
    client_secret_basic_encoding: BasicEncoding = "form-urlencoded"  # raw: the server compares as-is
    scopes: str = ""  # written in v2 syntax; sent as v1 when the EHR only knows v1; required unless open
    open_server: bool = False  # no authorization: the user enters a patient id, reads carry no token
    open_server_writes: bool = False  # an open server may be sent referrals (writes) only when true
    scope_style: ScopeStyle = "auto"  # auto: v2 where the EHR advertises permission-v2
    refresh: RefreshScope | None = None  # ask for offline_access or online_access
    requires_env: tuple[str, ...] = ()  # the registration is skipped unless all are set
    authorization_endpoint: str | None = None  # overrides discovery
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    id_token_nonce: IdTokenNonce = "required"  # if-present: the EHR does not echo nonce (README)
    frame_ancestors: tuple[str, ...] = ()  # origins that may frame the app; default the iss origin
    backend_client_id: str | None = None  # SMART Backend Services client, for writes with no ATP
    roles: tuple[Role, ...] = ("atp",)  # who launches from this EHR: the ATP, the answering physician
    backend_scopes: str | None = None
    cds_client_iss: str | None = None  # the iss of this EHR's CDS Hooks JWTs (it calls our CDS services)
    cds_jwks_uri: str | None = None  # where that CDS client publishes the keys it signs them with

    @model_validator(mode="after")
    def _cds_client_whole(self) -> Registration:
        if bool(self.cds_client_iss) != bool(self.cds_jwks_uri):
            raise ValueError("cds_client_iss and cds_jwks_uri go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _client_unless_open(self) -> Registration:
        if not self.open_server and not (self.client_id and self.scopes):
            raise ValueError("client_id and scopes are required unless open_server = true")
        if self.open_server_writes and not self.open_server:
            raise ValueError("open_server_writes needs open_server = true")
        if self.client_secret_basic_encoding == "raw" and self.client_auth != "client_secret_basic":
            raise ValueError("client_secret_basic_encoding = raw needs client_auth = client_secret_basic")
        if self.client_secret_basic_encoding == "raw" and ":" in self.client_id:
            raise ValueError("a client_id with ':' cannot be sent raw in Basic (RFC 7617 §2)")
        return self

    @field_validator("iss")
    @classmethod
    def _iss_is_url(cls, value: str) -> str:
        return absolute_url(value)

    @field_validator("roles")
    @classmethod
    def _some_role(cls, value: tuple[Role, ...]) -> tuple[Role, ...]:
        if not value:
            raise ValueError("roles needs at least one of atp, physician")
        return tuple(dict.fromkeys(value))


    @field_validator("cds_client_iss")
    @classmethod
    def _cds_iss_is_text(cls, value: str | None) -> str | None:
        """A CDS client's iss is a URI compared exactly (CDS Hooks 2.0 §Trusting CDS Clients)."""
        if value is not None and (not value.strip() or len(value) > 2000):
            raise ValueError("cds_client_iss must be a URI of at most 2000 characters")
        return value or None

    @field_validator("authorization_endpoint", "token_endpoint", "jwks_uri", "cds_jwks_uri")
    @classmethod
    def _endpoint_is_url(cls, value: str | None) -> str | None:
        return absolute_url(value) if value else None

    @field_validator("frame_ancestors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(absolute_url(v) for v in value)

    @property
    def client_secret(self) -> str | None:
        """The confidential client's secret, read from the environment at the moment of use."""
        return os.environ.get(self.client_secret_env) if self.client_secret_env else None


def expand_env(value: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with the environment's values."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found:
            return found
        if default is None:
            raise ConfigError(f"environment variable {name} is not set")
        return default

    return _ENV_REFERENCE.sub(replace, value)


def load_registrations(folder: Path) -> dict[str, Registration]:
    """Read every ``*.toml`` in ``folder``; keyed by normalised ``iss``."""
    if not folder.is_dir():
        raise ConfigError(f"registrations folder {folder} does not exist")
    registrations: dict[str, Registration] = {}
    for path in sorted(folder.glob("*.toml")):
        registration = _registration_from_file(path)
        if registration is None:
            continue
        if registration.iss in registrations:
            raise ConfigError(f"{path.name}: iss is already registered by another file")
        needs_secret = registration.client_auth in ("client_secret_basic", "client_secret_post")
        if needs_secret and not registration.client_secret_env:
            raise ConfigError(
                f"{path.name}: client_auth {registration.client_auth} needs client_secret_env"
            )
        registrations[registration.iss] = registration
    if not registrations:
        raise ConfigError(f"no EHR registrations (*.toml) in {folder}")
    return registrations


def _registration_from_file(path: Path) -> Registration | None:
    """The registration, or None when an environment variable it requires is unset."""
    raw = read_toml(path)
    required = raw.get("requires_env", [])
    if isinstance(required, list) and not all(os.environ.get(str(n)) for n in required):
        return None
    return model_from_toml(Registration, path, raw)


def read_toml(path: Path) -> dict[str, Any]:
    """One registration file's table; a file that does not parse stops start-up, naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path.name}: {error}") from error


def model_from_toml(model: type[M], path: Path, raw: Mapping[str, Any]) -> M:
    """``raw`` with ``${NAME}`` expanded, validated as ``model``; ``key`` is the file's stem."""
    try:
        values = {k: expand_env(v) if isinstance(v, str) else v for k, v in raw.items()}
        return model.model_validate({"key": path.stem, **values})
    except (ValidationError, TypeError) as error:
        raise ConfigError(f"{path.name}: {error}") from error
