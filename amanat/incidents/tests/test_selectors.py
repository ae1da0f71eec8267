"""Incident reads: everything scoped to the caller's jurisdiction (404 beyond it), queues, filters, duplicate
suggestions and the figures (counts, median handling time, share within deadline)."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.http import Http404, QueryDict

from amanat.incidents import selectors, services
from amanat.incidents.models import Incident, IncidentState
from amanat.incidents.selectors import IncidentFilters
from amanat.scoping import scoped_to
from conftest import World

from .conftest import evidence_upload

S = IncidentState
NOW = dt.datetime(2027, 3, 5, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def spread(
    file_report: Callable[..., Incident], county_user: Any, province_user: Any, outsider: Any
) -> dict[str, Incident]:
    """A case in each county: A1 (by the county member), A2 (by the province chair), B1 (by the outsider)."""
    return {
        "A1": file_report(now=NOW, evidence=[evidence_upload()]),
        "A2": file_report(actor=province_user, station_code="A2-001", now=NOW + HOUR),
        "B1": file_report(actor=outsider, station_code="B1-001", now=NOW + 2 * HOUR),
    }


def test_each_user_lists_only_the_cases_in_reach(
    spread: dict[str, Incident],
    county_user: Any,
    county_viewer: Any,
    province_user: Any,
    outsider: Any,
    national: Any,
    auditor: Any,
) -> None:
    seen = {
        "county": county_user,
        "viewer": county_viewer,
        "province": province_user,
        "outsider": outsider,
        "national": national,
        "auditor": auditor,
    }
    expected = {
        "county": ["A1"],
        "viewer": ["A1"],
        "province": ["A2", "A1"],  # newest first
        "outsider": ["B1"],
        "national": ["B1", "A2", "A1"],
        "auditor": ["B1", "A2", "A1"],
    }
    for name, user in seen.items():
        listed = list(selectors.incident_list_for(user=user))
        assert listed == [spread[code] for code in expected[name]], name
        counts = selectors.incident_counts_for(user=user)
        assert counts["open"] == len(expected[name]), name


def test_a_case_beyond_the_jurisdiction_is_404_like_a_missing_one(
    spread: dict[str, Incident], county_user: Any, outsider: Any
) -> None:
    a1 = spread["A1"]
    evidence = selectors.incident_evidence_for(user=county_user, incident=a1).get()
    for pk in (a1.pk, spread["A2"].pk, 999_999, "abc", "", None, 10**30):
        with pytest.raises(Http404):
            selectors.incident_get_for(user=outsider if pk == a1.pk else county_user, incident_id=pk)
    with pytest.raises(Http404):
        selectors.incident_timeline_for(user=outsider, incident=a1)
    with pytest.raises(Http404):
        selectors.incident_evidence_for(user=outsider, incident=a1)
    with pytest.raises(Http404):
        selectors.incident_evidence_get_for(user=outsider, evidence_id=evidence.pk)
    with pytest.raises(Http404):
        selectors.incident_evidence_get_for(user=county_user, evidence_id="x")
    assert selectors.incident_evidence_get_for(user=county_user, evidence_id=str(evidence.pk)) == evidence
    assert selectors.incident_get_for(user=county_user, incident_id=str(a1.pk)) == a1
    assert list(selectors.incident_merged_reports_for(user=outsider, incident=a1)) == []
    assert selectors.incident_actions_for(user=outsider, incident=a1) == []
    assert selectors.incident_duplicates_for(user=outsider, incident=a1) == []


def test_queues_hold_the_open_cases_of_the_handler_and_their_organisation(
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    county_user: Any,
    county_admin: Any,
    province_user: Any,
    world: World,
) -> None:
    sooner = case_in(S.ASSIGNED, severity="critical")
    later = case_in(S.IN_PROGRESS, severity="low")
    mine = services.incident_assign(
        actor=province_user,
        incident=case_in(S.TRIAGED, severity="medium"),
        organisation=world.org_a1,
        assignee=county_user,
    )
    case_in(S.CLOSED)  # done: in nobody's queue
    case_in(S.TRIAGED)  # not assigned
    provincial = services.incident_assign(
        actor=province_user, incident=case_in(S.TRIAGED), organisation=world.org_a
    )
    # Earliest deadline first.
    assert list(selectors.incident_queue_for(user=county_user)) == [sooner, mine, later]
    assert list(selectors.incident_queue_for(user=county_user, mine_only=True)) == [mine]
    assert list(selectors.incident_queue_for(user=county_admin)) == [sooner, mine, later]  # also org_a1
    assert list(selectors.incident_queue_for(user=province_user)) == [provincial]


def test_the_moderation_queue_holds_public_reports_in_reach(
    file_public: Callable[..., Incident],
    county_user: Any,
    outsider: Any,
    province_user: Any,
    world: World,
) -> None:
    first = file_public(now=NOW)
    second = file_public(now=NOW + HOUR)
    elsewhere = file_public(county=world.county_b1, station_code="B1-002", now=NOW)
    assert list(selectors.incident_moderation_queue_for(user=county_user)) == [first, second]
    assert list(selectors.incident_moderation_queue_for(user=outsider)) == [elsewhere]
    services.incident_moderate(actor=province_user, incident=first)
    assert list(selectors.incident_moderation_queue_for(user=county_user)) == [second]
    counts = selectors.incident_counts_for(user=county_user)
    assert (counts["awaiting_moderation"], counts["open"]) == (1, 2)


def test_filters_narrow_the_list(
    file_report: Callable[..., Incident], case_in: Callable[..., Incident], province_user: Any, world: World
) -> None:
    new = file_report(now=NOW)
    critical = file_report(
        actor=province_user, station_code="A2-001", severity="critical", now=NOW + 24 * HOUR
    )
    outage = file_report(category_code="outage", now=NOW + 48 * HOUR)
    closed = case_in(S.CLOSED)

    def listed(**params: str) -> set[Incident]:
        query = QueryDict(mutable=True)
        query.update(params)
        filters = IncidentFilters.from_params(query)
        return set(selectors.incident_list_for(user=province_user, filters=filters, now=NOW + 49 * HOUR))

    everything = {new, critical, outage, closed}
    assert listed() == everything
    assert listed(state="closed") == {closed}
    assert listed(state="open") == {new, critical, outage}
    assert listed(state="nonsense") == everything  # a value that does not parse is ignored
    assert listed(category="outage") == {outage}
    assert listed(severity="critical") == {critical}
    assert listed(county=str(world.county_a2.pk)) == {critical}
    assert listed(county="x", province=str(world.province_a.pk)) == everything
    assert listed(overdue="1") == {new, critical}  # the outage is within its deadline, the closed case done
    assert listed(channel="web") == everything
    assert listed(**{"from": "2027-03-06", "to": "2027-03-06"}) == {critical}
    assert listed(**{"from": "not a date"}) == everything
    assert listed(q="پول") == {new, critical, outage, closed}  # the default description
    assert listed(q="پول", severity="critical") == {critical}


def _handled(incident: Incident, *, actor: Any, organisation: Any, at: dt.datetime) -> Incident:
    """Triage, assign, start and resolve a case at one moment."""
    incident = services.incident_triage(actor=actor, incident=incident, now=at)
    incident = services.incident_assign(actor=actor, incident=incident, organisation=organisation, now=at)
    incident = services.incident_start(actor=actor, incident=incident, now=at)
    return services.incident_resolve(actor=actor, incident=incident, resolution="انجام شد", now=at)


def test_figures_count_the_median_handling_time_and_the_share_within_deadline(
    file_report: Callable[..., Incident],
    county_user: Any,
    province_user: Any,
    outsider: Any,
    national: Any,
    world: World,
) -> None:
    # Vote buying (high): 8 hours to resolve.
    quick = _handled(file_report(now=NOW), actor=county_user, organisation=world.org_a1, at=NOW + 2 * HOUR)
    services.incident_close(
        actor=province_user, incident=quick, now=NOW + 3 * HOUR
    )  # closing is not handling
    _handled(file_report(now=NOW), actor=county_user, organisation=world.org_a1, at=NOW + 10 * HOUR)  # late
    open_case = file_report(now=NOW)
    rejected = file_report(actor=province_user, station_code="A2-001", category_code="intimidation", now=NOW)
    services.incident_reject(actor=province_user, incident=rejected, reason="بی‌پایه", now=NOW + 4 * HOUR)
    file_report(actor=outsider, station_code="B1-001", now=NOW)  # another province: not in reach

    figures = selectors.incident_figures_for(user=province_user, now=NOW + 12 * HOUR)
    overall = figures.overall
    assert (overall.total, overall.open, overall.overdue, overall.done, overall.within_deadline) == (
        4,
        1,
        1,
        3,
        2,
    )
    assert overall.median_hours == 4.0  # of 2, 10 and 4 hours
    assert overall.share_within_deadline == 66.7
    by_category = {g.key: g for g in figures.by_category}
    vote_buying, intimidation = (by_category[c.category_id] for c in (open_case, rejected))
    assert (vote_buying.total, vote_buying.done, vote_buying.median_hours) == (3, 2, 6.0)
    assert vote_buying.share_within_deadline == 50.0
    assert (intimidation.total, intimidation.median_hours, intimidation.share_within_deadline) == (
        1,
        4.0,
        100.0,
    )
    assert [(g.key, g.total) for g in figures.by_county] == [(world.county_a1.pk, 3), (world.county_a2.pk, 1)]
    assert [(g.key, g.total) for g in figures.by_state] == [
        (S.NEW, 1),
        (S.RESOLVED, 1),
        (S.CLOSED, 1),
        (S.REJECTED, 1),
    ]
    # The county member sees its county's figures; nobody's figures hold an empty group.
    county = selectors.incident_figures_for(user=county_user, now=NOW + 12 * HOUR)
    assert (county.overall.total, county.overall.median_hours) == (3, 6.0)
    assert selectors.incident_figures_for(user=national, now=NOW + 12 * HOUR).overall.total == 5
    empty = selectors.incident_figures_for(user=county_user, filters=IncidentFilters(category="violence"))
    assert (empty.overall.total, empty.overall.median_hours, empty.overall.share_within_deadline) == (
        0,
        None,
        None,
    )
    assert empty.by_category == empty.by_county == empty.by_state == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-pass count is PostgreSQL's")
def test_postgresql_s_one_pass_figures_equal_the_walk_over_every_case(
    file_report: Callable[..., Incident], county_user: Any, province_user: Any, world: World
) -> None:
    for n in range(7):
        case = file_report(now=NOW + n * HOUR)
        if n % 3:
            _handled(case, actor=county_user, organisation=world.org_a1, at=NOW + (n * 3 + 1) * HOUR)
    for n in range(3):
        case = file_report(actor=province_user, station_code="A2-001", category_code="intimidation", now=NOW)
        if n:
            services.incident_reject(actor=province_user, incident=case, reason="تکراری", now=NOW + n * HOUR)
    now = NOW + 30 * HOUR

    def plain(figures: selectors.GroupFigures) -> tuple[Any, ...]:
        median = figures.median_handling_hours
        return (
            figures.key,
            figures.total,
            figures.open,
            figures.overdue,
            figures.done,
            figures.within_deadline,
            None if median is None else round(median, 9),
        )

    with scoped_to(province_user):
        cases = Incident.objects.all()
        ways = [
            selectors._figures_walked(cases, now),
            selectors._figures_counted_by_postgresql(cases, now),
        ]
    (walked_overall, walked), (counted_overall, counted) = ways
    assert plain(walked_overall) == plain(counted_overall)
    assert walked_overall.total == 10 and walked_overall.median_handling_hours is not None
    for name in ("category", "county", "state"):
        assert sorted(map(plain, walked[name].values()), key=str) == sorted(
            map(plain, counted[name].values()), key=str
        )


def test_possible_duplicates_are_close_in_place_time_category_and_text(
    file_report: Callable[..., Incident], county_user: Any, province_user: Any, outsider: Any, world: World
) -> None:
    text = "پخش پول نقد میان رأی‌دهندگان در صف شعبه"
    base = file_report(description=text, now=NOW)
    same_station_similar = file_report(description="پول نقد در صف شعبه پخش می‌شد", now=NOW + 2 * HOUR)
    same_station_other = file_report(description="ماجرایی کاملاً متفاوت", now=NOW + 3 * HOUR)
    county_similar = file_report(
        station_code="", county_code="A1", address="میدان", description=text + " و خیابان", now=NOW - 3 * HOUR
    )
    file_report(station_code="", county_code="A1", address="میدان", description="چیزی دیگر", now=NOW)
    file_report(station_code="A1-002", description=text, now=NOW)  # another station
    file_report(category_code="intimidation", description=text, now=NOW)  # another category
    file_report(description=text, now=NOW + 14 * HOUR)  # outside the 12-hour window
    file_report(actor=province_user, station_code="A2-001", description=text, now=NOW)  # another county
    rejected = file_report(description=text, now=NOW)
    services.incident_reject(actor=county_user, incident=rejected, reason="تکراری")

    suggestions = selectors.incident_duplicates_for(user=county_user, incident=base)
    assert [s.incident for s in suggestions] == [same_station_similar, same_station_other, county_similar]
    assert [s.same_station for s in suggestions] == [True, True, False]
    assert suggestions[0].similarity > 0.2 > suggestions[1].similarity
    assert 0.2 <= suggestions[2].similarity <= 1
    assert len(selectors.incident_duplicates_for(user=county_user, incident=base, limit=1)) == 1


def test_the_taxonomy_and_deadlines_are_listed_in_order(national: Any, county_user: Any) -> None:
    categories = list(selectors.incident_category_list_for())
    assert [c.code for c in categories][:3] == ["vote-buying", "ballot-tampering", "multiple-voting"]
    assert len(categories) == 11
    services.response_deadline_set(actor=national, severity="low", hours=24, category=categories[0])
    rows = list(selectors.response_deadline_list_for(user=county_user))
    assert [r.category for r in rows[:4]] == [None] * 4
    assert sorted(r.hours for r in rows[:4]) == [2, 8, 24, 72]
    assert (rows[4].category, rows[4].hours) == (categories[0], 24)
