"""Incident services: intake and its refusals, idempotency (also under concurrency on PostgreSQL), batches,
deadlines and escalation, merge, comments, evidence, bulk actions, the taxonomy and voting day's automatic
outage cases."""

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from amanat.accounts.models import Notification
from amanat.audit.models import AuditEntry
from amanat.audit.services import audit_chain_verify
from amanat.incidents import selectors, services
from amanat.incidents.models import (
    ActivityKind,
    Channel,
    Incident,
    IncidentActivity,
    IncidentCategory,
    IncidentComment,
    IncidentEvidence,
    IncidentState,
    ResponseDeadline,
)
from amanat.incidents.selectors import IncidentFilters
from amanat.incidents.services import escalation
from amanat.incidents.services.intake import ReportInput
from amanat.readiness import services as readiness
from amanat.readiness.services import LiveEntry
from amanat.scoping import unscoped
from conftest import VOTING_DAY, World

from .conftest import DESCRIPTION, PNG, evidence_upload, reload

S = IncidentState
NOW = dt.datetime(2027, 3, 5, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _counts(evidence_root: Path | None = None) -> tuple[int, ...]:
    """Everything an intake or a move could write: cases, timeline, comments, evidence, audit, files."""
    with unscoped():
        rows = (
            Incident.objects.count(),
            IncidentActivity.objects.count(),
            IncidentComment.objects.count(),
            IncidentEvidence.objects.count(),
            AuditEntry.all_entries.count(),
        )
    files = len([p for p in evidence_root.rglob("*") if p.is_file()]) if evidence_root else 0
    return (*rows, files)


def _report(**fields: Any) -> ReportInput:
    values: dict[str, Any] = {
        "category_code": "vote-buying",
        "occurred_at": NOW - HOUR,
        "description": DESCRIPTION,
        "station_code": "A1-001",
    }
    values.update(fields)
    return ReportInput(**values)


def _assert_chain_clean() -> None:
    assert list(audit_chain_verify()) == []


# --- intake ------------------------------------------------------------------------------------------


def test_a_report_is_taken_in_with_its_deadline_timeline_and_audit_entry(
    county_user: Any, world: World, event: Any
) -> None:
    result = services.incident_report(actor=county_user, report=_report(), now=NOW, ip_address="10.0.0.7")
    incident = result.incident
    assert result.created
    assert (incident.state, incident.channel, incident.reported_by) == (S.NEW, Channel.WEB, county_user)
    assert (incident.county, incident.province, incident.station) == (
        world.county_a1,
        world.province_a,
        world.station_a1,
    )
    assert incident.severity == "high"  # the category's default
    assert (incident.received_at, incident.deadline_at) == (NOW, NOW + 8 * HOUR)
    assert incident.event == event  # voting day falls within the event's season
    assert incident.search_text == "توزیع پول میان رایدهندگان رای دهندگان در صف شعبه"
    with unscoped():
        activity = IncidentActivity.objects.get(incident=incident)
    assert (activity.kind, activity.to_state, activity.actor) == (ActivityKind.REPORTED, S.NEW, county_user)
    entry = AuditEntry.all_entries.get(entity_type="incidents.Incident", entity_id=str(incident.pk))
    assert (entry.action, entry.actor_id, entry.county_id, entry.ip_address) == (
        "create",
        county_user.pk,
        world.county_a1.pk,
        "10.0.0.7",
    )
    assert entry.after is not None
    assert "description" not in entry.after and entry.after["has_reporter_details"] is False
    _assert_chain_clean()


def test_a_report_about_a_place_in_the_county_needs_an_address(county_user: Any, world: World) -> None:
    incident = services.incident_report(
        actor=county_user,
        report=_report(station_code="", county_code="A1", address=" میدان اصلی "),
        now=NOW,
    ).incident
    assert (incident.county, incident.station, incident.address) == (world.county_a1, None, "میدان اصلی")


def _future(now: dt.datetime) -> dict[str, Any]:
    return {"occurred_at": now + dt.timedelta(minutes=6)}  # beyond the five minutes of clock skew allowed


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"category_code": "no-such-category"}, "category"),
        ({"station_code": "B1-001"}, "station_code"),  # another province's station
        ({"station_code": "A2-001"}, "station_code"),  # another county of the same province
        ({"station_code": "ZZ-404"}, "station_code"),
        ({"station_code": "", "county_code": "B1", "address": "خیابان"}, "county_code"),
        ({"station_code": "", "county_code": "A2", "address": "خیابان"}, "county_code"),
        ({"station_code": "A1-001", "county_code": "A2"}, "county_code"),  # not the station's county
        ({"station_code": "", "county_code": "A1"}, "address"),  # no station: the address is needed
        ({"station_code": "", "county_code": "A1", "address": "خ" * 301}, "address"),
        ({"station_code": "", "county_code": ""}, "county_code"),  # nowhere at all
        ({"occurred_at": NOW + dt.timedelta(minutes=6)}, "occurred_at"),  # in the future
        ({"occurred_at": NOW - dt.timedelta(days=800)}, "occurred_at"),
        ({"occurred_at": dt.datetime(2027, 3, 5, 8, 0)}, "occurred_at"),  # no time zone
        ({"description": "   "}, "description"),
        ({"description": "ب" * 10_001}, "description"),
        ({"severity": "extreme"}, "severity"),
    ],
)
def test_a_bad_report_names_its_field_and_writes_nothing(
    fields: dict[str, Any], field_name: str, county_user: Any, world: World, evidence_root: Path
) -> None:
    before = _counts(evidence_root)
    with pytest.raises(ValidationError) as refused:
        services.incident_report(
            actor=county_user, report=_report(**fields), evidence=[evidence_upload()], now=NOW
        )
    assert set(refused.value.message_dict) == {field_name}
    assert _counts(evidence_root) == before


