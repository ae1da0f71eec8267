"""The filtered case list as CSV and XLSX: one function builds the rows, both formats write them.

Rows come from `incident_list_for`, so an export holds exactly the cases the caller may see under the
filter. Reporters' names and contacts are never exported. Text a reporter typed is neutralised so a
spreadsheet cannot read it as a formula (CSV/formula injection), and times are given both in
Gregorian (local time) and in Jalali.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import Any

import jdatetime
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from amanat.incidents.models import OPEN_STATES, Incident

Cell = str | int | dt.datetime | None

COLUMNS: list[tuple[str, Any]] = [
    ("id", gettext_lazy("Case")),
    ("received", gettext_lazy("Received")),
    ("received_jalali", gettext_lazy("Received (Jalali)")),
    ("occurred", gettext_lazy("Occurred")),
    ("occurred_jalali", gettext_lazy("Occurred (Jalali)")),
    ("category", gettext_lazy("Category")),
    ("severity", gettext_lazy("Severity")),
    ("state", gettext_lazy("State")),
    ("province", gettext_lazy("Province")),
    ("county", gettext_lazy("County")),
    ("station", gettext_lazy("Polling station")),
    ("channel", gettext_lazy("Channel")),
    ("organisation", gettext_lazy("Assigned organisation")),
    ("deadline", gettext_lazy("Deadline")),
    ("overdue", pgettext_lazy("incident export", "Past deadline")),
    ("resolved", gettext_lazy("Resolved")),
    ("referral_case_number", gettext_lazy("Judiciary case number")),
    ("description", gettext_lazy("Description")),
]
# A cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Text as a spreadsheet must show it: never as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _local(value: dt.datetime | None) -> dt.datetime | None:
    """A time in local time, without its zone (spreadsheets keep no zones), to the minute."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)


def _jalali(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    return jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None)).strftime("%Y/%m/%d %H:%M")


def export_header() -> list[str]:
    return [str(label) for _name, label in COLUMNS]


def export_rows(incidents: Iterable[Incident], *, now: dt.datetime | None = None) -> Iterator[list[Cell]]:
    """The header, then one row per case, in the order of `COLUMNS` (both formats write these)."""
    now = now or timezone.now()
    yes = _("yes")
    yield list(export_header())
    for incident in incidents:
        overdue = incident.state in OPEN_STATES and incident.deadline_at < now
        station = incident.station
        organisation = incident.assigned_organisation
        yield [
            incident.pk,
            _local(incident.received_at),
            _jalali(incident.received_at),
            _local(incident.occurred_at),
            _jalali(incident.occurred_at),
            _text(incident.category.name),
            str(incident.get_severity_display()),
            str(incident.get_state_display()),
            _text(incident.province.name),
            _text(incident.county.name),
            _text(station.code) if station is not None else "",
            str(incident.get_channel_display()),
            _text(organisation.name) if organisation is not None else "",
            _local(incident.deadline_at),
            yes if overdue else "",
            _local(incident.resolved_at),
            _text(incident.referral_case_number),
            _text(incident.description),
        ]


# --- writers -----------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Cell) -> str | int:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def csv_lines(rows: Iterable[list[Cell]]) -> Iterator[str]:
    """CSV text line by line, starting with a byte-order mark so Excel reads the Persian as UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_csv_cell(value) for value in row])


def _xlsx_cell(value: Cell) -> Cell:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_bytes(rows: Iterable[list[Cell]], *, title: str = "incidents", right_to_left: bool = True) -> bytes:
    """An XLSX workbook of the rows (written in streaming mode, so memory stays flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.sheet_view.rightToLeft = right_to_left
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
