"""The case state machine: every allowed move works for a permitted persona, every other (state, action)
pair is refused on "state" and changes nothing, and roles are refused with PermissionDenied."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.audit.models import AuditEntry
from amanat.audit.services import audit_chain_verify
from amanat.incidents import selectors, services
from amanat.incidents.models import Incident, IncidentActivity, IncidentState
from amanat.incidents.workflow import TRANSITIONS, Action, actions_from, transition_for
from amanat.scoping import unscoped
from conftest import PASSWORD

from .conftest import reload

S = IncidentState


def _act(
    action: Action, actor: Any, incident: Incident, world: Any, into: Incident | None = None
) -> Incident:
    """Make `action` on the case with valid arguments (a merge needs `into`)."""
    if action == Action.MODERATE:
        return services.incident_moderate(actor=actor, incident=incident)
    if action == Action.TRIAGE:
        return services.incident_triage(actor=actor, incident=incident, severity="critical")
    if action == Action.ASSIGN:
        return services.incident_assign(actor=actor, incident=incident, organisation=world.org_a)
    if action == Action.START:
        return services.incident_start(actor=actor, incident=incident)
    if action == Action.REFER:
        return services.incident_refer(actor=actor, incident=incident, authority="دادسرا", case_number="12/3")
    if action == Action.RESOLVE:
        return services.incident_resolve(actor=actor, incident=incident, resolution="حل شد")
    if action == Action.CLOSE:
        return services.incident_close(actor=actor, incident=incident, note="بسته شد")
    if action == Action.REOPEN:
        return services.incident_reopen(actor=actor, incident=incident, reason="ناقص بود")
    if action == Action.REJECT:
        return services.incident_reject(actor=actor, incident=incident, reason="بی‌پایه")
    assert action == Action.MERGE and into is not None
    return services.incident_merge(actor=actor, incident=incident, into=into, reason="تکراری")


def _state_of_everything(incident: Incident) -> tuple[Any, ...]:
    with unscoped():
        row = Incident.objects.filter(pk=incident.pk).values().get()
        activities = IncidentActivity.objects.filter(incident_id=incident.pk).count()
    return row, activities, AuditEntry.all_entries.count()


def test_the_transitions_are_unique_per_action_and_state() -> None:
    keys = [(t.action, t.source) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))
    assert {t.source for t in TRANSITIONS} | {t.target for t in TRANSITIONS} <= set(S.values)
    # Closed, rejected and merged cases are final.
    assert actions_from(S.CLOSED) == actions_from(S.REJECTED) == actions_from(S.MERGED) == []


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(S))
def test_every_action_from_every_state(
    state: str,
    action: Action,
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    province_user: Any,
    world: Any,
) -> None:
    """The province chair may make every move there is; a move that is not in TRANSITIONS is refused."""
    incident = case_in(state)
    into = file_report(description="گزارش مقصد ادغام") if action == Action.MERGE else None
    transition = transition_for(action, state)
    before = _state_of_everything(incident)
    if transition is None:
        with pytest.raises(ValidationError) as refused:
            _act(action, province_user, incident, world, into)
        assert set(refused.value.message_dict) == {"state"}
        assert refused.value.error_dict["state"][0].code == "transition"
        assert _state_of_everything(incident) == before
        return
    moved = _act(action, province_user, incident, world, into)
    assert moved.state == reload(incident).state == transition.target
    with unscoped():
        last = IncidentActivity.objects.filter(incident_id=incident.pk).order_by("-pk").first()
    assert last is not None and (last.from_state, last.to_state, last.actor) == (
        state,
        transition.target,
        province_user,
    )
    entry = (
        AuditEntry.all_entries.filter(entity_type="incidents.Incident", entity_id=str(incident.pk))
        .order_by("seq")
        .last()
    )
    assert entry is not None and entry.actor_id == province_user.pk
    assert entry.before is not None and entry.after is not None
    assert (entry.before["state"], entry.after["state"]) == (state, transition.target)
    assert list(audit_chain_verify()) == []


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: f"{t.action}-from-{t.source}")
def test_a_viewer_can_make_no_move(
    transition: Any,
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    county_viewer: Any,
    world: Any,
) -> None:
    incident = case_in(transition.source)
    into = file_report() if transition.action == Action.MERGE else None
    before = _state_of_everything(incident)
    with pytest.raises(PermissionDenied):
        _act(transition.action, county_viewer, incident, world, into)
    assert _state_of_everything(incident) == before
    assert selectors.incident_actions_for(user=county_viewer, incident=incident) == []


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.RESOLVED, Action.CLOSE),
        (S.RESOLVED, Action.REOPEN),
        (S.ASSIGNED, Action.REJECT),
        (S.IN_PROGRESS, Action.REJECT),
        (S.IN_PROGRESS, Action.ASSIGN),  # taking a case away mid-work is an approver's decision
    ],
)
def test_a_member_may_not_make_an_approvers_move(
    state: str, action: Action, case_in: Callable[..., Incident], county_user: Any, world: Any
) -> None:
    incident = case_in(state)
    before = _state_of_everything(incident)
    with pytest.raises(PermissionDenied):
        _act(action, county_user, incident, world)
    assert _state_of_everything(incident) == before
    assert action not in selectors.incident_actions_for(user=county_user, incident=incident)


@pytest.mark.parametrize(
    ("state", "action"),
    [(S.ASSIGNED, Action.START), (S.IN_PROGRESS, Action.REFER), (S.IN_PROGRESS, Action.RESOLVE)],
)
def test_only_the_assigned_organisation_works_on_the_case(
    state: str,
    action: Action,
    case_in: Callable[..., Incident],
    admin: Any,
    county_user: Any,
    province_user: Any,
    world: Any,
) -> None:
    """The case is with org_a1: a member of the province's organisation org_a is refused, the chair is not."""
    other = user_create(
        actor=admin,
        username="member_a",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        province=world.province_a,
    )
    incident = case_in(state)
    before = _state_of_everything(incident)
    with pytest.raises(PermissionDenied):
        _act(action, other, incident, world)
    assert _state_of_everything(incident) == before
    assert action not in selectors.incident_actions_for(user=other, incident=incident)
    assert action in selectors.incident_actions_for(user=county_user, incident=incident)
    assert action in selectors.incident_actions_for(user=province_user, incident=incident)
    # Reassigned to org_a, the case is theirs, and no longer the county member's.
    services.incident_assign(actor=province_user, incident=incident, organisation=world.org_a)
    incident = reload(incident)
    with pytest.raises(PermissionDenied):
        services.incident_start(actor=county_user, incident=incident)
    assert services.incident_start(actor=other, incident=incident).state == S.IN_PROGRESS


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: f"{t.action}-from-{t.source}")
def test_an_outsider_can_make_no_move(
    transition: Any,
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    outsider: Any,
    world: Any,
) -> None:
    incident = case_in(transition.source)
    into = file_report() if transition.action == Action.MERGE else None
    before = _state_of_everything(incident)
    with pytest.raises(PermissionDenied):
        _act(transition.action, outsider, incident, world, into)
    assert _state_of_everything(incident) == before
    assert selectors.incident_actions_for(user=outsider, incident=incident) == []


