"""Who the signed-in physician is at their clinic, read once per launch and kept with it.

Their PractitionerRoles (with organization and practitioner) are the references a referral
Task's ``owner`` may name them by (fhir_mappings/incoming.py); they are read in one batch with
the ``fhirUser`` resource itself and kept, sealed, in the launch row.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from urllib.parse import quote

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.errors import MappingError
from fhir_mappings.incoming import AnsweringPhysician, answering_physician_from_resources
from fhir_mappings.reference import reference_from_url
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import read_all
from smart_app.errors import EhrError
from smart_app.services import services, utcnow
from smart_app.store import Launch

ROLE_INCLUDES = "_include=PractitionerRole:organization&_include=PractitionerRole:practitioner"


def clinic_client(launch: Launch) -> FhirClient:
    """The physician's own FHIR client at their clinic's server, with their access token."""
    svc = services()
    return FhirClient(svc.http.for_url(launch.iss), launch.iss, launch.access_token or "", svc.http.timeout)


def current_physician(launch: Launch, client: FhirClient) -> AnsweringPhysician:
    """The launch's physician: kept with the launch after the first read."""
    kept = services().launches.chart_json(launch.id)
    if kept:
        values = json.loads(kept)
        return AnsweringPhysician(
            values["reference"], values["name"], values["practitioner"], tuple(values["roles"]),
            dict(values["organizations"]),
        )  # fmt: skip
    physician = load_physician(client, launch.fhir_user or "")
    services().launches.save_chart(launch.id, json.dumps(asdict(physician)), utcnow())
    return physician


def load_physician(client: FhirClient, fhir_user: str) -> AnsweringPhysician:
    """One batch: the fhirUser resource and the PractitionerRoles it works under."""
    try:
        user = reference_from_url(fhir_user)
    except MappingError as error:
        raise EhrError("The EHR did not say who you are in a way Second Opinion can read.") from error
    kind, user_id = user.split("/", 1)
    role_query = (f"_id={quote(user_id, safe='')}" if kind == "PractitionerRole"
                  else f"practitioner={quote(user, safe='/')}")  # fmt: skip
    entries = read_all(client, [user, f"PractitionerRole?{role_query}&{ROLE_INCLUDES}"])
    resources = [entries[0].resource] if entries[0].resource else []
    if entries[1].resource:
        resources += resources_from_bundle(entries[1].resource)  # the roles and what they include
    try:
        return answering_physician_from_resources(user, resources)
    except MappingError as error:
        raise EhrError("Your clinic's answer about you could not be read as FHIR R4.") from error
