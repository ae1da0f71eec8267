"""A case's page: its facts, the actions the user may take now (and nothing else), duplicates and
merged reports, evidence (upload and download within the jurisdiction only), comments and timeline.

Each action goes through its form to its service; an illegal move or a missing field shows on the
form; a role that may not act does not see the form (404), nor does anyone out of reach.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.incidents import services
from amanat.incidents.models import (
    Incident,
    IncidentCategory,
    IncidentComment,
    IncidentEvidence,
    IncidentState,
)
from amanat.incidents.tests.conftest import PNG, evidence_upload, reload
from amanat.incidents.tests.test_views import english_client, errors_of
from amanat.scoping import unscoped
from conftest import PASSWORD, World


@pytest.fixture(autouse=True)
def evidence_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The evidence field's storage was built at import: point it at this test's directory."""
    storage = FileSystemStorage(tmp_path / "evidence-files")
    monkeypatch.setattr(IncidentEvidence._meta.get_field("file"), "storage", storage)


def _actions(response: Any) -> list[str]:
    return [block.action for block in response.context["blocks"]]


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["county_user", "county_viewer", "province_user", "national"])
def test_the_case_page_renders_within_reach(
    persona: str, request: Any, file_report: Callable[..., Incident], world: World
) -> None:
    case = file_report()
    user = request.getfixturevalue(persona)

    response = english_client(user).get(f"/incidents/{case.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert case.description in body and "A1-001" in body and world.county_a1.name in body
    assert 'id="timeline"' in body


def test_an_outsider_gets_404_on_another_countys_case(
    file_report: Callable[..., Incident], outsider: User
) -> None:
    case = file_report()
    client = english_client(outsider)

    assert client.get(f"/incidents/{case.pk}/").status_code == 404
    assert client.post(f"/incidents/{case.pk}/act/", {"action": "triage"}).status_code == 404
    assert client.post(f"/incidents/{case.pk}/comments/", {"body": "x"}).status_code == 404
    assert client.get("/incidents/999999/").status_code == 404


def test_only_the_actions_the_user_may_take_now_are_offered(
    case_in: Callable[..., Incident], county_user: User, county_viewer: User, province_user: User
) -> None:
    new = case_in(IncidentState.NEW)
    resolved = case_in(IncidentState.RESOLVED)

    assert _actions(english_client(county_user).get(f"/incidents/{new.pk}/")) == [
        "triage",
        "reject",
        "merge",
    ]
    assert _actions(english_client(county_viewer).get(f"/incidents/{new.pk}/")) == []
    assert _actions(english_client(county_user).get(f"/incidents/{resolved.pk}/")) == []
    assert _actions(english_client(province_user).get(f"/incidents/{resolved.pk}/")) == ["close", "reopen"]
    viewer = english_client(county_viewer).get(f"/incidents/{new.pk}/").content.decode()
    assert 'id="comment-form"' not in viewer and 'id="evidence-form"' not in viewer


def test_the_assigned_organisation_works_the_case_and_others_of_the_county_do_not(
    case_in: Callable[..., Incident], admin: User, world: World, county_user: User
) -> None:
    assigned = case_in(IncidentState.ASSIGNED)
    other_org = user_create(
        actor=admin,
        username="police_a1",
        password=PASSWORD,
        role=Role.MEMBER,
        organisation=world.org_a,
        county=world.county_a1,
    )

    assert "start" in _actions(english_client(county_user).get(f"/incidents/{assigned.pk}/"))
    assert "start" not in _actions(english_client(other_org).get(f"/incidents/{assigned.pk}/"))
    refused = english_client(other_org).post(f"/incidents/{assigned.pk}/act/", {"action": "start"})
    assert refused.status_code == 403
    assert reload(assigned).state == IncidentState.ASSIGNED


def test_a_public_reporters_details_show_to_those_who_see_the_case(
    file_public: Callable[..., Incident], county_user: User, province_user: User, outsider: User
) -> None:
    report = file_public()

    for user in (county_user, province_user):
        body = english_client(user).get(f"/incidents/{report.pk}/").content.decode()
        assert 'id="reporter"' in body and "0912 000 0000" in body and "شهروند" in body
    assert english_client(outsider).get(f"/incidents/{report.pk}/").status_code == 404


def test_an_overdue_case_shows_its_flag_and_escalation(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    import datetime as dt

    from django.utils import timezone

    late = file_report(now=timezone.now() - dt.timedelta(days=4), severity="low")
    services.incidents_escalate_overdue()

    response = english_client(county_user).get(f"/incidents/{late.pk}/")

    assert response.context["overdue"] is True
    deadline = response.content.decode().split('id="deadline"')[1].split("</dd>")[0]
    assert "overdue" in deadline and "escalated to the province" in deadline


# --- actions through the page -----------------------------------------------------------------


def test_a_case_is_triaged_assigned_started_referred_resolved_and_closed_through_the_page(
    file_report: Callable[..., Incident], county_user: User, province_user: User, world: World
) -> None:
    case = file_report()
    member = english_client(county_user)
    outage = IncidentCategory.objects.get(code="outage")
    url = f"/incidents/{case.pk}/act/"

    steps = [
        (member, {"action": "triage", "triage-category": outage.pk, "triage-severity": "high"}, "triaged"),
        (
            member,
            {"action": "assign", "assign-organisation": world.org_a1.pk, "assign-assignee": county_user.pk},
            "assigned",
        ),
        (member, {"action": "start"}, "in_progress"),
        (
            member,
            {"action": "refer", "refer-authority": "دادسرای الف۱", "refer-case_number": "۱۴۰۵/۷۷"},
            "referred",
        ),
        (member, {"action": "resolve", "resolve-resolution": "پرونده در دادسرا رسیدگی شد"}, "resolved"),
        (english_client(province_user), {"action": "close", "close-note": "بسته شد"}, "closed"),
    ]
    for client, data, state in steps:
        response = client.post(url, data)
        assert response.status_code == 302, (
            state,
            errors_of(response, "blocks") if False else response.content,
        )
        assert response["Location"] == f"/incidents/{case.pk}/"
        assert reload(case).state == state

    closed = reload(case)
    assert (closed.category_id, closed.severity, closed.assignee_id) == (outage.pk, "high", county_user.pk)
    assert closed.referral_case_number == "۱۴۰۵/۷۷"
    page = member.get(f"/incidents/{case.pk}/").content.decode()
    assert 'id="referral"' in page and "۱۴۰۵/۷۷" in page


def _block_form(response: Any, action: str) -> Any:
    return next(block.form for block in response.context["blocks"] if block.action == action)


def test_an_illegal_move_shows_on_the_form(case_in: Callable[..., Incident], province_user: User) -> None:
    case = case_in(IncidentState.NEW)

    response = english_client(province_user).post(f"/incidents/{case.pk}/act/", {"action": "close"})

    assert response.status_code == 400
    assert _block_form(response, "close").non_field_errors() == ["A case that is New cannot be closed."]
    assert reload(case).state == IncidentState.NEW


@pytest.mark.parametrize(
    ("state", "data", "field", "message"),
    [
        ("new", {"action": "reject", "reject-reason": " "}, "reason", "This field is required."),
        (
            "in_progress",
            {"action": "refer", "refer-authority": "دادسرا"},
            "case_number",
            "This field is required.",
        ),
        (
            "triaged",
            {"action": "assign", "assign-organisation": "999999"},
            "organisation",
            "serving this county",
        ),
        (
            "new",
            {"action": "merge", "merge-into": "999999", "merge-reason": "x"},
            "into",
            "outside your jurisdiction",
        ),
    ],
)
def test_action_errors_name_the_field(
    state: str,
    data: dict[str, Any],
    field: str,
    message: str,
    case_in: Callable[..., Incident],
    county_user: User,
) -> None:
    case = case_in(state)

    response = english_client(county_user).post(f"/incidents/{case.pk}/act/", data)

    assert response.status_code == 400
    errors = _block_form(response, data["action"]).errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert reload(case).state == state


def test_assigning_to_an_organisation_of_another_county_is_refused(
    case_in: Callable[..., Incident], national: User, world: World
) -> None:
    case = case_in(IncidentState.TRIAGED)

    response = english_client(national).post(
        f"/incidents/{case.pk}/act/", {"action": "assign", "assign-organisation": world.org_b1.pk}
    )

    assert response.status_code == 400
    assert "organisation" in _block_form(response, "assign").errors
    assert reload(case).state == IncidentState.TRIAGED


def test_the_assign_form_offers_the_countys_line_of_organisations_and_their_people(
    case_in: Callable[..., Incident], national: User, county_user: User, world: World
) -> None:
    case = case_in(IncidentState.TRIAGED)

    form = _block_form(english_client(national).get(f"/incidents/{case.pk}/"), "assign")

    organisations = set(form.fields["organisation"].queryset)
    assert {world.org_a1, world.org_a, world.org_national} <= organisations
    assert world.org_b1 not in organisations
    assert county_user in set(form.fields["assignee"].queryset)


def test_an_unknown_action_is_refused(case_in: Callable[..., Incident], county_user: User) -> None:
    case = case_in(IncidentState.NEW)

    response = english_client(county_user).post(f"/incidents/{case.pk}/act/", {"action": "explode"})

    assert response.status_code == 400
    assert response.context["action_errors"] == ["Choose an action."]


def test_viewers_are_refused_actions(case_in: Callable[..., Incident], county_viewer: User) -> None:
    case = case_in(IncidentState.NEW)

    response = english_client(county_viewer).post(
        f"/incidents/{case.pk}/act/", {"action": "reject", "reject-reason": "x"}
    )

    assert response.status_code == 404
    assert reload(case).state == IncidentState.NEW


def test_merging_into_another_case_through_the_form(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    target = file_report(description="گزارش اصلی")
    case = file_report(description="گزارش دوم")

    response = english_client(county_user).post(
        f"/incidents/{case.pk}/act/",
        {"action": "merge", "merge-into": target.pk, "merge-reason": "یک رویداد"},
    )

    assert response.status_code == 302
    assert reload(case).merged_into_id == target.pk


# --- duplicates and merged reports ------------------------------------------------------------


def test_a_suggested_duplicate_is_merged_into_the_case_in_one_click(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report(description="توزیع پول میان رأی‌دهندگان در صف شعبه")
    duplicate = file_report(
        description="توزیع پول میان رأی‌دهندگان در صف شعبه امروز", evidence=[evidence_upload()]
    )
    client = english_client(county_user)

    page = client.get(f"/incidents/{case.pk}/")
    assert [row.suggestion.incident.pk for row in page.context["duplicates"]] == [duplicate.pk]
    assert f'id="absorb-{duplicate.pk}"' in page.content.decode()
    reason = page.context["absorb_reason"]

    merged = client.post(f"/incidents/{case.pk}/absorb/", {"duplicate": duplicate.pk, "reason": reason})

    assert merged.status_code == 302 and merged["Location"] == f"/incidents/{case.pk}/#merged"
    assert reload(duplicate).merged_into_id == case.pk
    after = client.get(f"/incidents/{case.pk}/")
    body = after.content.decode()
    assert f'id="merged-{duplicate.pk}"' in body and "امروز" in body  # the merged report's own text
    assert [e.incident_id for e in after.context["evidence"]] == [duplicate.pk]  # and its evidence
    assert after.context["duplicates"] == []


def test_absorbing_a_case_out_of_reach_is_refused(
    file_report: Callable[..., Incident], county_user: User, outsider: User
) -> None:
    case = file_report()
    foreign = file_report(actor=outsider, station_code="B1-001")

    response = english_client(county_user).post(
        f"/incidents/{case.pk}/absorb/", {"duplicate": foreign.pk, "reason": "x"}
    )

    assert response.status_code == 400
    assert response.context["absorb_errors"] == ["Unknown case, or one outside your jurisdiction."]
    assert reload(foreign).state == IncidentState.NEW


# --- comments and timeline -----------------------------------------------------------------


def test_a_comment_is_added_with_htmx_and_the_timeline_comes_back(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()

    response = english_client(county_user).post(
        f"/incidents/{case.pk}/comments/",
        {"body": "با ناظر شعبه تماس گرفته شد"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="timeline">') or 'id="timeline"' in body
    assert "<html" not in body and "با ناظر شعبه تماس گرفته شد" in body
    assert 'id="comment-form"' in body
    with unscoped():
        assert IncidentComment.objects.filter(incident=case).count() == 1


def test_an_empty_comment_shows_its_error(file_report: Callable[..., Incident], county_user: User) -> None:
    case = file_report()
    client = english_client(county_user)

    htmx = client.post(f"/incidents/{case.pk}/comments/", {"body": "  "}, headers={"HX-Request": "true"})
    plain = client.post(f"/incidents/{case.pk}/comments/", {"body": ""})

    assert htmx.status_code == 200 and "This field is required." in htmx.content.decode()
    assert plain.status_code == 400 and errors_of(plain, "comment_form") == {
        "body": ["This field is required."]
    }


def test_a_comment_without_htmx_returns_to_the_timeline(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()

    response = english_client(county_user).post(f"/incidents/{case.pk}/comments/", {"body": "یادداشت"})

    assert response.status_code == 302 and response["Location"] == f"/incidents/{case.pk}/#timeline"


def test_viewers_may_not_comment(file_report: Callable[..., Incident], county_viewer: User) -> None:
    case = file_report()

    assert (
        english_client(county_viewer).post(f"/incidents/{case.pk}/comments/", {"body": "x"}).status_code
        == 404
    )


def test_the_timeline_shows_moves_and_comments_in_order(
    case_in: Callable[..., Incident], county_user: User
) -> None:
    case = case_in(IncidentState.ASSIGNED)
    services.incident_comment_add(actor=county_user, incident=case, body="پیگیری شد")

    response = english_client(county_user).get(f"/incidents/{case.pk}/")

    kinds = [row.entry.kind for row in response.context["timeline"]]
    assert kinds == ["reported", "triaged", "assigned", "commented"]
    triaged = response.context["timeline"][1]
    assert (triaged.from_label, triaged.to_label) == ("New", "Triaged")


# --- evidence ---------------------------------------------------------------------------------


def test_evidence_is_added_and_downloaded_as_an_attachment(
    file_report: Callable[..., Incident], county_user: User, province_user: User
) -> None:
    case = file_report()
    client = english_client(county_user)

    added = client.post(
        f"/incidents/{case.pk}/evidence/", {"evidence": [SimpleUploadedFile("صحنه.png", PNG)]}
    )
    with unscoped():
        evidence = IncidentEvidence.objects.get(incident=case)
    download: Any = english_client(province_user).get(f"/incidents/evidence/{evidence.pk}/")

    assert added.status_code == 302 and added["Location"] == f"/incidents/{case.pk}/#evidence"
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == PNG
    page = client.get(f"/incidents/{case.pk}/").content.decode()
    assert f'href="/incidents/evidence/{evidence.pk}/"' in page


def test_evidence_is_not_served_outside_the_jurisdiction(
    file_report: Callable[..., Incident], outsider: User
) -> None:
    case = file_report(evidence=[evidence_upload()])
    with unscoped():
        evidence = IncidentEvidence.objects.get(incident=case)

    assert english_client(outsider).get(f"/incidents/evidence/{evidence.pk}/").status_code == 404
    assert english_client(outsider).get("/incidents/evidence/999999/").status_code == 404


def test_a_disguised_evidence_file_is_refused_on_the_field(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()

    response = english_client(county_user).post(
        f"/incidents/{case.pk}/evidence/", {"evidence": [SimpleUploadedFile("photo.jpg", PNG)]}
    )

    assert response.status_code == 400
    assert "evidence" in errors_of(response, "evidence_form")
    with unscoped():
        assert not IncidentEvidence.objects.filter(incident=case).exists()


def test_no_evidence_form_on_a_closed_case(case_in: Callable[..., Incident], county_user: User) -> None:
    case = case_in(IncidentState.CLOSED)

    response = english_client(county_user).get(f"/incidents/{case.pk}/")

    assert response.context["evidence_form"] is None


@pytest.mark.parametrize("persona", ["county_user", "national"])
def test_case_page_queries_do_not_grow_with_its_history(
    persona: str,
    request: Any,
    case_in: Callable[..., Incident],
    county_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    user = request.getfixturevalue(persona)
    case = case_in(IncidentState.IN_PROGRESS)
    client = english_client(user)
    client.get(f"/incidents/{case.pk}/")
    with django_assert_max_num_queries(40) as few:
        client.get(f"/incidents/{case.pk}/")
    for n in range(8):
        services.incident_comment_add(actor=county_user, incident=case, body=f"یادداشت {n}")
    services.incident_evidence_add(
        actor=county_user, incident=case, uploads=[evidence_upload(), evidence_upload("b.png")]
    )

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(f"/incidents/{case.pk}/").status_code == 200
