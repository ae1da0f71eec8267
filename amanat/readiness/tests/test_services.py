"""Readiness and live-status services: the checklist, station readiness, the CSV bulk update, the
voting-day batch and the silence check, with the kept tallies proved equal to a full recount."""

import datetime as dt
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from amanat.audit.models import AuditAction, AuditEntry
from amanat.audit.services import audit_chain_verify
from amanat.elections.services import election_event_create
from amanat.geography.models import PollingStation
from amanat.geography.services import parse_station_csv, station_import
from amanat.readiness import selectors, services
from amanat.readiness.models import (
    WATCHED_STATUSES,
    ItemStatus,
    LiveEvent,
    LiveTally,
    ReadinessCounty,
    ReadinessItem,
    ReadinessTally,
    StationLive,
    StationReadiness,
)
from amanat.readiness.services import LiveEntry, ReadinessUploadRejectedError
from amanat.scoping import unscoped
from conftest import VOTING_DAY, World

from .conftest import CHECKLIST_DUE, voting_time

pytestmark = pytest.mark.usefixtures("english")

LIVE_COLUMNS = ("opened", "operating", "paused", "closed", "unreachable")


# --- helpers ---------------------------------------------------------------------------------


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        manager: Any = model.all_entries if model is AuditEntry else model.objects
        return int(manager.filter(**filters).count())


def _reload(model: Any, pk: int) -> Any:
    with unscoped():
        return model.objects.get(pk=pk)


def _row(item: ReadinessItem, station: PollingStation) -> StationReadiness | None:
    with unscoped():
        return StationReadiness.objects.filter(item=item, station=station).first()


def _live(event: Any, station: PollingStation) -> StationLive | None:
    with unscoped():
        return StationLive.objects.filter(event=event, station=station).first()


def _kept_readiness(event: Any) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    """The kept readiness tallies, (item, province, county) -> (in progress, done, failed); zeros left out."""
    with unscoped():
        rows = ReadinessTally.objects.filter(item__event=event).values_list(
            "item_id", "province_id", "county_id", "in_progress", "done", "failed"
        )
        return {(i, p, c): (ip, d, f) for i, p, c, ip, d, f in rows if (ip, d, f) != (0, 0, 0)}


def _counted_readiness(event: Any) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    """The same numbers counted directly from the station rows."""
    counts: Counter[tuple[int, int, int, str]] = Counter()
    with unscoped():
        for item_id, province_id, county_id, status in StationReadiness.objects.filter(
            item__event=event
        ).values_list("item_id", "province_id", "county_id", "status"):
            counts[(item_id, province_id, county_id, status)] += 1
    keys = {(i, p, c) for i, p, c, _s in counts}
    result = {
        key: (counts[(*key, "in_progress")], counts[(*key, "done")], counts[(*key, "failed")]) for key in keys
    }
    return {key: value for key, value in result.items() if value != (0, 0, 0)}


def _kept_live(event: Any) -> dict[tuple[int, int], tuple[int, ...]]:
    """The kept live tallies, (province, county) -> (opened, operating, paused, closed, unreachable)."""
    with unscoped():
        rows = LiveTally.objects.filter(event=event).values_list("province_id", "county_id", *LIVE_COLUMNS)
        return {(p, c): tuple(values) for p, c, *values in rows if any(values)}


def _counted_live(event: Any) -> dict[tuple[int, int], tuple[int, ...]]:
    counts: Counter[tuple[int, int, str]] = Counter()
    with unscoped():
        for province_id, county_id, status, unreachable_since in StationLive.objects.filter(
            event=event
        ).values_list("province_id", "county_id", "status", "unreachable_since"):
            counts[(province_id, county_id, status)] += 1
            if unreachable_since is not None:
                counts[(province_id, county_id, "unreachable")] += 1
    keys = {(p, c) for p, c, _s in counts}
    result = {key: tuple(counts[(*key, column)] for column in LIVE_COLUMNS) for key in keys}
    return {key: value for key, value in result.items() if any(value)}


def _assert_readiness_exact(event: Any) -> None:
    kept = _kept_readiness(event)
    counted = _counted_readiness(event)
    assert kept == counted
    services.readiness_tallies_recount(event=event)
    assert _kept_readiness(event) == counted


def _assert_live_exact(event: Any) -> None:
    kept = _kept_live(event)
    counted = _counted_live(event)
    assert kept == counted
    services.live_tallies_recount(event=event)
    assert _kept_live(event) == counted


def _snapshot_readiness(event: Any) -> tuple[Any, ...]:
    with unscoped():
        rows = sorted(
            StationReadiness.objects.filter(item__event=event).values_list(
                "item_id", "station_id", "status", "evidence", "verified_by_id", "verified_at", "updated_at"
            )
        )
        tallies = sorted(
            ReadinessTally.objects.filter(item__event=event).values_list(
                "item_id", "county_id", "in_progress", "done", "failed"
            )
        )
    return (rows, tallies)


def _upload(actor: Any, event: Any, text: str, source: str = "telecom.csv") -> services.UploadResult:
    return services.readiness_upload(
        actor=actor, event=event, rows=services.parse_readiness_csv(text), source=source
    )


def _audits(**filters: Any) -> int:
    return _count(AuditEntry, **filters)


def _json(value: Any) -> dict[str, Any]:
    """An audit entry's before/after, read as the dict it holds."""
    assert isinstance(value, dict)
    return value


def _assert_chain_clean() -> None:
    assert list(audit_chain_verify()) == []


def _errors(exc: pytest.ExceptionInfo[ReadinessUploadRejectedError]) -> dict[int, str]:
    return {row.line: row.message for row in exc.value.rows}


def _entry(station: str, at: dt.datetime, status: str | None = None, reason: str = "") -> LiveEntry:
    return LiveEntry(station_code=station, at=at, status=status, reason=reason)


