"""The CSV and XLSX exports: the filtered list, scoped by jurisdiction, with Jalali times, without the
reporters' personal data, and never read as formulas by a spreadsheet."""

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import jdatetime
import pytest
from django.utils import timezone
from openpyxl import load_workbook

from amanat.accounts.models import User
from amanat.incidents.exports import COLUMNS, export_header, export_rows
from amanat.incidents.models import Incident, IncidentState
from amanat.incidents.tests.test_views import english_client
from amanat.scoping import unscoped

HEADER = [
    "Case",
    "Received",
    "Received (Jalali)",
    "Occurred",
    "Occurred (Jalali)",
    "Category",
    "Severity",
    "State",
    "Province",
    "County",
    "Polling station",
    "Channel",
    "Assigned organisation",
    "Deadline",
    "Past deadline",
    "Resolved",
    "Judiciary case number",
    "Description",
]


def _csv(response: Any) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _xlsx(response: Any) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_the_csv_has_a_bom_the_columns_and_the_cases_within_reach(
    file_report: Callable[..., Incident], county_user: User, outsider: User
) -> None:
    own = file_report()
    file_report(actor=outsider, station_code="B1-001")

    response = english_client(county_user).get("/incidents/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="incidents-')
    rows = _csv(response)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == [str(own.pk)]
    row = dict(zip(HEADER, rows[1], strict=True))
    assert (row["County"], row["Polling station"], row["State"]) == ("شهرستان الف۱", "A1-001", "New")
    assert row["Description"] == own.description
    local = timezone.localtime(own.received_at)
    assert row["Received"] == local.strftime("%Y-%m-%d %H:%M")
    jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None)).strftime("%Y/%m/%d %H:%M")
    assert row["Received (Jalali)"] == jalali


def test_the_export_follows_the_filter(
    file_report: Callable[..., Incident], case_in: Callable[..., Incident], county_user: User
) -> None:
    file_report()
    closed = case_in(IncidentState.CLOSED)
    outage = file_report(category_code="outage", station_code="", county_code="A1", address="نشانی")
    client = english_client(county_user)

    closed_rows = _csv(client.get("/incidents/export.csv?state=closed"))
    outage_rows = _xlsx(client.get("/incidents/export.xlsx?category=outage"))

    assert [row[0] for row in closed_rows[1:]] == [str(closed.pk)]
    assert [row[0] for row in outage_rows[1:]] == [outage.pk]


def test_reporters_personal_data_is_never_exported(
    file_public: Callable[..., Incident], national: User
) -> None:
    file_public(reporter_name="مریم رضایی", reporter_contact="reporter@example.org")
    client = english_client(national)

    streamed: Any = client.get("/incidents/export.csv")
    text = b"".join(streamed.streaming_content).decode("utf-8-sig")
    workbook = _xlsx(client.get("/incidents/export.xlsx"))

    assert "مریم رضایی" not in text and "reporter@example.org" not in text
    cells = {str(cell) for row in workbook for cell in row}
    assert not {cell for cell in cells if "مریم" in cell or "example.org" in cell}


def test_the_xlsx_holds_the_same_rows_with_real_times(
    file_report: Callable[..., Incident], case_in: Callable[..., Incident], province_user: User
) -> None:
    referred = case_in(IncidentState.REFERRED)
    late = file_report(now=timezone.now() - dt.timedelta(days=5), description="دیرکرد")

    response = english_client(province_user).get("/incidents/export.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _xlsx(response)
    assert rows[0] == HEADER
    by_id = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_id) == {referred.pk, late.pk}
    assert isinstance(by_id[late.pk]["Received"], dt.datetime)
    assert by_id[late.pk]["Past deadline"] == "yes" and by_id[referred.pk]["Past deadline"] in (None, "")
    assert by_id[referred.pk]["Judiciary case number"] == "۱۴۰۵-۱۲۳"
    assert by_id[referred.pk]["Assigned organisation"] == "فرمانداری الف۱"


def test_text_that_looks_like_a_formula_is_neutralised(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    file_report(description='=HYPERLINK("http://evil.example","click")')
    client = english_client(county_user)

    csv_rows = _csv(client.get("/incidents/export.csv"))
    xlsx_rows = _xlsx(client.get("/incidents/export.xlsx"))

    assert csv_rows[1][-1].startswith("'=")
    assert xlsx_rows[1][-1].startswith("'=")


def test_an_outsider_exports_nothing_of_another_county(
    file_report: Callable[..., Incident], outsider: User
) -> None:
    file_report()
    client = english_client(outsider)

    csv_rows = _csv(client.get("/incidents/export.csv"))
    xlsx_rows = _xlsx(client.get("/incidents/export.xlsx"))

    assert csv_rows == [HEADER] and xlsx_rows == [HEADER]


def test_the_export_speaks_the_readers_language_persian_by_default(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    from django.utils import translation

    from conftest import client_for

    case = file_report()

    rows = _csv(client_for(county_user).get("/incidents/export.csv"))

    with translation.override("fa"):
        assert rows[0] == export_header()
        assert rows[1][7] == str(case.get_state_display())


def test_export_queries_do_not_grow_with_the_rows(
    file_report: Callable[..., Incident], county_user: User, django_assert_max_num_queries: Any
) -> None:
    client = english_client(county_user)
    file_report()

    def run() -> None:
        assert len(_xlsx(client.get("/incidents/export.xlsx"))) > 1
        assert len(_csv(client.get("/incidents/export.csv"))) > 1

    run()
    with django_assert_max_num_queries(20) as few:
        run()
    for n in range(15):
        file_report(description=f"گزارش {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        run()


def test_exports_need_a_login(db: Any) -> None:
    from django.test import Client

    assert Client().get("/incidents/export.csv").status_code == 302
    assert Client().get("/incidents/export.xlsx").status_code == 302


def test_one_function_builds_the_rows_of_both_formats(
    file_report: Callable[..., Incident], county_user: User
) -> None:
    case = file_report()
    with unscoped():
        incidents = list(Incident.objects.select_related("category", "province", "county", "station"))

    rows = list(export_rows(incidents))

    assert rows[0] == export_header() and len(rows[0]) == len(COLUMNS)
    assert rows[1][0] == case.pk and len(rows[1]) == len(COLUMNS)


@pytest.mark.parametrize("text", ["=1+1", "+98912", "-2", "@SUM(A1)", "\tx"])
def test_each_formula_start_is_neutralised(text: str) -> None:
    from amanat.incidents.exports import _text

    assert _text(text) == "'" + text
    assert _text("متن عادی") == "متن عادی"
