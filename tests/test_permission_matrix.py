"""Who may open what: the role × jurisdiction matrix over every page and every API operation.

Pages are found by walking Django's URL resolver, API operations by reading the API's OpenAPI
schema, so a new endpoint joins the matrix without anyone listing it. Each URL argument is filled
from KWARG_OBJECTS with an object of county A1, A2 or B1; an argument missing from that map fails
the test and says what to add.

Expected, for every endpoint, persona and target:

    anonymous                               -> redirect to the login page (pages), 401 (API)
    role lacks a capability the endpoint needs  -> 404 (the endpoint is not advertised)
    target outside the persona's reach      -> 404 (as if it did not exist)
    otherwise                               -> 200 (pages), the documented 2xx (API); a POST-only
                                               page, sent an empty form, must at least find its object

and no successful answer may mention a station or county the persona cannot reach.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from amanat.accounts.models import ApiToken, Organisation, OrganisationKind, User
from amanat.accounts.roles import Capability, Role
from amanat.accounts.services import api_token_create, organisation_create, user_create
from amanat.api import api
from amanat.audit.models import AuditEntry
from amanat.committees import services as committee_services
from amanat.committees.models import (
    ActionItem,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Meeting,
    MemberRole,
)
from amanat.elections.models import Contest, ContestKind, ElectionEvent
from amanat.elections.services import contest_add, election_event_create
from amanat.geography.models import County, District, PollingStation
from amanat.incidents import services as incident_services
from amanat.incidents.models import Incident, IncidentCategory, IncidentEvidence
from amanat.readiness import services as readiness_services
from amanat.risks import services as risk_services
from amanat.risks.models import Atlas, AtlasVersion, CountyDuty, DutyTemplate, Risk, RiskCategory
from amanat.scoping import Jurisdiction, unscoped
from amanat.ui.formatting import persian_digits
from conftest import PASSWORD, World

LOGIN_URL = "/accounts/login/"
PERSONAS = ("county_user", "outsider", "province_user", "national", "auditor", "county_viewer", "anonymous")
TARGETS = ("A1", "A2", "B1")

# Not part of the matrix: Django's admin (superusers only, its own checks), the language switch,
# the JavaScript catalogue, static files, and the API (its operations come from the schema).
SKIPPED_PREFIXES = ("admin/", "i18n/", "jsi18n/", "static/", "media/")
# Pages anyone may use; test_public_pages checks them.
PUBLIC_PAGES = {
    "accounts:login",
    "accounts:logout",
    # Citizens report incidents without an account (rate-limited, with a challenge).
    "incidents:public_report",
    "incidents:public_report_challenge",
    "incidents:public_report_counties",
    "incidents:public_report_done",
}
# The API's own views (schema, docs, root); test_api_schema_and_docs checks them.
API_META_VIEWS = {"openapi-json", "openapi-view", "api-root"}

# Endpoints restricted by role: callers without the capability get 404 (unless ROLE_REFUSAL says
# otherwise). Pages by URL name, API operations by operationId. A requirement is a capability, a
# User property, or a rule over the user and the target county's objects.
Requirement = Capability | str | Callable[[User, "Matrix", str], bool]
CAPABILITY_REQUIRED: dict[str, Requirement] = {
    "audit:entries": Capability.AUDIT,
    "audit:entry": Capability.AUDIT,
    "amanat_audit_api_entry_list": Capability.AUDIT,
    "amanat_audit_api_entry_detail": Capability.AUDIT,
    "accounts:users": Capability.ADMINISTER,
    "accounts:user-create": Capability.ADMINISTER,
    "accounts:user-toggle-active": Capability.ADMINISTER,
    "geography:station-import": Capability.ADMINISTER,
    "geography:station-edit": Capability.ADMINISTER,
    # Not a role capability but a User property: national administrators only.
    "elections:event-create": "can_manage_elections",
    # Committees: the bulk action and the instruction are national; the forms need the role's capability.
    "committees:bulk-create": "can_manage_elections",
    "committees:instruction-create": "can_manage_elections",
    "committees:member-add": Capability.APPROVE,
    "committees:member-remove": Capability.APPROVE,
    "committees:terms": Capability.APPROVE,
    "committees:cadence": Capability.APPROVE,
    "committees:minutes-approve": Capability.APPROVE,
    "committees:meeting-create": Capability.RUN_MEETINGS,
    "committees:attendance": Capability.RUN_MEETINGS,
    "committees:minutes": Capability.RUN_MEETINGS,
    "committees:minutes-correct": Capability.RUN_MEETINGS,
    "committees:decision-create": Capability.RUN_MEETINGS,
    "committees:meeting-cancel": Capability.RUN_MEETINGS,
    "amanat_committees_api_meeting_create": Capability.RUN_MEETINGS,
    "amanat_committees_api_attendance_record": Capability.RUN_MEETINGS,
    "amanat_committees_api_decision_record": Capability.RUN_MEETINGS,
    # The responsible organisation's people (who can edit), or whoever runs the committee's meetings.
    "amanat_committees_api_action_item_update": lambda user, m, target: bool(
        (user.organisation_id == m.items[target].responsible_id and user.can(Capability.EDIT))
        or user.can(Capability.RUN_MEETINGS)
    ),
    # The security atlas: reference data is the national administrator's; the register needs EDIT;
    # reviewing is the county's own province's; levels and records are decided from province up.
    **{
        f"amanat_risks_api_{op}": "can_manage_elections"
        for op in (
            "category_create",
            "category_update",
            "category_patch",
            "matrix_create",
            "policy_update",
            "policy_patch",
            "duty_template_create",
            "duty_template_update",
        )
    },
    **{
        f"amanat_risks_api_{op}": Capability.EDIT
        for op in (
            "atlas_open",
            "risk_create",
            "risk_update",
            "risk_assess",
            "risk_withdraw",
            "mitigation_add",
            "atlas_submit",
            "duty_complete",
            "duty_reopen",
        )
    },
    "amanat_risks_api_risk_acceptance_approve": Capability.APPROVE,
    # Readiness: the checklist is the national administrator's; recording needs EDIT.
    "readiness:station-set": Capability.EDIT,
    "readiness:upload": Capability.EDIT,
    "readiness:upload-template": Capability.EDIT,
    "readiness:items": "can_manage_elections",
    "readiness:items-defaults": "can_manage_elections",
    "readiness:item-edit": "can_manage_elections",
    "readiness:recount": "can_manage_elections",
    "amanat_readiness_api_item_create": "can_manage_elections",
    "amanat_readiness_api_item_update": "can_manage_elections",
    "amanat_readiness_api_station_readiness_set": Capability.EDIT,
    "amanat_readiness_api_readiness_upload": Capability.EDIT,
    "amanat_readiness_api_live_reports": Capability.EDIT,
    "risks:policy": "can_manage_elections",
    "risks:categories": "can_manage_elections",
    "risks:category-edit": "can_manage_elections",
    "risks:matrices": "can_manage_elections",
    "risks:atlas-open": Capability.EDIT,
    "risks:atlas-submit": Capability.EDIT,
    "risks:risk-create": Capability.EDIT,
    "risks:risk-update": Capability.EDIT,
    "risks:risk-withdraw": Capability.EDIT,
    "risks:mitigation-add": Capability.EDIT,
    "risks:risk-accept-approve": Capability.APPROVE,
    # The county's own province reviews its atlas: national and county approvers do not.
    "risks:version-review": lambda user, m, target: (
        user.can(Capability.APPROVE) and user.jurisdiction.level == "province"
    ),
    "risks:duty-templates": "can_manage_elections",
    "risks:duty-template-edit": "can_manage_elections",
    "risks:duty-complete": Capability.EDIT,
    "risks:duty-reopen": Capability.EDIT,
    **{
        name: lambda user, m, target: user.can(Capability.APPROVE) and user.jurisdiction.level != "county"
        for name in ("risks:classify", "risks:level-decide", "risks:past-election-add")
    },
    "amanat_risks_api_version_review": lambda user, m, target: (
        user.can(Capability.APPROVE) and user.jurisdiction.level == "province"
    ),
    **{
        f"amanat_risks_api_{op}": lambda user, m, target: (
            user.can(Capability.APPROVE) and user.jurisdiction.level != "county"
        )
        for op in ("level_decide", "past_election_record", "classification_run")
    },
    # Incidents: reporting and handling need EDIT; closing and reopening APPROVE; the taxonomy is national.
    **{
        f"amanat_incidents_api_{op}": Capability.EDIT
        for op in (
            "intake_incident_report",
            "intake_incident_report_batch",
            "moves_incident_moderate",
            "moves_incident_triage",
            "moves_incident_assign",
            "moves_incident_start",
            "moves_incident_refer",
            "moves_incident_resolve",
            "moves_incident_reject",
            "moves_incident_merge",
            "moves_incident_comment",
            "moves_incident_evidence",
            "cases_incident_bulk",
        )
    },
    "incidents:new": Capability.EDIT,
    "incidents:bulk": Capability.EDIT,
    "incidents:act": Capability.EDIT,
    "incidents:absorb": Capability.EDIT,
    "incidents:comment": Capability.EDIT,
    "incidents:evidence-add": Capability.EDIT,
    "incidents:categories": "can_manage_elections",
    "incidents:category-edit": "can_manage_elections",
    "incidents:category-toggle": "can_manage_elections",
    "incidents:deadline-set": "can_manage_elections",
    "amanat_incidents_api_moves_incident_close": Capability.APPROVE,
    "amanat_incidents_api_moves_incident_reopen": Capability.APPROVE,
    **{
        f"amanat_incidents_api_taxonomy_{op}": "can_manage_elections"
        for op in ("category_create", "category_update", "deadline_set")
    },
}

# API writes whose role check is the service's own: the API answers its PermissionDenied with 403
# (the operation is in the published schema anyway), after the object was found within reach: out
# of reach is still 404. Everything else in CAPABILITY_REQUIRED answers 404.
ROLE_REFUSAL: dict[str, int] = {
    "amanat_committees_api_meeting_create": 403,
    "amanat_committees_api_attendance_record": 403,
    "amanat_committees_api_decision_record": 403,
    "amanat_committees_api_action_item_update": 403,
    **{
        name: 403
        for name in (
            "amanat_risks_api_category_create",
            "amanat_risks_api_category_update",
            "amanat_risks_api_category_patch",
            "amanat_risks_api_matrix_create",
            "amanat_risks_api_policy_update",
            "amanat_risks_api_policy_patch",
            "amanat_risks_api_duty_template_create",
            "amanat_risks_api_duty_template_update",
            "amanat_risks_api_atlas_open",
            "amanat_risks_api_risk_create",
            "amanat_risks_api_risk_update",
            "amanat_risks_api_risk_assess",
            "amanat_risks_api_risk_withdraw",
            "amanat_risks_api_mitigation_add",
            "amanat_risks_api_atlas_submit",
            "amanat_risks_api_duty_complete",
            "amanat_risks_api_duty_reopen",
            "amanat_risks_api_risk_acceptance_approve",
            "amanat_risks_api_version_review",
            "amanat_risks_api_level_decide",
            "amanat_risks_api_past_election_record",
            "amanat_risks_api_classification_run",
            "amanat_readiness_api_item_create",
            "amanat_readiness_api_item_update",
            "amanat_readiness_api_station_readiness_set",
            "amanat_readiness_api_readiness_upload",
            "amanat_readiness_api_live_reports",
        )
    },
    **{
        name: 403
        for name, requirement in CAPABILITY_REQUIRED.items()
        if name.startswith("amanat_incidents_api_")
    },
}

# API operations whose target county is named in the body or the query rather than the path: the
# matrix runs them against each target county like a path argument. Out of reach, a county in the body
# is a bad field (400), one in the query a missing object (404).
BODY_TARGETS: dict[str, int] = {
    "amanat_risks_api_atlas_open": 400,
    "amanat_risks_api_duty_complete": 400,
    "amanat_risks_api_level_decide": 400,
    "amanat_risks_api_past_election_record": 400,
    "amanat_risks_api_level_history": 404,
    "amanat_risks_api_duty_checklist": 404,
    "amanat_risks_api_past_election_list": 404,
    # A report names its station in the body: another county's station is a bad field.
    "amanat_incidents_api_intake_incident_report": 400,
}

# Writes that succeed once and are then refused by the target's new state with 400 (a second submission,
# a second review, a duplicate record), or that the matrix's state refuses outright (approving acceptance
# of a risk being mitigated): for them a 400 from a persona allowed to act counts as found-and-allowed.
STATE_DEPENDENT = {
    "amanat_risks_api_atlas_submit",
    "amanat_risks_api_version_review",
    "amanat_risks_api_risk_acceptance_approve",
    "amanat_risks_api_past_election_record",
    "amanat_risks_api_mitigation_add",
    # A case moves once; the next persona allowed to move it finds it in its new state (or the matrix's
    # new case is not in the state the move starts from, e.g. start before assignment).
    *(
        f"amanat_incidents_api_moves_incident_{move}"
        for move in (
            "moderate",
            "triage",
            "assign",
            "start",
            "refer",
            "resolve",
            "close",
            "reopen",
            "reject",
            "merge",
        )
    ),
    # A category's code can be taken once.
    "amanat_incidents_api_taxonomy_category_create",
}

# Operations whose first success is not the lowest 2xx their schema lists (a replay answers 200).
SUCCESS_STATUS: dict[str, int] = {"amanat_incidents_api_intake_incident_report": 201}

# Query strings an operation needs, for the target county.
SAMPLE_QUERIES: dict[str, Callable[["Matrix", str], dict[str, Any]]] = {
    "amanat_risks_api_level_history": lambda m, c: {"event_id": m.event.pk, "county_id": m.counties[c].pk},
    "amanat_risks_api_duty_checklist": lambda m, c: {"event_id": m.event.pk, "county_id": m.counties[c].pk},
    "amanat_risks_api_past_election_list": lambda m, c: {"county_id": m.counties[c].pk},
    "amanat_risks_api_atlas_compare": lambda m, c: {"a": m.versions[c].pk, "b": "draft"},
}


def _allowed(
    user: Any, requirement: Requirement, m: "Matrix | None" = None, target: str | None = None
) -> bool:
    if isinstance(requirement, Capability):
        return bool(user.can(requirement))
    if isinstance(requirement, str):
        return bool(getattr(user, requirement))
    assert m is not None, "a rule needs the matrix"
    return requirement(user, m, target or "")


# What each county's pages may show, and what nobody outside it may see.
COUNTY_MARKERS = {
    "A1": ("A1-001", "A1-002", "مدرسه شهید بهشتی", "مسجد جامع", "شهرستان الف۱"),
    "A2": ("A2-001", "کتابخانه مرکزی", "شهرستان الف۲"),
    "B1": ("B1-001", "B1-002", "دبستان فردوسی", "سالن ورزشی", "شهرستان ب۱"),
}


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """The matrix builds its world once per endpoint; hashing passwords at full strength would dominate."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The world the matrix runs in.