def test_a_report_may_be_within_the_allowed_clock_skew(county_user: Any, world: World) -> None:
    incident = services.incident_report(
        actor=county_user, report=_report(occurred_at=NOW + dt.timedelta(minutes=4)), now=NOW
    ).incident
    assert incident.occurred_at == NOW + dt.timedelta(minutes=4)


def test_every_error_of_a_report_is_named_at_once(county_user: Any, world: World, english: None) -> None:
    with pytest.raises(ValidationError) as refused:
        services.incident_report(
            actor=county_user,
            report=_report(category_code="nope", station_code="B1-001", description=""),
            now=NOW,
        )
    assert refused.value.message_dict == {
        "category": ["Unknown category."],
        "station_code": ["Unknown station, or one outside your jurisdiction."],
        "description": ["Describe what happened."],
    }


def test_a_retired_category_is_unknown(county_user: Any, national: Any, world: World) -> None:
    category = IncidentCategory.objects.get(code="vote-buying")
    services.incident_category_update(actor=national, category=category, is_active=False)
    with pytest.raises(ValidationError) as refused:
        services.incident_report(actor=county_user, report=_report(), now=NOW)
    assert set(refused.value.message_dict) == {"category"}


def test_a_viewer_or_an_anonymous_caller_cannot_report(county_viewer: Any, world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    for actor in (county_viewer, AnonymousUser(), None):
        with pytest.raises(PermissionDenied):
            services.incident_report(actor=actor, report=_report(), now=NOW)


def test_the_province_reports_in_any_of_its_counties(province_user: Any, world: World) -> None:
    incident = services.incident_report(
        actor=province_user, report=_report(station_code="A2-001"), now=NOW
    ).incident
    assert incident.county == world.county_a2
    with pytest.raises(ValidationError):
        services.incident_report(actor=province_user, report=_report(station_code="B1-001"), now=NOW)


def test_a_public_report_waits_for_moderation_and_keeps_its_reporter_out_of_the_audit_log(
    file_public: Callable[..., Incident], world: World
) -> None:
    incident = file_public(now=NOW)
    assert (incident.state, incident.channel, incident.reported_by) == (S.AWAITING_MODERATION, "public", None)
    assert (incident.reporter_name, incident.reporter_contact) == ("شهروند", "0912 000 0000")
    assert len(incident.public_ref) == 12
    entry = AuditEntry.all_entries.get(entity_type="incidents.Incident", entity_id=str(incident.pk))
    assert entry.after is not None
    assert entry.actor_label == "public" and entry.after["has_reporter_details"] is True
    assert "0912" not in str(entry.after) and "شهروند" not in str(entry.after)
    assert selectors.incident_get_by_public_ref(public_ref=incident.public_ref.lower()) == incident


def test_a_public_report_names_all_its_errors(
    file_public: Callable[..., Incident], world: World, evidence_root: Path
) -> None:
    before = _counts(evidence_root)
    with pytest.raises(ValidationError) as refused:
        file_public(station_code="B1-001", reporter_contact="0" * 101, occurred_at=timezone.now() + HOUR)
    assert set(refused.value.message_dict) == {"county_code", "reporter_contact", "occurred_at"}
    assert _counts(evidence_root) == before
    # A report about a place that is not a station may give its address, or leave it to the description.
    assert file_public(station_code="", address="پارک شهر").address == "پارک شهر"
    assert file_public(station_code="").address != ""


# --- idempotency ---------------------------------------------------------------------------------------


def test_a_retried_report_returns_the_first_case(county_user: Any, world: World) -> None:
    first = services.incident_report(actor=county_user, report=_report(idempotency_key="dev-1/0001"), now=NOW)
    before = _counts()
    again = services.incident_report(
        actor=county_user, report=_report(idempotency_key=" dev-1/0001 "), now=NOW + HOUR
    )
    assert (first.created, again.created) == (True, False)
    assert again.incident.pk == first.incident.pk
    assert _counts() == before
    assert first.incident.idempotency_key == "dev-1/0001"  # stored as compared: without the spaces


def test_a_key_reused_for_another_report_is_a_conflict(county_user: Any, world: World) -> None:
    services.incident_report(actor=county_user, report=_report(idempotency_key="k-1"), now=NOW)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        services.incident_report(
            actor=county_user, report=_report(idempotency_key="k-1", description="چیز دیگری"), now=NOW
        )
    assert set(refused.value.message_dict) == {"idempotency_key"}
    assert refused.value.error_dict["idempotency_key"][0].code == "conflict"
    assert _counts() == before


def test_keys_belong_to_their_reporter(county_user: Any, county_admin: Any, world: World) -> None:
    one = services.incident_report(actor=county_user, report=_report(idempotency_key="same"), now=NOW)
    other = services.incident_report(actor=county_admin, report=_report(idempotency_key="same"), now=NOW)
    assert other.created and other.incident.pk != one.incident.pk


def test_a_too_long_key_is_refused(county_user: Any, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        services.incident_report(actor=county_user, report=_report(idempotency_key="k" * 101), now=NOW)
    assert set(refused.value.message_dict) == {"idempotency_key"}


def _in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs at once, each in its own thread (and so its own connection); return what each gave."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Any] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(job())
        except Exception as exc:  # pragma: no cover - reported by the callers' assertions
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_create_one_case(
    reference_data: None, county_user: Any, world: World
) -> None:
    both_writing = threading.Barrier(2)

    def held_until_both_write(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if 'INSERT INTO "incidents_incident"' in sql:
            both_writing.wait(timeout=10)  # neither looked the key up first: both write at once
        return execute(sql, params, many, context)

    def send() -> services.IntakeResult:
        with connection.execute_wrapper(held_until_both_write):
            return services.incident_report(
                actor=county_user, report=_report(idempotency_key="race-1"), now=NOW
            )

    outcomes = _in_threads(send, send)
    assert all(isinstance(o, services.IntakeResult) for o in outcomes), outcomes
    assert sorted(o.created for o in outcomes) == [False, True]
    assert outcomes[0].incident.pk == outcomes[1].incident.pk
    with unscoped():
        assert Incident.objects.filter(idempotency_key="race-1").count() == 1
        assert IncidentActivity.objects.count() == 1
    assert AuditEntry.all_entries.filter(entity_type="incidents.Incident").count() == 1
    _assert_chain_clean()
    connections.close_all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one-statement intake is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_report_is_written_whole_even_on_a_database_whose_chain_head_is_gone(
    reference_data: None, county_user: Any, world: World
) -> None:
    with (
        connection.cursor() as cursor
    ):  # emptied as a flush does it (TRUNCATE passes the append-only trigger)
        cursor.execute("TRUNCATE audit_auditentry, audit_auditchainhead")
    result = services.incident_report(
        actor=county_user, report=_report(idempotency_key="after-flush"), now=NOW
    )
    assert AuditEntry.all_entries.filter(entity_id=str(result.incident.pk)).count() == 1
    _assert_chain_clean()
    connections.close_all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ids taken ahead on PostgreSQL only")
def test_reports_ids_follow_the_order_of_intake_within_a_process(county_user: Any, world: World) -> None:
    ids = [
        services.incident_report(
            actor=county_user, report=_report(description=f"گزارش {n}"), now=NOW
        ).incident.pk
        for n in range(3)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    with unscoped():
        assert Incident.objects.filter(pk__in=ids).count() == 3


# --- batches -------------------------------------------------------------------------------------------


def test_a_batch_keeps_the_valid_reports_and_names_the_others_by_position(
    county_user: Any, world: World, english: None
) -> None:
    services.incident_report(actor=county_user, report=_report(idempotency_key="earlier"), now=NOW)
    services.incident_report(actor=county_user, report=_report(idempotency_key="earlier-2"), now=NOW)
    result = services.incidents_report_batch(
        actor=county_user,
        reports=[
            _report(idempotency_key="b-0"),
            _report(idempotency_key="b-1", category_code="nope"),
            _report(idempotency_key="b-2", station_code="A1-002", description="صندوق باز بود"),
            _report(idempotency_key="b-0"),  # the same key twice in one batch
            _report(idempotency_key="earlier"),  # a retry of an earlier request: its case, not a new one
            _report(idempotency_key="b-5", station_code="B1-001"),
            _report(idempotency_key="earlier-2", description="دیگر"),  # a conflict
        ],
        now=NOW,
    )
    assert sorted(result.accepted) == [0, 2, 4]
    assert [result.accepted[p].created for p in (0, 2, 4)] == [True, True, False]
    assert result.errors == {
        1: {"category": ["Unknown category."]},
        3: {"idempotency_key": ["The same key appears twice in this batch."]},
        5: {"station_code": ["Unknown station, or one outside your jurisdiction."]},
        6: {"idempotency_key": ["This idempotency key was already used for a different report."]},
    }
    with unscoped():
        assert Incident.objects.count() == 4
        assert set(Incident.objects.values_list("channel", flat=True)) == {"web", "api"}


def test_a_batch_is_limited_and_needs_the_edit_capability(
    county_user: Any, county_viewer: Any, world: World
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.incidents_report_batch(actor=county_user, reports=[_report()] * 501, now=NOW)
    assert set(refused.value.message_dict) == {"reports"}
    with pytest.raises(PermissionDenied):
        services.incidents_report_batch(actor=county_viewer, reports=[_report()], now=NOW)


# --- deadlines and escalation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "hours"), [("critical", 2), ("high", 8), ("medium", 24), ("low", 72)])
def test_the_deadline_follows_the_severity(severity: str, hours: int, county_user: Any, world: World) -> None:
    incident = services.incident_report(
        actor=county_user, report=_report(severity=severity), now=NOW
    ).incident
    assert incident.deadline_at - incident.received_at == dt.timedelta(hours=hours)


def test_a_categorys_own_deadline_wins(county_user: Any, national: Any, world: World) -> None:
    vote_buying = IncidentCategory.objects.get(code="vote-buying")
    row = services.response_deadline_set(actor=national, severity="high", hours=3, category=vote_buying)
    assert (row.category, row.severity, row.hours) == (vote_buying, "high", 3)
    assert services.deadline_hours(vote_buying, "high") == 3
    mine = services.incident_report(actor=county_user, report=_report(), now=NOW).incident
    other = services.incident_report(actor=county_user, report=_report(category_code="intimidation"), now=NOW)
    assert mine.deadline_at == NOW + 3 * HOUR
    assert other.incident.deadline_at == NOW + 8 * HOUR
    # Changing it again updates the same rule; the default moves too.
    services.response_deadline_set(actor=national, severity="high", hours=5, category=vote_buying)
    services.response_deadline_set(actor=national, severity="high", hours=6)
    assert ResponseDeadline.objects.filter(severity="high").count() == 2
    assert services.deadline_hours(vote_buying, "high") == 5
    assert services.deadline_hours(IncidentCategory.objects.get(code="violence"), "high") == 6
    entries = AuditEntry.all_entries.filter(entity_type="incidents.ResponseDeadline").order_by("seq")
    assert [e.action for e in entries] == ["create", "update", "update"]


def test_deadlines_are_a_national_administrators_business(
    province_admin: Any, national: Any, world: World
) -> None:
    with pytest.raises(PermissionDenied):
        services.response_deadline_set(actor=province_admin, severity="high", hours=3)
    for hours in (0, 8761):
        with pytest.raises(ValidationError) as refused:
            services.response_deadline_set(actor=national, severity="high", hours=hours)
        assert set(refused.value.message_dict) == {"hours"}
    with pytest.raises(ValidationError):
        services.response_deadline_set(actor=national, severity="urgent", hours=3)


def test_triage_changes_the_category_severity_and_deadline(
    file_report: Callable[..., Incident], county_user: Any, world: World
) -> None:
    incident = file_report(now=NOW)
    violence = IncidentCategory.objects.get(code="violence")
    triaged = services.incident_triage(
        actor=county_user, incident=incident, severity="critical", category=violence, now=NOW + HOUR
    )
    assert (triaged.category, triaged.severity, triaged.deadline_at) == (violence, "critical", NOW + 2 * HOUR)
    lowered = file_report(now=NOW)
    triaged = services.incident_triage(actor=county_user, incident=lowered, severity="low", now=NOW + HOUR)
    assert triaged.deadline_at == NOW + 72 * HOUR


def test_triage_refuses_an_unknown_severity_or_retired_category(
    file_report: Callable[..., Incident], county_user: Any, national: Any, world: World
) -> None:
    incident = file_report(now=NOW)
    with pytest.raises(ValidationError) as refused:
        services.incident_triage(actor=county_user, incident=incident, severity="extreme")
    assert set(refused.value.message_dict) == {"severity"}
    retired = services.incident_category_update(
        actor=national, category=IncidentCategory.objects.get(code="violence"), is_active=False
    )
    with pytest.raises(ValidationError) as refused:
        services.incident_triage(actor=county_user, incident=incident, category=retired)
    assert set(refused.value.message_dict) == {"category"}
    assert reload(incident).state == S.NEW


def _notified(user: Any) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("message", flat=True))


def test_an_overdue_case_climbs_to_the_province_then_to_the_nation(
    file_report: Callable[..., Incident],
    county_user: Any,
    province_user: Any,
    province_admin: Any,
    national: Any,
    admin: Any,
    outsider: Any,
    world: World,
) -> None:
    incident = file_report(now=NOW)  # high: 8 hours
    deadline = NOW + 8 * HOUR
    assert services.incidents_escalate_overdue(now=deadline) == 0  # at the deadline, not past it
    assert services.incidents_escalate_overdue(now=deadline + dt.timedelta(seconds=1)) == 1
    case = reload(incident)
    assert (case.escalation_level, case.escalated_at) == (1, deadline + dt.timedelta(seconds=1))
    assert len(_notified(province_user)) == len(_notified(province_admin)) == 1
    assert f"#{incident.pk}" in _notified(province_user)[0]
    assert _notified(county_user) == _notified(national) == _notified(outsider) == []
    # Idempotent: the next runs change nothing until a further deadline span has passed.
    assert services.incidents_escalate_overdue(now=deadline + 2 * HOUR) == 0
    assert services.incidents_escalate_overdue(now=deadline + 8 * HOUR - dt.timedelta(seconds=1)) == 0
    assert services.incidents_escalate_overdue(now=deadline + 8 * HOUR) == 1
    assert reload(incident).escalation_level == 2
    assert len(_notified(national)) == len(_notified(admin)) == 1
    assert len(_notified(province_user)) == 1
    assert services.incidents_escalate_overdue(now=deadline + 100 * HOUR) == 0
    with unscoped():
        steps = list(
            IncidentActivity.objects.filter(incident=incident, kind=ActivityKind.ESCALATED).values_list(
                "actor", flat=True
            )
        )
    assert steps == [None, None]
    updates = AuditEntry.all_entries.filter(
        entity_type="incidents.Incident", entity_id=str(incident.pk), action="update"
    )
    assert [
        ((e.before or {})["escalation_level"], (e.after or {})["escalation_level"])
        for e in updates.order_by("seq")
    ] == [
        (0, 1),
        (1, 2),
    ]
    assert [c.pk for c in selectors.incident_escalated_for(user=national)] == [incident.pk]
    assert [c.pk for c in selectors.incident_escalated_for(user=province_user)] == [incident.pk]
    assert list(selectors.incident_escalated_for(user=outsider)) == []
    _assert_chain_clean()


def test_a_case_found_long_overdue_goes_to_both_levels_at_once(
    file_report: Callable[..., Incident], province_user: Any, national: Any, world: World
) -> None:
    incident = file_report(now=NOW)
    assert services.incidents_escalate_overdue(now=NOW + 30 * HOUR) == 1
    assert reload(incident).escalation_level == 2
    assert len(_notified(province_user)) == len(_notified(national)) == 1


def test_cases_dealt_with_never_escalate(
    case_in: Callable[..., Incident], file_report: Callable[..., Incident], world: World
) -> None:
    done = [case_in(state) for state in (S.RESOLVED, S.CLOSED, S.REJECTED, S.MERGED)]
    assert services.incidents_escalate_overdue(now=timezone.now() + 1000 * HOUR) == 1  # the merge target only
    assert [reload(c).escalation_level for c in done] == [0, 0, 0, 0]
    assert Notification.objects.filter(message__contains=f"#{done[0].pk} ").count() == 0


def test_escalation_reaches_every_case_however_many_are_waiting_at_a_level(
    file_report: Callable[..., Incident], monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    monkeypatch.setattr(escalation, "BATCH", 2)
    early = [file_report(now=NOW) for _ in range(3)]
    assert services.incidents_escalate_overdue(now=NOW + 9 * HOUR) == 3
    late = file_report(now=NOW + 2 * HOUR)
    # The three early cases are at level 1 and not yet due for 2: they must not hide the late one.
    assert services.incidents_escalate_overdue(now=NOW + 11 * HOUR) == 1
    assert [reload(c).escalation_level for c in [*early, late]] == [1, 1, 1, 1]
    assert services.incidents_escalate_overdue(now=NOW + 16 * HOUR) == 3
    assert [reload(c).escalation_level for c in [*early, late]] == [2, 2, 2, 1]


def test_triage_to_a_later_deadline_ends_an_escalation(
    file_report: Callable[..., Incident], county_user: Any, world: World
) -> None:
    incident = file_report(now=NOW)
    services.incidents_escalate_overdue(now=NOW + 9 * HOUR)
    triaged = services.incident_triage(
        actor=county_user, incident=incident, severity="low", now=NOW + 10 * HOUR
    )
    assert (triaged.escalation_level, triaged.escalated_at, triaged.deadline_at) == (0, None, NOW + 72 * HOUR)
    assert services.incidents_escalate_overdue(now=NOW + 20 * HOUR) == 0
    assert services.incidents_escalate_overdue(now=NOW + 73 * HOUR) == 1


# --- merge, comments, evidence -------------------------------------------------------------------------


def test_merge_keeps_both_reports_text_and_evidence_on_the_target(
    file_report: Callable[..., Incident], county_user: Any, province_user: Any, world: World
) -> None:
    target = file_report(description="خرید رأی با کارت هدیه", evidence=[evidence_upload("a.png")])
    duplicate = file_report(
        description="پخش کارت‌های هدیهٔ فروشگاه زنجیره‌ای", evidence=[evidence_upload("b.png", PNG + b"\0")]
    )
    services.incident_comment_add(actor=county_user, incident=duplicate, body="شاهد: راننده تاکسی")
    merged = services.incident_merge(actor=county_user, incident=duplicate, into=target, reason="همان ماجرا")
    assert (merged.state, merged.merged_into, merged.reason) == (S.MERGED, target, "همان ماجرا")
    assert reload(target).description == "خرید رأی با کارت هدیه"
    assert reload(duplicate).description == "پخش کارت‌های هدیهٔ فروشگاه زنجیره‌ای"
    assert list(selectors.incident_merged_reports_for(user=county_user, incident=target)) == [duplicate]
    names = [e.original_name for e in selectors.incident_evidence_for(user=county_user, incident=target)]
    assert sorted(names) == ["a.png", "b.png"]
    # The duplicate's words, and its comment's, find the target.
    for query in ("فروشگاه زنجیره", "راننده تاکسی"):
        found = selectors.incident_list_for(user=province_user, filters=IncidentFilters(q=query))
        assert set(found) == {target, duplicate}, query
    with unscoped():
        absorbed = IncidentActivity.objects.get(incident=target, kind=ActivityKind.ABSORBED)
    assert f"#{duplicate.pk}" in absorbed.note
    _assert_chain_clean()


def test_a_chain_of_merges_keeps_everything_on_the_last_target(
    file_report: Callable[..., Incident], county_user: Any, world: World
) -> None:
    first = file_report(description="گزارش نخست", evidence=[evidence_upload("first.png")])
    second = file_report(description="گزارش دوم")
    last = file_report(description="گزارش سوم")
    services.incident_merge(actor=county_user, incident=first, into=second, reason="تکراری")
    services.incident_merge(actor=county_user, incident=second, into=last, reason="تکراری")
    assert list(selectors.incident_merged_reports_for(user=county_user, incident=last)) == [first, second]
    assert [e.original_name for e in selectors.incident_evidence_for(user=county_user, incident=last)] == [
        "first.png"
    ]
    # A comment written later on the first report is still found through the last target.
    services.incident_comment_add(actor=county_user, incident=first, body="واژه‌ای یگانه")
    found = selectors.incident_list_for(user=county_user, filters=IncidentFilters(q="یگانه"))
    assert set(found) == {first, second, last}


def test_a_merge_needs_an_open_target_of_the_same_county_and_a_reason(
    file_report: Callable[..., Incident],
    case_in: Callable[..., Incident],
    county_user: Any,
    province_user: Any,
    outsider: Any,
    world: World,
) -> None:
    incident = file_report()
    elsewhere = file_report(actor=province_user, station_code="A2-001")
    closed = case_in(S.CLOSED)
    foreign = file_report(actor=outsider, station_code="B1-001")
    waiting = case_in(S.AWAITING_MODERATION)
    another = file_report()
    before = _counts()
    for into, field_name in [(incident, "into"), (elsewhere, "into"), (closed, "into"), (waiting, "into")]:
        with pytest.raises(ValidationError) as refused:
            services.incident_merge(actor=province_user, incident=incident, into=into, reason="تکراری")
        assert set(refused.value.message_dict) == {field_name}
    with pytest.raises(ValidationError) as refused:  # the member does not see the other province's case
        services.incident_merge(actor=county_user, incident=incident, into=foreign, reason="تکراری")
    assert set(refused.value.message_dict) == {"into"}
    with pytest.raises(ValidationError) as refused:
        services.incident_merge(actor=county_user, incident=incident, into=another, reason=" ")
    assert set(refused.value.message_dict) == {"reason"}
    with pytest.raises(PermissionDenied):  # an outsider learns nothing about either case
        services.incident_merge(actor=outsider, incident=incident, into=foreign, reason="تکراری")
    assert reload(incident).state == S.NEW
    assert _counts() == before


def test_comments_are_on_the_timeline_and_need_the_edit_capability(
    file_report: Callable[..., Incident], county_user: Any, county_viewer: Any, outsider: Any, world: World
) -> None:
    incident = file_report(now=NOW)
    comment = services.incident_comment_add(
        actor=county_user, incident=incident, body="  تماس با فرماندار گرفته شد  ", now=NOW + HOUR
    )
    assert (comment.body, comment.author, comment.created_at) == (
        "تماس با فرماندار گرفته شد",
        county_user,
        NOW + HOUR,
    )
    timeline = selectors.incident_timeline_for(user=county_viewer, incident=incident)
    assert [(e.kind, e.is_comment, e.note) for e in timeline][-1] == (
        "commented",
        True,
        "تماس با فرماندار گرفته شد",
    )
    assert "فرماندار" in reload(incident).search_text
    entry = AuditEntry.all_entries.get(entity_type="incidents.IncidentComment")
    assert entry.after == {"incident": incident.pk, "length": len(comment.body)}
    assert entry.county_id == world.county_a1.pk
    for actor in (county_viewer, outsider):
        with pytest.raises(PermissionDenied):
            services.incident_comment_add(actor=actor, incident=incident, body="نظر")
    for body in ("  ", "ن" * 10_001):
        with pytest.raises(ValidationError) as refused:
            services.incident_comment_add(actor=county_user, incident=incident, body=body)
        assert set(refused.value.message_dict) == {"body"}


def test_evidence_is_stored_under_the_evidence_root_with_its_sha256(
    file_report: Callable[..., Incident], county_user: Any, evidence_root: Path, world: World
) -> None:
    incident = file_report()
    stored = services.incident_evidence_add(
        actor=county_user,
        incident=incident,
        uploads=[evidence_upload("C:\\photos\\عکس.png"), evidence_upload("doc.png", PNG + b"\1")],
    )
    assert [e.sha256 for e in stored] == [
        hashlib.sha256(PNG).hexdigest(),
        hashlib.sha256(PNG + b"\1").hexdigest(),
    ]
    for evidence in stored:
        path = Path(evidence.file.path)
        assert path.is_file() and path.is_relative_to(evidence_root)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == evidence.sha256
        assert (evidence.content_type, evidence.uploaded_by) == ("image/png", county_user)
        assert path.suffix == ".png" and "عکس" not in path.name  # stored under a name of our own
    assert stored[0].original_name == "C:\\photos\\عکس.png"
    with unscoped():
        assert IncidentActivity.objects.filter(incident=incident, kind=ActivityKind.EVIDENCE).count() == 1
    assert AuditEntry.all_entries.filter(entity_type="incidents.IncidentEvidence").count() == 2
    with pytest.raises(ValueError):
        stored[0].file.url  # noqa: B018 - evidence has no public address


def test_a_failed_transaction_removes_the_evidence_file_it_wrote(
    file_report: Callable[..., Incident],
    county_user: Any,
    evidence_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    world: World,
) -> None:
    incident = file_report()
    before = _counts(evidence_root)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr("amanat.incidents.services.cases.audit_record", broken)
    with pytest.raises(RuntimeError):
        services.incident_evidence_add(actor=county_user, incident=incident, uploads=[evidence_upload()])
    assert _counts(evidence_root) == before
    monkeypatch.setattr("amanat.incidents.services.intake.audit_record", broken)
    with pytest.raises(RuntimeError):
        services.incident_report(actor=county_user, report=_report(), evidence=[evidence_upload()], now=NOW)
    assert _counts(evidence_root) == before


def test_bad_evidence_is_refused_before_anything_is_written(
    file_report: Callable[..., Incident],
    case_in: Callable[..., Incident],
    county_user: Any,
    evidence_root: Path,
) -> None:
    incident = file_report()
    closed = case_in(S.CLOSED)
    before = _counts(evidence_root)
    for uploads in (
        [evidence_upload("photo.png"), evidence_upload("photo.exe", b"MZ" + b"\0" * 64)],
        [evidence_upload("photo.jpg")],  # a PNG named as a JPEG
        [evidence_upload(f"{n}.png") for n in range(services.MAX_EVIDENCE_FILES + 1)],
        [],
    ):
        with pytest.raises(ValidationError) as refused:
            services.incident_evidence_add(actor=county_user, incident=incident, uploads=uploads)
        assert set(refused.value.message_dict) == {"evidence"}
    with pytest.raises(ValidationError):
        services.incident_evidence_add(actor=county_user, incident=closed, uploads=[evidence_upload()])
    assert _counts(evidence_root) == before


# --- bulk actions -------------------------------------------------------------------------------------


def test_a_bulk_action_applies_to_each_case_it_may_and_names_the_others(
    file_report: Callable[..., Incident],
    case_in: Callable[..., Incident],
    county_user: Any,
    outsider: Any,
    world: World,
) -> None:
    cases = [file_report() for _ in range(3)]
    rejected = case_in(S.REJECTED)
    foreign = file_report(actor=outsider, station_code="B1-001")
    ids = [c.pk for c in cases] + [rejected.pk, foreign.pk, 987654]
    result = services.incidents_bulk_apply(
        actor=county_user, incident_ids=ids, action="triage", severity="medium"
    )
    assert result.done == [c.pk for c in cases]
    assert set(result.errors) == {rejected.pk, foreign.pk, 987654}
    assert [reload(c).severity for c in cases] == ["medium"] * 3
    for case in cases:
        updates = AuditEntry.all_entries.filter(entity_type="incidents.Incident", entity_id=str(case.pk))
        assert updates.filter(action="update").count() == 1
    result = services.incidents_bulk_apply(
        actor=county_user, incident_ids=[c.pk for c in cases], action="assign", organisation=world.org_a1
    )
    assert result.done == [c.pk for c in cases]
    assert {reload(c).assigned_organisation for c in cases} == {world.org_a1}
    # Merge into the first: the others merge, the target itself is left alone.
    result = services.incidents_bulk_apply(
        actor=county_user,
        incident_ids=[c.pk for c in cases],
        action="merge",
        into=cases[0],
        reason="یک ماجرا",
    )
    assert (result.done, result.errors) == ([c.pk for c in cases[1:]], {})
    assert [reload(c).state for c in cases] == [S.ASSIGNED, S.MERGED, S.MERGED]


def test_a_bulk_close_by_a_member_is_refused_case_by_case(
    case_in: Callable[..., Incident], county_user: Any, province_user: Any
) -> None:
    resolved = [case_in(S.RESOLVED) for _ in range(2)]
    result = services.incidents_bulk_apply(
        actor=county_user, incident_ids=[c.pk for c in resolved], action="close"
    )
    assert result.done == [] and set(result.errors) == {c.pk for c in resolved}
    result = services.incidents_bulk_apply(
        actor=province_user, incident_ids=[c.pk for c in resolved], action="close"
    )
    assert result.done == sorted(c.pk for c in resolved)
    assert {reload(c).state for c in resolved} == {S.CLOSED}


def test_a_bulk_action_checks_what_it_is_given(
    file_report: Callable[..., Incident], county_user: Any, county_viewer: Any
) -> None:
    incident = file_report()
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"action": "start"}, "action"),
        ({"action": "assign"}, "organisation"),
        ({"action": "merge", "reason": "x"}, "into"),
        ({"action": "reject"}, "reason"),
    ]
    for kwargs, field_name in wrong:
        with pytest.raises(ValidationError) as refused:
            services.incidents_bulk_apply(actor=county_user, incident_ids=[incident.pk], **kwargs)
        assert set(refused.value.message_dict) == {field_name}
    with pytest.raises(ValidationError):
        services.incidents_bulk_apply(actor=county_user, incident_ids=[], action="triage")
    with pytest.raises(PermissionDenied):
        services.incidents_bulk_apply(actor=county_viewer, incident_ids=[incident.pk], action="triage")


# --- taxonomy -----------------------------------------------------------------------------------------


def test_the_taxonomy_is_managed_by_national_administrators(
    national: Any, province_admin: Any, world: World
) -> None:
    category = services.incident_category_create(
        actor=national,
        code="ballot-box-theft",
        name=" سرقت صندوق ",
        name_en="Ballot box theft",
        default_severity="critical",
        is_violation=True,
    )
    assert (category.name, category.position) == ("سرقت صندوق", 11)
    assert category in selectors.incident_category_list_for()
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"code": "ballot-box-theft", "name": "x"}, "code"),
        ({"code": "Bad Code", "name": "x"}, "code"),
        ({"code": "ok-code", "name": "  "}, "name"),
        ({"code": "ok-code", "name": "x", "default_severity": "extreme"}, "default_severity"),
    ]
    for fields, field_name in wrong:
        with pytest.raises(ValidationError) as refused:
            services.incident_category_create(actor=national, **fields)
        assert set(refused.value.message_dict) == {field_name}
    with pytest.raises(PermissionDenied):
        services.incident_category_create(actor=province_admin, code="local", name="محلی")
    updated = services.incident_category_update(
        actor=national, category=category, is_active=False, name="سرقت"
    )
    assert (updated.is_active, updated.name) == (False, "سرقت")
    assert category not in selectors.incident_category_list_for()
    assert category in selectors.incident_category_list_for(active_only=False)
    with pytest.raises(ValidationError) as refused:
        services.incident_category_update(actor=national, category=category, code="renamed")
    assert set(refused.value.message_dict) == {"code"}
    entries = AuditEntry.all_entries.filter(entity_type="incidents.IncidentCategory").order_by("seq")
    assert [e.action for e in entries] == ["create", "update"]


