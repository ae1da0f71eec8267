"""Writes to readiness and election-day status: atomic, permission-checked, audited, tallies kept exact.

Every change of a station's readiness or live status adjusts the per-county tallies in the same
transaction, by the difference it makes (never by recounting), so the roll-up pages read a few
hundred tally rows instead of the stations. `readiness_tallies_recount` rebuilds them from the rows,
for repair and for the tests that prove the two agree.
"""

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.permissions import Capability, require
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.elections.models import ElectionEvent
from amanat.geography.models import County, PollingStation
from amanat.readiness.models import (
    LIVE_MOVES,
    TRACKED_STATUSES,
    WATCHED_STATUSES,
    ItemStatus,
    LiveEvent,
    LiveStatus,
    LiveTally,
    ReadinessCounty,
    ReadinessItem,
    ReadinessTally,
    StationLive,
    StationReadiness,
)
from amanat.scoping import Jurisdiction, unscoped

DEFAULT_ITEMS = [
    # (code, Persian title, English title)
    ("line-installed", "نصب خط ارتباطی (فیبر نوری یا جایگزین)", "Communication line installed"),
    ("line-tested", "آزمون سرتاسری خط ارتباطی", "Line tested end to end"),
    ("backup-link", "خط ارتباطی پشتیبان", "Backup link"),
    (
        "devices-delivered",
        "تحویل دستگاه‌های رأی‌گیری و احراز هویت",
        "Voting and verification devices delivered",
    ),
    ("devices-tested", "آزمون دستگاه‌ها", "Devices tested"),
    ("backup-power", "برق پشتیبان", "Backup power"),
    ("physical-protection", "حفاظت فیزیکی از خط و تجهیزات", "Physical protection of the line and equipment"),
    ("accessibility", "دسترسی‌پذیری شعبه", "Accessibility"),
]

STATUS_COLUMN = {
    ItemStatus.IN_PROGRESS: "in_progress",
    ItemStatus.DONE: "done",
    ItemStatus.FAILED: "failed",
}
LIVE_COLUMN = {
    LiveStatus.OPENED: "opened",
    LiveStatus.OPERATING: "operating",
    LiveStatus.PAUSED: "paused",
    LiveStatus.CLOSED: "closed",
}


def _require_national_administrator(actor: Any) -> None:
    if not getattr(actor, "can_manage_elections", False):
        raise PermissionDenied(_("Only a national administrator may change the readiness checklist."))


# --- the checklist ---------------------------------------------------------------------------


def readiness_item_create(
    *, actor: Any, event: ElectionEvent, code: str, title: str, due_on: dt.date, title_en: str = ""
) -> ReadinessItem:
    """Add an item to the event's readiness checklist, due on a date."""
    _require_national_administrator(actor)
    code = code.strip().lower()
    errors: dict[str, str] = {}
    if (
        not code
        or len(code) > 40
        or not code.replace("-", "").replace("_", "").isalnum()
        or not code.isascii()
    ):
        errors["code"] = _("Give the item a code of up to 40 letters, digits and hyphens.")
    elif ReadinessItem.objects.filter(event=event, code=code).exists():
        errors["code"] = _("The checklist already has an item with this code.")
    if not title.strip() or len(title.strip()) > 200 or len(title_en.strip()) > 200:
        errors["title"] = _("Give the item a title of up to 200 characters.")
    if due_on > event.voting_day:
        errors["due_on"] = _("An item must be due by voting day.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        item = ReadinessItem.objects.create(
            event=event,
            code=code,
            title=title.strip(),
            title_en=title_en.strip(),
            due_on=due_on,
            position=ReadinessItem.objects.filter(event=event).count(),
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=item, after=snapshot(item))
        with unscoped():
            counted = ReadinessCounty.objects.filter(event=event).exists()
        if not counted:
            readiness_stations_recount(event=event)
    return item


def readiness_items_create_defaults(
    *, actor: Any, event: ElectionEvent, due_on: dt.date
) -> list[ReadinessItem]:
    """The usual checklist (line, backup link, devices, power, protection, accessibility), due on one day."""
    _require_national_administrator(actor)
    if due_on > event.voting_day:
        raise ValidationError({"due_on": _("An item must be due by voting day.")})
    return [
        readiness_item_create(
            actor=actor, event=event, code=code, title=title, title_en=title_en, due_on=due_on
        )
        for code, title, title_en in DEFAULT_ITEMS
        if not ReadinessItem.objects.filter(event=event, code=code).exists()
    ]


def readiness_item_update(
    *,
    actor: Any,
    item: ReadinessItem,
    title: str,
    due_on: dt.date,
    title_en: str = "",
    is_active: bool = True,
) -> ReadinessItem:
    """Reword an item, move its due date, or retire it (what stations recorded stays)."""
    _require_national_administrator(actor)
    errors: dict[str, str] = {}
    if not title.strip() or len(title.strip()) > 200 or len(title_en.strip()) > 200:
        errors["title"] = _("Give the item a title of up to 200 characters.")
    if due_on > item.event.voting_day:
        errors["due_on"] = _("An item must be due by voting day.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = snapshot(item)
        item.title, item.title_en, item.due_on, item.is_active = (
            title.strip(),
            title_en.strip(),
            due_on,
            is_active,
        )
        item.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, entity=item, before=before, after=snapshot(item))
    return item


