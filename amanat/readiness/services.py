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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
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


def _live_deltas(
    deltas: Counter[tuple[int, int, str]], province_id: int, county_id: int, old: str, new: str
) -> None:
    if old in LIVE_COLUMN:
        deltas[(province_id, county_id, LIVE_COLUMN[LiveStatus(old)])] -= 1
    if new in LIVE_COLUMN:
        deltas[(province_id, county_id, LIVE_COLUMN[LiveStatus(new)])] += 1


def _move_live_tallies(event: ElectionEvent, deltas: Mapping[tuple[int, int, str], int]) -> None:
    by_county: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for (province_id, county_id, column), delta in deltas.items():
        if delta:
            by_county[(province_id, county_id)][column] = delta
    if not by_county:
        return
    # In a fixed order, so two writers never lock the same tally rows in opposite orders.
    keys = sorted(by_county)
    LiveTally.objects.bulk_create(
        [LiveTally(event=event, province_id=p, county_id=c) for p, c in keys], ignore_conflicts=True
    )
    for province_id, county_id in keys:
        columns = by_county[(province_id, county_id)]
        LiveTally.objects.filter(event=event, county_id=county_id).update(
            **{column: F(column) + delta for column, delta in columns.items()}
        )


def live_updates_apply(
    *, actor: Any, event: ElectionEvent, entries: Sequence[LiveEntry], now: dt.datetime | None = None
) -> LiveResult:
    """Take many stations' reports at once: the valid ones are applied, the others named by position.

    A report is refused for an unknown station or one outside the sender's jurisdiction, a time
    too far ahead of the server's clock, or an impossible move (closed -> opened). A station heard
    from again after it was marked unreachable is back in contact.
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
        stations = {
            code: (pk, county_id, province_id)
            for code, pk, county_id, province_id in PollingStation.objects.filter(code__in=codes).values_list(
                "code", "pk", "county_id", "county__province_id"
            )
        }
        # Every station reported on gets its row first (a blank "not opened" one, dated before any
        # report, so it never makes a later report look old), ignoring rows a concurrent batch made;
        # then the rows are locked in station order, so two batches never wait on each other in a cycle.
        own = {
            pk: (county_id, province_id)
            for pk, county_id, province_id in stations.values()
            if jurisdiction.covers(Jurisdiction(province_id=province_id, county_id=county_id))
        }
        StationLive.objects.bulk_create(
            [
                StationLive(
                    event=event,
                    station_id=pk,
                    province_id=province_id,
                    county_id=county_id,
                    status_at=earliest_allowed,
                    last_seen_at=earliest_allowed,
                )
                for pk, (county_id, province_id) in sorted(own.items())
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        live = {
            row.station_id: row
            for row in StationLive.objects.select_for_update()
            .filter(event=event, station_id__in=list(own))
            .order_by("station_id")
        }
        deltas: Counter[tuple[int, int, str]] = Counter()
        touched: dict[int, StationLive] = {}
        timeline: list[LiveEvent] = []
        # Apply each station's reports in time order, whatever order the batch lists them in.
        order = sorted(range(len(entries)), key=lambda i: (entries[i].at, i))
        for position in order:
            entry = entries[position]
            found = stations.get(entry.station_code)
            if found is None or not jurisdiction.covers(
                Jurisdiction(province_id=found[2], county_id=found[1])
            ):
                result.errors[position] = {
                    "station_code": _("Unknown station, or one outside your jurisdiction.")
                }
                continue
            if entry.at > latest_allowed:
                result.errors[position] = {"at": _("The time is ahead of the server's clock.")}
                continue
            if entry.at < earliest_allowed:
                result.errors[position] = {"at": _("The time is before the election.")}
                continue
            station_id, county_id, province_id = found
            row = live.get(station_id)
            if row is None:  # a concurrent batch removed the blank row we meant to use: make it again
                row, _created = StationLive.objects.select_for_update().get_or_create(
                    event=event,
                    station_id=station_id,
                    defaults={
                        "province_id": province_id,
                        "county_id": county_id,
                        "status_at": earliest_allowed,
                        "last_seen_at": earliest_allowed,
                    },
                )
                live[station_id] = row
            status = entry.status
            if status is not None and status != row.status:
                if status not in LiveStatus.values:
                    result.errors[position] = {"status": _("Unknown status.")}
                    continue
                if status not in LIVE_MOVES[LiveStatus(row.status)]:
                    result.errors[position] = {
                        "status": _("A station cannot go from %(old)s to %(new)s.")
                        % {"old": row.status, "new": status}
                    }
                    continue
                if entry.at < row.status_at:
                    result.errors[position] = {"at": _("Older than the station's current status.")}
                    continue
                if status == LiveStatus.PAUSED and not entry.reason.strip():
                    result.errors[position] = {"reason": _("Give the reason for pausing.")}
                    continue
                _live_deltas(deltas, province_id, county_id, row.status, status)
                row.status, row.status_at = status, entry.at
                row.reason = entry.reason.strip()[:300] if status == LiveStatus.PAUSED else ""
                timeline.append(
                    LiveEvent(
                        event=event,
                        station_id=station_id,
                        province_id=province_id,
                        county_id=county_id,
                        kind=LiveEvent.Kind.STATUS,
                        status=status,
                        reason=row.reason,
                        at=entry.at,
                    )
                )
            row.last_seen_at = max(row.last_seen_at, entry.at)
            # Back in contact if heard from within the silence interval (a late, old report is not), or
            # no longer watched (closed).
            if row.unreachable_since is not None and (
                row.last_seen_at >= silence_cutoff or row.status not in WATCHED_STATUSES
            ):
                row.unreachable_since = None
                deltas[(province_id, county_id, "unreachable")] -= 1
                timeline.append(
                    LiveEvent(
                        event=event,
                        station_id=station_id,
                        province_id=province_id,
                        county_id=county_id,
                        kind=LiveEvent.Kind.RETURNED,
                        status=row.status,
                        at=entry.at,
                    )
                )
            touched[station_id] = row
            result.accepted += 1
        # A blank row no accepted report used is as if absent: a refused report leaves nothing behind.
        blank = [station_id for station_id in live if station_id not in touched]
        if blank:
            StationLive.objects.filter(
                event=event,
                station_id__in=blank,
                status=LiveStatus.NOT_OPENED,
                status_at=earliest_allowed,
                last_seen_at=earliest_allowed,
                unreachable_since__isnull=True,
            ).delete()
        StationLive.objects.bulk_update(
            [touched[station_id] for station_id in sorted(touched)],
            ["status", "reason", "status_at", "last_seen_at", "unreachable_since"],
            batch_size=1000,
        )
        LiveEvent.objects.bulk_create(timeline, batch_size=1000)
        _move_live_tallies(event, deltas)
        if result.accepted and not ReadinessCounty.objects.filter(event=event).exists():
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
                    "status_changes": sum(1 for e in timeline if e.kind == LiveEvent.Kind.STATUS),
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
                    StationLive.objects.select_for_update(skip_locked=True).filter(
                        event=event,
                        unreachable_since__isnull=True,
                        status__in=WATCHED_STATUSES,
                        last_seen_at__lt=cutoff,
                    )
                )
                if not silent:
                    continue
                deltas: Counter[tuple[int, int, str]] = Counter()
                for row in silent:
                    row.unreachable_since = now
                    deltas[(row.province_id, row.county_id, "unreachable")] += 1
                StationLive.objects.bulk_update(silent, ["unreachable_since"], batch_size=1000)
                LiveEvent.objects.bulk_create(
                    [
                        LiveEvent(
                            event=event,
                            station_id=row.station_id,
                            province_id=row.province_id,
                            county_id=row.county_id,
                            kind=LiveEvent.Kind.UNREACHABLE,
                            status=row.status,
                            at=now,
                        )
                        for row in silent
                    ],
                    batch_size=1000,
                )
                _move_live_tallies(event, deltas)
                audit_record(
                    actor=None,
                    action=AuditAction.UPDATE,
                    entity_type="readiness.StationLive",
                    entity_id=str(event.pk),
                    entity_label=f"{len(silent)} stations unreachable",
                    after={"unreachable": [row.station_id for row in silent[:100]], "count": len(silent)},
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
