"""Election pages: events with their phase, contests counted and listed within the caller's jurisdiction."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from amanat.accounts.models import User
from amanat.elections.models import Contest, ContestCounty, ContestKind, ElectionEvent
from amanat.elections.services import contest_add, election_event_create
from amanat.geography.services import geography_import, parse_division_csv
from amanat.scoping import unscoped
from conftest import World, client_for

TODAY = dt.date(2024, 6, 18)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


@pytest.fixture
def event(national: User, world: World) -> ElectionEvent:
    return election_event_create(actor=national, name="انتخابات چهاردهم", voting_day=dt.date(2024, 6, 28))


@pytest.fixture
def by_election(national: User, event: ElectionEvent, world: World) -> Contest:
    return contest_add(
        actor=national,
        event=event,
        kind=ContestKind.BY_ELECTION,
        title="میان‌دوره‌ای",
        counties=[world.county_b1],
    )


@pytest.fixture
def presidential(national: User, event: ElectionEvent) -> Contest:
    return contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL)


def test_event_list_shows_events_with_phase(county_viewer: User, event: ElectionEvent) -> None:
    response = client_for(county_viewer).get("/elections/")

    body = response.content.decode()
    assert response.status_code == 200
    assert event.name in body
    assert "phase-before" in body
    assert f"/elections/{event.pk}/" in body


def test_event_detail_counts_contest_counties_in_jurisdiction(
    county_user: User, event: ElectionEvent, presidential: Contest, by_election: Contest
) -> None:
    response = client_for(county_user).get(f"/elections/{event.pk}/")

    assert response.status_code == 200
    counts = {row.contest.pk: row.counties_in_jurisdiction for row in response.context["contests"]}
    assert counts == {presidential.pk: 1, by_election.pk: 0}
    assert "میان‌دوره‌ای" in response.content.decode()


def test_contest_detail_lists_only_counties_in_jurisdiction(
    county_user: User, province_user: User, event: ElectionEvent, presidential: Contest, world: World
) -> None:
    url = f"/elections/{event.pk}/contests/{presidential.pk}/"

    body = client_for(county_user).get(url).content.decode()
    assert world.county_a1.name in body
    assert world.county_a2.name not in body
    assert world.county_b1.name not in body

    body = client_for(province_user).get(url).content.decode()
    assert world.county_a1.name in body
    assert world.county_a2.name in body
    assert world.county_b1.name not in body


def test_contest_of_another_event_is_404(
    county_user: User, national: User, presidential: Contest, world: World
) -> None:
    other = election_event_create(actor=national, name="دیگر", voting_day=dt.date(2025, 1, 1))

    response = client_for(county_user).get(f"/elections/{other.pk}/contests/{presidential.pk}/")

    assert response.status_code == 404


def test_county_contests_fragment(
    county_user: User,
    outsider: User,
    event: ElectionEvent,
    presidential: Contest,
    by_election: Contest,
    world: World,
) -> None:
    response = client_for(outsider).get(f"/elections/counties/{world.county_b1.pk}/contests/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert event.name in body
    assert "میان‌دوره‌ای" in body
    assert (
        client_for(county_user).get(f"/elections/counties/{world.county_b1.pk}/contests/").status_code == 404
    )
    body = client_for(county_user).get(f"/elections/counties/{world.county_a1.pk}/contests/").content.decode()
    assert "میان‌دوره‌ای" not in body


def test_national_administrator_creates_an_event_and_a_contest(national: User, world: World) -> None:
    client = client_for(national)
    assert client.get("/elections/new/").status_code == 200

    response = client.post("/elections/new/", {"name": "انتخابات شوراها", "voting_day": "1403/04/08"})

    assert response.status_code == 302
    event = ElectionEvent.objects.get(name="انتخابات شوراها")
    assert event.voting_day == dt.date(2024, 6, 28)
    assert response["Location"] == f"/elections/{event.pk}/"

    response = client.post(
        f"/elections/{event.pk}/contests/new/",
        {"kind": ContestKind.CITY_COUNCIL, "title": "", "provinces": [world.province_b.pk]},
    )
    assert response.status_code == 302
    contest = event.contests.get()
    with unscoped():
        assert list(contest.counties.values_list("code", flat=True)) == ["B1"]


def test_event_form_errors_name_the_field(national: User, world: World) -> None:
    response = client_for(national).post(
        "/elections/new/", {"name": "بد", "voting_day": "1403/04/08", "opens_on": "1403/05/01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["opens_on"]
    assert not ElectionEvent.objects.exists()


@pytest.mark.parametrize("persona", ["province_user", "county_user", "auditor"])
def test_others_cannot_create_events(persona: str, request: Any, world: World) -> None:
    user = request.getfixturevalue(persona)

    response = client_for(user).post("/elections/new/", {"name": "x", "voting_day": "1403/04/08"})

    assert response.status_code in (403, 404)
    assert not ElectionEvent.objects.exists()


def test_others_cannot_add_contests(province_user: User, event: ElectionEvent) -> None:
    response = client_for(province_user).post(
        f"/elections/{event.pk}/contests/new/", {"kind": ContestKind.PRESIDENTIAL}
    )

    assert response.status_code in (403, 404)
    assert not event.contests.exists()


def test_event_list_queries_do_not_grow(
    national: User, county_user: User, world: World, django_assert_max_num_queries: Any
) -> None:
    client = client_for(county_user)
    election_event_create(actor=national, name="e0", voting_day=dt.date(2024, 6, 28))
    client.get("/elections/")
    with django_assert_max_num_queries(10) as few:
        client.get("/elections/")
    few_count = len(few.captured_queries)  # read now: every request clears the query log
    for n in range(1, 30):
        election_event_create(
            actor=national, name=f"e{n}", voting_day=dt.date(2024, 6, 28) + dt.timedelta(days=n)
        )
    client.get("/elections/")  # the header's calendar is read again after a change, then cached

    with django_assert_max_num_queries(few_count):
        assert client.get("/elections/").status_code == 200


def _grow(national: User, event: ElectionEvent) -> Contest:
    """Thirty more counties, a dozen more contests, and a contest that every county takes part in."""
    text = "level,code,name,name_en,parent_code\n" + "".join(
        f"county,AX{n},شهرستان {n},,A\n" for n in range(30)
    )
    geography_import(actor=national, rows=parse_division_csv(text), source="more")
    for n in range(12):
        contest_add(actor=national, event=event, kind=ContestKind.BY_ELECTION, title=f"c{n}")
    return contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL, title="همه")


@pytest.mark.parametrize("page", ["event", "contest"])
def test_event_detail_and_contest_queries_do_not_grow(
    page: str, national: User, province_user: User, event: ElectionEvent, django_assert_max_num_queries: Any
) -> None:
    small = contest_add(actor=national, event=event, kind=ContestKind.PRESIDENTIAL)
    client = client_for(province_user)

    def url(contest: Contest) -> str:
        return (
            f"/elections/{event.pk}/" if page == "event" else f"/elections/{event.pk}/contests/{contest.pk}/"
        )

    client.get(url(small))
    with django_assert_max_num_queries(12) as few:
        client.get(url(small))
    big = _grow(national, event)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url(big)).status_code == 200


# --- national administrators schedule events and add contests --------------------------------


def test_event_create_takes_jalali_dates_in_any_digits(national: Any) -> None:
    client = client_for(national)
    response = client.post("/elections/new/", {"name": "انتخابات آزمایشی", "voting_day": "۱۴۰۶/۰۳/۱۵"})
    assert response.status_code == 302
    event = ElectionEvent.objects.get(name="انتخابات آزمایشی")
    assert event.voting_day == dt.date(2027, 6, 5)
    assert event.opens_on == event.voting_day - dt.timedelta(days=120)


def test_event_create_names_the_bad_field_and_saves_nothing(national: Any) -> None:
    client = client_for(national)
    response = client.post(
        "/elections/new/", {"name": "رویداد", "voting_day": "1406/03/15", "closes_on": "1406/03/01"}
    )
    assert response.status_code == 200
    assert "closes_on" in response.context["form"].errors
    response = client.post("/elections/new/", {"name": "رویداد", "voting_day": "1406/13/40"})
    assert "voting_day" in response.context["form"].errors
    assert not ElectionEvent.objects.filter(name="رویداد").exists()


def test_event_create_refused_below_national_level(province_user: Any) -> None:
    client = client_for(province_user)
    assert client.get("/elections/new/").status_code == 404
    response = client.post("/elections/new/", {"name": "x", "voting_day": "1406/03/15"})
    assert response.status_code == 404
    assert not ElectionEvent.objects.filter(name="x").exists()


def test_contest_for_chosen_provinces_takes_their_counties(national: Any, world: Any) -> None:
    event = election_event_create(actor=national, name="میان‌دوره‌ای", voting_day=dt.date(2027, 3, 1))
    client = client_for(national)
    response = client.post(
        f"/elections/{event.pk}/contests/new/",
        {
            "kind": ContestKind.BY_ELECTION,
            "title": "میان‌دوره‌ای استان الف",
            "provinces": [world.province_a.pk],
        },
    )
    assert response.status_code == 302
    contest = Contest.objects.get(event=event)
    with unscoped():
        assert set(ContestCounty.objects.filter(contest=contest).values_list("county_id", flat=True)) == {
            world.county_a1.pk,
            world.county_a2.pk,
        }


def test_contest_form_hidden_from_others_and_post_refused(national: Any, province_user: Any) -> None:
    event = election_event_create(actor=national, name="رویداد", voting_day=dt.date(2027, 3, 1))
    client = client_for(province_user)
    assert client.get(f"/elections/{event.pk}/").context["contest_form"] is None
    response = client.post(f"/elections/{event.pk}/contests/new/", {"kind": ContestKind.PRESIDENTIAL})
    assert response.status_code == 403
    assert not Contest.objects.filter(event=event).exists()