@contextmanager
def _rolled_back() -> Iterator[None]:
    """Run a block in a savepoint that is always rolled back: a fresh state for each hypothesis example."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- the checklist ---------------------------------------------------------------------------


def test_default_checklist_is_created_in_order_once_and_counts_the_stations(
    national: Any, event: Any, world: World
) -> None:
    created = services.readiness_items_create_defaults(actor=national, event=event, due_on=CHECKLIST_DUE)

    assert [(item.code, item.position, item.due_on) for item in created] == [
        (code, position, CHECKLIST_DUE) for position, (code, _t, _e) in enumerate(services.DEFAULT_ITEMS)
    ]
    assert created[0].title_en == "Communication line installed"
    assert _audits(action=AuditAction.CREATE, entity_type="readiness.ReadinessItem") == 8
    with unscoped():
        counted = dict(ReadinessCounty.objects.filter(event=event).values_list("county__code", "stations"))
    assert counted == {"A1": 2, "A2": 1, "B1": 2}
    # A second call adds nothing.
    assert services.readiness_items_create_defaults(actor=national, event=event, due_on=CHECKLIST_DUE) == []
    assert _count(ReadinessItem, event=event) == 8


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "has space"}, "code"),
        ({"code": "x" * 41}, "code"),
        ({"code": "خط-فیبر"}, "code"),
        ({"code": "--"}, "code"),
        ({"code": "a.b"}, "code"),
        ({"code": "Line-Installed"}, "code"),  # lowercased, then a duplicate of the default item
        ({"title": "  "}, "title"),
        ({"title": "ب" * 201}, "title"),
        ({"title_en": "x" * 201}, "title"),
        ({"due_on": VOTING_DAY + dt.timedelta(days=1)}, "due_on"),
    ],
)
def test_item_create_refuses_bad_fields(
    national: Any, event: Any, checklist: list[ReadinessItem], fields: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"code": "fibre-2", "title": "خط دوم", "due_on": CHECKLIST_DUE}
    values.update(fields)
    audits = _audits()

    with pytest.raises(ValidationError) as exc:
        services.readiness_item_create(actor=national, event=event, **values)

    assert set(exc.value.message_dict) == {field}
    assert _count(ReadinessItem, event=event) == 8
    assert _audits() == audits


def test_the_default_checklist_must_be_due_by_voting_day(national: Any, event: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.readiness_items_create_defaults(
            actor=national, event=event, due_on=VOTING_DAY + dt.timedelta(days=1)
        )
    assert set(exc.value.message_dict) == {"due_on"}
    assert _count(ReadinessItem, event=event) == 0


def test_item_create_tidies_the_code_and_accepts_voting_day(
    national: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    item = services.readiness_item_create(
        actor=national,
        event=event,
        code=" Fibre_Ring-2 ",
        title="  حلقه فیبر دوم ",
        title_en=" Second fibre ring ",
        due_on=VOTING_DAY,
    )

    assert (item.code, item.title, item.title_en, item.position) == (
        "fibre_ring-2",
        "حلقه فیبر دوم",
        "Second fibre ring",
        8,
    )


def test_the_same_code_may_serve_another_event(
    national: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    other = election_event_create(actor=national, name="میان‌دوره‌ای خبرگان", voting_day=dt.date(2027, 6, 1))

    created = services.readiness_items_create_defaults(
        actor=national, event=other, due_on=dt.date(2027, 5, 1)
    )

    assert len(created) == 8
    assert {item.event_id for item in created} == {other.pk}


@pytest.mark.parametrize(
    "persona", ["province_admin", "county_admin", "province_user", "county_user", "auditor", "county_viewer"]
)
def test_only_national_administrators_manage_the_checklist(
    request: pytest.FixtureRequest, persona: str, event: Any, item: ReadinessItem
) -> None:
    user = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        services.readiness_item_create(
            actor=user, event=event, code="extra", title="اضافه", due_on=CHECKLIST_DUE
        )
    fresh = election_event_create(actor=request.getfixturevalue("admin"), name="دیگر", voting_day=VOTING_DAY)
    with pytest.raises(PermissionDenied):
        services.readiness_items_create_defaults(actor=user, event=fresh, due_on=CHECKLIST_DUE)
    assert _count(ReadinessItem, event=fresh) == 0
    with pytest.raises(PermissionDenied):
        services.readiness_item_update(actor=user, item=item, title="تغییر", due_on=CHECKLIST_DUE)
    with pytest.raises(PermissionDenied):
        services.readiness_stations_recount(event=event, actor=user)
    assert _reload(ReadinessItem, item.pk).title == item.title
    assert _count(ReadinessItem, event=event) == 8


def test_item_update_rewords_moves_and_retires(
    national: Any, admin: Any, event: Any, item: ReadinessItem, stations: dict[str, PollingStation]
) -> None:
    services.station_readiness_set(actor=admin, item=item, station=stations["A1-001"], status="done")
    with pytest.raises(ValidationError) as exc:
        services.readiness_item_update(
            actor=national, item=item, title=" ", due_on=VOTING_DAY + dt.timedelta(days=1)
        )
    assert set(exc.value.message_dict) == {"title", "due_on"}

    services.readiness_item_update(
        actor=national, item=item, title=" خط نصب شد ", due_on=dt.date(2027, 2, 1), is_active=False
    )

    saved = _reload(ReadinessItem, item.pk)
    assert (saved.title, saved.due_on, saved.is_active) == ("خط نصب شد", dt.date(2027, 2, 1), False)
    assert (
        _audits(action=AuditAction.UPDATE, entity_type="readiness.ReadinessItem", entity_id=str(item.pk)) == 1
    )
    # What the station recorded stays; no more changes are taken on a retired item.
    assert _row(saved, stations["A1-001"]).status == "done"  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as refused:
        services.station_readiness_set(actor=admin, item=saved, station=stations["A1-002"], status="done")
    assert set(refused.value.message_dict) == {"item"}
    assert saved.pk not in [i.pk for i in selectors.readiness_rollup_for(user=admin, event=event).items]


# --- one station's readiness -----------------------------------------------------------------


def test_setting_a_station_moves_the_tally_and_records_the_verifier(
    county_user: Any, event: Any, item: ReadinessItem, stations: dict[str, PollingStation], world: World
) -> None:
    station = stations["A1-001"]

    row = services.station_readiness_set(actor=county_user, item=item, station=station, status="in_progress")
    assert (row.status, row.verified_by, row.verified_at) == ("in_progress", None, None)
    assert _kept_readiness(event) == {(item.pk, world.province_a.pk, world.county_a1.pk): (1, 0, 0)}

    row = services.station_readiness_set(
        actor=county_user, item=item, station=station, status="done", evidence="  صورتجلسه تحویل خط  "
    )
    assert (row.status, row.verified_by, row.evidence) == ("done", county_user, "صورتجلسه تحویل خط")
    assert row.verified_at is not None
    assert (row.province_id, row.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert _kept_readiness(event) == {(item.pk, world.province_a.pk, world.county_a1.pk): (0, 1, 0)}

    row = services.station_readiness_set(actor=county_user, item=item, station=station, status="failed")
    assert (row.status, row.verified_by, row.verified_at) == ("failed", None, None)
    assert _kept_readiness(event) == {(item.pk, world.province_a.pk, world.county_a1.pk): (0, 0, 1)}

    entries = list(
        AuditEntry.all_entries.filter(
            entity_type="readiness.StationReadiness", entity_id=str(row.pk)
        ).order_by("seq")
    )
    assert [(e.action, _json(e.before)["status"], _json(e.after)["status"]) for e in entries] == [
        ("update", "not_started", "in_progress"),
        ("update", "in_progress", "done"),
        ("update", "done", "failed"),
    ]
    assert _json(entries[1].after)["evidence"] == "صورتجلسه تحویل خط"
    assert entries[0].county_id == world.county_a1.pk
    _assert_readiness_exact(event)
    _assert_chain_clean()


def test_done_again_keeps_the_first_verification(
    county_user: Any, province_user: Any, event: Any, item: ReadinessItem, stations: dict[str, PollingStation]
) -> None:
    first = services.station_readiness_set(
        actor=county_user, item=item, station=stations["A1-001"], status="done"
    )

    again = services.station_readiness_set(
        actor=province_user, item=item, station=stations["A1-001"], status="done", evidence="عکس"
    )

    assert (again.verified_by, again.verified_at, again.evidence) == (county_user, first.verified_at, "عکس")
    assert _kept_readiness(event) == {(item.pk, again.province_id, again.county_id): (0, 1, 0)}


def test_back_to_not_started_leaves_the_tallies(
    admin: Any, event: Any, item: ReadinessItem, stations: dict[str, PollingStation]
) -> None:
    services.station_readiness_set(actor=admin, item=item, station=stations["B1-001"], status="done")

    row = services.station_readiness_set(
        actor=admin, item=item, station=stations["B1-001"], status="not_started"
    )

    assert (row.status, row.verified_by, row.verified_at) == ("not_started", None, None)
    assert _kept_readiness(event) == {}
    _assert_readiness_exact(event)


def test_not_started_on_a_station_without_a_row_is_accepted_and_changes_nothing(
    county_user: Any, event: Any, item: ReadinessItem, stations: dict[str, PollingStation]
) -> None:
    """The form's default choice for a station never touched: nothing to record, and no crash."""
    row = services.station_readiness_set(
        actor=county_user, item=item, station=stations["A1-002"], status="not_started"
    )

    assert row.status == "not_started"
    assert _kept_readiness(event) == {}


@pytest.mark.parametrize(
    ("status", "evidence", "fields"),
    [
        ("ready", "", {"status"}),
        ("", "", {"status"}),
        ("DONE", "", {"status"}),
        ("done", "x" * 501, {"evidence"}),
        ("bogus", "x" * 501, {"status", "evidence"}),
    ],
)
def test_setting_refuses_bad_status_and_long_evidence(
    admin: Any,
    event: Any,
    item: ReadinessItem,
    stations: dict[str, PollingStation],
    status: str,
    evidence: str,
    fields: set[str],
) -> None:
    before = _snapshot_readiness(event)

    with pytest.raises(ValidationError) as exc:
        services.station_readiness_set(
            actor=admin, item=item, station=stations["A1-001"], status=status, evidence=evidence
        )

    assert set(exc.value.message_dict) == fields
    assert _snapshot_readiness(event) == before


def test_evidence_of_500_characters_is_kept(
    admin: Any, item: ReadinessItem, stations: dict[str, PollingStation]
) -> None:
    row = services.station_readiness_set(
        actor=admin, item=item, station=stations["A1-001"], status="in_progress", evidence="ث" * 500
    )
    assert len(row.evidence) == 500


@pytest.mark.parametrize(
    ("persona", "station"),
    [
        ("county_viewer", "A1-001"),
        ("auditor", "A1-001"),
        ("outsider", "A1-001"),
        ("county_user", "A2-001"),
        ("county_user", "B1-001"),
        ("province_user", "B1-001"),
        ("county_admin", "A2-001"),
    ],
)
def test_setting_is_refused_outside_the_role_or_the_jurisdiction(
    request: pytest.FixtureRequest,
    persona: str,
    station: str,
    event: Any,
    item: ReadinessItem,
    stations: dict[str, PollingStation],
) -> None:
    user = request.getfixturevalue(persona)
    audits = _audits()

    with pytest.raises(PermissionDenied):
        services.station_readiness_set(actor=user, item=item, station=stations[station], status="done")

    assert _count(StationReadiness) == 0
    assert _kept_readiness(event) == {}
    assert _audits() == audits


@pytest.mark.parametrize(("persona", "station"), [("province_user", "A2-001"), ("county_admin", "A1-002")])
def test_setting_is_allowed_within_the_jurisdiction(
    request: pytest.FixtureRequest,
    persona: str,
    station: str,
    item: ReadinessItem,
    stations: dict[str, PollingStation],
) -> None:
    user = request.getfixturevalue(persona)
    row = services.station_readiness_set(actor=user, item=item, station=stations[station], status="done")
    assert (row.status, row.verified_by) == ("done", user)


# --- the CSV bulk update: all or nothing -----------------------------------------------------

GOOD_CSV = (
    "station_code,item_code,status,evidence\n"
    "A1-001,line-installed,done,فاکتور ۱۲\n"
    "A1-002,line-installed,in_progress,\n"
    "A2-001,line-installed,failed,کابل قطع است\n"
    "A1-001,line-tested,done,\n"
)


@pytest.fixture
def prior_state(admin: Any, checklist: list[ReadinessItem], stations: dict[str, PollingStation]) -> None:
    """Some readiness recorded before the upload, so that 'nothing changed' means something."""
    services.station_readiness_set(actor=admin, item=checklist[0], station=stations["A1-002"], status="done")
    services.station_readiness_set(
        actor=admin, item=checklist[2], station=stations["B1-001"], status="failed"
    )