def test_the_actions_offered_are_exactly_those_that_succeed(
    case_in: Callable[..., Incident], county_user: Any, province_user: Any
) -> None:
    """The page shows `incident_actions_for`: the member and the chair see what the services let them do."""
    expected_member = {
        S.AWAITING_MODERATION: [Action.MODERATE, Action.REJECT],
        S.NEW: [Action.TRIAGE, Action.REJECT, Action.MERGE],
        S.TRIAGED: [Action.ASSIGN, Action.REJECT, Action.MERGE],
        S.ASSIGNED: [Action.ASSIGN, Action.START, Action.MERGE],
        S.IN_PROGRESS: [Action.REFER, Action.RESOLVE, Action.MERGE],
        S.REFERRED: [Action.RESOLVE],
        S.RESOLVED: [],
        S.CLOSED: [],
    }
    for state, member_actions in expected_member.items():
        incident = case_in(state)
        assert sorted(selectors.incident_actions_for(user=county_user, incident=incident)) == sorted(
            member_actions
        )
        chair_actions = [t.action for t in TRANSITIONS if t.source == state]
        assert sorted(selectors.incident_actions_for(user=province_user, incident=incident)) == sorted(
            chair_actions
        )


def test_a_case_followed_to_its_end_leaves_its_timeline_and_audit_trail(
    case_in: Callable[..., Incident], county_user: Any, province_user: Any
) -> None:
    incident = case_in(S.CLOSED)
    timeline = selectors.incident_timeline_for(user=county_user, incident=incident)
    assert [(e.kind, e.from_state, e.to_state) for e in timeline] == [
        ("reported", "", S.NEW),
        ("triaged", S.NEW, S.TRIAGED),
        ("assigned", S.TRIAGED, S.ASSIGNED),
        ("started", S.ASSIGNED, S.IN_PROGRESS),
        ("resolved", S.IN_PROGRESS, S.RESOLVED),
        ("closed", S.RESOLVED, S.CLOSED),
    ]
    assert [e.actor for e in timeline] == [county_user] * 5 + [province_user]
    entries = AuditEntry.all_entries.filter(entity_type="incidents.Incident", entity_id=str(incident.pk))
    assert [e.action for e in entries.order_by("seq")] == ["create"] + ["update"] * 5
    closed = reload(incident)
    assert closed.closed_at is not None and closed.resolved_at is not None
    assert closed.resolution == "رسیدگی شد"
    assert list(audit_chain_verify()) == []