def readiness_stations_recount(*, event: ElectionEvent, actor: Any = None) -> int:
    """Refresh each county's station count for the event's roll-ups (after stations are imported)."""
    if actor is not None:
        _require_national_administrator(actor)
    now = timezone.now()
    with unscoped(), transaction.atomic():
        counts = dict(
            PollingStation.objects.values("county_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("county_id", "n")
        )
        provinces = dict(County.objects.values_list("pk", "province_id"))
        existing = {row.county_id: row for row in ReadinessCounty.objects.filter(event=event)}
        new_rows, changed = [], []
        for county_id, province_id in provinces.items():
            stations = counts.get(county_id, 0)
            row = existing.get(county_id)
            if row is None:
                new_rows.append(
                    ReadinessCounty(
                        event=event,
                        province_id=province_id,
                        county_id=county_id,
                        stations=stations,
                        counted_at=now,
                    )
                )
            elif row.stations != stations:
                row.stations, row.counted_at = stations, now
                changed.append(row)
        # Two first batches of an event may count at once: the second one's rows are already there.
        ReadinessCounty.objects.bulk_create(new_rows, batch_size=1000, ignore_conflicts=True)
        ReadinessCounty.objects.bulk_update(changed, ["stations", "counted_at"], batch_size=1000)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity_type="readiness.ReadinessCounty",
            entity_id=str(event.pk),
            entity_label=f"station counts of {len(provinces)} counties",
            after={
                "event": event.pk,
                "stations": sum(counts.values()),
                "changed": len(new_rows) + len(changed),
            },
        )
    return sum(counts.values())


def readiness_stations_recount_in_season(*, today: dt.date | None = None) -> int:
    """Refresh the station counts of every event in season that has a checklist (the nightly job)."""
    today = today or timezone.localdate()
    events = ElectionEvent.objects.filter(
        opens_on__lte=today, closes_on__gte=today, readiness_items__isnull=False
    ).distinct()
    return sum(readiness_stations_recount(event=event) for event in events)


# --- station readiness -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessChange:
    station: PollingStation
    item: ReadinessItem
    status: str
    evidence: str = ""


def _apply_readiness(*, actor: Any, changes: Sequence[ReadinessChange], now: dt.datetime) -> int:
    """Write the changes and move the tallies by the difference they make; the caller holds a transaction."""
    pairs = {(change.item.pk, change.station.pk) for change in changes}
    existing = {
        (row.item_id, row.station_id): row
        for row in StationReadiness.objects.select_for_update().filter(
            item_id__in={item for item, _ in pairs}, station_id__in={station for _, station in pairs}
        )
    }
    deltas: Counter[tuple[int, int, int, str]] = Counter()  # (item, province, county, column) -> change
    new_rows: dict[tuple[int, int], StationReadiness] = {}
    changed: dict[tuple[int, int], StationReadiness] = {}
    for change in changes:
        key = (change.item.pk, change.station.pk)
        row = existing.get(key) or new_rows.get(key)
        old = row.status if row is not None else ItemStatus.NOT_STARTED
        if old == change.status and (row is None or row.evidence == change.evidence):
            continue
        station = change.station
        province_id = station.county.province_id
        if old in STATUS_COLUMN:
            deltas[(change.item.pk, province_id, station.county_id, STATUS_COLUMN[ItemStatus(old)])] -= 1
        if change.status in STATUS_COLUMN:
            deltas[
                (change.item.pk, province_id, station.county_id, STATUS_COLUMN[ItemStatus(change.status)])
            ] += 1
        verified = change.status == ItemStatus.DONE
        if row is None:
            new_rows[key] = StationReadiness(
                item=change.item,
                station=station,
                province_id=province_id,
                county_id=station.county_id,
                status=change.status,
                evidence=change.evidence,
                verified_by=actor if verified else None,
                verified_at=now if verified else None,
                updated_at=now,
            )
        else:
            row.status, row.evidence, row.updated_at = change.status, change.evidence, now
            if verified and old != ItemStatus.DONE:
                row.verified_by, row.verified_at = actor, now
            elif not verified:
                row.verified_by, row.verified_at = None, None
            if key not in new_rows:
                changed[key] = row
    StationReadiness.objects.bulk_create(new_rows.values(), batch_size=1000)
    StationReadiness.objects.bulk_update(
        changed.values(), ["status", "evidence", "verified_by", "verified_at", "updated_at"], batch_size=1000
    )
    _move_readiness_tallies(deltas)
    return len(new_rows) + len(changed)


def _move_readiness_tallies(deltas: Mapping[tuple[int, int, int, str], int]) -> None:
    by_key: dict[tuple[int, int, int], dict[str, int]] = defaultdict(dict)
    for (item_id, province_id, county_id, column), delta in deltas.items():
        if delta:
            by_key[(item_id, province_id, county_id)][column] = delta
    if not by_key:
        return
    # In a fixed order, so two writers never lock the same tally rows in opposite orders.
    keys = sorted(by_key)
    ReadinessTally.objects.bulk_create(
        [ReadinessTally(item_id=i, province_id=p, county_id=c) for i, p, c in keys],
        ignore_conflicts=True,
    )
    for item_id, province_id, county_id in keys:
        columns = by_key[(item_id, province_id, county_id)]
        ReadinessTally.objects.filter(item_id=item_id, county_id=county_id).update(
            **{column: F(column) + delta for column, delta in columns.items()}
        )