@dataclass
class Matrix:
    world: World
    users: dict[str, User | None]
    counties: dict[str, County]
    districts: dict[str, District]
    stations: dict[str, PollingStation]
    event: ElectionEvent
    contests: dict[str, Contest]
    audit_seqs: dict[str, int]
    tokens: dict[str, ApiToken]
    api_keys: dict[str, str] = field(default_factory=dict)
    # Committees of each target county: its committee, a seat, a held meeting and its action item.
    organisations: dict[str, Organisation] = field(default_factory=dict)
    committees: dict[str, Committee] = field(default_factory=dict)
    members: dict[str, CommitteeMember] = field(default_factory=dict)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    items: dict[str, ActionItem] = field(default_factory=dict)
    # An account in each target county for administrators to deactivate (never a persona).
    accounts: dict[str, User] = field(default_factory=dict)
    # The security atlas of each target county: submitted (version 1), one risk, a decided level, a duty.
    atlases: dict[str, Atlas] = field(default_factory=dict)
    risks: dict[str, Risk] = field(default_factory=dict)
    versions: dict[str, AtlasVersion] = field(default_factory=dict)
    duties: dict[str, CountyDuty] = field(default_factory=dict)
    # The event's readiness checklist (national: every persona reads it).
    readiness_item: Any = None
    # Incidents of each target county: a new case at its station, a second one to merge into, evidence.
    incidents: dict[str, Incident] = field(default_factory=dict)
    duplicates: dict[str, Incident] = field(default_factory=dict)
    evidence: dict[str, IncidentEvidence] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    def page_client(self, persona: str) -> Client:
        if persona not in self.clients:
            client = Client()
            user = self.users[persona]
            if user is not None:
                client.force_login(user)
            self.clients[persona] = client
        return self.clients[persona]

    def api_client(self, persona: str) -> Client:
        key = self.api_keys.get(persona)
        return Client(headers={"Authorization": f"Bearer {key}"}) if key else Client()