# --- voting day: automatic outage cases ---------------------------------------------------------------


def _voting_time(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(VOTING_DAY, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def test_an_unreachable_station_gets_one_outage_case_resolved_when_it_is_back(
    admin: Any, event: Any, county_user: Any, world: World
) -> None:
    readiness.live_updates_apply(
        actor=admin,
        event=event,
        entries=[
            LiveEntry("A1-001", _voting_time(7), "opened"),
            LiveEntry("B1-001", _voting_time(7), "opened"),
        ],
        now=_voting_time(7),
    )
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 5)) == (0, 0)
    assert readiness.stations_mark_unreachable(now=_voting_time(7, 11)) == 2
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 12)) == (2, 0)
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 13)) == (0, 0)  # idempotent
    with unscoped():
        case = Incident.objects.get(station=world.station_a1)
    assert (case.channel, case.category.code, case.state, case.severity, case.event) == (
        Channel.SYSTEM,
        "outage",
        S.NEW,
        "high",
        event,
    )
    assert (case.occurred_at, case.received_at, case.deadline_at) == (
        _voting_time(7, 11),
        _voting_time(7, 12),
        _voting_time(15, 12),
    )
    assert "A1-001" in case.description and "07:00" in case.description
    assert [c.pk for c in selectors.incident_list_for(user=county_user)] == [case.pk]
    # A1-001 is heard from again: its case is resolved; B1-001's stays open.
    readiness.live_updates_apply(
        actor=admin, event=event, entries=[LiveEntry("A1-001", _voting_time(7, 20))], now=_voting_time(7, 20)
    )
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 21)) == (0, 1)
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 22)) == (0, 0)
    resolved = reload(case)
    assert (resolved.state, resolved.resolved_at) == (S.RESOLVED, _voting_time(7, 21))
    with unscoped():
        assert Incident.objects.get(station=world.station_b1).state == S.NEW
        kinds = list(IncidentActivity.objects.filter(incident=case).values_list("kind", flat=True))
    assert kinds == [ActivityKind.REPORTED, ActivityKind.RESOLVED]
    # Silent again later: a new case.
    assert readiness.stations_mark_unreachable(now=_voting_time(7, 31)) == 1
    assert services.incidents_sync_unreachable_stations(now=_voting_time(7, 32)) == (1, 0)
    with unscoped():
        assert Incident.objects.filter(station=world.station_a1).count() == 2
    _assert_chain_clean()


def test_no_outage_cases_outside_voting_days(admin: Any, event: Any, world: World) -> None:
    readiness.live_updates_apply(
        actor=admin,
        event=event,
        entries=[LiveEntry("A1-001", _voting_time(7), "opened")],
        now=_voting_time(7),
    )
    readiness.stations_mark_unreachable(now=_voting_time(7, 11))
    next_week = _voting_time(7, 12) + dt.timedelta(days=7)
    assert services.incidents_sync_unreachable_stations(now=next_week) == (0, 0)
