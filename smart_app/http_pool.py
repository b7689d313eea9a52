"""One ``requests.Session`` per remote server, shared by the app's threads and users.

A shared session must not carry one user's state to another: its cookie jar
refuses every cookie (``NoCookies``), so a ``Set-Cookie`` from an EHR answer
is never sent on anyone's later request. Before each request goes out, the web request's
open database transaction is ended (``smart_app.store.release_unit``): none is held while
the app waits on another server.
"""

from __future__ import annotations

import os
import threading
from http.cookiejar import CookiePolicy, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests

from smart_app.store import release_unit

USER_AGENT = "SecondOpinion/0.1 (+SMART on FHIR)"


class NoCookies(DefaultCookiePolicy):
    """Accept no cookie and return none (the app calls EHRs on behalf of many users)."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


def _cookieless() -> CookiePolicy:
    return NoCookies()


class _Session(requests.Session):
    """A session that ends the request's database transaction before it waits on the network."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        release_unit()
        return super().send(request, **kwargs)


def _environment_once(session: requests.Session, origin: str) -> None:
    """Read the proxy (with ``NO_PROXY``) and CA bundle settings for this origin once, not per request.

    requests reads them from the environment on every request when ``trust_env`` is on, and also
    looks for ``~/.netrc`` credentials, which the app never sends to an EHR.
    """
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(origin)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


class HttpPool:
    """Hands out a keep-alive session per origin (scheme://host:port)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str) -> requests.Session:
        """The session for ``url``'s origin."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            session = self._sessions.get(origin)
            if session is None:
                session = _Session()
                session.headers["User-Agent"] = USER_AGENT
                session.cookies.set_policy(_cookieless())
                _environment_once(session, origin)
                self._sessions[origin] = session
            return session

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