def test_a_good_file_applies_and_is_audited_once(
    province_user: Any, event: Any, checklist: list[ReadinessItem], prior_state: None, world: World
) -> None:
    imports = _audits(action=AuditAction.IMPORT)
    text = "\ufeff" + GOOD_CSV.replace("\n", "\r\n") + "\r\n,,,\r\n"  # BOM, CRLF and an empty row

    result = _upload(province_user, event, text, source="مخابرات استان الف.csv")

    assert (result.rows, result.changed) == (4, 4)
    assert result.by_status == {"done": 2, "in_progress": 1, "failed": 1}
    line_installed, line_tested = checklist[0], checklist[1]
    with unscoped():
        saved = {
            (r.station.code, r.item.code): (r.status, r.evidence, r.verified_by_id)
            for r in StationReadiness.objects.select_related("station", "item")
        }
    assert saved == {
        ("A1-001", "line-installed"): ("done", "فاکتور ۱۲", province_user.pk),
        ("A1-002", "line-installed"): ("in_progress", "", None),
        ("A2-001", "line-installed"): ("failed", "کابل قطع است", None),
        ("A1-001", "line-tested"): ("done", "", province_user.pk),
        ("B1-001", "backup-link"): ("failed", "", None),
    }
    a, a1, a2 = world.province_a.pk, world.county_a1.pk, world.county_a2.pk
    assert _kept_readiness(event) == {
        (line_installed.pk, a, a1): (1, 1, 0),
        (line_installed.pk, a, a2): (0, 0, 1),
        (line_tested.pk, a, a1): (0, 1, 0),
        (checklist[2].pk, world.province_b.pk, world.county_b1.pk): (0, 0, 1),
    }
    assert _audits(action=AuditAction.IMPORT) == imports + 1
    entry = AuditEntry.all_entries.filter(action=AuditAction.IMPORT).order_by("-seq").first()
    assert entry is not None
    assert (entry.entity_type, entry.entity_id, entry.province_id, entry.county_id) == (
        "readiness.StationReadiness",
        str(event.pk),
        world.province_a.pk,
        None,
    )
    assert _json(entry.after)["changed"] == 4
    assert _json(entry.after)["source"] == "مخابرات استان الف.csv"
    _assert_readiness_exact(event)
    _assert_chain_clean()


def test_the_same_file_twice_changes_nothing_the_second_time(
    admin: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    _upload(admin, event, GOOD_CSV)
    before = _snapshot_readiness(event)

    result = _upload(admin, event, GOOD_CSV)

    assert (result.rows, result.changed) == (4, 0)
    assert _snapshot_readiness(event) == before


def test_a_file_without_the_evidence_column_and_with_spaces_is_read(
    county_user: Any, event: Any, checklist: list[ReadinessItem], stations: dict[str, PollingStation]
) -> None:
    text = " station_code , item_code , status \n A1-001 , backup-power , in_progress \n"

    result = _upload(county_user, event, text)

    assert (result.rows, result.changed) == (1, 1)
    row = _row(checklist[5], stations["A1-001"])
    assert row is not None
    assert (row.status, row.evidence) == ("in_progress", "")


BAD_ROWS = {
    "unknown station": (
        "ZZ-999,line-installed,done,",
        "station ZZ-999 is unknown or outside your jurisdiction",
    ),
    "outside jurisdiction": (
        "B1-001,line-installed,done,",
        "station B1-001 is unknown or outside your jurisdiction",
    ),
    "unknown item": ("A1-002,teleport,done,", "item teleport is not on the checklist"),
    "bad status": ("A1-002,backup-link,ready,", "status ready is not one of"),
    "duplicate line": ("A1-001,line-installed,failed,", "the same station and item as line 2"),
    "evidence too long": (
        "A1-002,backup-link,done," + "x" * 501,
        "the evidence is longer than 500 characters",
    ),
    "missing value": ("A1-002,backup-link,,", "missing status"),
    "missing values": (",backup-link,,", "missing station_code, status"),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_a_file_with_one_bad_row_is_rejected_naming_the_line_and_changes_nothing(
    county_user: Any, event: Any, checklist: list[ReadinessItem], prior_state: None, kind: str
) -> None:
    bad, message = BAD_ROWS[kind]
    text = (
        "station_code,item_code,status,evidence\n"
        "A1-001,line-installed,done,\n"
        "A1-002,line-tested,in_progress,\n"
        f"{bad}\n"
        "A1-002,devices-tested,done,\n"
    )
    before = _snapshot_readiness(event)
    audits = _audits()

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(county_user, event, text)

    errors = _errors(exc)
    assert list(errors) == [4]
    assert message in errors[4]
    assert f"line 4: {message}" in " ".join(exc.value.messages)
    assert _snapshot_readiness(event) == before
    assert _audits() == audits


@pytest.mark.parametrize(
    "text",
    [
        "A1-001,line-installed,done\nA1-002,line-installed,done\n",  # no header
        "station_code,item_code,evidence\nA1-001,line-installed,done\n",  # no status column
        "station,item,status\nA1-001,line-installed,done\n",  # wrong names
        "",  # empty file
    ],
)
def test_a_file_without_the_header_is_rejected_at_line_1(
    admin: Any, event: Any, checklist: list[ReadinessItem], prior_state: None, text: str
) -> None:
    before = _snapshot_readiness(event)

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, text)

    assert list(_errors(exc)) == [1]
    assert "header" in _errors(exc)[1]
    assert _snapshot_readiness(event) == before


def test_every_bad_line_of_a_file_is_named(
    county_user: Any, event: Any, checklist: list[ReadinessItem], prior_state: None
) -> None:
    text = (
        "station_code,item_code,status\n"
        "A1-001,line-installed,done\n"  # 2 good
        "B1-002,line-installed,done\n"  # 3 outside
        "A1-001,line-tested,done\n"  # 4 good
        "A1-001,nope,finished\n"  # 5 unknown item and bad status
        "A1-001,line-installed,failed\n"  # 6 duplicate of line 2
    )
    before = _snapshot_readiness(event)

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(county_user, event, text)

    errors = _errors(exc)
    assert list(errors) == [3, 5, 6]
    assert "item nope is not on the checklist" in errors[5]
    assert "status finished is not one of" in errors[5]
    assert "as line 2" in errors[6]
    assert _snapshot_readiness(event) == before


def test_bad_lines_are_numbered_as_in_the_file_after_blank_lines(
    admin: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    """A spreadsheet export often carries blank lines; the operator looks the line number up in the file."""
    text = (
        "station_code,item_code,status\n"  # 1
        "A1-001,line-installed,done\n"  # 2
        "\n"  # 3 (blank)
        "A1-002,line-installed,done\n"  # 4
        "ZZ-404,line-installed,done\n"  # 5: the bad line
    )

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, text)

    assert list(_errors(exc)) == [5]


def test_bad_lines_are_numbered_as_in_the_file_after_a_field_on_two_lines(
    admin: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    text = (
        "station_code,item_code,status,evidence\n"  # 1
        'A1-001,line-installed,done,"نامه ۱۲\nو پیوست"\n'  # 2-3: one record on two lines
        "A1-002,line-installed,done,,extra\n"  # 4: a field more than the header
        "A1-002,line-tested,done\n"  # 5: good
        "ZZ-404,line-installed,done\n"  # 6: unknown station
    )

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, text)

    assert _errors(exc) == {4: "more fields than the header names"}  # the parse stops the file first

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, text.replace(",,extra", ","))
    assert list(_errors(exc)) == [6]
    assert _count(StationReadiness) == 0

    result = _upload(admin, event, text.replace(",,extra", ",").replace("ZZ-404", "A2-001"))
    assert result.changed == 4
    row = _row(checklist[0], _station("A1-001"))
    assert row is not None
    assert row.evidence == "نامه ۱۲\nو پیوست"


def _station(code: str) -> PollingStation:
    with unscoped():
        return PollingStation.objects.get(code=code)


def test_a_retired_item_is_not_on_the_checklist_for_uploads(
    national: Any, admin: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    retired = checklist[7]
    services.readiness_item_update(
        actor=national, item=retired, title=retired.title, due_on=retired.due_on, is_active=False
    )

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, "station_code,item_code,status\nA1-001,accessibility,done\n")

    assert "item accessibility is not on the checklist" in _errors(exc)[2]
    assert _count(StationReadiness) == 0


