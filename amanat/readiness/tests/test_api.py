"""The readiness API: checklist, station readiness, roll-ups, CSV upload and voting day's batch reports.

Reads are scoped (404 outside the caller's reach), writes are one service call (403 for a role that
may not make them), bad fields answer 400 naming them and schema errors 422; the device batch keeps
its good reports and names each bad one by its position.
"""

import datetime as dt
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create
from amanat.elections.models import ElectionEvent
from amanat.elections.services import election_event_create
from amanat.readiness import services
from amanat.readiness.models import (
    LiveEvent,
    LiveStatus,
    LiveTally,
    ReadinessItem,
    StationLive,
    StationReadiness,
)
from amanat.scoping import unscoped
from conftest import World, page_queries

API = "/api/v1/readiness"


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="test device")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def _put(client: Client, url: str, body: Any) -> Any:
    return client.put(url, json.dumps(body), content_type="application/json")


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _locs(response: Any, status: int) -> list[list[Any]]:
    assert response.status_code == status, response.content
    return [error["loc"] for error in response.json()["detail"]]


def _count(model: Any, **filters: Any) -> int:
    with unscoped():
        return int(model.objects.filter(**filters).count())


def _ago(minutes: float) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def today_event(admin: User, world: World) -> ElectionEvent:
    """An event voting today (and tomorrow, so a run near midnight stays on voting day), stations counted."""
    today = timezone.localdate()
    event = election_event_create(
        actor=admin,
        name="انتخابات امروز",
        voting_day=today,
        voting_ends_on=today + dt.timedelta(days=1),
        opens_on=today - dt.timedelta(days=60),
    )
    services.readiness_stations_recount(event=event)
    return event


@pytest.fixture
def items(national: User, today_event: ElectionEvent) -> list[ReadinessItem]:
    """Two checklist items: the line due today (at risk), the devices due today too."""
    today = timezone.localdate()
    return [
        services.readiness_item_create(
            actor=national, event=today_event, code="line", title="نصب خط", title_en="Line", due_on=today
        ),
        services.readiness_item_create(
            actor=national, event=today_event, code="devices", title="تحویل دستگاه", due_on=today
        ),
    ]


# --- the checklist ---------------------------------------------------------------------------