@pytest.fixture
def matrix(
    settings: Any,
    tmp_path: Any,
    admin: User,
    world: World,
    national: User,
    auditor: User,
    province_user: User,
    county_user: User,
    county_viewer: User,
    outsider: User,
) -> Matrix:
    # A member in county A2, so that A2 too has its own token and audit entries.
    member_a2 = user_create(
        actor=admin,
        username="county_a2",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        county=world.county_a2,
    )
    with unscoped():
        counties = {code: County.objects.get(code=code) for code in TARGETS}
        districts = {code: District.objects.get(code=f"{code}-1") for code in TARGETS}
        stations = {code: PollingStation.objects.get(code=f"{code}-001") for code in TARGETS}
    event = election_event_create(actor=national, name="انتخابات ماتریس", voting_day=_soon())
    contests = {
        code: contest_add(
            actor=national, event=event, kind=ContestKind.BY_ELECTION, title=f"حوزه {n}", counties=[county]
        )
        for n, (code, county) in enumerate(counties.items(), start=1)
    }
    owners = {"A1": county_user, "A2": member_a2, "B1": outsider}
    tokens = {code: api_token_create(actor=owner, name=f"target {code}")[0] for code, owner in owners.items()}
    audit_seqs = {
        code: AuditEntry.all_entries.filter(county_id=county.pk)
        .order_by("seq")
        .values_list("seq", flat=True)[0]
        for code, county in counties.items()
    }
    users: dict[str, User | None] = {
        "county_user": county_user,
        "outsider": outsider,
        "province_user": province_user,
        "national": national,
        "auditor": auditor,
        "county_viewer": county_viewer,
        "anonymous": None,
    }
    built = Matrix(world, users, counties, districts, stations, event, contests, audit_seqs, tokens)
    for persona, user in users.items():
        if user is not None:
            built.api_keys[persona] = api_token_create(actor=user, name="matrix")[1]
    _build_committees(built, national)
    _build_atlases(built, national)
    m_items = readiness_services.readiness_items_create_defaults(
        actor=national, event=event, due_on=event.voting_day
    )
    built.readiness_item = m_items[0]
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    _build_incidents(built, national)
    return built


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _incident_report(m: Matrix, code: str) -> dict[str, Any]:
    occurred = timezone.now() - dt.timedelta(hours=1)
    return {
        "category": "vote-buying",
        "station_code": m.stations[code].code,
        "occurred_at": occurred.isoformat(),
        "description": f"گزارش ماتریس {code}",
    }