def test_reopening_sends_the_case_back_to_work_and_clears_the_resolution(
    case_in: Callable[..., Incident], province_user: Any, english: None
) -> None:
    incident = case_in(S.RESOLVED)
    with pytest.raises(ValidationError) as refused:
        services.incident_reopen(actor=province_user, incident=incident, reason="  ")
    assert refused.value.message_dict == {"reason": ["Say why the case is reopened."]}
    reopened = services.incident_reopen(actor=province_user, incident=incident, reason="پاسخ ناقص")
    assert (reopened.state, reopened.resolution, reopened.resolved_at) == (S.IN_PROGRESS, "", None)


def test_refer_needs_the_authority_and_the_judiciarys_case_number(
    case_in: Callable[..., Incident], county_user: Any, english: None
) -> None:
    incident = case_in(S.IN_PROGRESS)
    with pytest.raises(ValidationError) as refused:
        services.incident_refer(actor=county_user, incident=incident, authority=" ", case_number="")
    assert set(refused.value.message_dict) == {"authority", "case_number"}
    with pytest.raises(ValidationError) as refused:
        services.incident_refer(
            actor=county_user, incident=incident, authority="دادسرا", case_number="9" * 61
        )
    assert set(refused.value.message_dict) == {"case_number"}
    assert reload(incident).state == S.IN_PROGRESS
    referred = services.incident_refer(
        actor=county_user, incident=incident, authority=" دادسرای عمومی ", case_number=" ۱۴۰۵/۷۷ "
    )
    assert (referred.state, referred.referral_authority, referred.referral_case_number) == (
        S.REFERRED,
        "دادسرای عمومی",
        "۱۴۰۵/۷۷",
    )
    assert referred.referred_at is not None


def test_reject_and_resolve_need_their_text(
    case_in: Callable[..., Incident], county_user: Any, english: None
) -> None:
    incident = case_in(S.NEW)
    with pytest.raises(ValidationError) as refused:
        services.incident_reject(actor=county_user, incident=incident, reason="")
    assert set(refused.value.message_dict) == {"reason"}
    working = case_in(S.IN_PROGRESS)
    with pytest.raises(ValidationError) as refused:
        services.incident_resolve(actor=county_user, incident=working, resolution="\n")
    assert set(refused.value.message_dict) == {"resolution"}
    rejected = services.incident_reject(actor=county_user, incident=incident, reason="تکراری و بی‌پایه")
    assert (rejected.state, rejected.reason) == (S.REJECTED, "تکراری و بی‌پایه")


def test_assignment_names_an_organisation_of_the_cases_line(
    case_in: Callable[..., Incident], county_user: Any, admin: Any, world: Any, english: None
) -> None:
    incident = case_in(S.TRIAGED)
    with pytest.raises(ValidationError) as refused:
        services.incident_assign(actor=county_user, incident=incident, organisation=world.org_b1)
    assert set(refused.value.message_dict) == {"organisation"}
    stranger = user_create(
        actor=admin,
        username="b1_member",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_b1,
        county=world.county_b1,
    )
    with pytest.raises(ValidationError) as refused:
        services.incident_assign(
            actor=county_user, incident=incident, organisation=world.org_a1, assignee=stranger
        )
    assert set(refused.value.message_dict) == {"assignee"}
    assert reload(incident).state == S.TRIAGED
    # The nation's and the province's organisations are on the case's line.
    for organisation in (world.org_national, world.org_a, world.org_a1):
        incident = services.incident_assign(
            actor=county_user, incident=reload(incident), organisation=organisation
        )
        assert (incident.state, incident.assigned_organisation) == (S.ASSIGNED, organisation)
    incident = services.incident_assign(
        actor=county_user, incident=incident, organisation=world.org_a1, assignee=county_user
    )
    assert incident.assignee == county_user