def test_everyone_reads_the_checklist_and_retired_items_on_request(
    national: User, county_viewer: User, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    services.readiness_item_update(
        actor=national, item=items[1], title=items[1].title, due_on=items[1].due_on, is_active=False
    )
    url = f"{API}/items?event_id={today_event.pk}"

    active = _ok(_bearer(county_viewer).get(url))
    every = _ok(_bearer(county_viewer).get(url + "&include_retired=true"))

    assert [item["code"] for item in active] == ["line"]
    assert active[0]["due_on"] == timezone.localdate().isoformat()
    assert active[0]["title_en"] == "Line"
    assert [(item["code"], item["is_active"]) for item in every] == [("line", True), ("devices", False)]
    assert _bearer(county_viewer).get(f"{API}/items?event_id=999999").status_code == 404


def test_national_administrator_adds_and_updates_items(
    national: User, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    client = _bearer(national)
    due = (timezone.localdate() - dt.timedelta(days=3)).isoformat()

    created = _ok(
        _post(
            client,
            f"{API}/items",
            {"event_id": today_event.pk, "code": "backup-power", "title": "برق پشتیبان", "due_on": due},
        ),
        201,
    )
    updated = _ok(
        _put(
            client,
            f"{API}/items/{created['id']}",
            {"title": "برق اضطراری", "title_en": "Emergency power", "due_on": due, "is_active": False},
        )
    )

    assert created["code"] == "backup-power"
    assert created["position"] == 2
    assert updated["title"] == "برق اضطراری"
    assert updated["title_en"] == "Emergency power"
    assert updated["is_active"] is False
    with unscoped():
        assert ReadinessItem.objects.get(pk=created["id"]).is_active is False


def test_item_writes_name_the_bad_field(
    national: User, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    client = _bearer(national)
    late = (today_event.voting_day + dt.timedelta(days=1)).isoformat()
    today = timezone.localdate().isoformat()
    body = {"event_id": today_event.pk, "code": "x", "title": "عنوان", "due_on": late}

    assert _locs(_post(client, f"{API}/items", body), 400) == [["body", "due_on"]]
    assert _locs(_post(client, f"{API}/items", {**body, "code": "line", "due_on": today}), 400) == [
        ["body", "code"]
    ]
    assert _locs(_post(client, f"{API}/items", {**body, "event_id": 999999}), 400) == [["body", "event_id"]]
    assert ["body", "payload", "due_on"] in _locs(
        _post(client, f"{API}/items", {**body, "due_on": "1403/12/15"}), 422
    )
    update = {"title": " ", "due_on": late}
    assert sorted(_locs(_put(client, f"{API}/items/{items[0].pk}", update), 400)) == [
        ["body", "due_on"],
        ["body", "title"],
    ]
    assert _put(client, f"{API}/items/999999", {"title": "t", "due_on": today}).status_code == 404
    assert _count(ReadinessItem, event=today_event) == 2


@pytest.mark.parametrize("persona", ["province_admin", "province_user", "county_user", "auditor"])
def test_only_the_national_administrator_changes_the_checklist(
    persona: str, request: Any, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    client = _bearer(request.getfixturevalue(persona))
    today = timezone.localdate().isoformat()

    created = _post(
        client, f"{API}/items", {"event_id": today_event.pk, "code": "new", "title": "t", "due_on": today}
    )
    updated = _put(client, f"{API}/items/{items[0].pk}", {"title": "t", "due_on": today})

    assert created.status_code == 403
    assert updated.status_code == 403
    assert _count(ReadinessItem, event=today_event) == 2
    with unscoped():
        assert ReadinessItem.objects.get(pk=items[0].pk).title == "نصب خط"


# --- station readiness -----------------------------------------------------------------------


def test_station_readiness_is_read_and_set_within_the_county(
    county_user: User, world: World, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    client = _bearer(county_user)
    url = f"{API}/stations/{world.station_a1.pk}/readiness"

    done = _ok(_put(client, f"{url}/{items[0].pk}", {"status": "done", "evidence": "گزارش آزمون ۱۲"}))
    lines = _ok(client.get(f"{url}?event_id={today_event.pk}"))

    assert done["status"] == "done"
    assert done["verified_by"] == "county_a1"
    assert done["verified_at"] is not None
    assert [(line["code"], line["status"], line["evidence"]) for line in lines] == [
        ("line", "done", "گزارش آزمون ۱۲"),
        ("devices", "not_started", ""),
    ]
    assert lines[1]["verified_by"] is None and lines[1]["updated_at"] is None


def test_station_readiness_refusals(
    county_user: User,
    county_viewer: User,
    outsider: User,
    national: User,
    world: World,
    today_event: ElectionEvent,
    items: list[ReadinessItem],
) -> None:
    a1 = f"{API}/stations/{world.station_a1.pk}/readiness"
    body = {"status": "in_progress"}

    assert _put(_bearer(county_viewer), f"{a1}/{items[0].pk}", body).status_code == 403
    assert _put(_bearer(outsider), f"{a1}/{items[0].pk}", body).status_code == 404
    assert _bearer(outsider).get(f"{a1}?event_id={today_event.pk}").status_code == 404
    assert _put(_bearer(county_user), f"{a1}/999999", body).status_code == 404
    assert ["body", "payload", "status"] in _locs(
        _put(_bearer(county_user), f"{a1}/{items[0].pk}", {"status": "ready"}), 422
    )
    long = {"status": "in_progress", "evidence": "x" * 501}
    assert _locs(_put(_bearer(county_user), f"{a1}/{items[0].pk}", long), 400) == [["body", "evidence"]]
    services.readiness_item_update(
        actor=national, item=items[1], title=items[1].title, due_on=items[1].due_on, is_active=False
    )
    assert _locs(_put(_bearer(county_user), f"{a1}/{items[1].pk}", body), 400) == [["body", "item"]]
    assert _count(StationReadiness) == 0


def test_rollup_by_province_and_by_county_with_items_and_risk(
    national: User,
    province_user: User,
    county_user: User,
    world: World,
    today_event: ElectionEvent,
    items: list[ReadinessItem],
) -> None:
    line = items[0]
    services.station_readiness_set(actor=county_user, item=line, station=world.station_a1, status="done")
    services.station_readiness_set(actor=national, item=line, station=world.station_a2, status="failed")
    services.station_readiness_set(
        actor=national, item=items[1], station=world.station_b1, status="in_progress"
    )
    url = f"{API}/rollup?event_id={today_event.pk}"

    national_view = _ok(_bearer(national).get(url))
    province_view = _ok(_bearer(province_user).get(url))
    county_view = _ok(_bearer(county_user).get(url))
    drilled = _ok(_bearer(national).get(f"{url}&province_id={world.province_b.pk}"))

    assert [item["code"] for item in national_view["items"]] == ["line", "devices"]
    assert all(item["at_risk"] for item in national_view["items"])  # due today
    by_name = {area["name"]: area for area in national_view["areas"]}
    province_a = by_name["استان الف"]
    assert province_a["kind"] == "province"
    assert province_a["stations"] == 3
    line_a = next(i for i in province_a["items"] if i["item_id"] == line.pk)
    assert (line_a["done"], line_a["failed"], line_a["not_started"], line_a["percent"]) == (1, 1, 1, 33.3)
    assert province_a["overall"]["stations"] == 6
    assert province_a["overall"]["percent"] == 16.7
    assert province_a["at_risk"] == 5  # 3 stations x 2 items, one done
    # The least ready first: province B has nothing done.
    assert national_view["areas"][0]["name"] == "استان ب"
    assert national_view["total"]["kind"] == "total"
    assert national_view["total"]["stations"] == 5
    assert national_view["total"]["at_risk"] == 9
    assert [a["name"] for a in province_view["areas"]] == ["شهرستان الف۲", "شهرستان الف۱"]
    assert province_view["areas"][1]["kind"] == "county"
    assert [a["name"] for a in county_view["areas"]] == ["شهرستان الف۱"]
    assert drilled["province_id"] == world.province_b.pk
    assert [a["name"] for a in drilled["areas"]] == ["شهرستان ب۱"]
    assert _bearer(province_user).get(f"{url}&province_id={world.province_b.pk}").status_code == 404


# --- CSV upload ------------------------------------------------------------------------------


def test_upload_applies_a_csv_body_or_a_json_one(
    province_user: User, world: World, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    client = _bearer(province_user)
    url = f"{API}/readiness/upload?event_id={today_event.pk}&source=operator.csv"
    text = "station_code,item_code,status,evidence\nA1-001,line,done,فیبر\nA2-001,line,in_progress,\n"

    as_csv = _ok(client.post(url, text.encode(), content_type="text/csv; charset=utf-8"))
    as_json = _ok(_post(client, url, {"csv": "station_code,item_code,status\nA1-002,devices,failed\n"}))

    assert as_csv == {"rows": 2, "changed": 2, "by_status": {"done": 1, "in_progress": 1}}
    assert as_json["changed"] == 1
    with unscoped():
        assert StationReadiness.objects.get(station=world.station_a1, item=items[0]).evidence == "فیبر"
        assert _count(StationReadiness) == 3


def test_upload_with_bad_lines_names_each_and_applies_nothing(
    province_user: User, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    url = f"{API}/readiness/upload?event_id={today_event.pk}"
    text = (
        "station_code,item_code,status\n"
        "A1-001,line,done\n"
        "B1-001,line,done\n"  # another province
        "A1-002,power,done\n"  # not on the checklist
        "A2-001,line,ready\n"  # unknown status
        "ZZ-404,line,done\n"
    )

    response = _bearer(province_user).post(url, text, content_type="text/csv")

    assert _locs(response, 400) == [["body", "csv", line] for line in (3, 4, 5, 6)]
    messages = [error["msg"] for error in response.json()["detail"]]
    assert messages[0].startswith("line 3:") and "B1-001" in messages[0]
    assert "power" in messages[1]
    assert "ready" in messages[2]
    assert _count(StationReadiness) == 0


def test_upload_refusals(
    province_user: User, county_viewer: User, today_event: ElectionEvent, items: list[ReadinessItem]
) -> None:
    url = f"{API}/readiness/upload?event_id={today_event.pk}"
    good = "station_code,item_code,status\nA1-001,line,done\n"
    client = _bearer(province_user)

    assert _bearer(county_viewer).post(url, good, content_type="text/csv").status_code == 403
    assert _locs(client.post(url, "not json", content_type="application/json"), 422) == [["body"]]
    assert _locs(_post(client, url, {"file": good}), 422) == [["body", "csv"]]
    assert _locs(client.post(url, "a,b\n1,2\n", content_type="text/csv"), 400) == [["body", "csv", 1]]
    assert _locs(client.post(url, "é".encode("latin-1"), content_type="text/csv"), 400) == [["body", "csv"]]
    assert (
        client.post(f"{API}/readiness/upload?event_id=999999", good, content_type="text/csv").status_code
        == 404
    )
    assert _count(StationReadiness) == 0


# --- voting day: the batch endpoint ----------------------------------------------------------


def _reports(client: Client, event: ElectionEvent, reports: list[Any]) -> Any:
    return _post(client, f"{API}/live/reports", {"event_id": event.pk, "reports": reports})


def _live(station: Any, event: ElectionEvent) -> StationLive:
    with unscoped():
        return StationLive.objects.get(station=station, event=event)


def test_batch_applies_statuses_and_heartbeats(
    county_user: User, world: World, today_event: ElectionEvent
) -> None:
    client = _bearer(county_user)

    first = _ok(
        _reports(
            client,
            today_event,
            [
                {"station_code": "A1-001", "status": "opened", "at": _ago(30)},
                {"station_code": "A1-001", "status": "operating", "at": _ago(25)},
                {"station_code": "A1-002", "status": "opened", "at": _ago(20)},
            ],
        )
    )
    beat = _ok(_reports(client, today_event, [{"station_code": "A1-001", "at": _ago(1)}]))

    assert first == {"accepted": 3, "errors": []}
    assert beat == {"accepted": 1, "errors": []}
    live = _live(world.station_a1, today_event)
    assert live.status == LiveStatus.OPERATING
    assert timezone.now() - live.last_seen_at < dt.timedelta(minutes=2)
    assert live.status_at < live.last_seen_at
    counts = _ok(client.get(f"{API}/live/counts?event_id={today_event.pk}"))
    assert counts == {
        "event_id": today_event.pk,
        "county_id": None,
        "stations": 2,
        "not_opened": 0,
        "opened": 1,
        "operating": 1,
        "paused": 0,
        "closed": 0,
        "unreachable": 0,
    }


def test_batch_keeps_good_reports_and_names_each_bad_one(
    county_user: User, world: World, today_event: ElectionEvent
) -> None:
    future = (timezone.now() + dt.timedelta(seconds=settings.LIVE_CLOCK_SKEW_SECONDS + 60)).isoformat()
    naive = timezone.localtime().replace(tzinfo=None).isoformat()
    reports: list[Any] = [
        {"station_code": "A1-001", "status": "opened", "at": _ago(10)},  # 0 good
        {"station_code": "ZZ-999", "status": "opened", "at": _ago(10)},  # 1 unknown station
        {"station_code": "B1-001", "status": "opened", "at": _ago(10)},  # 2 outside the county
        {"station_code": "A1-002", "status": "opened", "at": _ago(9)},  # 3 good
        {"station_code": "A1-002", "status": "closed", "at": _ago(8)},  # 4 good
        {"station_code": "A1-002", "status": "opened", "at": _ago(7)},  # 5 closed -> opened
        {"station_code": "A1-001", "at": future},  # 6 ahead of the clock
        {"station_code": "A1-001", "status": "paused", "at": _ago(5)},  # 7 pause without reason
        {"station_code": "A1-001", "status": "operating", "at": "yesterday noon"},  # 8 malformed time
        {"status": "operating", "at": _ago(4)},  # 9 no station
        {"station_code": "A1-001", "at": naive},  # 10 no offset
        "A1-001 operating",  # 11 not an object
        {"station_code": "A1-001", "status": "exploded", "at": _ago(3)},  # 12 unknown status
    ]

    response = _reports(_bearer(county_user), today_event, reports)

    body = _ok(response)
    assert body["accepted"] == 3
    by_index = {(error["index"], tuple(error["loc"])) for error in body["errors"]}
    assert by_index == {
        (1, ("body", "reports", 1, "station_code")),
        (2, ("body", "reports", 2, "station_code")),
        (5, ("body", "reports", 5, "status")),
        (6, ("body", "reports", 6, "at")),
        (7, ("body", "reports", 7, "reason")),
        (8, ("body", "reports", 8, "at")),
        (9, ("body", "reports", 9, "station_code")),
        (10, ("body", "reports", 10, "at")),
        (11, ("body", "reports", 11)),
        (12, ("body", "reports", 12, "status")),
    }
    assert [error["index"] for error in body["errors"]] == sorted(error["index"] for error in body["errors"])
    messages = {error["index"]: error["msg"] for error in body["errors"]}
    assert "closed" in messages[5] and "opened" in messages[5]
    assert "clock" in messages[6]
    assert "reason" in messages[7]
    assert _live(world.station_a1, today_event).status == LiveStatus.OPENED
    assert _live(_station("A1-002"), today_event).status == LiveStatus.CLOSED
    assert _count(StationLive, event=today_event) == 2
    assert _count(LiveEvent, event=today_event, kind=LiveEvent.Kind.STATUS) == 3


def _station(code: str) -> Any:
    from amanat.geography.models import PollingStation

    with unscoped():
        return PollingStation.objects.get(code=code)


def test_a_batch_with_nothing_accepted_answers_400_with_the_same_shape(
    county_user: User, today_event: ElectionEvent
) -> None:
    response = _reports(
        _bearer(county_user),
        today_event,
        [
            {"station_code": "B1-001", "status": "opened", "at": _ago(5)},
            {"station_code": "A1-001", "status": "paused", "reason": "", "at": _ago(4)},
        ],
    )

    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 0
    assert [error["index"] for error in body["errors"]] == [0, 1]
    assert body["errors"][1]["loc"] == ["body", "reports", 1, "status"]  # not opened yet: cannot pause
    assert _count(LiveEvent) == 0
    assert _count(StationLive, status=LiveStatus.NOT_OPENED) == _count(StationLive)


def test_an_empty_batch_is_accepted_as_nothing(county_user: User, today_event: ElectionEvent) -> None:
    assert _ok(_reports(_bearer(county_user), today_event, [])) == {"accepted": 0, "errors": []}


def test_batch_schema_errors_answer_422(county_user: User, today_event: ElectionEvent) -> None:
    client = _bearer(county_user)
    url = f"{API}/live/reports"
    beat = {"station_code": "A1-001", "at": _ago(1)}

    too_many = _post(client, url, {"event_id": today_event.pk, "reports": [beat] * 1001})
    assert _locs(too_many, 422) == [["body", "reports"]]
    assert _locs(client.post(url, "station A1-001 opened", content_type="application/json"), 422) == [
        ["body"]
    ]
    assert _locs(client.post(url, b"\xff\xfe", content_type="application/json"), 422) == [["body"]]
    assert _locs(_post(client, url, {"event_id": today_event.pk}), 422) == [["body", "reports"]]
    assert _locs(_post(client, url, {"event_id": today_event.pk, "reports": beat}), 422) == [
        ["body", "reports"]
    ]
    assert _locs(_post(client, url, {"reports": [beat]}), 422) == [["body", "event_id"]]
    assert _locs(_post(client, url, [beat]), 422)
    assert _locs(_post(client, url, {"event_id": 999999, "reports": [beat]}), 400) == [["body", "event_id"]]
    assert _count(StationLive) == 0


def test_exactly_the_limit_is_taken(county_user: User, today_event: ElectionEvent) -> None:
    beats = [{"station_code": "A1-001", "at": _ago(1)}] * 1000

    assert _ok(_reports(_bearer(county_user), today_event, beats))["accepted"] == 1000


@pytest.mark.parametrize("persona", ["county_viewer", "auditor"])
def test_roles_without_edit_cannot_report(persona: str, request: Any, today_event: ElectionEvent) -> None:
    response = _reports(
        _bearer(request.getfixturevalue(persona)),
        today_event,
        [{"station_code": "A1-001", "status": "opened", "at": _ago(1)}],
    )

    assert response.status_code == 403
    assert _count(StationLive) == 0


def test_anonymous_devices_are_refused(today_event: ElectionEvent) -> None:
    response = _reports(
        Client(), today_event, [{"station_code": "A1-001", "status": "opened", "at": _ago(1)}]
    )

    assert response.status_code == 401


def test_heartbeat_after_unreachable_clears_it(
    county_user: User, province_user: User, world: World, today_event: ElectionEvent
) -> None:
    client = _bearer(county_user)
    _ok(_reports(client, today_event, [{"station_code": "A1-001", "status": "opened", "at": _ago(30)}]))
    assert services.stations_mark_unreachable(now=timezone.now()) == 1
    unreachable_url = f"{API}/live/unreachable?event_id={today_event.pk}"

    silent = _ok(_bearer(province_user).get(unreachable_url))
    counted = _ok(client.get(f"{API}/live/counts?event_id={today_event.pk}"))
    back = _ok(_reports(client, today_event, [{"station_code": "A1-001", "at": _ago(0)}]))

    assert silent["count"] == 1
    row = silent["items"][0]
    assert (row["station_code"], row["county"], row["status"]) == ("A1-001", "شهرستان الف۱", "opened")
    assert row["silent_seconds"] >= 30 * 60 - 5
    assert counted["unreachable"] == 1
    assert back == {"accepted": 1, "errors": []}
    assert _ok(client.get(unreachable_url))["count"] == 0
    assert _ok(client.get(f"{API}/live/counts?event_id={today_event.pk}"))["unreachable"] == 0
    assert _live(world.station_a1, today_event).unreachable_since is None
    kinds = [
        entry["kind"] for entry in _ok(client.get(f"{API}/live/timeline?event_id={today_event.pk}"))["items"]
    ]
    assert kinds == ["returned", "unreachable", "status"]
    with unscoped():
        assert LiveTally.objects.get(event=today_event, county=world.county_a1).unreachable == 0


def test_live_reads_are_scoped(
    national: User, county_user: User, outsider: User, world: World, today_event: ElectionEvent
) -> None:
    _ok(
        _reports(
            _bearer(national),
            today_event,
            [
                {"station_code": "A1-001", "status": "opened", "at": _ago(30)},
                {"station_code": "B1-001", "status": "opened", "at": _ago(30)},
            ],
        )
    )
    services.stations_mark_unreachable(now=timezone.now())
    query = f"event_id={today_event.pk}"

    outsider_counts = _ok(_bearer(outsider).get(f"{API}/live/counts?{query}"))
    national_counts = _ok(_bearer(national).get(f"{API}/live/counts?{query}"))
    county_counts = _ok(_bearer(national).get(f"{API}/live/counts?{query}&county_id={world.county_a1.pk}"))
    outsider_silent = _ok(_bearer(outsider).get(f"{API}/live/unreachable?{query}"))
    outsider_timeline = _ok(_bearer(outsider).get(f"{API}/live/timeline?{query}"))

    assert (outsider_counts["stations"], outsider_counts["opened"], outsider_counts["unreachable"]) == (
        2,
        1,
        1,
    )
    assert (national_counts["stations"], national_counts["opened"], national_counts["unreachable"]) == (
        5,
        2,
        2,
    )
    assert (county_counts["county_id"], county_counts["stations"], county_counts["opened"]) == (
        world.county_a1.pk,
        2,
        1,
    )
    assert [row["station_code"] for row in outsider_silent["items"]] == ["B1-001"]
    assert {row["station_code"] for row in outsider_timeline["items"]} == {"B1-001"}
    assert (
        _bearer(outsider).get(f"{API}/live/counts?{query}&county_id={world.county_a1.pk}").status_code == 404
    )
    assert _bearer(outsider).get(f"{API}/live/counts?event_id=999999").status_code == 404


def test_timeline_since_and_pagination(county_user: User, today_event: ElectionEvent) -> None:
    client = _bearer(county_user)
    _ok(
        _reports(
            client,
            today_event,
            [
                {"station_code": "A1-001", "status": "opened", "at": _ago(30)},
                {"station_code": "A1-001", "status": "operating", "at": _ago(20)},
                {"station_code": "A1-001", "status": "paused", "reason": "قطع برق", "at": _ago(10)},
            ],
        )
    )
    url = f"{API}/live/timeline?event_id={today_event.pk}"
    since = (timezone.now() - dt.timedelta(minutes=25)).isoformat().replace("+", "%2B")

    everything = _ok(client.get(url))
    recent = _ok(client.get(f"{url}&since={since}"))
    first = _ok(client.get(f"{url}&limit=1"))

    assert [entry["status"] for entry in everything["items"]] == ["paused", "operating", "opened"]
    assert everything["items"][0]["reason"] == "قطع برق"
    assert [entry["status"] for entry in recent["items"]] == ["paused", "operating"]
    assert (first["count"], len(first["items"])) == (3, 1)
    naive = timezone.localtime().replace(tzinfo=None).isoformat()
    assert ["query", "since"] in _locs(client.get(f"{url}&since={naive}"), 422)


def test_reads_fall_back_to_the_current_event(county_user: User, today_event: ElectionEvent) -> None:
    counts = _ok(_bearer(county_user).get(f"{API}/live/counts"))

    assert counts["event_id"] == today_event.pk


def test_live_lists_do_not_grow_their_queries_with_their_rows(
    national: User, today_event: ElectionEvent, items: list[ReadinessItem], world: World
) -> None:
    client = _bearer(national)
    query = f"event_id={today_event.pk}"
    urls = [
        f"{API}/live/unreachable?{query}",
        f"{API}/live/timeline?{query}",
        f"{API}/live/counts?{query}",
        f"{API}/rollup?{query}",
        f"{API}/stations/{world.station_a1.pk}/readiness?{query}",
    ]
    _ok(_reports(client, today_event, [{"station_code": "A1-001", "status": "opened", "at": _ago(40)}]))
    services.stations_mark_unreachable(now=timezone.now())
    client.get(urls[0])  # the token's first use is recorded once; leave it out of the counts
    before = [page_queries(client, url) for url in urls]

    codes = ["A1-002", "A2-001", "B1-001", "B1-002"]
    _ok(
        _reports(
            client, today_event, [{"station_code": c, "status": "opened", "at": _ago(40)} for c in codes]
        )
    )
    for item in items:
        for code in codes:
            services.station_readiness_set(actor=national, item=item, station=_station(code), status="done")
    services.stations_mark_unreachable(now=timezone.now())
    after = [page_queries(client, url) for url in urls]

    assert _ok(client.get(urls[0]))["count"] == 5
    assert after == before