def station_readiness_set(
    *, actor: Any, item: ReadinessItem, station: PollingStation, status: str, evidence: str = ""
) -> StationReadiness:
    """Record a station's state on one checklist item (done means verified, by the actor, now)."""
    require(actor, Capability.EDIT, within=station.jurisdiction)
    errors: dict[str, str] = {}
    if status not in ItemStatus.values:
        errors["status"] = _("Choose one of: %(values)s.") % {"values": ", ".join(ItemStatus.values)}
    if len(evidence) > 500:
        errors["evidence"] = _("Keep the evidence under 500 characters.")
    if not item.is_active:
        errors["item"] = _("This item is no longer on the checklist.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with unscoped(), transaction.atomic():
        before = (
            StationReadiness.objects.filter(item=item, station=station).values("status", "evidence").first()
        )
        _apply_readiness(
            actor=actor, changes=[ReadinessChange(station, item, status, evidence.strip())], now=now
        )
        row = StationReadiness.objects.filter(item=item, station=station).first()
        if row is None:  # "not started" on a station never recorded: nothing to write or audit
            return StationReadiness(
                item=item,
                station=station,
                province_id=station.county.province_id,
                county_id=station.county_id,
                status=ItemStatus.NOT_STARTED,
                updated_at=now,
            )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=row,
            before=before or {"status": ItemStatus.NOT_STARTED},
            after={"status": row.status, "evidence": row.evidence},
        )
    return row


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ReadinessRow:
    line: int
    station_code: str
    item_code: str
    status: str
    evidence: str = ""


def line_error(row: RowError) -> str:
    """A bad line of a file, in words: "line 4: item x is not on the checklist"."""
    return _("line %(line)d: %(message)s") % {"line": row.line, "message": row.message}


class ReadinessUploadRejectedError(ValidationError):
    """A readiness file with bad rows: none of it was applied; `rows` names each bad line."""

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        super().__init__([line_error(row) for row in rows])