def _build_incidents(m: Matrix, actor: User) -> None:
    """In each target county: a new case at its station (with a photo), and a second case to merge into."""
    for code in m.counties:
        made = []
        for n in range(2):
            report = incident_services.ReportInput(
                category_code="vote-buying",
                occurred_at=timezone.now() - dt.timedelta(hours=1 + n),
                description=f"گزارش ماتریس {code} {n}",
                station_code=m.stations[code].code,
            )
            made.append(incident_services.incident_report(actor=actor, report=report).incident)
        m.incidents[code], m.duplicates[code] = made
        m.evidence[code] = incident_services.incident_evidence_add(
            actor=actor,
            incident=made[0],
            uploads=[incident_services.EvidenceUpload("photo.png", SimpleUploadedFile("photo.png", PNG))],
        )[0]


def _build_atlases(m: Matrix, actor: User) -> None:
    """In each target county: an atlas with an assessed risk, submitted and returned; a level; a duty done."""
    category = RiskCategory.objects.filter(is_active=True).first()
    assert category is not None
    reviewers = {
        province.pk: user_create(
            actor=actor,
            username=f"matrix_reviewer_{province.code.lower()}",
            password=PASSWORD,
            role=Role.CHAIR,
            organisation=organisation_create(
                actor=actor,
                name=f"استانداری ماتریس {province.code}",
                kind=OrganisationKind.GOVERNORATE,
                province=province,
            ),
            province=province,
        )
        for province in (m.world.province_a, m.world.province_b)
    }
    for code, county in m.counties.items():
        atlas = risk_services.atlas_open(actor=actor, event=m.event, county=county)
        m.risks[code] = risk_services.risk_create(
            actor=actor,
            atlas=atlas,
            kind="threat",
            phase="during",
            category=category,
            title=f"ریسک ماتریس {code}",
            likelihood=2,
            impact=3,
            treatment="mitigate",
        )
        m.versions[code] = risk_services.atlas_submit(actor=actor, atlas=atlas)
        # Returned by its province, so the register is open to edits again (and the version reviewed).
        risk_services.atlas_review(
            actor=reviewers[county.province_id],
            version=m.versions[code],
            approve=False,
            note="بازبینی ماتریس",
        )
        m.atlases[code] = atlas
        decision = risk_services.security_level_decide(
            actor=actor, event=m.event, county=county, level="sensitive", reason="ماتریس"
        )
        template = DutyTemplate.objects.filter(level=decision.level, is_active=True).first()
        assert template is not None
        m.duties[code] = risk_services.county_duty_complete(
            actor=actor, event=m.event, county=county, template=template, evidence="مستند ماتریس"
        )


def _build_committees(m: Matrix, actor: User) -> None:
    """The event's committees, and in each target county a seat, a meeting held today and its action.

    The seat has attendance, so a POST to remove it is refused and it stays for the next persona.
    """
    instruction = committee_services.instruction_create(
        actor=actor, event=m.event, title="دستورالعمل ماتریس", duties="شناسایی تهدیدات\nگزارش روزانه"
    )
    committee_services.committees_create_for_event(actor=actor, event=m.event, instruction=instruction)
    m.organisations = {
        "A1": m.world.org_a1,
        "A2": organisation_create(
            actor=actor, name="فرمانداری الف۲", kind=OrganisationKind.GOVERNORATE, county=m.counties["A2"]
        ),
        "B1": m.world.org_b1,
    }
    m.accounts = {
        code: user_create(
            actor=actor,
            username=f"matrix_{code.lower()}",
            password=PASSWORD,
            role=Role.VIEWER,
            organisation=m.organisations[code],
            county=county,
        )
        for code, county in m.counties.items()
    }
    today = timezone.localdate()
    for code, county in m.counties.items():
        with unscoped():
            committee = Committee.objects.select_related("event").get(event=m.event, county=county)
            meeting = Meeting.objects.select_related("committee__event").get(
                committee=committee, scheduled_on=today, from_cadence=True
            )
        member = committee_services.committee_member_add(
            actor=actor, committee=committee, organisation=m.organisations[code], role=MemberRole.SECRETARY
        )
        committee_services.attendance_record(
            actor=actor, meeting=meeting, entries=[(member, AttendanceStatus.PRESENT, "")]
        )
        m.committees[code], m.members[code], m.meetings[code] = committee, member, meeting
        m.items[code] = committee_services.decision_record(
            actor=actor,
            meeting=meeting,
            text="مصوبه ماتریس",
            responsible=m.organisations[code],
            due_on=today + dt.timedelta(days=5),
        )


def _soon() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=20)


# URL arguments: each names an object of the target county and says who may reach it.


@dataclass(frozen=True)
class Target:
    value: int | str
    reaches: Callable[[User], bool]


def _within(jurisdiction: Jurisdiction) -> Callable[[User], bool]:
    return lambda user: user.jurisdiction.covers(jurisdiction)