def test_an_item_of_another_event_is_not_on_the_checklist(
    national: Any, admin: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    other = election_event_create(actor=national, name="میان‌دوره‌ای", voting_day=dt.date(2027, 6, 1))
    services.readiness_item_create(
        actor=national, event=other, code="other-only", title="فقط دیگری", due_on=dt.date(2027, 5, 1)
    )

    with pytest.raises(ReadinessUploadRejectedError) as exc:
        _upload(admin, event, "station_code,item_code,status\nA1-001,other-only,done\n")

    assert list(_errors(exc)) == [2]


@pytest.mark.parametrize("persona", ["county_viewer", "auditor"])
def test_viewers_and_auditors_cannot_upload(
    request: pytest.FixtureRequest, persona: str, event: Any, checklist: list[ReadinessItem]
) -> None:
    with pytest.raises(PermissionDenied):
        _upload(
            request.getfixturevalue(persona),
            event,
            "station_code,item_code,status\nA1-001,line-installed,done\n",
        )
    assert _count(StationReadiness) == 0


# --- station counts --------------------------------------------------------------------------


def test_station_recount_after_an_import_moves_not_started(
    admin: Any,
    national: Any,
    event: Any,
    item: ReadinessItem,
    stations: dict[str, PollingStation],
    world: World,
) -> None:
    services.station_readiness_set(actor=admin, item=item, station=stations["A1-001"], status="done")
    station_import(
        actor=admin,
        rows=parse_station_csv(
            "code,name,county_code,district_code\nA1-003,هنرستان,A1,A1-1\nA1-004,حسینیه,A1,A1-1\n"
        ),
        source="test",
    )

    def a1_progress() -> Any:
        rollup = selectors.readiness_rollup_for(user=national, event=event, province=world.province_a)
        a1 = next(area for area in rollup.areas if area.area.pk == world.county_a1.pk)
        return (a1.stations, a1.items[item.pk].done, a1.items[item.pk].not_started)

    assert a1_progress() == (2, 1, 1)  # the counts are kept, not recomputed per view

    assert services.readiness_stations_recount(event=event, actor=national) == 7

    with unscoped():
        a1_count = ReadinessCounty.objects.get(event=event, county=world.county_a1)
        b1_count = ReadinessCounty.objects.get(event=event, county=world.county_b1)
    assert (a1_count.stations, b1_count.stations) == (4, 2)
    assert a1_progress() == (4, 1, 3)
    assert _audits(entity_type="readiness.ReadinessCounty", actor=national) == 1


def test_nightly_recount_covers_events_in_season_with_a_checklist(
    admin: Any, national: Any, event: Any, item: ReadinessItem, world: World
) -> None:
    no_checklist = election_event_create(actor=national, name="بدون فهرست", voting_day=dt.date(2027, 3, 6))
    station_import(
        actor=admin, rows=parse_station_csv("code,name,county_code\nB1-003,مدرسه,B1\n"), source="test"
    )

    assert services.readiness_stations_recount_in_season(today=dt.date(2026, 10, 1)) == 0  # before the season
    assert services.readiness_stations_recount_in_season(today=dt.date(2027, 1, 10)) == 6  # one event
    with unscoped():
        assert ReadinessCounty.objects.get(event=event, county=world.county_b1).stations == 3
        assert not ReadinessCounty.objects.filter(event=no_checklist).exists()


# --- voting day: the batch -------------------------------------------------------------------


def test_reports_move_a_station_through_the_day(
    report: Callable[..., Any], event: Any, stations: dict[str, PollingStation], world: World
) -> None:
    result = report(
        _entry("A1-001", voting_time(7, 30), "opened"),
        _entry("A1-001", voting_time(7, 45)),
        _entry("A1-001", voting_time(8, 0), "operating"),
        now=voting_time(8, 1),
    )
    assert (result.accepted, result.errors) == (3, {})
    live = _live(event, stations["A1-001"])
    assert live is not None
    assert (live.status, live.status_at, live.last_seen_at, live.unreachable_since) == (
        "operating",
        voting_time(8),
        voting_time(8),
        None,
    )
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (0, 1, 0, 0, 0)}

    report(_entry("A1-001", voting_time(10), "paused", reason="  قطعی برق  "), now=voting_time(10))
    live = _live(event, stations["A1-001"])
    assert (live.status, live.reason) == ("paused", "قطعی برق")  # type: ignore[union-attr]
    report(_entry("A1-001", voting_time(10, 30), "operating"), now=voting_time(10, 30))
    assert _live(event, stations["A1-001"]).reason == ""  # type: ignore[union-attr]
    report(_entry("A1-001", voting_time(20), "closed"), now=voting_time(20))

    with unscoped():
        timeline = list(
            LiveEvent.objects.filter(event=event).order_by("at").values_list("kind", "status", "reason", "at")
        )
    assert timeline == [
        ("status", "opened", "", voting_time(7, 30)),
        ("status", "operating", "", voting_time(8)),
        ("status", "paused", "قطعی برق", voting_time(10)),
        ("status", "operating", "", voting_time(10, 30)),
        ("status", "closed", "", voting_time(20)),
    ]
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (0, 0, 0, 1, 0)}
    _assert_live_exact(event)


def test_a_batch_is_audited_once_with_its_counts(
    report: Callable[..., Any], admin: Any, event: Any, stations: dict[str, PollingStation]
) -> None:
    audits = _audits(entity_type="readiness.StationLive")

    report(
        _entry("A1-001", voting_time(7), "opened"),
        _entry("A2-001", voting_time(7), "opened"),
        _entry("B1-001", voting_time(7)),
        _entry("ZZ-1", voting_time(7)),
    )

    assert _audits(entity_type="readiness.StationLive") == audits + 1
    entry = AuditEntry.all_entries.filter(entity_type="readiness.StationLive").order_by("-seq").first()
    assert entry is not None
    assert entry.actor == admin
    assert entry.after == {"accepted": 3, "refused": 1, "status_changes": 2}
    _assert_chain_clean()


@pytest.fixture
def opened_a1(report: Callable[..., Any]) -> None:
    """A1-001 opened at 07:00; A1-002 opened at 07:00 and closed at 07:30 (a short test round)."""
    result = report(
        _entry("A1-001", voting_time(7), "opened"),
        _entry("A1-002", voting_time(7), "opened"),
        _entry("A1-002", voting_time(7, 30), "closed"),
        now=voting_time(7, 30),
    )
    assert result.errors == {}


NOW = voting_time(8)

BAD_ENTRIES: dict[str, tuple[LiveEntry, str]] = {
    "unknown station": (_entry("ZZ-999", voting_time(7, 50)), "station_code"),
    "outside jurisdiction": (_entry("B1-001", voting_time(7, 50), "opened"), "station_code"),
    "closed -> opened": (_entry("A1-002", voting_time(7, 50), "opened"), "status"),
    "not_opened -> closed": (_entry("A2-001", voting_time(7, 50), "closed"), "status"),
    "not_opened -> operating": (_entry("A2-001", voting_time(7, 50), "operating"), "status"),
    "back to not_opened": (_entry("A1-001", voting_time(7, 50), "not_opened"), "status"),
    "unknown status": (_entry("A1-001", voting_time(7, 50), "dancing"), "status"),
    "far future": (_entry("A1-001", NOW + dt.timedelta(seconds=121)), "at"),
    "an hour ahead": (_entry("A1-001", NOW + dt.timedelta(hours=1), "operating"), "at"),
    "before the election": (_entry("A1-001", voting_time(23, day=VOTING_DAY - dt.timedelta(days=2))), "at"),
    "pause without reason": (_entry("A1-001", voting_time(7, 50), "paused", reason="   "), "reason"),
    "older than the status": (_entry("A1-001", voting_time(6, 59), "operating"), "at"),
}


@pytest.mark.parametrize("kind", list(BAD_ENTRIES))
def test_a_bad_entry_is_named_by_position_and_the_good_ones_are_kept(
    report: Callable[..., Any],
    province_user: Any,
    opened_a1: None,
    event: Any,
    stations: dict[str, PollingStation],
    world: World,
    kind: str,
) -> None:
    bad, field = BAD_ENTRIES[kind]
    before = _live(event, stations["A1-001"])
    timeline = _count(LiveEvent)

    result = report(
        _entry("A1-001", voting_time(7, 55), "operating"),
        bad,
        _entry("A2-001", voting_time(7, 56)),  # a heartbeat from a station not opened yet
        actor=province_user,
        now=NOW,
    )

    assert result.accepted == 2
    assert list(result.errors) == [1]
    assert set(result.errors[1]) == {field}
    assert all(isinstance(message, str) and message for message in result.errors[1].values())
    a1 = _live(event, stations["A1-001"])
    assert a1 is not None and before is not None
    assert (a1.status, a1.status_at, a1.last_seen_at) == ("operating", voting_time(7, 55), voting_time(7, 55))
    a2 = _live(event, stations["A2-001"])
    assert a2 is not None
    assert (a2.status, a2.last_seen_at) == ("not_opened", voting_time(7, 56))
    assert _count(LiveEvent) == timeline + 1
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (0, 1, 0, 1, 0)}
    _assert_live_exact(event)


def test_the_clock_skew_allowance_is_the_setting(
    report: Callable[..., Any], settings: Any, opened_a1: None, event: Any
) -> None:
    settings.LIVE_CLOCK_SKEW_SECONDS = 30

    result = report(
        _entry("A1-001", NOW + dt.timedelta(seconds=30)),
        _entry("A1-001", NOW + dt.timedelta(seconds=31)),
        now=NOW,
    )

    assert result.accepted == 1
    assert set(result.errors) == {1}
    assert set(result.errors[1]) == {"at"}


def test_the_day_before_voting_is_accepted_and_earlier_is_not(
    report: Callable[..., Any], event: Any, stations: dict[str, PollingStation]
) -> None:
    day_before = VOTING_DAY - dt.timedelta(days=1)

    result = report(
        _entry("A1-001", voting_time(0, 0, 0, day=day_before), "opened"),  # the set-up round
        _entry("A1-002", voting_time(23, 59, 59, day=day_before - dt.timedelta(days=1))),
        now=voting_time(9, day=day_before),
    )

    assert result.accepted == 1
    assert set(result.errors) == {1}
    assert _live(event, stations["A1-002"]) is None