def parse_readiness_csv(text: str) -> list[ReadinessRow]:
    """Read `station_code,item_code,status[,evidence]` rows (header required); malformed lines are named."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    required = {"station_code", "item_code", "status"}
    if not reader.fieldnames or not required <= {name.strip() for name in reader.fieldnames}:
        raise ReadinessUploadRejectedError(
            [RowError(1, _("the header must name the columns station_code, item_code, status and evidence"))]
        )
    rows: list[ReadinessRow] = []
    errors: list[RowError] = []
    try:
        for raw in reader:
            number = reader.line_num  # the file's line (a quoted field may span several)
            if raw.get(None):  # type: ignore[call-overload]
                errors.append(RowError(number, _("more fields than the header names")))
                continue
            values = {key.strip(): (value or "").strip() for key, value in raw.items() if key}
            if not any(values.values()):
                continue
            missing = [name for name in ("station_code", "item_code", "status") if not values.get(name)]
            if missing:
                errors.append(RowError(number, _("missing %(columns)s") % {"columns": ", ".join(missing)}))
                continue
            rows.append(
                ReadinessRow(
                    number,
                    values["station_code"],
                    values["item_code"],
                    values["status"],
                    values.get("evidence", ""),
                )
            )
    except csv.Error as exc:
        # The record that failed starts after the last line the reader finished.
        errors.append(
            RowError(reader.line_num + 1, _("the file is not readable CSV: %(error)s") % {"error": exc})
        )
    if errors:
        raise ReadinessUploadRejectedError(errors)
    return rows


@dataclass
class UploadResult:
    rows: int = 0
    changed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def readiness_upload(
    *, actor: Any, event: ElectionEvent, rows: Sequence[ReadinessRow], source: str
) -> UploadResult:
    """Apply a readiness file (e.g. the telecom operator's line status for a province): all or nothing.

    Every row is checked first (station known and within the uploader's jurisdiction, item on the
    event's checklist, status known); one bad row rejects the file, naming each bad line.
    """
    jurisdiction = require(actor, Capability.EDIT)
    items = {item.code: item for item in ReadinessItem.objects.filter(event=event, is_active=True)}
    with unscoped():
        stations = {
            station.code: station
            for station in PollingStation.objects.filter(
                code__in={row.station_code for row in rows}
            ).select_related("county")
        }
    errors: list[RowError] = []
    changes: list[ReadinessChange] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        station = stations.get(row.station_code)
        problems = []
        if station is None or not jurisdiction.covers(
            Jurisdiction(province_id=station.county.province_id, county_id=station.county_id)
        ):
            problems.append(
                _("station %(code)s is unknown or outside your jurisdiction") % {"code": row.station_code}
            )
        if row.item_code not in items:
            problems.append(_("item %(code)s is not on the checklist") % {"code": row.item_code})
        if row.status not in ItemStatus.values:
            problems.append(
                _("status %(status)s is not one of %(values)s")
                % {"status": row.status, "values": ", ".join(ItemStatus.values)}
            )
        if len(row.evidence) > 500:
            problems.append(_("the evidence is longer than 500 characters"))
        earlier = seen.get((row.station_code, row.item_code))
        if earlier is not None:
            problems.append(_("the same station and item as line %(line)d") % {"line": earlier})
        seen[(row.station_code, row.item_code)] = row.line
        if problems:
            errors.append(RowError(row.line, "; ".join(problems)))
        elif station is not None:
            changes.append(ReadinessChange(station, items[row.item_code], row.status, row.evidence))
    if errors:
        raise ReadinessUploadRejectedError(errors)
    now = timezone.now()
    with unscoped(), transaction.atomic():
        changed = _apply_readiness(actor=actor, changes=changes, now=now)
        result = UploadResult(
            rows=len(rows), changed=changed, by_status=dict(Counter(c.status for c in changes))
        )
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            entity_type="readiness.StationReadiness",
            entity_id=str(event.pk),
            entity_label=f"readiness upload: {source}"[:300],
            after={"source": source, "rows": result.rows, "changed": changed, "by_status": result.by_status},
            province_id=jurisdiction.province_id,
            county_id=jurisdiction.county_id,
        )
    return result


def readiness_tallies_recount(*, event: ElectionEvent) -> int:
    """Rebuild the readiness tallies from the station rows (repair; tests compare it with the kept ones)."""
    with unscoped(), transaction.atomic():
        ReadinessTally.objects.filter(item__event=event).delete()
        rows = (
            StationReadiness.objects.filter(item__event=event, status__in=TRACKED_STATUSES)
            .values("item_id", "province_id", "county_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        tallies: dict[tuple[int, int, int], ReadinessTally] = {}
        for row in rows:
            key = (row["item_id"], row["province_id"], row["county_id"])
            tally = tallies.setdefault(
                key, ReadinessTally(item_id=key[0], province_id=key[1], county_id=key[2])
            )
            setattr(tally, STATUS_COLUMN[ItemStatus(row["status"])], row["n"])
        ReadinessTally.objects.bulk_create(tallies.values(), batch_size=1000)
    return len(tallies)


# --- election day ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveEntry:
    """One station's report: a status (or None for a heartbeat), a reason when pausing, and its time."""

    station_code: str
    at: dt.datetime
    status: str | None = None
    reason: str = ""


@dataclass
class LiveResult:
    accepted: int = 0
    errors: dict[int, dict[str, str]] = field(default_factory=dict)  # position -> {field: message}


# What the batch loop checks against, as plain strings (the rows read back are plain strings too).
_LIVE_STATUSES = frozenset(LiveStatus.values)
_WATCHED = frozenset(str(status) for status in WATCHED_STATUSES)
_LIVE_MOVES = {str(old): frozenset(str(new) for new in moves) for old, moves in LIVE_MOVES.items()}
_PAUSED = str(LiveStatus.PAUSED)
_NOT_OPENED = str(LiveStatus.NOT_OPENED)
_UNKNOWN_STATION = "station_code"
_STATUS_LINE, _RETURNED_LINE, _SILENT_LINE = (
    str(kind) for kind in (LiveEvent.Kind.STATUS, LiveEvent.Kind.RETURNED, LiveEvent.Kind.UNREACHABLE)
)
# The live tallies' columns, and where each status counts among them.
_TALLY_COLUMNS = ("opened", "operating", "paused", "closed", "unreachable")
_TALLY_INDEX = {str(status): _TALLY_COLUMNS.index(column) for status, column in LIVE_COLUMN.items()}
_UNREACHABLE = _TALLY_COLUMNS.index("unreachable")
# The columns of a station's live row that a report may change, in the order the writes list them.
_LIVE_ROW_COLUMNS = ("status", "reason", "status_at", "last_seen_at", "unreachable_since")
_LIVE_ROW_TYPES = ("varchar", "varchar", "timestamptz", "timestamptz", "timestamptz")
_TIMELINE_COLUMNS = ("event_id", "station_id", "province_id", "county_id", "kind", "status", "reason", "at")
_TIMELINE_TYPES = ("bigint", "bigint", "bigint", "bigint", "varchar", "varchar", "varchar", "timestamptz")


# --- writing many rows at once ---------------------------------------------------------------
#
# On PostgreSQL a batch's rows travel as one array per column, unnested in one statement. The arrays
# are written as PostgreSQL's array text here (and cast in the statement): psycopg's adapter for
# Python lists costs several times more per element, which a batch of 1,000 reports would feel.


def _pg_ints(values: Iterable[int]) -> str:
    return "{" + ",".join([str(int(value)) for value in values]) + "}"


def _pg_texts(values: Iterable[str]) -> str:
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def _pg_times(values: Iterable[dt.datetime | None]) -> str:
    return "{" + ",".join(["NULL" if value is None else value.isoformat() for value in values]) + "}"


_PG_ARRAY: dict[str, Callable[[Iterable[Any]], str]] = {
    "bigint": _pg_ints,
    "integer": _pg_ints,
    "varchar": _pg_texts,
    "timestamptz": _pg_times,
}


def _pg_unnest(types: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[str]]:
    """`unnest(%s::type[], ...)` over the rows' columns, and its parameters (one array per column)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _type in types]
    sql = "unnest(" + ", ".join(f"%s::{kind}[]" for kind in types) + ")"
    return sql, [_PG_ARRAY[kind](column) for kind, column in zip(types, columns, strict=True)]


def _sqlite_row(row: Sequence[Any]) -> list[Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(value) if isinstance(value, dt.datetime) else value for value in row]


def _insert_timeline(rows: Sequence[Sequence[Any]]) -> None:
    """Add lines to the day's timeline: rows of `_TIMELINE_COLUMNS`."""
    if not rows:
        return
    table = connection.ops.quote_name(LiveEvent._meta.db_table)
    columns = ", ".join(_TIMELINE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            unnest, params = _pg_unnest(_TIMELINE_TYPES, rows)
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM {unnest}", params)
        else:
            marks = ", ".join(["%s"] * len(_TIMELINE_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", [_sqlite_row(row) for row in rows]
            )


@dataclass(slots=True)
class _LiveRow:
    """A station's live row as read (locked) for a batch: the fields a report may change."""

    pk: int
    status: str
    reason: str
    status_at: dt.datetime
    last_seen_at: dt.datetime
    unreachable_since: dt.datetime | None

    def values(self) -> tuple[Any, ...]:
        return (self.status, self.reason, self.status_at, self.last_seen_at, self.unreachable_since)


class _LocksReleasedError(Exception):
    """Raised to roll a savepoint back, and with it the row locks taken since."""


def _lock_live_rows(event: ElectionEvent, station_ids: Sequence[int]) -> dict[int, _LiveRow]:
    """The live rows of these stations (sorted), locked in that order; a station without one is left out.

    On PostgreSQL the rows are read one station after the other in the order given (so the locks
    are taken in that order), each through the station's index: `event_id + 0` keeps the planner
    from the event's index, which it would pick for a new event it has no statistics of yet, and
    then scan all of the event's rows for each station.
    """
    if connection.vendor != "postgresql":  # SQLite: one writer at a time, no row locks
        rows: Iterable[Sequence[Any]] = (
            StationLive.objects.filter(event=event, station_id__in=station_ids)
            .order_by("station_id")
            .values_list("station_id", "pk", *_LIVE_ROW_COLUMNS)
        )
    else:
        table = connection.ops.quote_name(StationLive._meta.db_table)
        # The times come as ISO 8601 text in UTC: read so, they cost a tenth of what the driver's
        # conversion (through Django's time zone loader) costs for a batch's 3,000 of them.
        times = ", ".join(
            f"to_char(s.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
            for column in _LIVE_ROW_COLUMNS[2:]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.station_id, s.id, s.status, s.reason, {times} "
                f"FROM unnest(%s::bigint[]) AS k(station_id) CROSS JOIN LATERAL (SELECT * FROM {table} "
                "WHERE station_id = k.station_id AND event_id + 0 = %s FOR UPDATE) AS s",
                [_pg_ints(station_ids), event.pk],
            )
            parse = dt.datetime.fromisoformat
            rows = [
                (
                    station_id,
                    pk,
                    status,
                    reason,
                    parse(status_at),
                    parse(last_seen_at),
                    silent and parse(silent),
                )
                for station_id, pk, status, reason, status_at, last_seen_at, silent in cursor.fetchall()
            ]
    return {station_id: _LiveRow(*values) for station_id, *values in rows}


def _insert_live_rows(event: ElectionEvent, rows: Sequence[tuple[int, int, int, _LiveRow]]) -> set[int]:
    """Insert the first live rows of stations, (station, province, county, row) in station order.

    Answers the stations whose row was inserted: one a concurrent batch made meanwhile is left out
    (that batch's row stays), once that batch has ended.
    """
    table = connection.ops.quote_name(StationLive._meta.db_table)
    columns = ("event_id", "station_id", "province_id", "county_id", *_LIVE_ROW_COLUMNS)
    event_id = event.pk
    values = [
        (event_id, station_id, province_id, county_id, *row.values())
        for station_id, province_id, county_id, row in rows
    ]
    made: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(values), 1000):  # SQLite takes a limited number of parameters
            part = values[start : start + 1000]
            if connection.vendor == "postgresql":
                unnest, params = _pg_unnest(("bigint",) * 4 + _LIVE_ROW_TYPES, part)
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM {unnest} "
                    "ON CONFLICT (event_id, station_id) DO NOTHING RETURNING station_id",
                    params,
                )
            else:
                marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(part))} "
                    "ON CONFLICT (event_id, station_id) DO NOTHING RETURNING station_id",
                    [value for row in part for value in _sqlite_row(row)],
                )
            made.update(station_id for (station_id,) in cursor.fetchall())
    return made