def _overlapping(jurisdiction: Jurisdiction) -> Callable[[User], bool]:
    # A province is reachable from inside it too: its page then lists only the caller's counties.
    return lambda user: user.jurisdiction.covers(jurisdiction) or jurisdiction.covers(user.jurisdiction)


def _everyone(user: User) -> bool:
    return True


def _county_j(m: Matrix, code: str) -> Jurisdiction:
    county = m.counties[code]
    return Jurisdiction(province_id=county.province_id, county_id=county.pk)


def _audit_target(m: Matrix, code: str) -> Target:
    return Target(m.audit_seqs[code], _within(_county_j(m, code)))


def _token_target(m: Matrix, code: str) -> Target:
    owner_id = m.tokens[code].user_id
    return Target(m.tokens[code].pk, lambda user: user.pk == owner_id)


KWARG_OBJECTS: dict[str, Callable[[Matrix, str], Target]] = {
    "province_id": lambda m, c: Target(
        m.counties[c].province_id, _overlapping(Jurisdiction(province_id=m.counties[c].province_id))
    ),
    "county_id": lambda m, c: Target(m.counties[c].pk, _within(_county_j(m, c))),
    "district_id": lambda m, c: Target(m.districts[c].pk, _within(_county_j(m, c))),
    "station_id": lambda m, c: Target(m.stations[c].pk, _within(_county_j(m, c))),
    # Events and contests are national: everyone reads them; counts and county lists inside are scoped.
    "event_id": lambda m, c: Target(m.event.pk, _everyone),
    "contest_id": lambda m, c: Target(m.contests[c].pk, _everyone),
    "seq": _audit_target,
    # Tokens belong to one user: only the owner reaches them.
    "token_id": _token_target,
    "user_id": lambda m, c: Target(m.accounts[c].pk, _within(_county_j(m, c))),
    # Committees and what hangs off them sit in their county.
    "committee_id": lambda m, c: Target(m.committees[c].pk, _within(_county_j(m, c))),
    "member_id": lambda m, c: Target(m.members[c].pk, _within(_county_j(m, c))),
    "meeting_id": lambda m, c: Target(m.meetings[c].pk, _within(_county_j(m, c))),
    # An action item is reached within its county, and by its responsible organisation's people.
    "item_id": lambda m, c: Target(
        m.items[c].pk,
        lambda user: (
            user.jurisdiction.covers(_county_j(m, c)) or user.organisation_id == m.items[c].responsible_id
        ),
    ),
    # The security atlas: everything of a county's atlas sits in the county.
    "atlas_id": lambda m, c: Target(m.atlases[c].pk, _within(_county_j(m, c))),
    "risk_id": lambda m, c: Target(m.risks[c].pk, _within(_county_j(m, c))),
    "version_id": lambda m, c: Target(m.versions[c].pk, _within(_county_j(m, c))),
    "duty_id": lambda m, c: Target(m.duties[c].pk, _within(_county_j(m, c))),
    # Reference data of the atlas is national: everyone reads it.
    "category_id": lambda m, c: Target(RiskCategory.objects.order_by("pk").first().pk, _everyone),  # type: ignore[union-attr]
    "readiness_item_id": lambda m, c: Target(m.readiness_item.pk, _everyone),
    # Incidents sit in their county; the incident taxonomy is national.
    "incident_id": lambda m, c: Target(m.incidents[c].pk, _within(_county_j(m, c))),
    "evidence_id": lambda m, c: Target(m.evidence[c].pk, _within(_county_j(m, c))),
    "code": lambda m, c: Target("vote-buying", _everyone),
    "incident_category_id": lambda m, c: Target(
        IncidentCategory.objects.get(code="vote-buying").pk, _everyone
    ),
    "template_id": lambda m, c: Target(
        DutyTemplate.objects.filter(level="sensitive").order_by("pk").first().pk,  # type: ignore[union-attr]
        _everyone,
    ),
}

# JSON bodies the schema cannot sample (dates, lists, references to the target's objects), by
# operationId: each a valid request for the target county.
SAMPLE_BODIES: dict[str, Callable[[Matrix, str], dict[str, Any]]] = {
    "amanat_committees_api_meeting_create": lambda m, c: {"scheduled_on": m.event.voting_day.isoformat()},
    "amanat_committees_api_attendance_record": lambda m, c: {
        "entries": [{"member_id": m.members[c].pk, "status": AttendanceStatus.PRESENT}]
    },
    "amanat_committees_api_decision_record": lambda m, c: {
        "text": "مصوبه از API",
        "responsible_organisation_id": m.organisations[c].pk,
        "due_on": m.event.voting_day.isoformat(),
    },
    "amanat_committees_api_action_item_update": lambda m, c: {"note": "پیگیری از API"},
    # The security atlas.
    "amanat_risks_api_category_create": lambda m, c: {
        "code": "matrix-new",
        "group": "internal",
        "name": "ماتریس",
    },
    "amanat_risks_api_matrix_create": lambda m, c: {
        "name": "۳×۳ ماتریس",
        "likelihood_levels": 3,
        "impact_levels": 3,
        "bands": [{"code": "low", "name": "کم", "colour": "#2e7d32", "weight": 0}],
        "cells": [
            {"likelihood": lk, "impact": im, "score": lk * im, "band": "low"}
            for lk in (1, 2, 3)
            for im in (1, 2, 3)
        ],
    },
    "amanat_risks_api_policy_update": lambda m, c: {
        "annulled_points": 15,
        "incident_points": 2,
        "incident_points_cap": 20,
        "stations_per_point": 200,
        "important_from": 20,
        "sensitive_from": 45,
    },
    "amanat_risks_api_duty_template_create": lambda m, c: {"level": "normal", "text": "وظیفه ماتریس"},
    "amanat_risks_api_atlas_open": lambda m, c: {"event_id": m.event.pk, "county_id": m.counties[c].pk},
    "amanat_risks_api_risk_create": lambda m, c: _risk_body(),
    "amanat_risks_api_risk_update": lambda m, c: _risk_body(),
    "amanat_risks_api_mitigation_add": lambda m, c: {
        "title": "کاهش ماتریس",
        "responsible_id": m.organisations[c].pk,
        "due_on": m.event.voting_day.isoformat(),
    },
    "amanat_risks_api_version_review": lambda m, c: {"approve": True},
    "amanat_risks_api_classification_run": lambda m, c: {"event_id": m.event.pk},
    "amanat_risks_api_level_decide": lambda m, c: {
        "event_id": m.event.pk,
        "county_id": m.counties[c].pk,
        "level": "sensitive",
        "reason": "ماتریس",
    },
    "amanat_risks_api_duty_complete": lambda m, c: {
        "event_id": m.event.pk,
        "county_id": m.counties[c].pk,
        "template_id": m.duties[c].template_id,
        "evidence": "مستند ماتریس",
    },
    "amanat_risks_api_past_election_record": lambda m, c: {
        "county_id": m.counties[c].pk,
        "held_on": "2021-06-18",
        "title": "انتخابات ماتریس",
    },
}