def test_a_batch_is_applied_in_time_order_whatever_its_order(
    report: Callable[..., Any], event: Any, stations: dict[str, PollingStation], world: World
) -> None:
    result = report(
        _entry("A1-001", voting_time(9), "closed"),
        _entry("A1-001", voting_time(8, 30), "paused", reason="صف طولانی"),
        _entry("A1-001", voting_time(7), "opened"),
        _entry("A1-001", voting_time(8), "operating"),
        now=voting_time(9),
    )

    assert (result.accepted, result.errors) == (4, {})
    live = _live(event, stations["A1-001"])
    assert live is not None
    assert (live.status, live.status_at, live.last_seen_at) == ("closed", voting_time(9), voting_time(9))
    with unscoped():
        statuses = list(LiveEvent.objects.filter(event=event).order_by("at").values_list("status", flat=True))
    assert statuses == ["opened", "operating", "paused", "closed"]
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (0, 0, 0, 1, 0)}


def test_equal_times_keep_the_batch_order(
    report: Callable[..., Any], event: Any, stations: dict[str, PollingStation]
) -> None:
    at = voting_time(7)
    result = report(_entry("A2-001", at, "opened"), _entry("A2-001", at, "operating"), now=at)

    assert (result.accepted, result.errors) == (2, {})
    assert _live(event, stations["A2-001"]).status == "operating"  # type: ignore[union-attr]


def test_duplicate_heartbeats_and_repeated_statuses_are_accepted_without_changes(
    report: Callable[..., Any], opened_a1: None, event: Any, stations: dict[str, PollingStation], world: World
) -> None:
    timeline = _count(LiveEvent)
    tallies = _kept_live(event)

    result = report(
        _entry("A1-001", voting_time(7, 40)),
        _entry("A1-001", voting_time(7, 40)),
        _entry("A1-001", voting_time(7, 20), "opened"),  # the same status again, late: a heartbeat
        _entry("A1-002", voting_time(7, 40), "closed"),  # closed again: a heartbeat too
        now=NOW,
    )

    assert (result.accepted, result.errors) == (4, {})
    assert _count(LiveEvent) == timeline
    assert _kept_live(event) == tallies
    a1 = _live(event, stations["A1-001"])
    assert a1 is not None
    assert (a1.status, a1.status_at, a1.last_seen_at) == ("opened", voting_time(7), voting_time(7, 40))
    # An older heartbeat does not move 'last heard' back.
    report(_entry("A1-001", voting_time(7, 10)), now=NOW)
    assert _live(event, stations["A1-001"]).last_seen_at == voting_time(7, 40)  # type: ignore[union-attr]


def test_a_batch_writes_only_the_rows_its_reports_change(
    report: Callable[..., Any], opened_a1: None, event: Any, stations: dict[str, PollingStation]
) -> None:
    """A repeated heartbeat changes no row, and no row is written for it (the batch is still audited)."""
    audits = _audits(entity_type="readiness.StationLive")

    with CaptureQueriesContext(connection) as repeated:
        result = report(_entry("A1-001", voting_time(7)), _entry("A1-002", voting_time(7, 30), "closed"))
    with CaptureQueriesContext(connection) as heard:
        report(_entry("A1-001", voting_time(7, 45)), _entry("A1-002", voting_time(7, 30)))

    assert (result.accepted, result.errors) == (2, {})
    assert _audits(entity_type="readiness.StationLive") == audits + 2
    write = re.compile(r"^\s*(\d+ times: )?(UPDATE|INSERT|DELETE)\b", re.IGNORECASE)  # executemany: "n times"
    writes = [
        [q["sql"] for q in queries if write.match(q["sql"])]
        for queries in (repeated.captured_queries, heard.captured_queries)
    ]
    assert not any("stationlive" in sql for sql in writes[0])
    assert sum("stationlive" in sql for sql in writes[1]) == 1  # A1-001's row, in one statement
    a1 = _live(event, stations["A1-001"])
    assert a1 is not None and a1.last_seen_at == voting_time(7, 45)


def test_a_batch_with_every_entry_refused_writes_nothing(
    report: Callable[..., Any], county_user: Any, opened_a1: None, event: Any
) -> None:
    rows = (_count(StationLive), _count(LiveEvent), _kept_live(event), _audits())
    with unscoped():
        seen = list(StationLive.objects.order_by("pk").values_list("status", "status_at", "last_seen_at"))

    result = report(
        _entry("ZZ-1", voting_time(7, 40)),
        _entry("B1-001", voting_time(7, 40), "opened"),
        _entry("A1-002", voting_time(7, 40), "opened"),
        _entry("A1-001", NOW + dt.timedelta(minutes=10)),
        _entry("A1-001", voting_time(7, 41), "paused"),
        actor=county_user,
        now=NOW,
    )

    assert result.accepted == 0
    assert sorted(result.errors) == [0, 1, 2, 3, 4]
    assert (_count(StationLive), _count(LiveEvent), _kept_live(event), _audits()) == rows
    with unscoped():
        assert (
            list(StationLive.objects.order_by("pk").values_list("status", "status_at", "last_seen_at"))
            == seen
        )


def test_a_refused_first_report_does_not_create_the_stations_row(
    report: Callable[..., Any], event: Any, stations: dict[str, PollingStation]
) -> None:
    """A station never heard from that reports an impossible move has still not been heard from."""
    audits = _audits()

    result = report(
        _entry("A2-001", voting_time(7, 40), "closed"),
        _entry("B1-001", voting_time(7, 40), "paused"),
        _entry("B1-002", voting_time(7, 40), "dancing"),
        now=NOW,
    )

    assert result.accepted == 0
    assert set(result.errors) == {0, 1, 2}
    assert (_count(StationLive), _count(LiveEvent), _audits()) == (0, 0, audits)


@pytest.mark.parametrize("persona", ["county_viewer", "auditor"])
def test_viewers_and_auditors_cannot_report(
    request: pytest.FixtureRequest, persona: str, report: Callable[..., Any]
) -> None:
    with pytest.raises(PermissionDenied):
        report(_entry("A1-001", voting_time(7), "opened"), actor=request.getfixturevalue(persona))
    assert _count(StationLive) == 0


def test_an_outsider_cannot_report_for_county_a1_and_learns_nothing(
    report: Callable[..., Any], outsider: Any, event: Any
) -> None:
    result = report(
        _entry("A1-001", voting_time(7), "opened"),
        _entry("ZZ-404", voting_time(7), "opened"),
        _entry("B1-001", voting_time(7), "opened"),
        actor=outsider,
    )

    assert result.accepted == 1
    # Outside the jurisdiction and unknown get the same answer.
    assert result.errors[0] == result.errors[1]
    assert set(result.errors[0]) == {"station_code"}
    assert _count(StationLive) == 1


def test_an_empty_batch_is_accepted_and_writes_nothing(report: Callable[..., Any]) -> None:
    audits = _audits()
    result = report()
    assert (result.accepted, result.errors) == (0, {})
    assert (_count(StationLive), _audits()) == (0, audits)


# --- voting day: silence ---------------------------------------------------------------------


@pytest.fixture
def silence_5(settings: Any) -> None:
    settings.LIVE_SILENCE_MINUTES = 5


def test_a_station_is_unreachable_only_after_the_silence_interval(
    report: Callable[..., Any], silence_5: None, event: Any, stations: dict[str, PollingStation], world: World
) -> None:
    heard = voting_time(9, 0, 0)
    report(_entry("A1-001", voting_time(7), "opened"), _entry("A1-001", heard), now=heard)

    assert services.stations_mark_unreachable(now=heard + dt.timedelta(minutes=5, seconds=-1)) == 0
    assert services.stations_mark_unreachable(now=heard + dt.timedelta(minutes=5)) == 0
    assert _live(event, stations["A1-001"]).unreachable_since is None  # type: ignore[union-attr]

    marked_at = heard + dt.timedelta(minutes=5, seconds=1)
    assert services.stations_mark_unreachable(now=marked_at) == 1

    live = _live(event, stations["A1-001"])
    assert live is not None
    assert (live.status, live.unreachable_since, live.last_seen_at) == ("opened", marked_at, heard)
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 1)}
    with unscoped():
        entry = LiveEvent.objects.filter(event=event, kind=LiveEvent.Kind.UNREACHABLE).get()
    assert (entry.station_id, entry.status, entry.at, entry.county_id) == (
        stations["A1-001"].pk,
        "opened",
        marked_at,
        world.county_a1.pk,
    )
    audit = AuditEntry.all_entries.filter(entity_label="1 stations unreachable").get()
    assert (audit.actor, _json(audit.after)["count"]) == (None, 1)
    # Marking again marks nothing and writes nothing.
    timeline, audits = _count(LiveEvent), _audits()
    assert services.stations_mark_unreachable(now=marked_at + dt.timedelta(minutes=30)) == 0
    assert (_count(LiveEvent), _audits()) == (timeline, audits)
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 1)}
    _assert_live_exact(event)


def test_the_default_silence_interval_is_the_setting(
    report: Callable[..., Any], settings: Any, event: Any
) -> None:
    settings.LIVE_SILENCE_MINUTES = 12
    heard = voting_time(9)
    report(_entry("A2-001", heard, "opened"), now=heard)

    assert services.stations_mark_unreachable(now=heard + dt.timedelta(minutes=11, seconds=59)) == 0
    assert services.stations_mark_unreachable(now=heard + dt.timedelta(minutes=12, seconds=1)) == 1


