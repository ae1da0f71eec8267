"""Readiness and live-status reads: scoping, roll-up numbers and order, filters, and query counts that
do not grow with the number of stations."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from amanat.elections.services import election_event_create
from amanat.geography.models import PollingStation
from amanat.geography.services import station_generate
from amanat.readiness import selectors, services
from amanat.readiness.models import ReadinessItem
from amanat.readiness.services import LiveEntry
from amanat.scoping import unscoped
from conftest import VOTING_DAY, World

from .conftest import CHECKLIST_DUE, voting_time

pytestmark = pytest.mark.usefixtures("english")

# --- the checklist ---------------------------------------------------------------------------


def test_everyone_reads_the_checklist_in_order_and_retired_items_on_request(
    national: Any, outsider: Any, county_viewer: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    services.readiness_item_update(
        actor=national, item=checklist[1], title=checklist[1].title, due_on=CHECKLIST_DUE, is_active=False
    )

    for user in (outsider, county_viewer):
        active = list(selectors.readiness_item_list_for(user=user, event=event))
        assert [i.pk for i in active] == [i.pk for i in checklist if i.pk != checklist[1].pk]
        everything = selectors.readiness_item_list_for(user=user, event=event, active_only=False)
        assert [i.pk for i in everything] == [i.pk for i in checklist]
    other = election_event_create(actor=national, name="دیگر", voting_day=dt.date(2027, 6, 1))
    assert list(selectors.readiness_item_list_for(user=outsider, event=other)) == []


def test_an_item_is_read_by_id_and_anything_else_is_404(
    outsider: Any, item: ReadinessItem, checklist: list[ReadinessItem]
) -> None:
    assert selectors.readiness_item_get_for(user=outsider, item_id=str(item.pk)) == item
    for bad in (None, "", "abc", "1e3", 10**30, -1, max(i.pk for i in checklist) + 1):
        with pytest.raises(Http404):
            selectors.readiness_item_get_for(user=outsider, item_id=bad)


def test_anonymous_callers_are_refused(event: Any, checklist: list[ReadinessItem]) -> None:
    anonymous = AnonymousUser()
    with pytest.raises(PermissionDenied):
        selectors.readiness_item_list_for(user=anonymous, event=event)
    with pytest.raises(PermissionDenied):
        selectors.readiness_rollup_for(user=anonymous, event=event)
    with pytest.raises(PermissionDenied):
        selectors.live_counts_for(user=anonymous, event=event)
    with pytest.raises(PermissionDenied):
        selectors.live_by_area_for(user=anonymous, event=event)


# --- roll-ups --------------------------------------------------------------------------------


@pytest.fixture
def recorded(admin: Any, checklist: list[ReadinessItem], stations: dict[str, PollingStation]) -> None:
    """Done per county: A1 2 of 16 station-items (12.5%), A2 2 of 8 (25%), B1 0 of 16.

    Province A: 4 of 24; province B: 0 of 16.
    """
    for code, index, status in [
        ("A1-001", 0, "done"),
        ("A1-001", 1, "done"),
        ("A1-002", 0, "in_progress"),
        ("A2-001", 0, "done"),
        ("A2-001", 1, "failed"),
        ("A2-001", 2, "done"),
        ("B1-001", 0, "failed"),
        ("B1-002", 3, "in_progress"),
    ]:
        services.station_readiness_set(
            actor=admin, item=checklist[index], station=stations[code], status=status
        )


def _by_area(rollup: selectors.Rollup) -> dict[str, Any]:
    return {area.area.code: area for area in rollup.areas}


AT_RISK_TODAY = CHECKLIST_DUE - dt.timedelta(days=14)  # every item due within the 14-day window


def test_the_national_rollup_is_by_province_lagging_first(
    national: Any, event: Any, checklist: list[ReadinessItem], recorded: None
) -> None:
    rollup = selectors.readiness_rollup_for(user=national, event=event, today=AT_RISK_TODAY)

    assert [i.pk for i in rollup.items] == [i.pk for i in checklist]
    assert [area.area.code for area in rollup.areas] == ["B", "A"]
    a, b = _by_area(rollup)["A"], _by_area(rollup)["B"]
    assert (a.stations, b.stations) == (3, 2)
    first, second = checklist[0].pk, checklist[1].pk
    assert (a.items[first].in_progress, a.items[first].done, a.items[first].failed) == (1, 2, 0)
    assert (a.items[first].not_started, a.items[first].percent_done) == (0, 66.7)
    assert (a.items[second].done, a.items[second].failed, a.items[second].not_started) == (1, 1, 1)
    assert (b.items[first].failed, b.items[first].not_started, b.items[first].percent_done) == (1, 1, 0.0)
    assert (a.overall.stations, a.overall.done, a.overall.in_progress, a.overall.failed) == (24, 4, 1, 1)
    assert a.overall.percent_done == 16.7
    assert (b.overall.stations, b.overall.done, b.overall.percent_done) == (16, 0, 0.0)
    assert (a.at_risk, b.at_risk) == (24 - 4, 16)
    assert rollup.total is not None
    assert rollup.total.stations == 5
    assert (rollup.total.items[first].done, rollup.total.items[first].failed) == (2, 1)
    assert (rollup.total.items[first].in_progress, rollup.total.items[first].not_started) == (1, 1)
    assert rollup.total.at_risk == 36
    assert [i.pk for i in rollup.at_risk_items] == [i.pk for i in checklist]


def test_a_province_view_is_by_county_lagging_first(
    national: Any,
    province_user: Any,
    event: Any,
    checklist: list[ReadinessItem],
    recorded: None,
    world: World,
) -> None:
    chosen = selectors.readiness_rollup_for(
        user=national, event=event, province=world.province_a, today=AT_RISK_TODAY
    )
    own = selectors.readiness_rollup_for(user=province_user, event=event, today=AT_RISK_TODAY)

    for rollup in (chosen, own):
        assert [area.area.code for area in rollup.areas] == ["A1", "A2"]
        a1, a2 = _by_area(rollup)["A1"], _by_area(rollup)["A2"]
        assert (a1.stations, a1.overall.done, a1.overall.percent_done) == (2, 2, 12.5)
        assert (a2.stations, a2.overall.done, a2.overall.percent_done) == (1, 2, 25.0)
        assert (a1.at_risk, a2.at_risk) == (14, 6)
        assert rollup.total is not None
        assert (rollup.total.stations, rollup.total.overall.done, rollup.total.at_risk) == (3, 4, 20)


def test_a_county_sees_itself_and_nothing_of_other_counties(
    county_user: Any, outsider: Any, event: Any, recorded: None, world: World
) -> None:
    rollup = selectors.readiness_rollup_for(user=county_user, event=event)
    assert [area.area.code for area in rollup.areas] == ["A1"]
    assert rollup.total is not None
    assert (rollup.total.stations, rollup.total.overall.done) == (2, 2)

    theirs = selectors.readiness_rollup_for(user=outsider, event=event)
    assert [area.area.code for area in theirs.areas] == ["B1"]
    assert theirs.total is not None
    assert (theirs.total.stations, theirs.total.overall.done, theirs.total.overall.failed) == (2, 0, 1)

    # Naming another province shows nothing of it.
    for user, province in ((outsider, world.province_a), (county_user, world.province_b)):
        foreign = selectors.readiness_rollup_for(user=user, event=event, province=province)
        assert (foreign.areas, foreign.total) == ([], None)


def test_ties_are_ordered_by_name(
    national: Any, event: Any, checklist: list[ReadinessItem], world: World
) -> None:
    rollup = selectors.readiness_rollup_for(user=national, event=event, province=world.province_a)
    assert [area.area.name for area in rollup.areas] == sorted([world.county_a1.name, world.county_a2.name])
    assert all(area.overall.percent_done == 0.0 for area in rollup.areas)


def test_no_checklist_means_an_empty_rollup(national: Any, county_user: Any, event: Any) -> None:
    for user in (national, county_user):
        rollup = selectors.readiness_rollup_for(user=user, event=event)
        assert (rollup.items, rollup.areas, rollup.total, rollup.at_risk_items) == ([], [], None, [])


def test_retired_items_leave_the_rollup(
    national: Any, event: Any, checklist: list[ReadinessItem], recorded: None
) -> None:
    services.readiness_item_update(
        actor=national, item=checklist[0], title=checklist[0].title, due_on=CHECKLIST_DUE, is_active=False
    )

    rollup = selectors.readiness_rollup_for(user=national, event=event, today=AT_RISK_TODAY)

    assert checklist[0].pk not in [i.pk for i in rollup.items]
    assert checklist[0].pk not in rollup.areas[0].items
    a = _by_area(rollup)["A"]
    assert (a.overall.stations, a.overall.done, a.at_risk) == (21, 2, 19)


@pytest.mark.parametrize(
    ("days", "today", "at_risk_codes"),
    [
        (14, CHECKLIST_DUE - dt.timedelta(days=15), []),
        (14, CHECKLIST_DUE - dt.timedelta(days=14), ["line-installed", "line-tested"]),
        (3, CHECKLIST_DUE + dt.timedelta(days=3), ["line-installed", "line-tested"]),  # overdue
        (3, CHECKLIST_DUE - dt.timedelta(days=4), []),
        (3, CHECKLIST_DUE - dt.timedelta(days=3), ["line-installed", "line-tested"]),
        (3, dt.date(2027, 2, 26), ["line-installed", "line-tested", "late-item"]),
    ],
)
def test_at_risk_counts_items_due_within_the_window_not_done(
    national: Any,
    settings: Any,
    event: Any,
    stations: dict[str, PollingStation],
    days: int,
    today: dt.date,
    at_risk_codes: list[str],
) -> None:
    settings.READINESS_AT_RISK_DAYS = days
    line_installed = services.readiness_item_create(
        actor=national, event=event, code="line-installed", title="خط", due_on=CHECKLIST_DUE
    )
    services.readiness_item_create(
        actor=national, event=event, code="line-tested", title="آزمون", due_on=CHECKLIST_DUE
    )
    services.readiness_item_create(
        actor=national, event=event, code="late-item", title="دیر", due_on=dt.date(2027, 3, 1)
    )
    for code in ("A1-001", "A2-001", "B1-001"):
        services.station_readiness_set(
            actor=national, item=line_installed, station=stations[code], status="done"
        )

    rollup = selectors.readiness_rollup_for(user=national, event=event, today=today)

    assert [item.code for item in rollup.at_risk_items] == at_risk_codes
    not_done = {
        "line-installed": {"A": 1, "B": 1},
        "line-tested": {"A": 3, "B": 2},
        "late-item": {"A": 3, "B": 2},
    }
    for code in ("A", "B"):
        assert _by_area(rollup)[code].at_risk == sum(not_done[c][code] for c in at_risk_codes)


# --- one county's stations on one item --------------------------------------------------------


def test_station_list_filters_by_state_not_started_included(
    admin: Any,
    county_user: Any,
    event: Any,
    checklist: list[ReadinessItem],
    recorded: None,
    stations: dict[str, PollingStation],
    world: World,
) -> None:
    # A row set back to "not started" counts as not started, like a station with no row.
    services.station_readiness_set(
        actor=admin, item=checklist[1], station=stations["A1-002"], status="in_progress"
    )
    services.station_readiness_set(
        actor=admin, item=checklist[1], station=stations["A1-002"], status="not_started"
    )

    def listed(item: ReadinessItem, status: str = "") -> list[tuple[str, str]]:
        stations: Any = selectors.station_readiness_list_for(  # annotated with item_status
            user=county_user, event=event, county=world.county_a1, item=item, status=status
        )
        return [(station.code, station.item_status) for station in stations]

    assert listed(checklist[0]) == [("A1-001", "done"), ("A1-002", "in_progress")]
    assert listed(checklist[0], "done") == [("A1-001", "done")]
    assert listed(checklist[0], "in_progress") == [("A1-002", "in_progress")]
    assert listed(checklist[0], "failed") == []
    assert listed(checklist[0], "not_started") == []
    assert listed(checklist[1], "not_started") == [("A1-002", "not_started")]
    assert listed(checklist[1]) == [("A1-001", "done"), ("A1-002", "not_started")]
    assert listed(checklist[4], "not_started") == [("A1-001", "not_started"), ("A1-002", "not_started")]
    assert listed(checklist[0], "bogus") == listed(checklist[0])


def test_station_list_of_another_county_is_empty(
    county_user: Any, outsider: Any, event: Any, item: ReadinessItem, recorded: None, world: World
) -> None:
    assert (
        list(
            selectors.station_readiness_list_for(
                user=outsider, event=event, county=world.county_a1, item=item
            )
        )
        == []
    )
    assert (
        list(
            selectors.station_readiness_list_for(
                user=county_user, event=event, county=world.county_b1, item=item
            )
        )
        == []
    )
    assert (
        list(
            selectors.station_readiness_list_for(
                user=county_user, event=event, county=world.county_a2, item=item
            )
        )
        == []
    )


def test_station_list_is_one_query_however_many_stations(
    admin: Any, national: Any, event: Any, item: ReadinessItem, world: World
) -> None:
    station_generate(actor=admin, total=300, seed=7)
    services.readiness_stations_recount(event=event)
    with unscoped():
        codes = list(PollingStation.objects.filter(county=world.county_a1).values_list("code", flat=True))
    services.readiness_upload(
        actor=admin,
        event=event,
        rows=services.parse_readiness_csv(
            "station_code,item_code,status\n" + "".join(f"{code},{item.code},done\n" for code in codes[::2])
        ),
        source="test",
    )

    with CaptureQueriesContext(connection) as queries:
        listed = list(
            selectors.station_readiness_list_for(
                user=national, event=event, county=world.county_a1, item=item, status="not_started"
            )
        )

    assert len(queries) == 1
    assert len(listed) == len(codes) - len(codes[::2])


def test_one_stations_checklist(
    county_user: Any,
    outsider: Any,
    event: Any,
    checklist: list[ReadinessItem],
    recorded: None,
    stations: dict[str, PollingStation],
) -> None:
    rows = selectors.station_readiness_for(user=county_user, event=event, station=stations["A1-001"])

    assert [item.pk for item, _row in rows] == [i.pk for i in checklist]
    assert [row.status if row else None for _item, row in rows] == ["done", "done"] + [None] * 6
    assert rows[0][1].verified_by.username == "admin"
    # Another county's station: its rows are not shown.
    foreign = selectors.station_readiness_for(user=outsider, event=event, station=stations["A1-001"])
    assert [row for _item, row in foreign] == [None] * 8


# --- voting day ------------------------------------------------------------------------------


@pytest.fixture
def voting(report: Callable[..., Any], settings: Any, event: Any, checklist: list[ReadinessItem]) -> None:
    """By 07:40 with a 10-minute silence: A1-001 operating and silent since 07:10; A1-002 paused and heard
    at 07:35; A2-001 opened, silent since 07:05; B1-001 closed; B1-002 opened, silent since 07:00."""
    settings.LIVE_SILENCE_MINUTES = 10
    result = report(
        LiveEntry("A1-001", voting_time(7), "opened"),
        LiveEntry("A1-001", voting_time(7, 10), "operating"),
        LiveEntry("A1-002", voting_time(7), "opened"),
        LiveEntry("A1-002", voting_time(7, 20), "paused", reason="قطعی برق"),
        LiveEntry("A1-002", voting_time(7, 35)),
        LiveEntry("A2-001", voting_time(7, 5), "opened"),
        LiveEntry("B1-001", voting_time(7), "opened"),
        LiveEntry("B1-001", voting_time(7, 30), "closed"),
        LiveEntry("B1-002", voting_time(7), "opened"),
        now=voting_time(7, 35),
    )
    assert result.errors == {}
    assert services.stations_mark_unreachable(now=voting_time(7, 40)) == 3


def _counts(counts: selectors.LiveCounts) -> tuple[int, ...]:
    return (
        counts.stations,
        counts.not_opened,
        counts.opened,
        counts.operating,
        counts.paused,
        counts.closed,
        counts.unreachable,
    )


def test_live_counts_within_each_jurisdiction(
    national: Any, province_user: Any, county_user: Any, outsider: Any, event: Any, voting: None, world: World
) -> None:
    assert _counts(selectors.live_counts_for(user=national, event=event)) == (5, 0, 2, 1, 1, 1, 3)
    assert _counts(selectors.live_counts_for(user=national, event=event, county=world.county_a2)) == (
        1,
        0,
        1,
        0,
        0,
        0,
        1,
    )
    assert _counts(selectors.live_counts_for(user=province_user, event=event)) == (3, 0, 1, 1, 1, 0, 2)
    assert _counts(selectors.live_counts_for(user=county_user, event=event)) == (2, 0, 0, 1, 1, 0, 1)
    assert _counts(selectors.live_counts_for(user=outsider, event=event)) == (2, 0, 1, 0, 0, 1, 1)
    # Another county's numbers: nothing.
    assert _counts(selectors.live_counts_for(user=outsider, event=event, county=world.county_a1)) == (0,) * 7
    assert (
        _counts(selectors.live_counts_for(user=province_user, event=event, county=world.county_b1))
        == (0,) * 7
    )


def test_not_opened_counts_stations_never_heard_from(
    report: Callable[..., Any], national: Any, event: Any, checklist: list[ReadinessItem]
) -> None:
    report(LiveEntry("A1-001", voting_time(7), "opened"), LiveEntry("A2-001", voting_time(7)))

    counts = selectors.live_counts_for(user=national, event=event)

    assert (counts.stations, counts.opened, counts.not_opened) == (5, 1, 4)


def test_live_counts_know_the_stations_without_a_readiness_checklist(
    report: Callable[..., Any], national: Any, event: Any
) -> None:
    """An event may be watched on voting day without a readiness checklist: not opened is still right."""
    report(LiveEntry("A1-001", voting_time(7), "opened"))

    counts = selectors.live_counts_for(user=national, event=event)

    assert (counts.stations, counts.opened, counts.not_opened) == (5, 1, 4)


def test_live_by_area_most_unreachable_first(
    national: Any, province_user: Any, county_user: Any, outsider: Any, event: Any, voting: None, world: World
) -> None:
    national_areas = selectors.live_by_area_for(user=national, event=event)
    assert [(a["id"], a["name"], _counts(a["counts"])) for a in national_areas] == [
        (world.province_a.pk, world.province_a.name, (3, 0, 1, 1, 1, 0, 2)),
        (world.province_b.pk, world.province_b.name, (2, 0, 1, 0, 0, 1, 1)),
    ]
    # Equal unreachable counts: by name.
    assert [
        (a["id"], _counts(a["counts"])) for a in selectors.live_by_area_for(user=province_user, event=event)
    ] == [
        (world.county_a1.pk, (2, 0, 0, 1, 1, 0, 1)),
        (world.county_a2.pk, (1, 0, 1, 0, 0, 0, 1)),
    ]
    assert [a["id"] for a in selectors.live_by_area_for(user=county_user, event=event)] == [
        world.county_a1.pk
    ]
    assert [a["id"] for a in selectors.live_by_area_for(user=outsider, event=event)] == [world.county_b1.pk]

    # B1 becomes the most unreachable county of the country.
    services.live_updates_apply(
        actor=national,
        event=event,
        entries=[LiveEntry("A1-001", voting_time(7, 50)), LiveEntry("A2-001", voting_time(7, 50))],
        now=voting_time(7, 50),
    )
    assert [a["id"] for a in selectors.live_by_area_for(user=national, event=event)] == [
        world.province_b.pk,
        world.province_a.pk,
    ]


def test_unreachable_list_longest_silent_first_within_the_jurisdiction(
    national: Any, province_user: Any, county_user: Any, outsider: Any, event: Any, voting: None
) -> None:
    def codes(user: Any) -> list[str]:
        return [row.station.code for row in selectors.live_unreachable_for(user=user, event=event)]

    assert codes(national) == ["B1-002", "A2-001", "A1-001"]
    assert codes(province_user) == ["A2-001", "A1-001"]
    assert codes(county_user) == ["A1-001"]
    assert codes(outsider) == ["B1-002"]
    first = selectors.live_unreachable_for(user=national, event=event)[0]
    assert (first.unreachable_since, first.last_seen_at, first.county.code) == (
        voting_time(7, 40),
        voting_time(7),
        "B1",
    )


def test_timeline_newest_first_within_the_jurisdiction(
    national: Any, county_user: Any, outsider: Any, event: Any, voting: None
) -> None:
    def lines(user: Any, since: dt.datetime | None = None) -> list[tuple[str, str, str, dt.datetime]]:
        return [
            (e.station.code, e.kind, e.status, e.at)
            for e in selectors.live_timeline_for(user=user, event=event, since=since)
        ]

    assert lines(county_user) == [
        ("A1-001", "unreachable", "operating", voting_time(7, 40)),
        ("A1-002", "status", "paused", voting_time(7, 20)),
        ("A1-001", "status", "operating", voting_time(7, 10)),
        ("A1-002", "status", "opened", voting_time(7)),
        ("A1-001", "status", "opened", voting_time(7)),
    ]
    assert lines(outsider, since=voting_time(7)) == [
        ("B1-002", "unreachable", "opened", voting_time(7, 40)),
        ("B1-001", "status", "closed", voting_time(7, 30)),
    ]
    everything = lines(national)
    assert len(everything) == 11
    assert [at for *_rest, at in everything] == sorted((at for *_rest, at in everything), reverse=True)
    assert lines(national, since=voting_time(7, 40)) == []
    other = election_event_create(actor=national, name="دیگر", voting_day=VOTING_DAY)
    assert list(selectors.live_timeline_for(user=national, event=other)) == []


def test_timeline_is_one_query(national: Any, event: Any, voting: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        entries = list(selectors.live_timeline_for(user=national, event=event))
        names = [(e.station.code, e.county.name) for e in entries]
    assert len(names) == 11
    assert len(queries) == 1


# --- query counts do not grow with the stations -----------------------------------------------


def _queries(read: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        read()
    return len(queries)


def test_rollups_and_live_pages_read_the_same_queries_for_300_stations(
    admin: Any,
    national: Any,
    province_user: Any,
    county_user: Any,
    event: Any,
    checklist: list[ReadinessItem],
    recorded: None,
    voting: None,
    world: World,
) -> None:
    reads: dict[str, Callable[[], Any]] = {
        "national rollup": lambda: selectors.readiness_rollup_for(user=national, event=event),
        "province A rollup": lambda: selectors.readiness_rollup_for(
            user=national, event=event, province=world.province_a
        ),
        "province rollup": lambda: selectors.readiness_rollup_for(user=province_user, event=event),
        "county rollup": lambda: selectors.readiness_rollup_for(user=county_user, event=event),
        "national live": lambda: selectors.live_by_area_for(user=national, event=event),
        "province live": lambda: selectors.live_by_area_for(user=province_user, event=event),
        "live counts": lambda: selectors.live_counts_for(user=province_user, event=event),
    }
    small = {name: _queries(read) for name, read in reads.items()}

    station_generate(actor=admin, total=300, seed=1405)
    assert services.readiness_stations_recount(event=event) == 305
    with unscoped():
        generated = list(PollingStation.objects.filter(is_synthetic=True).values_list("code", flat=True))
    assert len(generated) == 300
    services.readiness_upload(
        actor=admin,
        event=event,
        rows=services.parse_readiness_csv(
            "station_code,item_code,status\n"
            + "".join(
                f"{code},{checklist[n % 3].code},{('done', 'in_progress', 'failed')[n % 3]}\n"
                for n, code in enumerate(generated)
            )
        ),
        source="synthetic",
    )
    services.live_updates_apply(
        actor=admin,
        event=event,
        entries=[LiveEntry(code, voting_time(7, 45), "opened") for code in generated[::2]],
        now=voting_time(7, 45),
    )
    large = {name: _queries(read) for name, read in reads.items()}

    assert large == small
    rollup = selectors.readiness_rollup_for(user=national, event=event)
    assert rollup.total is not None
    assert rollup.total.stations == 305
    assert rollup.total.items[checklist[0].pk].done == 100 + 2
    live = selectors.live_counts_for(user=national, event=event)
    assert (live.stations, live.opened) == (305, 150 + 2)
    assert (
        sum(area["counts"].stations for area in selectors.live_by_area_for(user=national, event=event)) == 305
    )