def _readiness_bodies() -> dict[str, Callable[[Matrix, str], dict[str, Any]]]:
    voting_day: Callable[[Matrix], str] = lambda m: m.event.voting_day.isoformat()  # noqa: E731
    return {
        "amanat_readiness_api_item_create": lambda m, c: {
            "event_id": m.event.pk,
            "code": "matrix-item",
            "title": "آیتم ماتریس",
            "due_on": voting_day(m),
        },
        "amanat_readiness_api_item_update": lambda m, c: {"title": "آیتم ماتریس", "due_on": voting_day(m)},
        "amanat_readiness_api_station_readiness_set": lambda m, c: {"status": "in_progress"},
        "amanat_readiness_api_readiness_upload": lambda m, c: {"csv": "station_code,item_code,status\n"},
        "amanat_readiness_api_live_reports": lambda m, c: {"event_id": m.event.pk, "reports": []},
    }


SAMPLE_BODIES.update(_readiness_bodies())
SAMPLE_BODIES.update(
    {
        "amanat_incidents_api_intake_incident_report": _incident_report,
        "amanat_incidents_api_intake_incident_report_batch": lambda m, c: {
            "reports": [_incident_report(m, c)]
        },
        "amanat_incidents_api_moves_incident_triage": lambda m, c: {"severity": "high"},
        "amanat_incidents_api_moves_incident_assign": lambda m, c: {"organisation_id": m.organisations[c].pk},
        "amanat_incidents_api_moves_incident_refer": lambda m, c: {
            "authority": "دادسرا",
            "case_number": "۱۲۳",
        },
        "amanat_incidents_api_moves_incident_resolve": lambda m, c: {"resolution": "رسیدگی شد"},
        "amanat_incidents_api_moves_incident_close": lambda m, c: {"note": ""},
        "amanat_incidents_api_moves_incident_reopen": lambda m, c: {"reason": "بازگشایی ماتریس"},
        "amanat_incidents_api_moves_incident_reject": lambda m, c: {"reason": "رد ماتریس"},
        "amanat_incidents_api_moves_incident_merge": lambda m, c: {
            "into_id": m.duplicates[c].pk,
            "reason": "تکراری",
        },
        "amanat_incidents_api_moves_incident_comment": lambda m, c: {"body": "یادداشت ماتریس"},
        "amanat_incidents_api_cases_incident_bulk": lambda m, c: {
            "action": "triage",
            "ids": [m.incidents[code].pk for code in TARGETS],
        },
        "amanat_incidents_api_taxonomy_category_create": lambda m, c: {
            "code": "matrix-incident",
            "name": "دسته ماتریس",
        },
        "amanat_incidents_api_taxonomy_category_update": lambda m, c: {"name": "خرید و فروش رأی"},
        "amanat_incidents_api_taxonomy_deadline_set": lambda m, c: {"severity": "low", "hours": 72},
    }
)
# Multipart requests (files), by operationId: sent as a form instead of JSON.
SAMPLE_FILES: dict[str, Callable[[Matrix, str], dict[str, Any]]] = {
    "amanat_incidents_api_moves_incident_evidence": lambda m, c: {
        "file": SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    },
}


def _risk_body() -> dict[str, Any]:
    category = RiskCategory.objects.filter(is_active=True).order_by("pk").first()
    assert category is not None
    return {
        "kind": "threat",
        "phase": "during",
        "category_id": category.pk,
        "title": "ریسک API ماتریس",
        "likelihood": 2,
        "impact": 2,
        "treatment": "mitigate",
    }


# Discovery.


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "page" or "api"
    name: str  # URL name (pages) or operationId (API)
    method: str
    route: str
    kwargs: tuple[str, ...]
    success: int = 200
    body: dict[str, Any] | None = None
    problem: str = ""

    @property
    def label(self) -> str:
        if self.kind == "page":
            return f"page {self.name}"
        return f"api {self.method.upper()} {self.route}"

    def url(self, values: dict[str, int | str]) -> str:
        if self.kind == "page":
            return reverse(self.name, kwargs=values)
        return self.route.format(**values)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield route, name, entry


def _api_namespace() -> str:
    return api.urls_namespace or "api"


def _page_endpoints() -> list[Endpoint]:
    found = []
    for route, name, entry in _walk(get_resolver()):
        if route.startswith(SKIPPED_PREFIXES) or name.startswith(_api_namespace() + ":"):
            continue
        if name in PUBLIC_PAGES:
            continue
        kwargs = tuple(entry.pattern.regex.groupindex)
        problem = "" if name else f"URL pattern {route!r} has no name; name it so the matrix can reverse it"
        found.append(Endpoint("page", name or route, "get", route, kwargs, problem=problem))
    return found


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


SAMPLE_VALUES = {"string": "matrix", "integer": 1, "number": 1, "boolean": False}