@pytest.mark.parametrize("status", ["opened", "operating", "paused"])
def test_every_watched_status_is_checked(
    report: Callable[..., Any], silence_5: None, event: Any, status: str
) -> None:
    entries = [_entry("B1-002", voting_time(7), "opened")]
    if status != "opened":
        entries.append(_entry("B1-002", voting_time(7, 1), status, reason="خرابی دستگاه"))
    assert report(*entries, now=voting_time(7, 1)).errors == {}

    assert services.stations_mark_unreachable(now=voting_time(7, 7)) == 1


def test_closed_and_not_opened_stations_are_never_marked(
    report: Callable[..., Any], silence_5: None, opened_a1: None, event: Any
) -> None:
    report(_entry("A2-001", voting_time(7)), _entry("B1-001", voting_time(7)), now=voting_time(7, 30))

    assert services.stations_mark_unreachable(now=voting_time(7, 20)) == 1  # only A1-001 (opened at 07:00)
    assert services.stations_mark_unreachable(now=voting_time(23, 59)) == 0
    with unscoped():
        marked = list(
            StationLive.objects.filter(unreachable_since__isnull=False).values_list(
                "station__code", flat=True
            )
        )
    assert marked == ["A1-001"]


def test_a_report_clears_unreachable_and_adds_a_returned_entry(
    report: Callable[..., Any],
    silence_5: None,
    event: Any,
    national: Any,
    stations: dict[str, PollingStation],
    world: World,
) -> None:
    report(
        _entry("A1-001", voting_time(7), "opened"),
        _entry("B1-001", voting_time(7), "opened"),
        now=voting_time(7),
    )
    assert services.stations_mark_unreachable(now=voting_time(7, 10)) == 2
    assert selectors.live_counts_for(user=national, event=event).unreachable == 2

    result = report(_entry("A1-001", voting_time(7, 12)), now=voting_time(7, 12))

    assert result.accepted == 1
    live = _live(event, stations["A1-001"])
    assert live is not None
    assert (live.unreachable_since, live.last_seen_at, live.status) == (None, voting_time(7, 12), "opened")
    with unscoped():
        returned = LiveEvent.objects.filter(event=event, kind=LiveEvent.Kind.RETURNED).get()
    assert (returned.station_id, returned.status, returned.at) == (
        stations["A1-001"].pk,
        "opened",
        voting_time(7, 12),
    )
    assert _kept_live(event) == {
        (world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 0),
        (world.province_b.pk, world.county_b1.pk): (1, 0, 0, 0, 1),
    }
    assert [row.station_id for row in selectors.live_unreachable_for(user=national, event=event)] == [
        stations["B1-001"].pk
    ]
    # Coming back with a status change clears it too, with both timeline entries.
    report(_entry("B1-001", voting_time(7, 20), "operating"), now=voting_time(7, 20))
    with unscoped():
        kinds = list(
            LiveEvent.objects.filter(event=event, station=stations["B1-001"])
            .order_by("pk")
            .values_list("kind", "status")
        )
    assert kinds == [
        ("status", "opened"),
        ("unreachable", "opened"),
        ("status", "operating"),
        ("returned", "operating"),
    ]
    assert _kept_live(event) == {
        (world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 0),
        (world.province_b.pk, world.county_b1.pk): (0, 1, 0, 0, 0),
    }
    # A station that comes back and goes silent again is marked again.
    assert services.stations_mark_unreachable(now=voting_time(7, 30)) == 2
    _assert_live_exact(event)


def test_an_old_report_arriving_late_does_not_clear_unreachable(
    report: Callable[..., Any], silence_5: None, event: Any, stations: dict[str, PollingStation], world: World
) -> None:
    report(_entry("A1-001", voting_time(7), "opened"), now=voting_time(7))
    services.stations_mark_unreachable(now=voting_time(7, 10))

    # Sent at 07:04 and delivered at 07:10: it says nothing about the station since.
    assert report(_entry("A1-001", voting_time(7, 4)), now=voting_time(7, 10)).accepted == 1
    live = _live(event, stations["A1-001"])
    assert live is not None
    assert (live.unreachable_since, live.last_seen_at) == (voting_time(7, 10), voting_time(7, 4))
    assert _count(LiveEvent, kind=LiveEvent.Kind.RETURNED) == 0
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 1)}

    # Heard within the interval: back in contact.
    assert report(_entry("A1-001", voting_time(7, 6)), now=voting_time(7, 10)).accepted == 1
    assert _live(event, stations["A1-001"]).unreachable_since is None  # type: ignore[union-attr]
    assert _count(LiveEvent, kind=LiveEvent.Kind.RETURNED) == 1
    _assert_live_exact(event)


def test_a_refused_report_does_not_clear_unreachable(
    report: Callable[..., Any], silence_5: None, event: Any, stations: dict[str, PollingStation]
) -> None:
    report(_entry("A1-001", voting_time(7), "opened"), now=voting_time(7))
    services.stations_mark_unreachable(now=voting_time(7, 10))

    result = report(_entry("A1-001", voting_time(7, 11), "not_opened"), now=voting_time(7, 11))

    assert result.accepted == 0
    assert _live(event, stations["A1-001"]).unreachable_since == voting_time(7, 10)  # type: ignore[union-attr]


def test_only_events_whose_voting_is_under_way_are_checked(
    report: Callable[..., Any], admin: Any, silence_5: None, event: Any, stations: dict[str, PollingStation]
) -> None:
    day_before = VOTING_DAY - dt.timedelta(days=1)
    # The set-up round on the eve: stations open their devices for a test.
    report(_entry("A1-001", voting_time(10, day=day_before), "opened"), now=voting_time(10, day=day_before))

    assert services.stations_mark_unreachable(now=voting_time(12, day=day_before)) == 0
    assert (
        services.stations_mark_unreachable(now=voting_time(0, 0, 1, day=VOTING_DAY + dt.timedelta(days=1)))
        == 0
    )
    assert _live(event, stations["A1-001"]).unreachable_since is None  # type: ignore[union-attr]
    assert services.stations_mark_unreachable(now=voting_time(0, 0, 1)) == 1

    # An extended vote is watched on its second day too, and only its own stations are checked.
    extended = election_event_create(
        actor=admin,
        name="انتخابات تمدیدشده",
        voting_day=dt.date(2027, 4, 1),
        voting_ends_on=dt.date(2027, 4, 2),
        opens_on=dt.date(2027, 1, 1),
    )
    second_day = dt.date(2027, 4, 2)
    services.live_updates_apply(
        actor=admin,
        event=extended,
        entries=[_entry("B1-001", voting_time(9, day=second_day), "opened")],
        now=voting_time(9, day=second_day),
    )
    assert services.stations_mark_unreachable(now=voting_time(10, day=second_day)) == 1
    with unscoped():
        assert StationLive.objects.get(event=extended).unreachable_since == voting_time(10, day=second_day)


# --- tallies: repair and exactness under random updates --------------------------------------


def test_recounts_repair_damaged_tallies(
    admin: Any, report: Callable[..., Any], event: Any, checklist: list[ReadinessItem], world: World
) -> None:
    _upload(admin, event, GOOD_CSV)
    report(_entry("A1-001", voting_time(7), "opened"), _entry("B1-001", voting_time(7), "opened"))
    correct_readiness, correct_live = _kept_readiness(event), _kept_live(event)
    with unscoped():
        ReadinessTally.objects.filter(county=world.county_a1).update(done=40)
        LiveTally.objects.update(opened=9, closed=3)
    assert _kept_readiness(event) != correct_readiness

    assert services.readiness_tallies_recount(event=event) == 3
    assert services.live_tallies_recount(event=event) == 2

    assert (_kept_readiness(event), _kept_live(event)) == (correct_readiness, correct_live)


ACTORS = ("admin", "province_user", "county_user", "outsider")
STATION_CODES = ("A1-001", "A1-002", "A2-001", "B1-001", "B1-002")

readiness_set = st.tuples(
    st.just("set"),
    st.sampled_from(ACTORS),
    st.integers(0, 4),
    st.integers(0, 2),
    st.sampled_from(ItemStatus.values),
    st.sampled_from(["", "عکس"]),
)
readiness_file = st.tuples(
    st.just("upload"),
    st.sampled_from(ACTORS),
    st.lists(
        st.tuples(
            st.integers(0, 4),
            st.integers(0, 2),
            st.sampled_from(ItemStatus.values),
            st.sampled_from(["", "عکس"]),
        ),
        min_size=1,
        max_size=8,
    ),
)


def _covers(user: Any, station: PollingStation) -> bool:
    return bool(user.jurisdiction.covers(station.jurisdiction))


