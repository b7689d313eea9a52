"""The attachments of a shared record: where their content is, and the content carried inline.

An Attachment holds its content as base64 ``data`` or points at it with a ``url``
(https://hl7.org/fhir/R4/datatypes.html#Attachment). A relative url is relative to the
server's base, as a literal reference is (https://hl7.org/fhir/R4/references.html#literal).
``url_on_server`` is the guard in front of every fetch: only a url that stays under the
EHR's own base may be read with the ATP's token; any other address is never contacted.
"""

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = frozenset("\\\t\r\n ")


def attachments_from_record(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """DocumentReference.content[].attachment or DiagnosticReport.presentedForm[], in order."""
    if resource.get("resourceType") == "DocumentReference":
        contents = mappings_from_element(resource.get("content"))
        return [mapping_from_element(content.get("attachment")) for content in contents]
    if resource.get("resourceType") == "DiagnosticReport":
        return mappings_from_element(resource.get("presentedForm"))
    return []


def record_with_attachments(
    resource: Mapping[str, Any], attachments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of the record whose attachments are ``attachments``, in the order read."""
    if len(attachments) != len(attachments_from_record(resource)):
        raise MappingError("a record's attachments are replaced one for one")
    copy = dict(resource)
    if resource.get("resourceType") == "DocumentReference":
        contents = mappings_from_element(resource.get("content"))
        copy["content"] = [
            {**content, "attachment": dict(attachment)}
            for content, attachment in zip(contents, attachments, strict=True)
        ]
    elif attachments:
        copy["presentedForm"] = [dict(attachment) for attachment in attachments]
    return copy


def inlined_attachment(
    attachment: Mapping[str, Any], content_type: str | None, data: str
) -> dict[str, Any]:
    """The attachment carrying its content: base64 ``data``, a contentType (att-1), no url."""
    inlined = {key: value for key, value in attachment.items() if key != "url"}
    inlined["contentType"] = (
        string_from_element(attachment.get("contentType"))
        or content_type
        or "application/octet-stream"
    )
    inlined["data"] = data
    return inlined


def url_on_server(base: str, url: str) -> str | None:
    """The absolute URL an attachment url names, if it lies under ``base``; else None.

    The same scheme, host and port, no user part, a path below the base's path, and no
    ``.`` or ``..`` segment even percent-encoded: a server may normalise those away.
    """
    if not url or any(char in _UNSAFE or ord(char) < 32 for char in url):
        return None
    root = urlsplit(base.rstrip("/") + "/")
    target = urlsplit(urljoin(root.geturl(), url))
    try:
        same_origin = (target.scheme, target.hostname, _port(target.scheme, target.port)) == (
            root.scheme, root.hostname, _port(root.scheme, root.port)
        )  # fmt: skip
    except ValueError:  # a port that is not a number
        return None
    if not same_origin or target.username is not None or target.password is not None:
        return None
    if not target.path.startswith(root.path) or target.path == root.path:
        return None
    segments = unquote(target.path).split("/")
    if any(segment in (".", "..") for segment in segments):
        return None
    return urlunsplit((root.scheme, root.netloc, target.path, target.query, ""))


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORTS.get(scheme)
