"""One ``requests.Session`` per remote server, shared by the app's threads."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests

USER_AGENT = "SecondOpinion/0.1 (+SMART on FHIR)"


class HttpPool:
    """Hands out a keep-alive session per origin (scheme://host:port)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def session_for(self, url: str) -> requests.Session:
        """The session for ``url``'s origin."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            session = self._sessions.get(origin)
            if session is None:
                session = requests.Session()
                session.headers["User-Agent"] = USER_AGENT
                self._sessions[origin] = session
            return session

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
