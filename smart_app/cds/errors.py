"""Why a CDS Hooks call is refused; each is answered as an OperationOutcome, never with a card.

::

    SmartAppError
    └── CdsError                 400 invalid
        ├── CdsUnauthorized      401 security    the JWT is missing, unsigned, untrusted, expired or replayed
        ├── CdsRequestInvalid    400 invalid     the body is not a hook request this service takes
        ├── CdsServiceUnknown    404 not-found   no service of that id
        └── CdsDataMissing       412 incomplete  no prefetch and no way to read the FHIR server
"""

from __future__ import annotations

from smart_app.errors import SmartAppError


class CdsError(SmartAppError):
    status, code, title = 400, "invalid", "The CDS Hooks request was refused"


class CdsUnauthorized(CdsError):
    """CDS Hooks 2.0 §Trusting CDS Clients: every call carries a JWT the service verifies."""

    status, code, title = 401, "security", "The CDS client could not be trusted"


class CdsRequestInvalid(CdsError):
    status, code, title = 400, "invalid", "The hook request is not valid"


class CdsServiceUnknown(CdsError):
    status, code, title = 404, "not-found", "No such CDS service"


class CdsDataMissing(CdsError):
    """CDS Hooks 2.0 §Prefetch Template: the service SHALL answer 412 when it cannot get the data."""

    status, code, title = 412, "incomplete", "The data the service needs was not provided"