def _write_live_rows(rows: Sequence[_LiveRow], columns: Sequence[str] = _LIVE_ROW_COLUMNS) -> None:
    """Write these columns of the changed live rows (already locked) with one statement."""
    if not rows:
        return
    table = connection.ops.quote_name(StationLive._meta.db_table)
    where = [_LIVE_ROW_COLUMNS.index(column) for column in columns]
    values = [(row.pk, *[row.values()[n] for n in where]) for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            unnest, params = _pg_unnest(("bigint", *[_LIVE_ROW_TYPES[n] for n in where]), values)
            cursor.execute(
                f"UPDATE {table} AS s SET "
                + ", ".join(f"{c} = v.{c}" for c in columns)
                + f" FROM {unnest} AS v(id, {', '.join(columns)}) WHERE s.id = v.id",
                params,
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET " + ", ".join(f"{c} = %s" for c in columns) + " WHERE id = %s",
                [_sqlite_row((*row[1:], row[0])) for row in values],
            )


def _county_deltas(deltas: dict[int, list[int]], county_id: int) -> list[int]:
    """The county's pending change of each of `_TALLY_COLUMNS` (made at zero)."""
    counts = deltas.get(county_id)
    if counts is None:
        counts = deltas[county_id] = [0] * len(_TALLY_COLUMNS)
    return counts


def _move_live_tallies(
    event: ElectionEvent, provinces: Mapping[int, int], deltas: Mapping[int, list[int]]
) -> None:
    """Add the changes to the counties' live tallies: one locking read and one write for them all.

    `deltas` holds, per county, the change of each of `_TALLY_COLUMNS`; `provinces` each county's
    province. A county's tally row is made the first time it is needed (a concurrent batch may make
    it first). The rows are locked in county order, so two batches never wait on each other in a cycle.
    """
    changes = sorted((county_id, counts) for county_id, counts in deltas.items() if any(counts))
    if not changes:
        return
    counties = [county_id for county_id, _counts in changes]
    table = connection.ops.quote_name(LiveTally._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # SQLite: one writer at a time, nothing to order
            LiveTally.objects.bulk_create(
                [LiveTally(event=event, province_id=provinces[c], county_id=c) for c in counties],
                ignore_conflicts=True,
            )
            cursor.executemany(
                f"UPDATE {table} SET "
                + ", ".join(f"{c} = {c} + %s" for c in _TALLY_COLUMNS)
                + " WHERE event_id = %s AND county_id = %s",
                [(*counts, event.pk, county_id) for county_id, counts in changes],
            )
            return
        # Made before any tally row is locked, in county order, so that making them never waits
        # while holding a lock another batch waits for.
        unnest, params = _pg_unnest(("bigint", "bigint"), [(provinces[c], c) for c in counties])
        cursor.execute(
            f"INSERT INTO {table} (event_id, province_id, county_id, {', '.join(_TALLY_COLUMNS)}) "
            f"SELECT %s, v.province_id, v.county_id, {', '.join(['0'] * len(_TALLY_COLUMNS))} "
            f"FROM {unnest} AS v(province_id, county_id) ON CONFLICT (event_id, county_id) DO NOTHING",
            [event.pk, *params],
        )
        cursor.execute(
            f"SELECT id FROM {table} WHERE event_id = %s AND county_id = ANY(%s::bigint[]) "
            "ORDER BY county_id FOR UPDATE",
            [event.pk, _pg_ints(counties)],
        )
        cursor.fetchall()
        unnest, params = _pg_unnest(
            ("bigint",) + ("integer",) * len(_TALLY_COLUMNS),
            [(county_id, *counts) for county_id, counts in changes],
        )
        cursor.execute(
            f"UPDATE {table} AS t SET "
            + ", ".join(f"{c} = t.{c} + v.{c}" for c in _TALLY_COLUMNS)
            + f" FROM {unnest} AS v(county_id, {', '.join(_TALLY_COLUMNS)})"
            " WHERE t.event_id = %s AND t.county_id = v.county_id",
            [*params, event.pk],
        )


# --- election day: the reports ---------------------------------------------------------------


@dataclass(slots=True)
class _StationReports:
    """One station's reports in a batch, in time order, and what applying them to its row gave."""

    station_id: int
    county_id: int
    province_id: int
    positions: list[int]  # into the batch's entries, in time order
    row: _LiveRow | None = None
    before: tuple[Any, ...] = ()
    accepted: int = 0
    errors: dict[int, dict[str, str]] = field(default_factory=dict)
    timeline: list[tuple[int, str, str, str, dt.datetime]] = field(default_factory=list)  # position, ...

    def apply(self, row: _LiveRow, entries: Sequence[LiveEntry], silence_cutoff: dt.datetime) -> None:
        """Apply the reports to `row` (changed in place), from scratch (an earlier try's outcome goes)."""
        self.row, self.before = row, row.values()
        self.accepted, self.errors, self.timeline = 0, {}, []
        for position in self.positions:
            entry = entries[position]
            status = entry.status
            if status is not None and status != row.status:
                if status not in _LIVE_STATUSES:
                    self.errors[position] = {"status": _("Unknown status.")}
                    continue
                if status not in _LIVE_MOVES[row.status]:
                    self.errors[position] = {
                        "status": _("A station cannot go from %(old)s to %(new)s.")
                        % {"old": row.status, "new": status}
                    }
                    continue
                if entry.at < row.status_at:
                    self.errors[position] = {"at": _("Older than the station's current status.")}
                    continue
                if status == _PAUSED and not entry.reason.strip():
                    self.errors[position] = {"reason": _("Give the reason for pausing.")}
                    continue
                row.status, row.status_at = status, entry.at
                row.reason = entry.reason.strip()[:300] if status == _PAUSED else ""
                self.timeline.append((position, _STATUS_LINE, status, row.reason, entry.at))
            if entry.at > row.last_seen_at:
                row.last_seen_at = entry.at
            # Back in contact if heard from within the silence interval (a late, old report is not), or
            # no longer watched (closed).
            if row.unreachable_since is not None and (
                row.last_seen_at >= silence_cutoff or row.status not in _WATCHED
            ):
                row.unreachable_since = None
                self.timeline.append((position, _RETURNED_LINE, row.status, "", entry.at))
            self.accepted += 1

    def unknown(self) -> None:
        """The station's row went (deleted with its station or event): its reports are refused."""
        self.row, self.accepted, self.timeline = None, 0, []
        message = _("Unknown station, or one outside your jurisdiction.")
        self.errors = {position: {_UNKNOWN_STATION: message} for position in self.positions}

    def changed(self) -> bool:
        return self.row is not None and self.row.values() != self.before

    def only_heard(self) -> bool:
        """Whether the reports changed nothing but when the station was last heard."""
        return self.row is not None and (*self.row.values()[:3], self.row.unreachable_since) == (
            *self.before[:3],
            self.before[4],
        )

    def move_tallies(self, deltas: dict[int, list[int]]) -> None:
        """Count what the station's row changed in its county's tallies (its status, silent or not)."""
        if self.row is None:
            return
        old, new = self.before[0], self.row.status
        if old != new:
            counts = _county_deltas(deltas, self.county_id)
            if old in _TALLY_INDEX:
                counts[_TALLY_INDEX[old]] -= 1
            if new in _TALLY_INDEX:
                counts[_TALLY_INDEX[new]] += 1
        silent = self.row.unreachable_since is not None
        if (self.before[4] is not None) != silent:
            _county_deltas(deltas, self.county_id)[_UNREACHABLE] += 1 if silent else -1


def _stations_by_code(codes: Collection[str]) -> Iterable[Sequence[Any]]:
    """(code, pk, county_id, province_id) of the stations with these codes (unknown codes left out)."""
    if connection.vendor != "postgresql":
        return (
            PollingStation.objects.filter(code__in=codes)
            .order_by()
            .values_list("code", "pk", "county_id", "county__province_id")
        )
    stations = connection.ops.quote_name(PollingStation._meta.db_table)
    counties = connection.ops.quote_name(County._meta.db_table)
    with connection.cursor() as cursor:
        # Station by station through the code's unique index, whatever the planner knows of the table.
        cursor.execute(
            "SELECT s.code, s.id, s.county_id, c.province_id FROM unnest(%s::varchar[]) AS k(code) "
            f"CROSS JOIN LATERAL (SELECT id, code, county_id FROM {stations} WHERE code = k.code LIMIT 1) "
            f"AS s JOIN {counties} AS c ON c.id = s.county_id",
            [_pg_texts(codes)],
        )
        return cursor.fetchall()


def live_updates_apply(
    *, actor: Any, event: ElectionEvent, entries: Sequence[LiveEntry], now: dt.datetime | None = None
) -> LiveResult:
    """Take many stations' reports at once: the valid ones are applied, the others named by position.

    A report is refused for an unknown station or one outside the sender's jurisdiction, a time
    too far ahead of the server's clock, or an impossible move (closed -> opened). A station heard
    from again after it was marked unreachable is back in contact.

    Concurrent batches never wait on each other in a cycle: a station's first row is inserted (as
    its reports leave it) before any row is locked, in station order; the rows already there are
    then locked in station order, and the tallies in county order.
    """
    jurisdiction = require(actor, Capability.EDIT)
    now = now or timezone.now()
    result = LiveResult()
    latest_allowed = now + dt.timedelta(seconds=settings.LIVE_CLOCK_SKEW_SECONDS)
    silence_cutoff = now - dt.timedelta(minutes=settings.LIVE_SILENCE_MINUTES)
    earliest_allowed = dt.datetime.combine(
        event.voting_day - dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    codes = {entry.station_code for entry in entries}
    with unscoped(), transaction.atomic():
        covered: dict[int, bool] = {}  # per county: within the sender's jurisdiction?
        stations: dict[str, tuple[int, int, int]] = {}  # code -> (pk, county_id, province_id)
        for code, pk, county_id, province_id in _stations_by_code(codes):
            inside = covered.get(county_id)
            if inside is None:
                inside = covered[county_id] = jurisdiction.covers(
                    Jurisdiction(province_id=province_id, county_id=county_id)
                )
            if inside:
                stations[code] = (pk, county_id, province_id)
        reported: dict[int, _StationReports] = {}
        for position, entry in enumerate(entries):
            found = stations.get(entry.station_code)
            if found is None:
                result.errors[position] = {
                    _UNKNOWN_STATION: _("Unknown station, or one outside your jurisdiction.")
                }
            elif entry.at > latest_allowed:
                result.errors[position] = {"at": _("The time is ahead of the server's clock.")}
            elif entry.at < earliest_allowed:
                result.errors[position] = {"at": _("The time is before the election.")}
            else:
                station = reported.get(found[0])
                if station is None:
                    station = reported[found[0]] = _StationReports(*found, positions=[])
                station.positions.append(position)
        # Each station's reports in time order, whatever order the batch lists them in.
        for station in reported.values():
            if len(station.positions) > 1:
                station.positions.sort(key=lambda i: (entries[i].at, i))
        # The rows already there, locked in station order. If some stations have none yet, those locks
        # are let go again (the savepoint is rolled back), and taken again once the missing rows are in.
        ids = sorted(reported)
        live: dict[int, _LiveRow] = {}
        let_go: set[int] = set()
        if ids:
            try:
                with transaction.atomic():
                    live = _lock_live_rows(event, ids)
                    if live and len(live) < len(ids):
                        raise _LocksReleasedError
            except _LocksReleasedError:
                let_go, live = set(live), {}
        # A station's first reports: its row is made as they leave a blank one ("not opened", dated
        # before any report, so it never makes a later report look old). A station none of whose
        # reports was accepted gets no row.
        first = [reported[i] for i in ids if i not in live and i not in let_go]
        for station in first:
            blank = _LiveRow(0, _NOT_OPENED, "", earliest_allowed, earliest_allowed, None)
            station.apply(blank, entries, silence_cutoff)
        first = [station for station in first if station.accepted]
        made = (
            _insert_live_rows(
                event, [(s.station_id, s.province_id, s.county_id, s.row) for s in first if s.row]
            )
            if first
            else set()
        )
        # The rows let go above, and those a concurrent batch made first (taken as it left them).
        relock = sorted(let_go.union(s.station_id for s in first if s.station_id not in made))
        if relock:
            taken = _lock_live_rows(event, relock)
            for station_id in relock:
                if station_id not in taken:
                    reported[station_id].unknown()
            live.update(taken)
        for station_id, row in live.items():
            reported[station_id].apply(row, entries, silence_cutoff)
        # Only the rows a report changed are written (a repeated heartbeat changes nothing).
        # A station only heard from (most of a day's reports) has just its `last_seen_at` written.
        changed = [reported[station_id] for station_id in sorted(live) if reported[station_id].changed()]
        _write_live_rows([s.row for s in changed if s.row and not s.only_heard()])
        _write_live_rows([s.row for s in changed if s.row and s.only_heard()], ["last_seen_at"])

        deltas: dict[int, list[int]] = {}
        timeline: list[tuple[dt.datetime, int, tuple[Any, ...]]] = []
        event_id = event.pk
        for station in reported.values():
            result.errors.update(station.errors)
            result.accepted += station.accepted
            station.move_tallies(deltas)
            timeline += [
                (
                    at,
                    position,
                    (event_id, station.station_id, station.province_id, station.county_id, *line, at),
                )
                for position, *line, at in station.timeline
            ]
        timeline.sort(key=lambda line: line[:2])  # in the order the reports were taken
        _insert_timeline([line for _at, _position, line in timeline])
        if connection.vendor == "postgresql" and (made or timeline):
            # The new rows' foreign keys are checked now rather than at commit: the tally and audit
            # rows locked below are then held only briefly, and concurrent batches wait less on them.
            connection.check_constraints()
        # Asked before the tallies are locked (the fewer statements while they are, the better).
        counted = not result.accepted or ReadinessCounty.objects.filter(event=event).exists()
        _move_live_tallies(event, {s.county_id: s.province_id for s in reported.values()}, deltas)
        if not counted:
            readiness_stations_recount(event=event)  # the live counts need each county's stations
        if result.accepted:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                entity_type="readiness.StationLive",
                entity_id=str(event.pk),
                entity_label=f"{result.accepted} station reports",
                after={
                    "accepted": result.accepted,
                    "refused": len(result.errors),
                    "status_changes": sum(1 for *_k, line in timeline if line[4] == _STATUS_LINE),
                },
                province_id=jurisdiction.province_id,
                county_id=jurisdiction.county_id,
            )
    return result


def stations_mark_unreachable(*, now: dt.datetime | None = None) -> int:
    """Mark watched stations silent longer than the interval unreachable (an alert for county and province).

    Runs every minute on the task queue, for the events whose voting is under way.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.LIVE_SILENCE_MINUTES)
    today = timezone.localdate(now)
    marked = 0
    with unscoped():
        events = list(ElectionEvent.objects.filter(voting_day__lte=today, voting_ends_on__gte=today))
        for event in events:
            with transaction.atomic():
                silent = list(
                    StationLive.objects.select_for_update(skip_locked=True)
                    .filter(
                        event=event,
                        unreachable_since__isnull=True,
                        status__in=WATCHED_STATUSES,
                        last_seen_at__lt=cutoff,
                    )
                    .order_by("station_id")
                    .values_list("pk", "station_id", "province_id", "county_id", "status")
                )
                if not silent:
                    continue
                deltas: dict[int, list[int]] = {}
                provinces: dict[int, int] = {}
                for _pk, _station_id, province_id, county_id, _status in silent:
                    _county_deltas(deltas, county_id)[_UNREACHABLE] += 1
                    provinces[county_id] = province_id
                ids = [pk for pk, *_rest in silent]
                for start in range(0, len(ids), 1000):
                    StationLive.objects.filter(pk__in=ids[start : start + 1000]).update(unreachable_since=now)
                _insert_timeline(
                    [
                        (
                            event.pk,
                            station_id,
                            province_id,
                            county_id,
                            _SILENT_LINE,
                            status,
                            "",
                            now,
                        )
                        for _pk, station_id, province_id, county_id, status in silent
                    ]
                )
                _move_live_tallies(event, provinces, deltas)
                audit_record(
                    actor=None,
                    action=AuditAction.UPDATE,
                    entity_type="readiness.StationLive",
                    entity_id=str(event.pk),
                    entity_label=f"{len(silent)} stations unreachable",
                    after={"unreachable": [row[1] for row in silent[:100]], "count": len(silent)},
                )
                marked += len(silent)
    return marked


def live_tallies_recount(*, event: ElectionEvent) -> int:
    """Rebuild the live tallies from the stations' rows (repair; the tests compare it with the kept ones)."""
    with unscoped(), transaction.atomic():
        LiveTally.objects.filter(event=event).delete()
        tallies: dict[int, LiveTally] = {}
        for row in (
            StationLive.objects.filter(event=event)
            .values("province_id", "county_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            tally = tallies.setdefault(
                row["county_id"],
                LiveTally(event=event, province_id=row["province_id"], county_id=row["county_id"]),
            )
            if row["status"] in LIVE_COLUMN:
                setattr(tally, LIVE_COLUMN[LiveStatus(row["status"])], row["n"])
        for row in (
            StationLive.objects.filter(event=event, unreachable_since__isnull=False)
            .values("province_id", "county_id")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            tally = tallies.setdefault(
                row["county_id"],
                LiveTally(event=event, province_id=row["province_id"], county_id=row["county_id"]),
            )
            tally.unreachable = row["n"]
        LiveTally.objects.bulk_create(tallies.values(), batch_size=1000)
    return len(tallies)
