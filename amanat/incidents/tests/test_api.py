"""The incidents API: intake with idempotency keys, batches by position, cases, moves, evidence, bulk.

Reads are scoped (404 outside the caller's reach), writes are one service call (403 for a role that may
not make them, 400 naming `state` for a move the state machine does not allow), bad fields answer 400
naming them and schema errors 422. A retried report never creates a second case, even when the two
requests race (PostgreSQL).
"""

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from amanat.accounts.models import User
from amanat.accounts.services import api_token_create
from amanat.audit.models import AuditEntry
from amanat.incidents import services
from amanat.incidents.models import (
    Incident,
    IncidentCategory,
    IncidentEvidence,
    IncidentState,
    ResponseDeadline,
)
from amanat.scoping import unscoped
from conftest import World

API = "/api/v1/incidents"
TEHRAN = ZoneInfo("Asia/Tehran")
# A real 1x1 PNG, and a Windows executable's header (refused whatever it is named).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGM4IScHAAK2AQU0pnWqAAAAAElFTkSuQmCC"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def _bearer(user: User) -> Client:
    _token, key = api_token_create(actor=user, name="field device")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _fields(response: Any, status: int) -> list[str]:
    """The body fields the errors name (the last part of each `loc`)."""
    assert response.status_code == status, response.content
    return [str(error["loc"][-1]) for error in response.json()["detail"]]


def _ago(hours: float = 1) -> str:
    """A moment `hours` ago, written in Tehran's offset as a device would."""
    return (timezone.now() - dt.timedelta(hours=hours)).astimezone(TEHRAN).isoformat()


def _report(**fields: Any) -> dict[str, Any]:
    body = {
        "category": "vote-buying",
        "station_code": "A1-001",
        "occurred_at": _ago(),
        "description": "توزیع پول میان رأی‌دهندگان در صف شعبه",
    }
    body.update(fields)
    return body


def _incidents(**filters: Any) -> int:
    with unscoped():
        return int(Incident.objects.filter(**filters).count())


def _case(pk: int) -> Incident:
    with unscoped():
        return Incident.objects.get(pk=pk)


@pytest.fixture
def device(county_user: User) -> Client:
    """The A1 county member's device, authenticated with a bearer token."""
    return _bearer(county_user)


@pytest.fixture
def chair(province_user: User) -> Client:
    """The chair of province A (approves: closes, reopens)."""
    return _bearer(province_user)


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Evidence written under the test's own directory."""
    monkeypatch.setattr(IncidentEvidence._meta.get_field("file"), "storage", FileSystemStorage(tmp_path))
    return tmp_path


# --- one report ------------------------------------------------------------------------------


def test_a_report_creates_a_case_and_a_replay_answers_the_same_case(
    device: Client, county_user: User, world: World
) -> None:
    body = _report(idempotency_key="dev-1/0001", severity="high")

    first = _ok(_post(device, f"{API}/", body), 201)
    again = _ok(_post(device, f"{API}/", body), 200)

    assert again == first
    assert first["state"] == "new"
    assert first["severity"] == "high"
    assert (first["county_id"], first["station_id"]) == (world.county_a1.pk, world.station_a1.pk)
    assert dt.datetime.fromisoformat(first["deadline_at"]) > dt.datetime.fromisoformat(first["received_at"])
    assert _incidents(idempotency_key="dev-1/0001") == 1
    case = _case(first["id"])
    assert (case.channel, case.reported_by_id) == ("api", county_user.pk)


def test_the_key_may_come_in_the_header_and_a_different_report_with_it_is_a_conflict(
    device: Client, world: World
) -> None:
    body = _report()

    first = _ok(_post(device, f"{API}/", body, **{"Idempotency-Key": "hdr-7"}), 201)
    # The same key in the body and the header, equal: the same report again.
    again = _ok(
        _post(device, f"{API}/", {**body, "idempotency_key": "hdr-7"}, **{"Idempotency-Key": "hdr-7"})
    )
    conflict = _post(device, f"{API}/", {**body, "description": "چیز دیگری"}, **{"Idempotency-Key": "hdr-7"})

    assert again["id"] == first["id"]
    assert _fields(conflict, 409) == ["idempotency_key"]
    assert "already used" in conflict.json()["detail"][0]["msg"]
    assert _incidents(idempotency_key="hdr-7") == 1


