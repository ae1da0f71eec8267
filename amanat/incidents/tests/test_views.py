"""The officials' incident pages: the list with its filters and bulk actions, the report form, the
queues, the figures and the taxonomy settings.

Each page renders for the personas who may use it and shows nothing beyond their jurisdiction; the
list pages keep their query count whatever the number of cases; bulk actions name each refused case
with its reason; bad input shows on the right field, keeping what was typed. (A case's own page,
its actions, evidence and comments: test_views_case.py.)
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from amanat.accounts.models import User
from amanat.incidents import services
from amanat.incidents.models import (
    Channel,
    Incident,
    IncidentCategory,
    IncidentEvidence,
    IncidentState,
    ResponseDeadline,
)
from amanat.incidents.tests.conftest import PNG, reload
from amanat.scoping import unscoped
from amanat.ui.formatting import jalali_input_value
from conftest import World, client_for


@pytest.fixture(autouse=True)
def evidence_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The evidence field's storage was built at import: point it at this test's directory."""
    storage = FileSystemStorage(tmp_path / "evidence-files")
    monkeypatch.setattr(IncidentEvidence._meta.get_field("file"), "storage", storage)


def english_client(user: User) -> Client:
    """A logged-in client reading the pages in English, so assertions read the source strings."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def errors_of(response: Any, name: str = "form") -> dict[str, list[str]]:
    return {field: list(errors) for field, errors in response.context[name].errors.items()}


def count(**filters: Any) -> int:
    with unscoped():
        return int(Incident.objects.filter(**filters).count())


# --- the list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["county_user", "county_viewer", "province_user", "national"])
def test_the_list_shows_cases_within_reach(
    persona: str, request: Any, file_report: Callable[..., Incident], outsider: User
) -> None:
    own = file_report()
    other = file_report(actor=outsider, station_code="B1-001")
    user = request.getfixturevalue(persona)

    response = english_client(user).get("/incidents/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="case-{own.pk}"' in body
    shown_other = f'id="case-{other.pk}"' in body
    assert shown_other == (persona == "national")


def test_the_outsider_does_not_see_another_countys_cases(
    file_report: Callable[..., Incident], outsider: User
) -> None:
    own = file_report()

    body = english_client(outsider).get("/incidents/").content.decode()

    assert f'id="case-{own.pk}"' not in body
    assert "A1-001" not in body


def test_the_list_offers_bulk_actions_only_to_those_who_record_incidents(
    file_report: Callable[..., Incident], county_user: User, county_viewer: User
) -> None:
    file_report()

    member = english_client(county_user).get("/incidents/").content.decode()
    viewer = english_client(county_viewer).get("/incidents/").content.decode()

    assert 'id="bulk-form"' in member and 'name="ids"' in member
    assert 'id="bulk-form"' not in viewer and 'name="ids"' not in viewer


def test_overdue_rows_are_flagged(file_report: Callable[..., Incident], county_user: User) -> None:
    late = file_report(now=timezone.now() - dt.timedelta(days=5), description="دیرکرد")
    fresh = file_report(description="تازه")

    body = english_client(county_user).get("/incidents/").content.decode()

    assert f'<tr id="case-{late.pk}" class="is-overdue">' in body
    assert f'<tr id="case-{fresh.pk}">' in body


def test_filters_narrow_the_list(
    file_report: Callable[..., Incident],
    case_in: Callable[..., Incident],
    file_public: Callable[..., Incident],
    county_user: User,
    world: World,
) -> None:
    buying = file_report(description="خرید رأی با کارت هدیه")
    outage = file_report(
        category_code="outage", severity="critical", station_code="", county_code="A1", address="خیابان دوم"
    )
    closed = case_in(IncidentState.CLOSED)
    public = file_public()
    old = file_report(now=timezone.now() - dt.timedelta(days=40), description="قدیمی")
    client = english_client(county_user)

    def shown(query: str) -> set[int]:
        response = client.get("/incidents/?" + query)
        assert response.status_code == 200
        return {row.incident.pk for row in response.context["rows"]}

    assert shown("category=outage") == {outage.pk}
    assert shown("severity=critical") == {outage.pk}
    assert closed.pk not in shown("state=open") and buying.pk in shown("state=open")
    assert shown("state=closed") == {closed.pk}
    assert shown("channel=public") == {public.pk}
    assert shown("overdue=1") == {old.pk}
    assert shown("q=کارت") == {buying.pk}
    # The date range is typed in Jalali, in Persian digits or Latin ones.
    today = timezone.localdate()
    since = jalali_input_value(today - dt.timedelta(days=2))
    assert old.pk not in shown(f"from={since}") and buying.pk in shown(f"from={since}")
    persian = since.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert shown(f"from={persian}") == shown(f"from={since}")
    assert shown(f"to={jalali_input_value(today - dt.timedelta(days=30))}") == {old.pk}
    assert shown(f"county={world.county_a1.pk}") == {buying.pk, outage.pk, closed.pk, public.pk, old.pk}
    assert shown(f"county={world.county_b1.pk}") == set()


def test_a_search_typed_with_arabic_letters_finds_persian_text(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report(description="رأی‌دهندگان کارت‌های یارانه گرفتند")

    response = english_client(county_user).get("/incidents/", {"q": "كارتهاي"})

    assert [row.incident.pk for row in response.context["rows"]] == [case.pk]


def test_the_list_filter_offers_counties_within_reach_only(
    province_user: User, county_user: User, national: User, world: World
) -> None:
    province = english_client(province_user).get("/incidents/").content.decode()
    county = english_client(county_user).get("/incidents/").content.decode()
    nation = english_client(national).get(f"/incidents/?province={world.province_b.pk}").content.decode()

    assert world.county_a2.name in province and world.county_b1.name not in province
    assert 'name="county"' not in county  # a county user has one county: nothing to choose
    assert 'name="province"' in nation and world.county_b1.name in nation


def test_the_list_links_exports_of_the_current_filter(county_user: User) -> None:
    body = english_client(county_user).get("/incidents/?state=open&page=2").content.decode()

    assert 'href="/incidents/export.csv?state=open"' in body
    assert 'href="/incidents/export.xlsx?state=open"' in body


def test_the_list_answers_htmx_with_the_table_only(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()

    response = english_client(county_user).get("/incidents/", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert f'id="case-{case.pk}"' in body
    assert "<html" not in body and 'id="filters"' not in body


def _grow(file_report: Callable[..., Incident], n: int, **fields: Any) -> None:
    for number in range(n):
        file_report(description=f"گزارش شماره {number}", **fields)


@pytest.mark.parametrize("persona", ["county_user", "province_user", "national"])
def test_list_queries_do_not_grow_with_the_cases(
    persona: str,
    request: Any,
    file_report: Callable[..., Incident],
    world: World,
    django_assert_max_num_queries: Any,
) -> None:
    user = request.getfixturevalue(persona)
    client = english_client(user)
    _grow(file_report, 2)
    client.get("/incidents/")
    with django_assert_max_num_queries(30) as few:
        assert client.get("/incidents/?state=open").status_code == 200
    _grow(file_report, 25)
    _grow(file_report, 5, category_code="outage", station_code="", county_code="A1", address="نشانی")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/incidents/?state=open")
    assert len(response.context["rows"]) == 32


def test_a_page_never_loads_more_than_it_shows(
    file_report: Callable[..., Incident], county_user: User, settings: Any
) -> None:
    settings.PAGE_SIZE = 5
    _grow(file_report, 12)

    response = english_client(county_user).get("/incidents/?page=2")

    assert len(response.context["rows"]) == 5
    assert response.context["page"].paginator.count == 12


# --- bulk actions ------------------------------------------------------------------------------


def test_bulk_triage_changes_some_and_names_the_refused_with_their_reason(
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    county_user: User,
    outsider: User,
) -> None:
    first, second = file_report(), file_report(description="دومی")
    already = case_in(IncidentState.TRIAGED)
    foreign = file_report(actor=outsider, station_code="B1-001")
    client = english_client(county_user)

    response = client.post(
        "/incidents/bulk/",
        {
            "action": "triage",
            "selection": "selected",
            "ids": [first.pk, second.pk, already.pk, foreign.pk],
            "severity": "high",
        },
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert sorted(result.done) == sorted([first.pk, second.pk])
    assert set(result.errors) == {already.pk, foreign.pk}
    assert "cannot be triaged" in result.errors[already.pk]
    assert "outside your jurisdiction" in result.errors[foreign.pk]
    assert reload(first).state == IncidentState.TRIAGED and reload(first).severity == "high"
    assert reload(foreign).state == IncidentState.NEW
    body = response.content.decode()
    assert f'id="refused-{already.pk}"' in body and f'id="refused-{foreign.pk}"' in body


def test_bulk_with_htmx_answers_the_outcome_and_reloads_the_list(
    file_report: Callable[..., Incident], county_user: User, world: World
) -> None:
    case = services.incident_triage(actor=county_user, incident=file_report())

    response = english_client(county_user).post(
        "/incidents/bulk/",
        {"action": "assign", "selection": "selected", "ids": [case.pk], "organisation": world.org_a1.pk},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "incidents-changed"
    assert "<html" not in response.content.decode()
    assert reload(case).assigned_organisation_id == world.org_a1.pk


def test_bulk_reject_needs_a_reason_and_changes_nothing_without_one(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()

    response = english_client(county_user).post(
        "/incidents/bulk/", {"action": "reject", "selection": "selected", "ids": [case.pk]}
    )

    assert response.status_code == 400
    assert response.context["result"] is None
    assert "Give the reason." in response.content.decode()
    assert reload(case).state == IncidentState.NEW


def test_bulk_needs_a_selection(county_user: User) -> None:
    response = english_client(county_user).post(
        "/incidents/bulk/", {"action": "close", "selection": "selected"}
    )

    assert response.status_code == 400
    assert "Select at least one case." in response.content.decode()


def test_bulk_on_every_case_of_the_page(file_report: Callable[..., Incident], county_user: User) -> None:
    cases = [file_report(description=f"مورد {n}") for n in range(3)]

    response = english_client(county_user).post(
        "/incidents/bulk/",
        {
            "action": "reject",
            "selection": "page",
            "page_ids": [c.pk for c in cases],
            "reason": "گزارش آزمایشی",
        },
    )

    assert sorted(response.context["result"].done) == sorted(c.pk for c in cases)
    assert count(state=IncidentState.REJECTED) == 3


def test_bulk_on_every_case_of_the_filter(
    file_report: Callable[..., Incident], file_public: Callable[..., Incident], county_user: User
) -> None:
    public = [file_public(description=f"گزارش مردمی {n}") for n in range(3)]
    official = file_report()

    response = english_client(county_user).post(
        "/incidents/bulk/",
        {"action": "moderate", "selection": "filter", "filter": "state=awaiting_moderation"},
    )

    assert sorted(response.context["result"].done) == sorted(c.pk for c in public)
    assert reload(official).state == IncidentState.NEW
    assert count(state=IncidentState.AWAITING_MODERATION) == 0


def test_bulk_on_a_filter_of_more_than_a_thousand_is_refused(
    file_report: Callable[..., Incident], county_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amanat.incidents.views import cases

    monkeypatch.setattr(cases, "BULK_LIMIT", 2)
    for n in range(3):
        file_report(description=f"مورد {n}")

    response = english_client(county_user).post(
        "/incidents/bulk/", {"action": "reject", "selection": "filter", "filter": "", "reason": "x"}
    )

    assert response.status_code == 400
    assert "narrow it first" in response.content.decode()
    assert count(state=IncidentState.REJECTED) == 0


def test_bulk_merge_into_a_case_out_of_reach_is_refused(
    file_report: Callable[..., Incident], county_user: User, outsider: User
) -> None:
    case = file_report()
    foreign = file_report(actor=outsider, station_code="B1-001")

    response = english_client(county_user).post(
        "/incidents/bulk/",
        {
            "action": "merge",
            "selection": "selected",
            "ids": [case.pk],
            "into": foreign.pk,
            "reason": "تکراری",
        },
    )

    assert response.status_code == 400
    assert "outside your jurisdiction" in response.content.decode()
    assert reload(case).state == IncidentState.NEW


def test_bulk_merge_and_close(
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    county_user: User,
    province_user: User,
) -> None:
    target = file_report(description="گزارش اصلی")
    duplicates = [file_report(description=f"تکراری {n}") for n in range(2)]
    resolved = case_in(IncidentState.RESOLVED)

    merged = english_client(county_user).post(
        "/incidents/bulk/",
        {
            "action": "merge",
            "selection": "selected",
            "ids": [d.pk for d in duplicates],
            "into": target.pk,
            "reason": "یک رویداد",
        },
    )
    member_close = english_client(county_user).post(
        "/incidents/bulk/", {"action": "close", "selection": "selected", "ids": [resolved.pk]}
    )
    chair_close = english_client(province_user).post(
        "/incidents/bulk/", {"action": "close", "selection": "selected", "ids": [resolved.pk]}
    )

    assert sorted(merged.context["result"].done) == sorted(d.pk for d in duplicates)
    assert all(reload(d).merged_into_id == target.pk for d in duplicates)
    assert member_close.context["result"].errors == {
        resolved.pk: "Your role does not allow this on this case."
    }
    assert chair_close.context["result"].done == [resolved.pk]
    assert reload(resolved).state == IncidentState.CLOSED


def test_bulk_is_refused_to_viewers(file_report: Callable[..., Incident], county_viewer: User) -> None:
    case = file_report()

    response = english_client(county_viewer).post(
        "/incidents/bulk/", {"action": "reject", "selection": "selected", "ids": [case.pk], "reason": "x"}
    )

    assert response.status_code == 404
    assert reload(case).state == IncidentState.NEW


# --- the report form ---------------------------------------------------------------------------


def _report_data(**changes: Any) -> dict[str, Any]:
    when = timezone.localtime() - dt.timedelta(hours=1)
    data: dict[str, Any] = {
        "category": "vote-buying",
        "station_code": "A1-001",
        "county": "",
        "address": "",
        "occurred_on": jalali_input_value(when.date()),
        "occurred_time": when.strftime("%H:%M"),
        "severity": "",
        "description": "توزیع پول در صف شعبه",
        "idempotency_key": "form-key-1",
    }
    data.update(changes)
    return data


def test_the_report_form_renders_for_members_and_is_refused_to_viewers(
    county_user: User, county_viewer: User
) -> None:
    member = english_client(county_user).get("/incidents/new/")
    viewer = english_client(county_viewer).get("/incidents/new/")

    assert member.status_code == 200
    assert 'id="report-form"' in member.content.decode()
    assert 'name="idempotency_key"' in member.content.decode()
    assert viewer.status_code == 404


def test_a_report_at_a_station_is_filed_and_opens_its_case(county_user: User, world: World) -> None:
    response = english_client(county_user).post("/incidents/new/", _report_data())

    assert response.status_code == 302, errors_of(response)
    with unscoped():
        case = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{case.pk}/"
    assert (case.station_id, case.county_id, case.channel) == (world.station_a1.pk, world.county_a1.pk, "web")
    assert case.severity == IncidentCategory.objects.get(code="vote-buying").default_severity
    assert case.reported_by_id == county_user.pk


def test_a_report_in_a_county_with_an_address_time_in_persian_digits_and_evidence(
    county_user: User, world: World
) -> None:
    when = timezone.localtime() - dt.timedelta(hours=3)
    to_persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    data = _report_data(
        station_code="",
        county=world.county_a1.pk,
        address="میدان اصلی",
        category="outage",
        severity="high",
        occurred_on=jalali_input_value(when.date()).translate(to_persian),
        occurred_time=when.strftime("%H:%M").translate(to_persian),
        evidence=[SimpleUploadedFile("photo.png", PNG), SimpleUploadedFile("second.png", PNG)],
    )

    response = english_client(county_user).post("/incidents/new/", data)

    assert response.status_code == 302
    with unscoped():
        case = Incident.objects.get()
        files = list(IncidentEvidence.objects.filter(incident=case))
    assert (case.station_id, case.address, case.severity) == (None, "میدان اصلی", "high")
    assert timezone.localtime(case.occurred_at).strftime("%Y-%m-%d %H:%M") == when.strftime("%Y-%m-%d %H:%M")
    assert sorted(f.original_name for f in files) == ["photo.png", "second.png"]


def test_sending_the_form_twice_files_one_case(county_user: User) -> None:
    client = english_client(county_user)

    first = client.post("/incidents/new/", _report_data())
    second = client.post("/incidents/new/", _report_data())

    assert count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"station_code": "B1-001"}, "station_code", "outside your jurisdiction"),
        ({"station_code": "NOPE"}, "station_code", "Unknown station"),
        ({"station_code": ""}, "county", "Give the polling station or the county"),
        ({"station_code": "", "county": "county-a1", "address": ""}, "address", "Give the address"),
        ({"category": "no-such-thing"}, "category", "Choose a category in use."),
        ({"occurred_on": "1405/13/40"}, "occurred_on", "Enter a Jalali date"),
        ({"occurred_time": "25:61"}, "occurred_time", "Enter the time as HH:MM"),
        ({"description": "   "}, "description", "This field is required."),
    ],
)
def test_report_form_errors_name_the_field_and_keep_the_input(
    changes: dict[str, Any], field: str, message: str, county_user: User, world: World
) -> None:
    if changes.get("county") == "county-a1":
        changes = {**changes, "county": world.county_a1.pk}
    data = _report_data(**changes)

    response = english_client(county_user).post("/incidents/new/", data)

    assert response.status_code == 400
    errors = errors_of(response)
    assert any(message in error for error in errors.get(field, [])), errors
    body = response.content.decode()
    assert "توزیع پول در صف شعبه" in body or data["description"].strip() == ""
    assert count() == 0


def test_a_time_in_the_future_is_refused_on_the_date(county_user: User) -> None:
    later = timezone.localtime() + dt.timedelta(days=2)
    data = _report_data(occurred_on=jalali_input_value(later.date()), occurred_time=later.strftime("%H:%M"))

    response = english_client(county_user).post("/incidents/new/", data)

    assert response.status_code == 400
    assert errors_of(response)["occurred_on"] == ["The time is in the future."]


def test_a_disguised_or_excess_evidence_file_is_refused(county_user: User) -> None:
    client = english_client(county_user)
    disguised = client.post(
        "/incidents/new/",
        _report_data(evidence=[SimpleUploadedFile("photo.png", b"MZ\x90\x00" + b"\x00" * 64)]),
    )
    many = client.post(
        "/incidents/new/",
        _report_data(evidence=[SimpleUploadedFile(f"p{n}.png", PNG) for n in range(6)], idempotency_key="k2"),
    )

    assert disguised.status_code == 400 and "evidence" in errors_of(disguised)
    assert many.status_code == 400 and errors_of(many)["evidence"] == ["At most 5 files per report."]
    assert count() == 0


def test_the_report_form_offers_counties_within_reach(
    county_user: User, province_user: User, world: World
) -> None:
    county = english_client(county_user).get("/incidents/new/").content.decode()
    province = english_client(province_user).get("/incidents/new/").content.decode()

    assert world.county_a1.name in county and world.county_a2.name not in county
    assert world.county_a2.name in province and world.county_b1.name not in province


# --- queues ----------------------------------------------------------------------------------


def test_the_queue_shows_what_is_assigned_to_me_and_my_organisation_due_first(
    case_in: Callable[..., Incident], file_report: Callable[..., Incident], county_user: User, world: World
) -> None:
    to_org = case_in(IncidentState.ASSIGNED)
    triaged = services.incident_triage(
        actor=county_user, incident=file_report(description="برای من"), severity="critical"
    )
    to_me = services.incident_assign(
        actor=county_user, incident=triaged, organisation=world.org_a1, assignee=county_user
    )
    unassigned = file_report(description="بی‌صاحب")
    client = english_client(county_user)

    mine = client.get("/incidents/queue/")
    organisation = client.get("/incidents/queue/?tab=organisation")

    assert [row.incident.pk for row in mine.context["rows"]] == [to_me.pk]
    assert [row.incident.pk for row in organisation.context["rows"]] == [to_me.pk, to_org.pk]  # due first
    assert unassigned.pk not in {row.incident.pk for row in organisation.context["rows"]}


def test_the_escalated_tab_lists_cases_escalated_to_the_province(
    file_report: Callable[..., Incident], province_user: User
) -> None:
    # Low severity: 72 hours; received four days ago, it is one day late (escalated one level).
    late = file_report(now=timezone.now() - dt.timedelta(days=4), severity="low")
    services.incidents_escalate_overdue()

    response = english_client(province_user).get("/incidents/queue/?tab=escalated")

    assert [row.incident.pk for row in response.context["rows"]] == [late.pk]
    body = response.content.decode()
    assert "escalated to the province" in body and "overdue" in body


def test_queue_queries_do_not_grow(
    case_in: Callable[..., Incident], county_user: User, django_assert_max_num_queries: Any
) -> None:
    client = english_client(county_user)
    case_in(IncidentState.ASSIGNED)
    client.get("/incidents/queue/?tab=organisation")
    with django_assert_max_num_queries(30) as few:
        client.get("/incidents/queue/?tab=organisation")
    for _n in range(8):
        case_in(IncidentState.IN_PROGRESS)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/incidents/queue/?tab=organisation")
    assert len(response.context["rows"]) == 9


def test_moderation_lists_public_reports_and_accepts_one(
    file_public: Callable[..., Incident], file_report: Callable[..., Incident], county_user: User
) -> None:
    report = file_public()
    file_report()
    client = english_client(county_user)

    page = client.get("/incidents/moderation/")
    accepted = client.post(
        f"/incidents/{report.pk}/act/", {"action": "moderate", "next": "/incidents/moderation/"}
    )

    assert [row.incident.pk for row in page.context["rows"]] == [report.pk]
    assert f'id="moderate-{report.pk}"' in page.content.decode()
    assert accepted.status_code == 302 and accepted["Location"] == "/incidents/moderation/"
    assert reload(report).state == IncidentState.NEW


def test_moderation_rejects_with_a_reason_and_bulk(
    file_public: Callable[..., Incident], county_user: User
) -> None:
    spam, more, other = (file_public(description=f"تبلیغ {n}") for n in range(3))
    client = english_client(county_user)

    one = client.post(
        f"/incidents/{spam.pk}/act/",
        {"action": "reject", "reject-reason": "تبلیغات", "next": "/incidents/moderation/"},
    )
    many = client.post(
        "/incidents/bulk/",
        {"action": "reject", "selection": "selected", "ids": [more.pk, other.pk], "reason": "هرزنامه"},
    )

    assert one.status_code == 302
    assert reload(spam).reason == "تبلیغات"
    assert sorted(many.context["result"].done) == sorted([more.pk, other.pk])


def test_moderation_is_read_only_for_viewers(
    file_public: Callable[..., Incident], county_viewer: User
) -> None:
    report = file_public()

    body = english_client(county_viewer).get("/incidents/moderation/").content.decode()

    assert f'id="case-{report.pk}"' in body
    assert f'id="moderate-{report.pk}"' not in body and 'id="bulk-form"' not in body


def test_an_outsider_does_not_moderate_another_countys_reports(
    file_public: Callable[..., Incident], outsider: User
) -> None:
    report = file_public()
    client = english_client(outsider)

    listed = client.get("/incidents/moderation/")
    accepted = client.post(f"/incidents/{report.pk}/act/", {"action": "moderate"})

    assert listed.context["rows"] == []
    assert accepted.status_code == 404
    assert reload(report).state == IncidentState.AWAITING_MODERATION


# --- figures ----------------------------------------------------------------------------------


def test_the_figures_count_by_category_county_and_state_within_reach(
    case_in: Callable[..., Incident],
    file_report: Callable[..., Incident],
    province_user: User,
    outsider: User,
) -> None:
    case_in(IncidentState.CLOSED)
    file_report()
    file_report(actor=province_user, category_code="outage", station_code="A2-001")
    file_report(actor=outsider, station_code="B1-001")

    response = english_client(province_user).get("/incidents/figures/")

    figures = response.context["figures"]
    assert response.status_code == 200
    assert figures.overall.total == 3
    assert figures.overall.done == 1 and figures.overall.share_within_deadline == 100.0
    assert {g.label: g.total for g in figures.by_county} == {"شهرستان الف۱": 2, "شهرستان الف۲": 1}
    body = response.content.decode()
    assert 'id="by-category"' in body and 'id="by-state"' in body
    assert "شهرستان ب۱" not in body


def test_the_figures_respect_the_filters(file_report: Callable[..., Incident], county_user: User) -> None:
    file_report()
    file_report(category_code="outage", station_code="", county_code="A1", address="نشانی")

    response = english_client(county_user).get("/incidents/figures/?category=outage")

    assert response.context["figures"].overall.total == 1
    assert 'href="/incidents/?category=outage"' in response.content.decode()


# --- categories and deadlines ---------------------------------------------------------------


def test_the_taxonomy_page_is_for_national_administrators_only(
    national: User, province_user: User, county_user: User
) -> None:
    assert english_client(national).get("/incidents/categories/").status_code == 200
    assert english_client(province_user).get("/incidents/categories/").status_code == 404
    assert english_client(county_user).get("/incidents/categories/").status_code == 404


def test_a_category_is_added_edited_retired_and_restored(national: User) -> None:
    client = english_client(national)

    added = client.post(
        "/incidents/categories/",
        {
            "code": "ballot-photo",
            "name": "عکس از برگه رأی",
            "name_en": "Photo of a ballot",
            "default_severity": "low",
        },
    )
    category = IncidentCategory.objects.get(code="ballot-photo")
    edited = client.post(
        f"/incidents/categories/{category.pk}/",
        {
            "name": "عکس‌برداری از برگه رأی",
            "name_en": "Ballot photo",
            "default_severity": "medium",
            "is_active": "on",
        },
    )
    retired = client.post(f"/incidents/categories/{category.pk}/active/")
    category.refresh_from_db()
    was_active = category.is_active
    client.post(f"/incidents/categories/{category.pk}/active/")
    category.refresh_from_db()

    assert added.status_code == edited.status_code == retired.status_code == 302
    assert (category.name, category.default_severity, category.is_active) == (
        "عکس‌برداری از برگه رأی",
        "medium",
        True,
    )
    assert was_active is False


def test_a_duplicate_category_code_shows_on_the_field(national: User) -> None:
    response = english_client(national).post(
        "/incidents/categories/", {"code": "vote-buying", "name": "تکراری", "default_severity": "low"}
    )

    assert response.status_code == 400
    assert errors_of(response) == {"code": ["A category with this code exists."]}


def test_deadlines_are_shown_and_set_per_severity_and_category(national: User) -> None:
    client = english_client(national)
    violence = IncidentCategory.objects.get(code="violence")

    default = client.post("/incidents/deadlines/", {"category": "", "severity": "low", "hours": 48})
    own = client.post("/incidents/deadlines/", {"category": violence.pk, "severity": "critical", "hours": 1})
    bad = client.post("/incidents/deadlines/", {"category": "", "severity": "low", "hours": 0})
    page = client.get("/incidents/categories/")

    assert default.status_code == own.status_code == 302
    assert bad.status_code == 400 and "hours" in errors_of(bad, "deadline_form")
    assert ResponseDeadline.objects.get(category=None, severity="low").hours == 48
    assert ResponseDeadline.objects.get(category=violence, severity="critical").hours == 1
    rows = {row.label: row.hours for row in page.context["deadline_rows"]}
    assert rows["Default"] == [48, 24, 8, 2]
    assert rows[violence.name_en or violence.name] == [None, None, None, 1]


def test_category_changes_are_refused_to_others(county_user: User, province_user: User) -> None:
    category = IncidentCategory.objects.get(code="violence")

    assert (
        english_client(province_user).post(f"/incidents/categories/{category.pk}/active/").status_code == 404
    )
    assert (
        english_client(county_user).post("/incidents/deadlines/", {"severity": "low", "hours": 5}).status_code
        == 404
    )
    category.refresh_from_db()
    assert category.is_active


def test_public_reports_are_shown_as_such_in_the_list(
    file_public: Callable[..., Incident], county_user: User
) -> None:
    report = file_public()

    response = english_client(county_user).get("/incidents/?channel=public")

    assert [row.incident.channel for row in response.context["rows"]] == [Channel.PUBLIC]
    assert f'id="case-{report.pk}"' in response.content.decode()


# --- who may open what ---------------------------------------------------------------------------

PERSONAS = ("county_user", "county_viewer", "outsider", "province_user", "national", "auditor")
EDITORS = {"county_user", "province_user", "national"}


def _expected(kind: str, persona: str) -> int:
    """What each kind of endpoint answers each persona, for a case of county A1 (an empty form for POSTs)."""
    in_reach = persona != "outsider"
    if kind == "read":
        return 200
    if kind == "read-case":
        return 200 if in_reach else 404
    # A role that may not use a page does not see it (404), like the other apps' pages.
    if kind == "edit-page":
        return 200 if persona in EDITORS or persona == "outsider" else 404
    if kind == "edit-post":
        return 400 if persona in EDITORS or persona == "outsider" else 404
    if kind == "edit-case-post":
        if not in_reach:
            return 404
        return 400 if persona in EDITORS else 404
    assert kind == "admin", kind
    return 200 if persona == "national" else 404


def test_who_may_open_what(request: Any, file_report: Callable[..., Incident]) -> None:
    case = file_report(description="مورد آزمایشی")
    services.incident_evidence_add(
        actor=request.getfixturevalue("county_user"),
        incident=case,
        uploads=[services.EvidenceUpload(name="photo.png", file=SimpleUploadedFile("photo.png", PNG))],
    )
    with unscoped():
        evidence = IncidentEvidence.objects.get(incident=case)
    category = IncidentCategory.objects.get(code="violence")
    endpoints = [
        ("get", "/incidents/", "read"),
        ("get", "/incidents/queue/?tab=organisation", "read"),
        ("get", "/incidents/queue/?tab=escalated", "read"),
        ("get", "/incidents/moderation/", "read"),
        ("get", "/incidents/figures/", "read"),
        ("get", "/incidents/export.csv", "read"),
        ("get", "/incidents/export.xlsx", "read"),
        ("get", f"/incidents/{case.pk}/", "read-case"),
        ("get", f"/incidents/evidence/{evidence.pk}/", "read-case"),
        ("get", "/incidents/new/", "edit-page"),
        ("post", "/incidents/bulk/", "edit-post"),
        ("post", f"/incidents/{case.pk}/act/", "edit-case-post"),
        ("post", f"/incidents/{case.pk}/absorb/", "edit-case-post"),
        ("post", f"/incidents/{case.pk}/comments/", "edit-case-post"),
        ("post", f"/incidents/{case.pk}/evidence/", "edit-case-post"),
        ("get", "/incidents/categories/", "admin"),
        ("get", f"/incidents/categories/{category.pk}/", "admin"),
    ]
    wrong = []
    for persona in PERSONAS:
        client = english_client(request.getfixturevalue(persona))
        for method, url, kind in endpoints:
            status = getattr(client, method)(url).status_code
            if status != _expected(kind, persona):
                wrong.append(
                    f"{persona} {method.upper()} {url}: {status}, expected {_expected(kind, persona)}"
                )
    assert not wrong, "\n".join(wrong)
    assert (
        english_client(request.getfixturevalue("county_user")).post("/incidents/deadlines/").status_code
        == 404
    )
    assert (
        english_client(request.getfixturevalue("national")).post("/incidents/deadlines/").status_code == 400
    )
    for _method, url, _kind in endpoints:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize(
    "url", ["/incidents/", "/incidents/new/", "/incidents/figures/", "/incidents/moderation/"]
)
def test_pages_show_nothing_of_counties_out_of_reach(
    url: str, file_report: Callable[..., Incident], county_user: User, outsider: User, world: World
) -> None:
    file_report()
    file_report(actor=outsider, station_code="B1-001")

    body = english_client(county_user).get(url).content.decode()

    for marker in ("B1-001", "B1-002", world.county_b1.name, world.county_a2.name, "A2-001"):
        assert marker not in body, (url, marker)


def test_a_long_list_counts_only_up_to_its_limit(
    file_report: Callable[..., Incident], county_user: User, monkeypatch: Any
) -> None:
    from amanat.incidents.views import cases as case_views

    for n in range(4):
        file_report(description=f"گزارش شماره {n}")
    monkeypatch.setattr(case_views, "LIST_COUNT_LIMIT", 2)

    response = english_client(county_user).get("/incidents/")

    page = response.context["page"]
    assert page.paginator.count == 3  # counted up to the limit and one more, never all four
    assert page.paginator.count_is_capped
    assert "More than 2" in response.content.decode()
    monkeypatch.setattr(case_views, "LIST_COUNT_LIMIT", 10)
    response = english_client(county_user).get("/incidents/")
    assert response.context["page"].paginator.count == 4
    assert "4 in all" in response.content.decode()