@hypothesis_settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(st.one_of(readiness_set, readiness_file), min_size=1, max_size=12))
def test_readiness_tallies_and_rollups_stay_exact_under_random_updates(
    request: pytest.FixtureRequest,
    event: Any,
    checklist: list[ReadinessItem],
    stations: dict[str, PollingStation],
    world: World,
    operations: list[Any],
) -> None:
    actors = {name: request.getfixturevalue(name) for name in ACTORS}
    by_index = [stations[code] for code in STATION_CODES]
    items = checklist[:3]
    with _rolled_back():
        expected: dict[tuple[int, int], tuple[str, str]] = {}  # (item, station) -> (status, evidence)
        for operation in operations:
            if operation[0] == "set":
                _kind, actor_name, s, i, status, evidence = operation
                actor, station, item = actors[actor_name], by_index[s], items[i]
                if not _covers(actor, station):
                    with pytest.raises(PermissionDenied):
                        services.station_readiness_set(
                            actor=actor, item=item, station=station, status=status, evidence=evidence
                        )
                    continue
                key = (item.pk, station.pk)
                if status == "not_started" and key not in expected:
                    # Setting a row that does not exist back to "not started" is tested on its own
                    # (test_not_started_on_a_station_without_a_row_...); here the file path says it.
                    _upload(
                        actor,
                        event,
                        f"station_code,item_code,status\n{station.code},{item.code},not_started\n",
                    )
                    continue
                services.station_readiness_set(
                    actor=actor, item=item, station=station, status=status, evidence=evidence
                )
                expected[key] = (status, evidence)
            else:
                _kind, actor_name, lines = operation
                actor = actors[actor_name]
                text = "station_code,item_code,status,evidence\n" + "".join(
                    f"{by_index[s].code},{items[i].code},{status},{evidence}\n"
                    for s, i, status, evidence in lines
                )
                pairs = [(i, s) for s, i, _status, _evidence in lines]
                refused = len(set(pairs)) < len(pairs) or not all(
                    _covers(actor, by_index[s]) for s, *_ in lines
                )
                if refused:
                    before = _snapshot_readiness(event)
                    with pytest.raises(ReadinessUploadRejectedError):
                        _upload(actor, event, text)
                    assert _snapshot_readiness(event) == before
                    continue
                _upload(actor, event, text)
                for s, i, status, evidence in lines:
                    key = (items[i].pk, by_index[s].pk)
                    if status == "not_started" and key not in expected:
                        continue
                    expected[key] = (status, evidence)
            assert _kept_readiness(event) == _counted_readiness(event)

        with unscoped():
            rows = {
                (row.item_id, row.station_id): (row.status, row.evidence)
                for row in StationReadiness.objects.filter(item__event=event)
            }
            assert not StationReadiness.objects.filter(status="done", verified_at__isnull=True).exists()
            assert (
                not StationReadiness.objects.filter(verified_at__isnull=False).exclude(status="done").exists()
            )
        assert rows == expected
        _assert_rollups_match_rows(actors, event, checklist, world)
        _assert_readiness_exact(event)


def _assert_rollups_match_rows(
    actors: dict[str, Any], event: Any, checklist: list[ReadinessItem], world: World
) -> None:
    """The roll-up numbers of the national, province and county views equal counts taken from the rows."""
    today = dt.date(2027, 2, 10)  # every item is due within the at-risk window
    with unscoped():
        station_area = {
            s.pk: (s.county.province_id, s.county_id) for s in PollingStation.objects.select_related("county")
        }
        rows = list(
            StationReadiness.objects.filter(item__event=event).values_list("item_id", "station_id", "status")
        )

    def expected_for(level: int, within: Callable[[tuple[int, int]], bool]) -> dict[int, Any]:
        areas: dict[int, Any] = {}
        for area in station_area.values():
            if within(area):
                areas.setdefault(area[level], {"stations": 0, "items": Counter()})["stations"] += 1
        for item_id, station_id, status in rows:
            area = station_area[station_id]
            if within(area):
                areas[area[level]]["items"][(item_id, status)] += 1
        return areas

    def check(rollup: Any, expected: dict[int, Any]) -> None:
        assert {area.area.pk for area in rollup.areas} <= set(expected) | {
            a.area.pk for a in rollup.areas if a.stations == 0
        }
        for area in rollup.areas:
            wanted = expected.get(area.area.pk, {"stations": 0, "items": Counter()})
            assert area.stations == wanted["stations"]
            for item in checklist:
                progress = area.items[item.pk]
                counts = wanted["items"]
                assert (progress.stations, progress.in_progress, progress.done, progress.failed) == (
                    wanted["stations"],
                    counts[(item.pk, "in_progress")],
                    counts[(item.pk, "done")],
                    counts[(item.pk, "failed")],
                )
                assert progress.not_started == wanted["stations"] - sum(
                    counts[(item.pk, status)] for status in ("in_progress", "done", "failed")
                )
            assert area.at_risk == sum(
                wanted["stations"] - wanted["items"][(item.pk, "done")] for item in checklist
            )
        percents = [area.overall.percent_done for area in rollup.areas]
        assert percents == sorted(percents)  # lagging first

    national = selectors.readiness_rollup_for(user=actors["admin"], event=event, today=today)
    check(national, expected_for(0, lambda area: True))
    assert {a.area.pk for a in national.areas} == {world.province_a.pk, world.province_b.pk}
    assert national.total is not None
    assert national.total.stations == 5
    for item in checklist:
        assert national.total.items[item.pk].done == sum(
            1 for i, _s, st_ in rows if i == item.pk and st_ == "done"
        )
    in_a = selectors.readiness_rollup_for(
        user=actors["admin"], event=event, province=world.province_a, today=today
    )
    check(in_a, expected_for(1, lambda area: area[0] == world.province_a.pk))
    province = selectors.readiness_rollup_for(user=actors["province_user"], event=event, today=today)
    check(province, expected_for(1, lambda area: area[0] == world.province_a.pk))
    county = selectors.readiness_rollup_for(user=actors["county_user"], event=event, today=today)
    check(county, expected_for(1, lambda area: area[1] == world.county_a1.pk))
    assert [a.area.pk for a in county.areas] == [world.county_a1.pk]


REPORTED_STATUSES = [
    *(None, None),  # heartbeats
    *("opened", "opened", "opened", "operating", "operating", "paused", "paused", "closed"),
    *("not_opened", "dancing"),  # never allowed
]
# Weighted towards moves that are allowed, so that most examples take stations through the day.
live_entry = st.tuples(
    st.sampled_from([0, 1, 2, 3, 4] * 3 + [5]),  # 5: an unknown station
    # Seconds from the clock: mostly a little later than the last report, some older, some too far ahead.
    st.one_of(st.integers(0, 100), st.integers(-600, 200)),
    st.sampled_from(REPORTED_STATUSES),
    st.sampled_from([True, True, True, False]),  # with a reason
)
live_batch = st.tuples(
    st.just("batch"),
    st.sampled_from(["admin", "admin", *ACTORS]),
    st.integers(0, 20),
    st.lists(live_entry, max_size=4),
)
live_mark = st.tuples(st.just("mark"), st.integers(0, 30))


@hypothesis_settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(st.one_of(live_batch, live_mark), min_size=4, max_size=24))
def test_live_tallies_stay_exact_under_random_reports_and_silences(
    request: pytest.FixtureRequest,
    event: Any,
    stations: dict[str, PollingStation],
    world: World,
    settings: Any,
    operations: list[Any],
) -> None:
    settings.LIVE_SILENCE_MINUTES = 10
    actors = {name: request.getfixturevalue(name) for name in ACTORS}
    codes = [*STATION_CODES, "ZZ-000"]
    with _rolled_back():
        clock = voting_time(7)
        for operation in operations:
            if operation[0] == "mark":
                clock += dt.timedelta(minutes=operation[1])
                watched = _count(StationLive, unreachable_since__isnull=True, status__in=WATCHED_STATUSES)
                silent = _count(
                    StationLive,
                    unreachable_since__isnull=True,
                    status__in=WATCHED_STATUSES,
                    last_seen_at__lt=clock - dt.timedelta(minutes=10),
                )
                assert services.stations_mark_unreachable(now=clock) == silent
                assert _count(StationLive, unreachable_since__isnull=True, status__in=WATCHED_STATUSES) == (
                    watched - silent
                )
            else:
                _kind, actor_name, advance, raw = operation
                clock += dt.timedelta(minutes=advance)
                entries = [
                    _entry(
                        codes[s], clock + dt.timedelta(seconds=offset), status, "کندی شبکه" if reason else ""
                    )
                    for s, offset, status, reason in raw
                ]
                audits = _audits(entity_type="readiness.StationLive")
                result = services.live_updates_apply(
                    actor=actors[actor_name], event=event, entries=entries, now=clock
                )
                assert result.accepted + len(result.errors) == len(entries)
                assert _audits(entity_type="readiness.StationLive") == audits + (1 if result.accepted else 0)
                for position in result.errors:
                    entry = entries[position]
                    late = entry.at > clock + dt.timedelta(seconds=settings.LIVE_CLOCK_SKEW_SECONDS)
                    foreign = entry.station_code == "ZZ-000" or not _covers(
                        actors[actor_name], stations[entry.station_code]
                    )
                    if foreign:
                        assert set(result.errors[position]) == {"station_code"}
                    elif late:
                        assert set(result.errors[position]) == {"at"}
            assert _kept_live(event) == _counted_live(event)

        counted = _counted_live(event)
        national = selectors.live_counts_for(user=actors["admin"], event=event)
        totals = [sum(values[n] for values in counted.values()) for n in range(len(LIVE_COLUMNS))]
        assert [getattr(national, column) for column in LIVE_COLUMNS] == totals
        assert national.unreachable == _count(StationLive, unreachable_since__isnull=False)
        assert len(selectors.live_unreachable_for(user=actors["admin"], event=event)) == national.unreachable
        for area in selectors.live_by_area_for(user=actors["admin"], event=event):
            wanted = [
                sum(values[n] for (province_id, _c), values in counted.items() if province_id == area["id"])
                for n in range(len(LIVE_COLUMNS))
            ]
            assert [getattr(area["counts"], column) for column in LIVE_COLUMNS] == wanted
        a1 = selectors.live_counts_for(user=actors["county_user"], event=event)
        assert [getattr(a1, column) for column in LIVE_COLUMNS] == list(
            counted.get((world.province_a.pk, world.county_a1.pk), (0, 0, 0, 0, 0))
        )
        _assert_live_exact(event)