def _sample_body(schema: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A minimal valid JSON body for an operation, from its schema (required simple fields only)."""
    if "requestBody" not in operation:
        return None, ""
    if "application/json" not in operation["requestBody"]["content"]:
        if operation["operationId"] in SAMPLE_FILES:
            return None, ""
        return (
            None,
            "a non-JSON request body: add its files to SAMPLE_FILES in tests/test_permission_matrix.py",
        )
    body_schema = _resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    body = {}
    for name in body_schema.get("required", []):
        kind = _resolve(schema, body_schema["properties"][name]).get("type")
        if kind not in SAMPLE_VALUES:
            return None, (
                f"cannot make a sample value for body field {name!r} ({kind}); extend SAMPLE_VALUES "
                "in tests/test_permission_matrix.py"
            )
        body[name] = SAMPLE_VALUES[kind]
    return body, ""


def _api_endpoints() -> list[Endpoint]:
    schema = api.get_openapi_schema()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            kwargs = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "path")
            successes = sorted(int(code) for code in operation["responses"] if str(code).startswith("2"))
            body, problem = _sample_body(schema, operation)
            if operation["operationId"] in SAMPLE_BODIES:
                body, problem = None, ""
            found.append(
                Endpoint(
                    "api",
                    operation["operationId"],
                    method,
                    path,
                    kwargs,
                    success=SUCCESS_STATUS.get(operation["operationId"], successes[0] if successes else 200),
                    body=body,
                    problem=problem,
                )
            )
    return found


ENDPOINTS = _page_endpoints() + _api_endpoints()


# One check.


def _send(
    endpoint: Endpoint, m: Matrix, persona: str, url: str, target: str | None = None
) -> tuple[Any, str]:
    if endpoint.kind == "api":
        client = m.api_client(persona)
        files = SAMPLE_FILES.get(endpoint.name)
        if files is not None:
            return client.post(url, files(m, target or "A1")), endpoint.method
        sample = SAMPLE_BODIES.get(endpoint.name)
        body = sample(m, target or "A1") if sample is not None else endpoint.body
        if body is None:
            return client.generic(endpoint.method.upper(), url), endpoint.method
        data = json.dumps(body)
        return client.generic(
            endpoint.method.upper(), url, data, content_type="application/json"
        ), endpoint.method
    client = m.page_client(persona)
    response = client.get(url)
    if response.status_code == 405:
        # A POST-only page: send it an empty form, which is enough to show whether it found its object.
        allowed = [verb.strip().lower() for verb in response.get("Allow", "").split(",") if verb.strip()]
        method = next((verb for verb in allowed if verb not in ("get", "head", "options")), "post")
        return client.generic(method.upper(), url), method
    return response, "get"


def _text(response: Any) -> str:
    streaming = getattr(response, "streaming", False)
    raw = b"".join(response.streaming_content) if streaming else response.content
    text = raw.decode("utf-8", errors="replace")
    if response.get("Content-Type", "").startswith("application/json") and text:
        # JSON escapes non-ASCII letters; compare the names as written.
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


def _forbidden_markers(m: Matrix, user: User) -> list[str]:
    markers: list[str] = []
    for code, county_markers in COUNTY_MARKERS.items():
        if not user.jurisdiction.covers(_county_j(m, code)):
            for marker in county_markers:
                markers += dict.fromkeys((marker, persian_digits(marker)))
    return markers


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN_URL + "?next=")


def _check(endpoint: Endpoint, m: Matrix, persona: str, target: str | None) -> str | None:
    """Run one cell of the matrix; describe what went wrong, or return None."""
    objects = {name: KWARG_OBJECTS[name](m, target or "A1") for name in endpoint.kwargs}
    if endpoint.name in BODY_TARGETS and target is not None:
        objects["(county in the request)"] = KWARG_OBJECTS["county_id"](m, target)
    url = endpoint.url({name: obj.value for name, obj in objects.items() if name in endpoint.kwargs})
    if endpoint.name in SAMPLE_QUERIES:
        url += "?" + urlencode(SAMPLE_QUERIES[endpoint.name](m, target or "A1"))
    user = m.users[persona]
    response, method = _send(endpoint, m, persona, url, target)
    status = response.status_code
    where = f"{persona} → {target or '(no target)'}: {method.upper()} {url} answered {status}"

    if user is None:
        if endpoint.kind == "api":
            return None if status == 401 else f"{where}, expected 401"
        return None if _is_login_redirect(response) else f"{where}, expected a redirect to {LOGIN_URL}"
    if status >= 500:
        return f"{where}: a server error"
    capability = CAPABILITY_REQUIRED.get(endpoint.name)
    refusal = ROLE_REFUSAL.get(endpoint.name, 404)
    reached = all(obj.reaches(user) for obj in objects.values())
    unreached = BODY_TARGETS.get(endpoint.name, 404)
    if refusal != 404 and not reached:  # the object is looked up before the role is checked
        if status == unreached:
            return None
        # A county named in the body may be checked after the role: then the role's refusal is right too.
        role_first = (
            endpoint.name in BODY_TARGETS
            and capability is not None
            and not _allowed(user, capability, m, target)
        )
        return (
            None
            if role_first and status == refusal
            else f"{where}, expected {unreached} (outside the persona's reach)"
        )
    if capability is not None and not _allowed(user, capability, m, target):
        needs = capability if isinstance(capability, str) else "its role rule"
        return None if status == refusal else f"{where}, expected {refusal} (needs the {needs} capability)"
    if not reached:
        return None if status == unreached else f"{where}, expected {unreached} (outside the persona's reach)"

    if endpoint.kind == "api":
        if status != endpoint.success and not (status == 400 and endpoint.name in STATE_DEPENDENT):
            return f"{where}, expected {endpoint.success}"
    elif method == "get":
        if status != 200:
            return f"{where}, expected 200"
    elif status in (401, 403, 404) or _is_login_redirect(response):
        return f"{where}, expected the page to find its object (2xx, 3xx or 400)"

    if 200 <= status < 300:
        text = _text(response)
        leaked = [marker for marker in _forbidden_markers(m, user) if marker in text]
        if leaked:
            return f"{where}: shows {leaked[:4]} from outside the persona's jurisdiction"
    return None


def _run(endpoint: Endpoint, m: Matrix) -> list[str]:
    unknown = sorted(set(endpoint.kwargs) - set(KWARG_OBJECTS))
    if unknown:
        pytest.fail(
            f"{endpoint.label} ({endpoint.route}) takes URL argument(s) {unknown} that the permission "
            "matrix does not know: add each to KWARG_OBJECTS in tests/test_permission_matrix.py with an "
            "object of counties A1, A2 and B1 and who may reach it",
            pytrace=False,
        )
    if endpoint.problem:
        pytest.fail(f"{endpoint.label}: {endpoint.problem}", pytrace=False)
    failures = []
    for persona in PERSONAS:
        for target in TARGETS if endpoint.kwargs or endpoint.name in BODY_TARGETS else (None,):
            failure = _check(endpoint, m, persona, target)
            if failure:
                failures.append(failure)
    return failures


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.label)
def test_permission_matrix(endpoint: Endpoint, matrix: Matrix) -> None:
    failures = _run(endpoint, matrix)

    assert not failures, f"{endpoint.label}:\n  " + "\n  ".join(failures)


# Focused checks.


def test_discovery_finds_pages_and_api_operations() -> None:
    labels = {endpoint.label for endpoint in ENDPOINTS}

    assert {"page home", "page geography:station", "page audit:entry", "page accounts:token-revoke"} <= labels
    assert "api GET /api/v1/geography/stations/{station_id}" in labels
    assert "api DELETE /api/v1/tokens/{token_id}" in labels
    assert not [label for label in labels if "admin" in label.split(":")[0]]
    assert len(ENDPOINTS) >= 30


def test_every_api_url_is_an_operation_in_the_schema() -> None:
    """Operations left out of the schema would escape the matrix."""
    schema_paths = {path.removeprefix("/") for path in api.get_openapi_schema()["paths"]}
    missing = []
    for route, name, _entry in _walk(get_resolver()):
        if not name.startswith(_api_namespace() + ":") or name.split(":", 1)[1] in API_META_VIEWS:
            continue
        as_template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)  # <int:id> -> {id}
        if as_template not in schema_paths:
            missing.append(route)

    assert not missing, f"API URLs missing from the OpenAPI schema (and so from the matrix): {missing}"


def test_an_unknown_url_argument_fails_with_guidance(matrix: Matrix) -> None:
    new_endpoint = Endpoint("page", "widgets:widget", "get", "widgets/<int:widget_id>/", ("widget_id",))

    with pytest.raises(pytest.fail.Exception, match=r"\['widget_id'\].*add each to KWARG_OBJECTS"):
        _run(new_endpoint, matrix)


def _endpoint(label: str) -> Endpoint:
    return next(endpoint for endpoint in ENDPOINTS if endpoint.label == label)


def test_the_matrix_notices_a_leak(matrix: Matrix, monkeypatch: Any) -> None:
    stations = _endpoint("api GET /api/v1/geography/stations")
    assert _check(stations, matrix, "county_user", None) is None
    monkeypatch.setitem(COUNTY_MARKERS, "B1", ("A1-001",))  # as if A1-001 were a station of B1

    failure = _check(stations, matrix, "county_user", None)

    assert failure is not None
    assert "A1-001" in failure


def test_the_matrix_notices_a_wrong_answer(matrix: Matrix, monkeypatch: Any) -> None:
    detail = _endpoint("api GET /api/v1/geography/stations/{station_id}")
    # As if every station were meant for everyone: the outsider's 404 is then a failure.
    monkeypatch.setitem(KWARG_OBJECTS, "station_id", lambda m, c: Target(m.stations[c].pk, _everyone))

    failure = _check(detail, matrix, "outsider", "A1")

    assert failure is not None
    assert "expected 200" in failure


def test_every_listed_endpoint_exists() -> None:
    """A renamed page or operation would leave its entry here doing nothing."""
    names = {endpoint.name for endpoint in ENDPOINTS}

    assert not set(CAPABILITY_REQUIRED) - names
    assert not set(ROLE_REFUSAL) - names
    assert not set(SAMPLE_BODIES) - names
    assert not set(SAMPLE_FILES) - names
    assert not set(SUCCESS_STATUS) - names
    assert not set(BODY_TARGETS) - names
    assert not set(SAMPLE_QUERIES) - names
    assert not STATE_DEPENDENT - names


def test_api_role_refusals_come_after_the_reach_check(matrix: Matrix, monkeypatch: Any) -> None:
    create = _endpoint("api POST /api/v1/committees/committees/{committee_id}/meetings")
    # A viewer finds its own committee but may not add a meeting (403); another county's is not found.
    assert _check(create, matrix, "county_viewer", "A1") is None
    assert _check(create, matrix, "county_viewer", "B1") is None
    monkeypatch.delitem(ROLE_REFUSAL, create.name)

    failure = _check(create, matrix, "county_viewer", "A1")

    assert failure is not None
    assert "answered 403, expected 404" in failure


@pytest.mark.parametrize(
    "endpoint",
    [
        e
        for e in ENDPOINTS
        if not e.kwargs and e.method == "get" and "stations" in e.route and e.name not in CAPABILITY_REQUIRED
    ],
    ids=lambda endpoint: endpoint.label,
)
def test_station_lists_show_own_stations_only(endpoint: Endpoint, matrix: Matrix) -> None:
    response, _method = _send(endpoint, matrix, "county_user", endpoint.url({}))

    text = _text(response)
    assert response.status_code == 200
    assert "A1-001" in text or persian_digits("A1-001") in text
    for code in ("B1-001", "B1-002", "A2-001"):
        assert code not in text
        assert persian_digits(code) not in text


def test_public_pages(matrix: Matrix) -> None:
    assert {name for _route, name, _entry in _walk(get_resolver())} >= PUBLIC_PAGES
    anonymous = Client()
    assert anonymous.get(LOGIN_URL).status_code == 200

    client = matrix.page_client("county_user")
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert _is_login_redirect(client.get("/"))


def test_api_schema_and_docs(matrix: Matrix) -> None:
    schema = matrix.page_client("county_user").get("/api/v1/openapi.json")
    docs = matrix.page_client("county_user").get("/api/v1/docs")

    assert schema.status_code == 200
    operations = {
        f"api {method.upper()} {path}" for path, ops in schema.json()["paths"].items() for method in ops
    }
    assert operations == {e.label for e in ENDPOINTS if e.kind == "api"}
    assert docs.status_code == 200
    assert Client().get("/api/v1/").status_code == 404
