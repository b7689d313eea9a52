"""In-process reads and writes on the receiving clinic's sekmet store, for the inbox page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sekmet.fhir.common import FhirError

from .fhir_codes import Json

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code|fulfill"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # https://hl7.org/fhir/R4/datatypes.html#id


class VersionConflict(Exception):
    """Someone changed the resource since the page was read."""


@dataclass(frozen=True)
class Physician:
    """One of the clinic's PractitionerRoles, as the select lists it."""

    id: str
    label: str
    practitioner: Json  # the role's practitioner reference, for DocumentReference.author


@dataclass(frozen=True)
class ClinicStore:
    """The clinic's sekmet store and FHIR service (the same objects its /fhir answers from)."""

    store: Any  # sekmet Store
    service: Any  # sekmet FhirService

    def read(self, resource_type: str, resource_id: str) -> Json | None:
        """The resource, or None when the id is malformed, unknown or deleted."""
        if not FHIR_ID.fullmatch(resource_id):
            return None
        try:
            found: Json | None = self.store.read(resource_type, resource_id)
        except FhirError:  # 410 for a deleted resource
            return None
        return found

    def read_reference(self, reference: Json | None, resource_type: str) -> Json | None:
        """The resource a relative reference `Type/id` names, if it is of that type and exists."""
        kind, _, resource_id = str((reference or {}).get("reference", "")).partition("/")
        return self.read(resource_type, resource_id) if kind == resource_type else None

    def physicians(self) -> dict[str, Physician]:
        """The clinic's PractitionerRoles by id, in id order."""
        bundle = self.service.search("PractitionerRole", [("_count", "200")]).body or {}
        roles = sorted((e["resource"] for e in bundle.get("entry") or []), key=lambda r: r["id"])
        return {role["id"]: _physician(role) for role in roles}

    def referral_tasks(self, owners: list[str]) -> list[Json]:
        """The referral Tasks owned by these PractitionerRole ids, newest first (at most 500)."""
        wanted = {f"PractitionerRole/{owner}" for owner in owners}
        if not wanted:
            return []
        # owner and the sort go to the server: other owners' Tasks must not fill the page
        params = [("code", TASK_CODE), ("owner", ",".join(sorted(wanted))),
                  ("_sort", "-authored-on"), ("_count", "500")]
        bundle = self.service.search("Task", params).body or {}
        tasks = [
            e["resource"] for e in bundle.get("entry") or []
            if e.get("search", {}).get("mode", "match") == "match"
            and (e["resource"].get("owner") or {}).get("reference") in wanted
        ]
        return sorted(tasks, key=lambda t: str(t.get("authoredOn", "")), reverse=True)

    def update(self, resource: Json) -> Json:
        """Write a new version, refused if the stored one changed since `resource` was read."""
        version = str((resource.get("meta") or {}).get("versionId", ""))
        try:
            written, _ = self.store.update(resource, origin="external", if_match=f'W/"{version}"')
        except FhirError as error:
            raise VersionConflict(str(error)) from error
        result: Json = written
        return result

    def complete(self, document: Json, finish: Callable[[str], Json]) -> Json:
        """Create the DocumentReference and update the Task in one store transaction."""
        with self.store.transaction():
            created: Json = self.store.create(document, origin="external")
            return self.update(finish(created["id"]))


def _physician(role: Json) -> Physician:
    """The select's label: 'Dr. Name, MD (Clinic)'."""
    practitioner = role.get("practitioner") or {}
    name = practitioner.get("display") or role["id"]
    clinic = (role.get("organization") or {}).get("display")
    label = f"{name} ({clinic})" if clinic else str(name)
    author = {"reference": f"PractitionerRole/{role['id']}", "display": str(name)}
    return Physician(id=role["id"], label=label, practitioner=author)