# --- concurrency (PostgreSQL: row locks across real connections) ----------------------------


def _in_threads(*jobs: Callable[[], Any]) -> list[str]:
    """Run the jobs at once, each in its own thread (and so its own connection); say how each ended."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            job()
            outcomes.append("ok")
        except Exception as exc:  # pragma: no cover - reported by the callers' assertions
            outcomes.append(f"error: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _slow_tally_updates(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    """Pause after each write of the tallies, so that the other thread's batch overlaps this one."""
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith(("INSERT", "UPDATE")) and (
        "livetally" in sql.lower() or "readinesstally" in sql.lower()
    ):
        time.sleep(0.3)
    return result


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_for_one_county_keep_the_tally_exact(
    reference_data: None, admin: Any, county_user: Any, county_admin: Any, event: Any, world: World
) -> None:
    station_import(
        actor=admin,
        rows=parse_station_csv(
            "code,name,county_code\n" + "".join(f"A1-1{n:02d},شعبه {n},A1\n" for n in range(20))
        ),
        source="test",
    )
    codes = [f"A1-1{n:02d}" for n in range(20)]
    # Every station opened; then two senders report at once for the same county.
    services.live_updates_apply(
        actor=admin,
        event=event,
        entries=[_entry(c, voting_time(7), "opened") for c in codes],
        now=voting_time(7),
    )

    def first() -> None:
        with connection.execute_wrapper(_slow_tally_updates):
            services.live_updates_apply(
                actor=county_user,
                event=event,
                entries=[_entry(c, voting_time(8), "operating") for c in codes[:12]]
                + [_entry("A1-001", voting_time(8), "opened")],
                now=voting_time(8),
            )

    def second() -> None:
        with connection.execute_wrapper(_slow_tally_updates):
            services.live_updates_apply(
                actor=county_admin,
                event=event,
                entries=[_entry(c, voting_time(8), "closed") for c in codes[8:]]
                + [_entry("A1-002", voting_time(8), "opened")],
                now=voting_time(8),
            )

    assert _in_threads(first, second) == ["ok", "ok"]

    counted = _counted_live(event)
    assert _kept_live(event) == counted
    opened, operating, paused, closed, unreachable = counted[(world.province_a.pk, world.county_a1.pk)]
    # A1-001 and A1-002 opened; 20 stations each operating or closed, whichever order the locks gave.
    assert (opened, operating + closed, paused, unreachable) == (2, 20, 0, 0)
    assert closed >= 12
    _assert_chain_clean()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_two_counties_in_opposite_orders_both_succeed(
    reference_data: None, admin: Any, province_user: Any, province_admin: Any, event: Any, world: World
) -> None:
    """A province's senders may list its counties in any order: the tally locks must not deadlock."""
    station_import(
        actor=admin,
        rows=parse_station_csv("code,name,county_code\nA2-002,مدرسه,A2\nA1-101,مسجد,A1\nA2-101,سالن,A2\n"),
        source="test",
    )
    # Both counties' tallies exist already: only the updates of the batches below can overlap.
    services.live_updates_apply(
        actor=admin,
        event=event,
        entries=[_entry("A1-101", voting_time(6), "opened"), _entry("A2-101", voting_time(6), "opened")],
        now=voting_time(6),
    )

    def batch(actor: Any, first_code: str, second_code: str) -> Callable[[], None]:
        def send() -> None:
            with connection.execute_wrapper(_slow_tally_updates):
                result = services.live_updates_apply(
                    actor=actor,
                    event=event,
                    entries=[
                        _entry(first_code, voting_time(7), "opened"),
                        _entry(second_code, voting_time(7, 1), "opened"),
                    ],
                    now=voting_time(8),
                )
            assert result.errors == {}

        return send

    outcomes = _in_threads(
        batch(province_user, "A1-001", "A2-001"), batch(province_admin, "A2-002", "A1-002")
    )

    assert outcomes == ["ok", "ok"]
    assert _kept_live(event) == _counted_live(event)
    assert _kept_live(event) == {
        (world.province_a.pk, world.county_a1.pk): (3, 0, 0, 0, 0),
        (world.province_a.pk, world.county_a2.pk): (3, 0, 0, 0, 0),
    }


def _pause_after_locking_live_rows(seconds: float) -> Callable[..., Any]:
    """An execute wrapper that pauses after each locking read of the stations' live rows."""

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql.upper() and "stationlive" in sql.lower():
            time.sleep(seconds)
        return result

    return wrapper


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_the_same_first_report_sent_twice_at_once_is_taken_once(
    reference_data: None, county_user: Any, event: Any, world: World
) -> None:
    """A device that retries a batch still in flight: the station opens once, and neither request fails."""
    results: list[Any] = []

    def send() -> None:
        # Both senders read (and lock) before either writes, so both find no row for the station.
        with connection.execute_wrapper(_pause_after_locking_live_rows(0.3)):
            results.append(
                services.live_updates_apply(
                    actor=county_user,
                    event=event,
                    entries=[_entry("A1-001", voting_time(7), "opened")],
                    now=voting_time(7),
                )
            )

    assert _in_threads(send, send) == ["ok", "ok"]
    assert [r.accepted for r in results] == [1, 1]
    assert _count(StationLive) == 1
    assert _count(LiveEvent) == 1
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (1, 0, 0, 0, 0)}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_over_two_counties_in_opposite_orders_both_succeed(
    reference_data: None,
    admin: Any,
    national: Any,
    province_user: Any,
    province_admin: Any,
    event: Any,
    world: World,
) -> None:
    """Two operators of a province upload at once, their files listing the counties in opposite orders."""
    station_import(
        actor=admin,
        rows=parse_station_csv("code,name,county_code\nA2-002,مدرسه,A2\nA1-101,مسجد,A1\nA2-101,سالن,A2\n"),
        source="test",
    )
    services.readiness_items_create_defaults(actor=national, event=event, due_on=CHECKLIST_DUE)
    head = "station_code,item_code,status\n"
    # Both counties' tallies of the item exist already: only the two files' updates can overlap.
    _upload(admin, event, head + "A1-101,line-installed,done\nA2-101,line-installed,done\n")

    def upload(actor: Any, text: str) -> Callable[[], None]:
        def send() -> None:
            with connection.execute_wrapper(_slow_tally_updates):
                _upload(actor, event, head + text)

        return send

    outcomes = _in_threads(
        upload(province_user, "A1-001,line-installed,done\nA2-001,line-installed,done\n"),
        upload(province_admin, "A2-002,line-installed,done\nA1-002,line-installed,done\n"),
    )

    assert outcomes == ["ok", "ok"]
    assert _kept_readiness(event) == _counted_readiness(event)
    assert sorted(_kept_readiness(event).values()) == [(0, 3, 0), (0, 3, 0)]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_a_batch_never_holds_row_locks_while_it_waits_to_insert_first_rows(
    reference_data: None, admin: Any, event: Any, world: World, stations: dict[str, PollingStation]
) -> None:
    """Three batches in the first minutes of the day, crossing: none may wait for another in a cycle.

    B reads first: neither station has a row. X then opens `late` and ends. A reads next: `late` has a
    row now (A locks it), `early` has none. B inserts `early`'s row and wants `late`'s lock; A wants to
    insert `early` too, and so waits for B. Had A kept `late` locked meanwhile, each would wait for the
    other (a deadlock, one batch failing); A lets its locks go before inserting, and takes them again.
    """
    early, late = sorted(["A1-001", "A1-002"], key=lambda code: stations[code].pk)
    results: dict[str, Any] = {}

    def batch(name: str, delay: float, entries: list[LiveEntry], slow: bool) -> Callable[[], None]:
        def send() -> None:
            time.sleep(delay)
            with connection.execute_wrapper(_pause_after_locking_live_rows(1) if slow else _pass_through):
                results[name] = services.live_updates_apply(
                    actor=admin, event=event, entries=entries, now=voting_time(8)
                )

        return send

    outcomes = _in_threads(
        batch(
            "B",
            0,
            [_entry(early, voting_time(7, 1), "opened"), _entry(late, voting_time(7, 1), "opened")],
            True,
        ),
        batch("X", 0.3, [_entry(late, voting_time(7), "opened")], False),
        batch(
            "A",
            0.6,
            [_entry(late, voting_time(7, 2), "operating"), _entry(early, voting_time(7, 2), "opened")],
            True,
        ),
    )

    assert outcomes == ["ok", "ok", "ok"]
    assert {name: (r.accepted, r.errors) for name, r in results.items()} == {
        "B": (2, {}),
        "X": (1, {}),
        "A": (2, {}),
    }
    early_row, late_row = _live(event, stations[early]), _live(event, stations[late])
    assert early_row is not None and late_row is not None
    assert (early_row.status, late_row.status) == ("opened", "operating")
    assert _count(LiveEvent) == 3  # opened twice, operating once: the repeated 'opened' are heartbeats
    assert _kept_live(event) == _counted_live(event)
    assert _kept_live(event) == {(world.province_a.pk, world.county_a1.pk): (1, 1, 0, 0, 0)}
    _assert_chain_clean()


def _pass_through(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    return execute(sql, params, many, context)