def test_body_and_header_keys_that_differ_are_refused(device: Client, world: World) -> None:
    response = _post(device, f"{API}/", _report(idempotency_key="a"), **{"Idempotency-Key": "b"})

    assert _fields(response, 400) == ["idempotency_key"]
    assert _incidents() == 0


def test_without_a_key_each_report_is_a_new_case(device: Client, world: World) -> None:
    body = _report(station_code=None, county_code="A1", address="میدان اصلی")

    ids = {_ok(_post(device, f"{API}/", body), 201)["id"] for _ in range(2)}

    assert len(ids) == 2


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"category": "alien-abduction"}, 400, "category"),
        ({"station_code": "B1-001"}, 400, "station_code"),  # another province's station
        ({"station_code": "NO-SUCH"}, 400, "station_code"),
        ({"station_code": None, "county_code": "B1", "address": "x"}, 400, "county_code"),
        ({"station_code": None}, 400, "county_code"),
        ({"station_code": None, "county_code": "A1"}, 400, "address"),
        ({"description": "   "}, 400, "description"),
        ({"severity": "apocalyptic"}, 422, "severity"),
        ({"occurred_at": "2027-03-05T08:00:00"}, 422, "occurred_at"),  # no offset
        ({"occurred_at": "yesterday"}, 422, "occurred_at"),
        ({"idempotency_key": "k" * 101}, 422, "idempotency_key"),
        ({"description": None}, 422, "description"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_taken_in(
    device: Client, world: World, fields: dict[str, Any], status: int, named: str
) -> None:
    response = _post(device, f"{API}/", _report(**fields))

    assert named in _fields(response, status)
    assert _incidents() == 0


def test_a_time_in_the_future_is_refused(device: Client, world: World) -> None:
    response = _post(device, f"{API}/", _report(occurred_at=_ago(hours=-2)))

    assert _fields(response, 400) == ["occurred_at"]
    assert response.json()["detail"][0]["msg"] == "The time is in the future."


@pytest.mark.parametrize("raw", ['{"category": "vote-buying",', "not json", "[1, 2]", ""])
def test_a_malformed_body_is_refused_clearly(device: Client, world: World, raw: str) -> None:
    response = device.post(f"{API}/", raw, content_type="application/json")

    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert detail[0]["loc"][0] == "body"
    assert detail[0]["msg"]
    assert _incidents() == 0


def test_a_viewer_may_not_report_and_a_stranger_must_authenticate(county_viewer: User, world: World) -> None:
    assert _post(_bearer(county_viewer), f"{API}/", _report()).status_code == 403
    assert _post(Client(), f"{API}/", _report()).status_code == 401
    assert _incidents() == 0


def test_a_report_costs_the_service_s_queries_only_once_the_token_is_known(
    county_user: User, device: Client, world: World
) -> None:
    device.get(f"{API}/categories")  # the token's user is looked up (and cached) here, not per report

    def report(key: str) -> None:
        services.incident_report(
            actor=county_user,
            report=services.ReportInput(
                category_code="vote-buying",
                occurred_at=timezone.now() - dt.timedelta(hours=1),
                description="گزارش مستقیم",
                station_code="A1-001",
                idempotency_key=key,
            ),
            channel="api",
        )

    report("direct-0")  # reads the taxonomy and the election calendar into the cache
    with CaptureQueriesContext(connection) as service_queries:
        report("direct-1")
    with CaptureQueriesContext(connection) as api_queries:
        _ok(_post(device, f"{API}/", _report(idempotency_key="api-1")), 201)

    sql = [q["sql"] for q in service_queries]
    # The station, the case and its first timeline line, the audit chain's head (read, append, move),
    # and the savepoint pair of the test's transaction.
    assert len(sql) <= 8, sql
    assert not any("incidentcategory" in q or "electionevent" in q or "apitoken" in q for q in sql), sql
    assert len(api_queries) == len(service_queries), [q["sql"] for q in api_queries]


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_keeps_the_valid_reports_and_names_each_bad_one_by_position(
    device: Client, world: World
) -> None:
    seen = _report(idempotency_key="seen-before")
    _ok(_post(device, f"{API}/", seen), 201)
    reports = [
        _report(idempotency_key="b-0"),
        _report(category="alien-abduction"),  # unknown category
        "not an object",
        _report(occurred_at="tomorrow-ish"),  # malformed: a schema error
        _report(station_code="B1-001"),  # outside the jurisdiction
        seen,  # a replay: the first case, not a new one
        {"category": "outage"},  # missing fields
        _report(station_code="A1-002", idempotency_key="b-7"),
        _report(occurred_at=_ago(hours=-3)),  # the future
    ]

    body = _ok(_post(device, f"{API}/batch", {"reports": reports}))

    by_position = {entry["position"]: entry for entry in body["accepted"]}
    assert sorted(by_position) == [0, 5, 7]
    assert [by_position[p]["created"] for p in (0, 5, 7)] == [True, False, True]
    errors = {entry["position"]: entry["errors"] for entry in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 6, 8]
    assert list(errors[1]) == ["category"]
    assert list(errors[2]) == ["__all__"]
    assert list(errors[3]) == ["occurred_at"]
    assert list(errors[4]) == ["station_code"]
    assert set(errors[6]) == {"occurred_at", "description"}
    assert errors[6]["description"] == ["This field is required."]
    assert errors[3]["occurred_at"][0].startswith("Give a date and time in ISO 8601")
    assert list(errors[8]) == ["occurred_at"]
    assert _incidents() == 3  # the one sent before, and positions 0 and 7
    station = _case(by_position[7]["id"]).station
    assert station is not None and station.code == "A1-002"
    assert _case(by_position[0]["id"]).idempotency_key == "b-0"


def test_schema_errors_speak_the_caller_s_language(device: Client, world: World) -> None:
    device.cookies[settings.LANGUAGE_COOKIE_NAME] = "fa"
    body = _ok(_post(device, f"{API}/batch", {"reports": [{"category": "outage"}]}))
    assert body["errors"][0]["errors"]["description"] == ["پر کردن این فیلد الزامی است."]
    single = _post(device, f"{API}/", {"category": "outage"})
    assert single.status_code == 422
    assert "پر کردن این فیلد الزامی است." in [entry["msg"] for entry in single.json()["detail"]]


def test_a_batch_retried_whole_creates_nothing_new(device: Client, world: World) -> None:
    reports = [_report(idempotency_key=f"r-{n}", description=f"گزارش شماره {n}") for n in range(5)]

    first = _ok(_post(device, f"{API}/batch", {"reports": reports}))
    again = _ok(_post(device, f"{API}/batch", {"reports": reports}))

    assert [a["created"] for a in first["accepted"]] == [True] * 5
    assert [a["created"] for a in again["accepted"]] == [False] * 5
    assert [a["id"] for a in again["accepted"]] == [a["id"] for a in first["accepted"]]
    assert _incidents() == 5


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        json.dumps({"reports": "many"}),
        json.dumps({"items": []}),
        json.dumps([_report()]),
        json.dumps({"reports": [{"category": "outage"}] * 501}),
    ],
)
def test_a_batch_that_is_not_a_list_of_reports_is_refused_whole(
    device: Client, world: World, raw: str
) -> None:
    response = device.post(f"{API}/batch", raw, content_type="application/json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][0] == "body"
    assert _incidents() == 0


def test_a_viewer_may_not_send_a_batch(county_viewer: User, world: World) -> None:
    assert _post(_bearer(county_viewer), f"{API}/batch", {"reports": [_report()]}).status_code == 403


# --- reading ---------------------------------------------------------------------------------


def test_the_list_is_scoped_filtered_searched_and_paginated(
    device: Client, outsider: User, national: User, file_report: Callable[..., Incident], world: World
) -> None:
    bribe = file_report(description="توزيع پول ميان رأي دهندگان")  # Arabic ي, no ZWNJ
    outage = file_report(category_code="outage", station_code="A1-002", description="قطع برق شعبه")
    other = file_report(actor=outsider, station_code="B1-001", description="قطع برق در شعبه")

    every = _ok(device.get(f"{API}/"))
    searched = _ok(device.get(f"{API}/", {"q": "رأی‌دهندگان"}))
    filtered = _ok(device.get(f"{API}/", {"category": "outage", "county": "not-a-number", "state": "new"}))
    page = _ok(device.get(f"{API}/", {"limit": 1, "offset": 1}))
    national_view = _ok(_bearer(national).get(f"{API}/", {"province": world.province_b.pk}))

    assert every["count"] == 2
    assert [item["id"] for item in every["items"]] == [outage.pk, bribe.pk]
    assert [item["id"] for item in searched["items"]] == [bribe.pk]
    assert [item["id"] for item in filtered["items"]] == [outage.pk]
    assert [item["id"] for item in page["items"]] == [bribe.pk]
    assert [item["id"] for item in national_view["items"]] == [other.pk]
    item = every["items"][0]
    assert (item["category"], item["station_code"], item["county"]) == ("outage", "A1-002", "شهرستان الف۱")
    assert item["overdue"] is False
    assert "reporter_name" not in item


def test_a_case_outside_the_jurisdiction_answers_404_everywhere(
    outsider: User, file_report: Callable[..., Incident], world: World
) -> None:
    case = file_report()
    client = _bearer(outsider)

    for path in ("", "/timeline", "/duplicates"):
        assert client.get(f"{API}/{case.pk}{path}").status_code == 404
    for action, body in (("triage", {}), ("reject", {"reason": "x"}), ("comments", {"body": "x"})):
        assert _post(client, f"{API}/{case.pk}/{action}", body).status_code == 404
    assert client.get(f"{API}/99999999").status_code == 404
    assert client.get(f"{API}/{2**70}").status_code in {404, 422}
    assert _case(case.pk).state == IncidentState.NEW


def test_a_public_report_shows_its_reporter_within_the_jurisdiction(
    device: Client, world: World, county_user: User
) -> None:
    with unscoped():
        category = IncidentCategory.objects.get(code="intimidation")
    case = services.incident_report_public(
        county=world.county_a1,
        station_code="A1-001",
        category=category,
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        description="تهدید ناظران",
        reporter_name="مریم",
        reporter_contact="0912",
    )

    detail = _ok(device.get(f"{API}/{case.pk}"))

    assert (detail["reporter_name"], detail["reporter_contact"]) == ("مریم", "0912")
    assert detail["state"] == "awaiting_moderation"
    assert detail["channel"] == "public"
    assert detail["reported_by"] is None
    assert detail["actions"] == ["moderate", "reject"]


def test_timeline_and_duplicates(device: Client, file_report: Callable[..., Incident], world: World) -> None:
    first = file_report(description="خرید رأی با پول نقد در صف")
    second = file_report(description="خرید رأی با پول نقد جلوی در")
    elsewhere = file_report(category_code="outage", description="قطع برق")
    _ok(_post(device, f"{API}/{first.pk}/comments", {"body": "پیگیری شد"}), 201)

    timeline = _ok(device.get(f"{API}/{first.pk}/timeline"))
    duplicates = _ok(device.get(f"{API}/{first.pk}/duplicates"))

    assert [entry["kind"] for entry in timeline] == ["reported", "commented"]
    assert timeline[0]["actor"] == "county_a1"
    assert timeline[1]["note"] == "پیگیری شد"
    assert [d["id"] for d in duplicates] == [second.pk]
    assert duplicates[0]["same_station"] is True
    assert elsewhere.pk not in [d["id"] for d in duplicates]


def test_figures_categories_and_deadlines_read(
    device: Client, file_report: Callable[..., Incident], world: World
) -> None:
    file_report()
    file_report(category_code="outage", station_code="A1-002")

    figures = _ok(device.get(f"{API}/figures"))
    narrowed = _ok(device.get(f"{API}/figures", {"category": "outage"}))
    categories = _ok(device.get(f"{API}/categories"))
    deadlines = _ok(device.get(f"{API}/deadlines"))

    assert figures["overall"]["total"] == 2
    assert figures["overall"]["open"] == 2
    assert {g["label"] for g in figures["by_county"]} == {"شهرستان الف۱"}
    assert [g["key"] for g in figures["by_state"]] == ["new"]
    assert narrowed["overall"]["total"] == 1
    assert len(categories) == 11
    assert categories[0]["code"] == "vote-buying"
    assert {(d["category"], d["severity"], d["hours"]) for d in deadlines} >= {(None, "critical", 2)}


# --- moves -----------------------------------------------------------------------------------


def test_a_case_followed_from_report_to_closure(
    device: Client, chair: Client, county_user: User, world: World
) -> None:
    pk = _ok(_post(device, f"{API}/", _report(category="vote-buying")), 201)["id"]

    triaged = _ok(
        _post(device, f"{API}/{pk}/triage", {"severity": "critical", "category": "multiple-voting"})
    )
    assigned = _ok(
        _post(
            device,
            f"{API}/{pk}/assign",
            {"organisation_id": world.org_a1.pk, "assignee_id": county_user.pk},
        )
    )
    started = _ok(_post(device, f"{API}/{pk}/start", {}))
    refer_empty = _post(device, f"{API}/{pk}/refer", {"authority": " ", "case_number": ""})
    referred = _ok(
        _post(device, f"{API}/{pk}/refer", {"authority": "دادسرای الف۱", "case_number": "۱۴۰۵-۷۷"})
    )
    resolved = _ok(_post(device, f"{API}/{pk}/resolve", {"resolution": "پرونده به دادسرا رفت"}))
    refused = _post(device, f"{API}/{pk}/close", {})  # a member does not approve
    closed = _ok(chair.post(f"{API}/{pk}/close", "", content_type="application/json"))  # no body, no note

    assert (triaged["state"], triaged["severity"], triaged["category"]) == (
        "triaged",
        "critical",
        "multiple-voting",
    )
    assert (assigned["state"], assigned["assigned_organisation_id"], assigned["assignee"]) == (
        "assigned",
        world.org_a1.pk,
        "county_a1",
    )
    assert started["state"] == "in_progress"
    assert set(_fields(refer_empty, 400)) == {"authority", "case_number"}
    assert (referred["state"], referred["referral_case_number"]) == ("referred", "۱۴۰۵-۷۷")
    assert (resolved["state"], resolved["resolution"]) == ("resolved", "پرونده به دادسرا رفت")
    assert refused.status_code == 403
    assert closed["state"] == "closed"
    assert closed["closed_at"] is not None
    assert closed["actions"] == []
    kinds = [e["kind"] for e in _ok(device.get(f"{API}/{pk}/timeline"))]
    assert kinds == ["reported", "triaged", "assigned", "started", "referred", "resolved", "closed"]


def test_reopen_reject_and_merge(
    device: Client, chair: Client, file_report: Callable[..., Incident], world: World
) -> None:
    kept = file_report()
    duplicate = file_report()
    spam = file_report()
    resolved = file_report()
    for move, body in (
        ("triage", {}),
        ("assign", {"organisation_id": world.org_a1.pk}),
        ("start", {}),
        ("resolve", {"resolution": "حل شد"}),
    ):
        _ok(_post(device, f"{API}/{resolved.pk}/{move}", body))

    reopened = _ok(_post(chair, f"{API}/{resolved.pk}/reopen", {"reason": "شکایت دوباره"}))
    rejected = _ok(_post(device, f"{API}/{spam.pk}/reject", {"reason": "گزارش بی‌پایه"}))
    merged = _ok(_post(device, f"{API}/{duplicate.pk}/merge", {"into_id": kept.pk, "reason": "تکراری"}))
    target = _ok(device.get(f"{API}/{kept.pk}"))

    assert (reopened["state"], reopened["resolution"]) == ("in_progress", "")
    assert (rejected["state"], rejected["reason"]) == ("rejected", "گزارش بی‌پایه")
    assert (merged["state"], merged["merged_into_id"]) == ("merged", kept.pk)
    assert [m["id"] for m in target["merged_reports"]] == [duplicate.pk]


def test_illegal_moves_missing_fields_and_roles(
    device: Client,
    county_viewer: User,
    outsider: User,
    file_report: Callable[..., Incident],
    world: World,
) -> None:
    case = file_report()
    other = file_report(actor=outsider, station_code="B1-001")

    illegal = _post(device, f"{API}/{case.pk}/start", {})
    close_new = _post(device, f"{API}/{case.pk}/resolve", {"resolution": "x"})
    no_reason = _post(device, f"{API}/{case.pk}/reject", {"reason": "  "})
    missing = _post(device, f"{API}/{case.pk}/reject", {})
    viewer = _post(_bearer(county_viewer), f"{API}/{case.pk}/triage", {})
    unknown_category = _post(device, f"{API}/{case.pk}/triage", {"category": "alien-abduction"})
    unknown_org = _post(device, f"{API}/{case.pk}/assign", {"organisation_id": world.org_b1.pk})
    into_elsewhere = _post(device, f"{API}/{case.pk}/merge", {"into_id": other.pk, "reason": "x"})
    into_itself = _post(device, f"{API}/{case.pk}/merge", {"into_id": case.pk, "reason": "x"})

    assert _fields(illegal, 400) == ["state"]
    assert "cannot be started" in illegal.json()["detail"][0]["msg"]
    assert _fields(close_new, 400) == ["state"]
    assert _fields(no_reason, 400) == ["reason"]
    assert _fields(missing, 422) == ["reason"]
    assert viewer.status_code == 403
    assert _fields(unknown_category, 400) == ["category"]
    assert _fields(unknown_org, 400) == ["organisation_id"]
    assert _fields(into_elsewhere, 400) == ["into_id"]
    assert _fields(into_itself, 400) == ["into_id"]
    assert _case(case.pk).state == IncidentState.NEW


def test_the_queue_lists_what_is_assigned_to_me_or_my_organisation(
    device: Client, county_user: User, file_report: Callable[..., Incident], world: World
) -> None:
    mine, ours, untouched = file_report(), file_report(), file_report()
    for case, assignee in ((mine, county_user.pk), (ours, None)):
        _ok(_post(device, f"{API}/{case.pk}/triage", {}))
        _ok(
            _post(
                device,
                f"{API}/{case.pk}/assign",
                {"organisation_id": world.org_a1.pk, "assignee_id": assignee},
            )
        )

    organisation = _ok(device.get(f"{API}/queue"))
    personal = _ok(device.get(f"{API}/queue", {"mine": "true"}))

    assert {item["id"] for item in organisation["items"]} == {mine.pk, ours.pk}
    assert [item["id"] for item in personal["items"]] == [mine.pk]
    assert untouched.pk not in {item["id"] for item in organisation["items"]}


# --- comments and evidence -------------------------------------------------------------------


def test_comments(device: Client, county_viewer: User, file_report: Callable[..., Incident]) -> None:
    case = file_report()

    comment = _ok(_post(device, f"{API}/{case.pk}/comments", {"body": "  تماس با رئیس شعبه  "}), 201)
    empty = _post(device, f"{API}/{case.pk}/comments", {"body": " "})
    viewer = _post(_bearer(county_viewer), f"{API}/{case.pk}/comments", {"body": "x"})

    assert (comment["body"], comment["incident_id"], comment["author"]) == (
        "تماس با رئیس شعبه",
        case.pk,
        "county_a1",
    )
    assert _fields(empty, 400) == ["body"]
    assert viewer.status_code == 403


def test_evidence_is_uploaded_checked_and_served_only_within_the_jurisdiction(
    device: Client, outsider: User, file_report: Callable[..., Incident], evidence_dir: Path
) -> None:
    case = file_report()

    stored = _ok(
        device.post(
            f"{API}/{case.pk}/evidence", {"file": SimpleUploadedFile("../../photo.png", PNG, "text/html")}
        ),
        201,
    )
    disguised = device.post(f"{API}/{case.pk}/evidence", {"file": SimpleUploadedFile("photo.png", EXE)})
    nothing = device.post(f"{API}/{case.pk}/evidence", {})
    download = device.get(stored[0]["download"])
    stranger = _bearer(outsider).get(stored[0]["download"])

    assert len(stored) == 1
    assert (stored[0]["content_type"], stored[0]["size"]) == ("image/png", len(PNG))
    assert stored[0]["download"] == f"{API}/evidence/{stored[0]['id']}"
    assert _fields(disguised, 400) == ["file"]
    assert _fields(nothing, 422) == ["file"]
    assert download.status_code == 200
    assert download.getvalue() == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert stranger.status_code == 404
    assert device.get(f"{API}/evidence/99999999").status_code == 404
    detail = _ok(device.get(f"{API}/{case.pk}"))
    assert [e["id"] for e in detail["evidence"]] == [stored[0]["id"]]
    assert len([p for p in evidence_dir.rglob("*") if p.is_file()]) == 1


# --- bulk actions ----------------------------------------------------------------------------


def test_bulk_actions_apply_to_each_case_and_list_the_refusals(
    device: Client, outsider: User, file_report: Callable[..., Incident], world: World
) -> None:
    cases = [file_report() for _ in range(3)]
    foreign = file_report(actor=outsider, station_code="B1-001")
    ids = [c.pk for c in cases]

    triaged = _ok(
        _post(device, f"{API}/bulk", {"action": "triage", "ids": [*ids, foreign.pk], "severity": "high"})
    )
    assigned = _ok(
        _post(device, f"{API}/bulk", {"action": "assign", "ids": ids, "organisation_id": world.org_a1.pk})
    )
    merged = _ok(
        _post(
            device, f"{API}/bulk", {"action": "merge", "ids": ids[1:], "into_id": ids[0], "reason": "تکراری"}
        )
    )
    again = _ok(_post(device, f"{API}/bulk", {"action": "triage", "ids": ids[:1]}))

    assert triaged["done"] == ids
    assert [e["id"] for e in triaged["errors"]] == [foreign.pk]
    assert assigned["done"] == ids
    assert merged["done"] == ids[1:]
    assert again["done"] == []
    assert [e["id"] for e in again["errors"]] == ids[:1]
    assert [_case(pk).state for pk in ids] == ["assigned", "merged", "merged"]
    assert _case(foreign.pk).state == IncidentState.NEW
    with unscoped():
        audited = AuditEntry.objects.filter(entity_type="incidents.Incident", action="update").count()
    assert audited >= 3 + 3 + 2


def test_bulk_requests_that_cannot_apply_are_named(
    device: Client, outsider: User, file_report: Callable[..., Incident], world: World
) -> None:
    case = file_report()
    foreign = file_report(actor=outsider, station_code="B1-001")

    assert _fields(_post(device, f"{API}/bulk", {"action": "resolve", "ids": [case.pk]}), 400) == ["action"]
    assert _fields(_post(device, f"{API}/bulk", {"action": "assign", "ids": [case.pk]}), 400) == [
        "organisation_id"
    ]
    assert _fields(_post(device, f"{API}/bulk", {"action": "triage", "ids": []}), 400) == ["ids"]
    assert _fields(
        _post(
            device, f"{API}/bulk", {"action": "merge", "ids": [case.pk], "into_id": foreign.pk, "reason": "x"}
        ),
        400,
    ) == ["into_id"]
    assert _fields(_post(device, f"{API}/bulk", {"action": "triage", "ids": list(range(1, 1002))}), 422) == [
        "ids"
    ]


# --- the taxonomy and the deadlines ----------------------------------------------------------


def test_national_administrators_manage_the_taxonomy_and_deadlines(
    national: User, province_user: User, device: Client, world: World
) -> None:
    admin = _bearer(national)
    body = {
        "code": "fake-news",
        "name": "انتشار اخبار جعلی",
        "default_severity": "high",
        "is_violation": True,
    }

    created = _ok(_post(admin, f"{API}/categories", body), 201)
    duplicate = _post(admin, f"{API}/categories", body)
    bad_code = _post(admin, f"{API}/categories", {**body, "code": "Fake News!"})
    refused = _post(_bearer(province_user), f"{API}/categories", {**body, "code": "other"})
    renamed = _ok(
        admin.patch(
            f"{API}/categories/fake-news",
            {"name_en": "Fake news", "is_active": False},
            content_type="application/json",
        )
    )
    missing = admin.patch(f"{API}/categories/nope", {"name": "x"}, content_type="application/json")
    deadline = _ok(
        admin.put(
            f"{API}/deadlines",
            {"category": "vote-buying", "severity": "high", "hours": 4},
            content_type="application/json",
        )
    )
    default = _ok(
        admin.put(f"{API}/deadlines", {"severity": "low", "hours": 96}, content_type="application/json")
    )
    bad_hours = admin.put(
        f"{API}/deadlines", {"severity": "low", "hours": 0}, content_type="application/json"
    )
    bad_category = admin.put(
        f"{API}/deadlines",
        {"category": "nope", "severity": "low", "hours": 5},
        content_type="application/json",
    )
    deadline_refused = _bearer(province_user).put(
        f"{API}/deadlines", {"severity": "low", "hours": 5}, content_type="application/json"
    )

    assert (created["code"], created["default_severity"], created["is_violation"]) == (
        "fake-news",
        "high",
        True,
    )
    assert _fields(duplicate, 400) == ["code"]
    assert _fields(bad_code, 422) == ["code"]
    assert refused.status_code == 403
    assert (renamed["name"], renamed["name_en"], renamed["is_active"]) == (
        "انتشار اخبار جعلی",
        "Fake news",
        False,
    )
    assert "fake-news" not in [c["code"] for c in _ok(device.get(f"{API}/categories"))]
    assert "fake-news" in [
        c["code"] for c in _ok(device.get(f"{API}/categories", {"include_retired": "true"}))
    ]
    assert missing.status_code == 404
    assert (deadline["category"], deadline["severity"], deadline["hours"]) == ("vote-buying", "high", 4)
    assert (default["category"], default["hours"]) == (None, 96)
    assert _fields(bad_hours, 400) == ["hours"]
    assert _fields(bad_category, 400) == ["category"]
    assert deadline_refused.status_code == 403
    with unscoped():
        assert ResponseDeadline.objects.get(category__code="vote-buying", severity="high").hours == 4
    # A report of that category and severity now gets the category's own deadline.
    reported = _ok(_post(device, f"{API}/", _report(severity="high")), 201)
    hours = (
        dt.datetime.fromisoformat(reported["deadline_at"])
        - dt.datetime.fromisoformat(reported["received_at"])
    ).total_seconds() / 3600
    assert hours == 4


def test_a_retired_category_takes_no_new_reports(national: User, device: Client, world: World) -> None:
    admin = _bearer(national)
    _ok(_post(device, f"{API}/", _report(category="outage")), 201)  # the taxonomy is cached now
    _ok(admin.patch(f"{API}/categories/outage", {"is_active": False}, content_type="application/json"))

    assert _fields(_post(device, f"{API}/", _report(category="outage")), 400) == ["category"]


# --- concurrency (PostgreSQL: two connections racing on one key) -----------------------------


class _Race:
    """Wraps each request's queries: holds each attempt to insert a case until both requests are
    about to insert, so both write at once, and counts the attempts."""

    def __init__(self) -> None:
        self.inserts = 0
        self.lock = threading.Lock()
        self.both_inserting = threading.Barrier(2)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if 'INSERT INTO "incidents_incident"' in sql:
            with self.lock:
                self.inserts += 1
            self.both_inserting.wait(timeout=10)
        return execute(sql, params, many, context)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_make_one_case(
    reference_data: None, county_user: User, world: World
) -> None:
    _token, key = api_token_create(actor=county_user, name="racing device")
    headers = {"Authorization": f"Bearer {key}"}
    Client(headers=headers).get(f"{API}/categories")  # the token's first use is written before the race
    body = _report(idempotency_key="race-1")
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []
    race = _Race()

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            with connection.execute_wrapper(race):
                response = _post(Client(headers=headers), f"{API}/", body)
            answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert race.inserts == 2  # both wrote a case: the key's unique constraint decided
    assert sorted(status for status, _ in answers) == [200, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    assert _incidents(idempotency_key="race-1") == 1
