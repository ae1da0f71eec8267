"""Writes to the geography: imports of divisions and polling stations, and single-station edits.

Imports validate the whole file first and write nothing unless every row is good, so a file is
never half-imported. Running an import again with the same data changes nothing (idempotent).
"""

import csv
import hashlib
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.geography.models import County, District, PollingStation, Province
from amanat.geography.selectors import station_places
from amanat.persian import tidy
from amanat.scoping import Jurisdiction, unscoped

LEVELS = ("province", "county", "district")
DIVISION_COLUMNS = ("level", "code", "name", "name_en", "parent_code")
STATION_COLUMNS = ("code", "name", "county_code", "district_code", "address", "latitude", "longitude")


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return _("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class ImportRejectedError(Exception):
    """The file had bad rows; nothing from it was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


@dataclass(frozen=True)
class DivisionRow:
    line: int
    level: str
    code: str
    name: str
    name_en: str = ""
    parent_code: str = ""


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def total(self, kind: str) -> int:
        return sum(getattr(self, kind).values())


def _read_csv(text: str, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [column for column in required if column not in (reader.fieldnames or [])]
    if missing:
        raise ImportRejectedError([RowError(1, _("missing columns: %s") % ", ".join(missing))])
    rows = []
    for row in reader:
        if None in row:
            raise ImportRejectedError([RowError(reader.line_num, _("too many fields"))])
        rows.append((reader.line_num, {key: (value or "").strip() for key, value in row.items()}))
    return rows


def parse_division_csv(text: str) -> list[DivisionRow]:
    """Read the documented division CSV (level,code,name,name_en,parent_code); report bad rows by line."""
    rows: list[DivisionRow] = []
    errors: list[RowError] = []
    for line, row in _read_csv(text, ("level", "code", "name", "parent_code")):
        level = row.get("level", "").lower()
        if level not in LEVELS:
            errors.append(RowError(line, _("level must be one of province, county, district")))
            continue
        if not row.get("code"):
            errors.append(RowError(line, _("code is empty")))
            continue
        if not row.get("name"):
            errors.append(RowError(line, _("name is empty")))
            continue
        if level != "province" and not row.get("parent_code"):
            errors.append(RowError(line, _("a %s needs parent_code") % level))
            continue
        rows.append(
            DivisionRow(
                line=line,
                level=level,
                code=row["code"],
                name=tidy(row["name"]),
                name_en=row.get("name_en", ""),
                parent_code=row.get("parent_code", "") if level != "province" else "",
            )
        )
    if errors:
        raise ImportRejectedError(errors)
    return rows


def iran_division_rows() -> list[DivisionRow]:
    """Iran's provinces, counties and districts with official codes, from django-iranian-cities' data."""
    data = resources.files("iranian_cities") / "data"

    def load(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((data / f"{name}.csv").read_text(encoding="utf-8"))))

    provinces, counties, districts = load("province"), load("county"), load("district")
    province_code = {row["id"]: row["code"] for row in provinces}
    county_code = {row["id"]: row["code"] for row in counties}
    rows: list[DivisionRow] = []
    for line, row in enumerate(provinces, start=2):
        rows.append(DivisionRow(line, "province", row["code"], tidy(row["name"])))
    for line, row in enumerate(counties, start=2):
        rows.append(
            DivisionRow(line, "county", row["code"], tidy(row["name"]), "", province_code[row["province"]])
        )
    for line, row in enumerate(districts, start=2):
        rows.append(
            DivisionRow(line, "district", row["code"], tidy(row["name"]), "", county_code[row["county"]])
        )
    return rows


def _check_divisions(rows: Sequence[DivisionRow]) -> None:
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    codes_in_file = {level: {row.code for row in rows if row.level == level} for level in LEVELS}
    parent_level: dict[str, Any] = {"county": Province, "district": County}
    for row in rows:
        key = (row.level, row.code)
        if key in seen:
            errors.append(
                RowError(
                    row.line,
                    _("code %(code)s repeats line %(first)s") % {"code": row.code, "first": seen[key]},
                )
            )
        seen[key] = row.line
    missing_parents: dict[str, set[str]] = {"county": set(), "district": set()}
    for row in rows:
        if row.level == "county" and row.parent_code not in codes_in_file["province"]:
            missing_parents["county"].add(row.parent_code)
        if row.level == "district" and row.parent_code not in codes_in_file["county"]:
            missing_parents["district"].add(row.parent_code)
    known_in_db = {
        level: set(parent_level[level].objects.filter(code__in=codes).values_list("code", flat=True))
        for level, codes in missing_parents.items()
        if codes
    }
    for row in rows:
        if (
            row.level in missing_parents
            and row.parent_code in missing_parents[row.level]
            and row.parent_code not in known_in_db.get(row.level, set())
        ):
            errors.append(
                RowError(
                    row.line,
                    _("parent %(code)s is not a known %(level)s")
                    % {
                        "code": row.parent_code,
                        "level": "province" if row.level == "county" else "county",
                    },
                )
            )
    if errors:
        raise ImportRejectedError(sorted(errors, key=lambda error: error.line))


def _upsert(model: Any, wanted: dict[str, dict[str, Any]], result: ImportResult, label: str) -> None:
    existing = {obj.code: obj for obj in model.objects.filter(code__in=list(wanted))}
    to_create, to_update = [], []
    fields: set[str] = set()
    for code, values in wanted.items():
        obj = existing.get(code)
        if obj is None:
            to_create.append(model(code=code, **values))
            continue
        changed = {name: value for name, value in values.items() if getattr(obj, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(obj, name, value)
            fields.update(changed)
            to_update.append(obj)
    model.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        model.objects.bulk_update(to_update, sorted(fields), batch_size=1000)
    result.created[label] = len(to_create)
    result.updated[label] = len(to_update)
    result.unchanged[label] = len(wanted) - len(to_create) - len(to_update)


def geography_import(*, actor: Any, rows: Sequence[DivisionRow], source: str) -> ImportResult:
    """Create or update provinces, counties and districts from validated rows, all or nothing."""
    result = ImportResult()
    with unscoped(), transaction.atomic():
        _check_divisions(rows)
        by_level = {level: [row for row in rows if row.level == level] for level in LEVELS}
        _upsert(
            Province,
            {row.code: {"name": row.name, "name_en": row.name_en} for row in by_level["province"]},
            result,
            "provinces",
        )
        province_ids = dict(Province.objects.values_list("code", "id"))
        _upsert(
            County,
            {
                row.code: {
                    "name": row.name,
                    "name_en": row.name_en,
                    "province_id": province_ids[row.parent_code],
                }
                for row in by_level["county"]
            },
            result,
            "counties",
        )
        county_ids = dict(County.objects.values_list("code", "id"))
        _upsert(
            District,
            {
                row.code: {"name": row.name, "name_en": row.name_en, "county_id": county_ids[row.parent_code]}
                for row in by_level["district"]
            },
            result,
            "districts",
        )
        digest = hashlib.sha256(
            "\n".join(f"{r.level},{r.code},{r.name},{r.name_en},{r.parent_code}" for r in rows).encode()
        ).hexdigest()
        station_places.invalidate()  # a county may have moved to another province
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            entity_type="geography.Division",
            entity_label=source,
            after={"source": source, "sha256": digest, "created": result.created, "updated": result.updated},
        )
    return result


def _may_administer(actor: Any, where: Jurisdiction) -> bool:
    """Operators at the console (no actor) may change anything; users only within their jurisdiction.

    Geography sits below accounts, so the user's own `can` and `jurisdiction` are asked directly.
    """
    if actor is None:
        return True
    return bool(actor.is_active and actor.can("administer") and actor.jurisdiction.covers(where))


@dataclass(frozen=True)
class StationRow:
    line: int
    code: str
    name: str
    county_code: str
    district_code: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _coordinate(value: str, limit: int, name: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(_("%s is not a number") % name) from exc
    if not -limit <= number <= limit:
        raise ValueError(
            _("%(name)s must be between -%(limit)s and %(limit)s") % {"name": name, "limit": limit}
        )
    return number.quantize(Decimal("0.000001"))


def parse_station_csv(text: str) -> list[StationRow]:
    """Read the documented station CSV; report every bad row by its line number."""
    rows: list[StationRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in _read_csv(text, ("code", "name", "county_code")):
        try:
            if not row["code"]:
                raise ValueError(_("code is empty"))
            if not row["name"]:
                raise ValueError(_("name is empty"))
            if not row["county_code"]:
                raise ValueError(_("county_code is empty"))
            if row["code"] in seen:
                raise ValueError(
                    _("code %(code)s repeats line %(first)s")
                    % {"code": row["code"], "first": seen[row["code"]]}
                )
            seen[row["code"]] = line
            rows.append(
                StationRow(
                    line=line,
                    code=row["code"],
                    name=tidy(row["name"]),
                    county_code=row["county_code"],
                    district_code=row.get("district_code", ""),
                    address=tidy(row.get("address", "")),
                    latitude=_coordinate(row.get("latitude", ""), 90, "latitude"),
                    longitude=_coordinate(row.get("longitude", ""), 180, "longitude"),
                )
            )
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    if errors:
        raise ImportRejectedError(errors)
    return rows


def station_import(*, actor: Any, rows: Sequence[StationRow], source: str) -> ImportResult:
    """Create or update polling stations from validated rows, all or nothing (ورود شعب اخذ رأی)."""
    if actor is not None and not actor.can("administer"):
        raise PermissionDenied(_("Only administrators may import polling stations."))
    result = ImportResult()
    with unscoped(), transaction.atomic():
        counties = {
            code: (pk, province_id)
            for code, pk, province_id in County.objects.filter(
                code__in={r.county_code for r in rows}
            ).values_list("code", "id", "province_id")
        }
        existing = {
            code: (county_id, province_id)
            for code, county_id, province_id in PollingStation.objects.filter(
                code__in=[r.code for r in rows]
            ).values_list("code", "county_id", "county__province_id")
        }
        districts = {
            code: (pk, county_id)
            for code, pk, county_id in District.objects.filter(
                code__in={r.district_code for r in rows if r.district_code}
            ).values_list("code", "id", "county_id")
        }
        errors: list[RowError] = []
        wanted: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row.county_code not in counties:
                errors.append(RowError(row.line, _("county %s is unknown") % row.county_code))
                continue
            county_id, province_id = counties[row.county_code]
            if not _may_administer(actor, Jurisdiction(province_id, county_id)):
                errors.append(
                    RowError(row.line, _("county %s is outside your jurisdiction") % row.county_code)
                )
                continue
            if row.code in existing and not _may_administer(
                actor, Jurisdiction(existing[row.code][1], existing[row.code][0])
            ):
                errors.append(RowError(row.line, _("station %s belongs to another jurisdiction") % row.code))
                continue
            district_id = None
            if row.district_code:
                district = districts.get(row.district_code)
                if district is None:
                    errors.append(RowError(row.line, _("district %s is unknown") % row.district_code))
                    continue
                if district[1] != county_id:
                    errors.append(
                        RowError(row.line, _("district %s is not in that county") % row.district_code)
                    )
                    continue
                district_id = district[0]
            wanted[row.code] = {
                "name": row.name,
                "county_id": county_id,
                "district_id": district_id,
                "address": row.address,
                "latitude": row.latitude,
                "longitude": row.longitude,
            }
        if errors:
            raise ImportRejectedError(errors)
        _upsert(PollingStation, wanted, result, "stations")
        station_places.invalidate()  # a station may have moved to another county
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            entity_type="geography.PollingStation",
            entity_label=source,
            after={"source": source, "rows": len(rows), "created": result.created, "updated": result.updated},
        )
    return result


def station_generate(*, actor: Any, total: int = 60_000, seed: int = 1405) -> ImportResult:
    """Create a reproducible, labelled-synthetic set of stations spread over every county.

    The same seed and total always give the same stations (codes SYN-<county>-<n>), so running
    it again adds nothing. Counties get uneven shares, as real ones do.
    """
    if total < 0:
        raise ValidationError({"total": _("must not be negative")})
    result = ImportResult()
    with unscoped(), transaction.atomic():
        counties = list(County.objects.order_by("code").values_list("id", "code", "name"))
        if not counties:
            raise ValidationError(_("Import the geography before generating stations."))
        districts_by_county: dict[int, list[int]] = {}
        for district_id, county_id in District.objects.order_by("code").values_list("id", "county_id"):
            districts_by_county.setdefault(county_id, []).append(district_id)
        rng = random.Random(seed)
        weights = [rng.lognormvariate(0, 0.9) for _county in counties]
        scale = total / sum(weights)
        shares = [int(weight * scale) for weight in weights]
        for index in rng.sample(range(len(counties)), k=min(total - sum(shares), len(counties))):
            shares[index] += 1
        existing = set(PollingStation.objects.filter(is_synthetic=True).values_list("code", flat=True))
        batch: list[PollingStation] = []
        created = 0
        for (county_id, county_code, county_name), share in zip(counties, shares, strict=True):
            district_ids = districts_by_county.get(county_id, [])
            for number in range(1, share + 1):
                code = f"SYN-{county_code}-{number:04d}"
                district_id = district_ids[rng.randrange(len(district_ids))] if district_ids else None
                if code in existing:
                    continue
                batch.append(
                    PollingStation(
                        code=code,
                        # Station names are data, kept in Persian like the real geography.
                        name=f"شعبه {number} {county_name} (مصنوعی)",
                        county_id=county_id,
                        district_id=district_id,
                        is_synthetic=True,
                    )
                )
                if len(batch) >= 5000:
                    PollingStation.objects.bulk_create(batch)
                    created += len(batch)
                    batch = []
        PollingStation.objects.bulk_create(batch)
        created += len(batch)
        result.created["stations"] = created
        result.unchanged["stations"] = total - created
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            entity_type="geography.PollingStation",
            entity_label=f"synthetic stations (seed {seed})",
            after={"synthetic": True, "seed": seed, "total": total, "created": created},
        )
    return result


STATION_EDITABLE_FIELDS = ("name", "district", "address", "latitude", "longitude", "is_mobile")


def station_update(*, actor: Any, station: PollingStation, data: dict[str, Any]) -> PollingStation:
    """Change a station's details; the district must lie in the station's county."""
    if not _may_administer(actor, Jurisdiction(station.county.province_id, station.county_id)):
        raise PermissionDenied(_("Only administrators of this jurisdiction may change its stations."))
    unknown = set(data) - set(STATION_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    district = data.get("district", station.district)
    if district is not None and district.county_id != station.county_id:
        raise ValidationError({"district": _("The district must be in the station's county.")})
    with transaction.atomic():
        before = snapshot(station)
        for name, value in data.items():
            setattr(station, name, value)
        try:
            with unscoped():  # constraint checks (a unique code) look at every station, not a caller's scope
                station.full_clean(exclude=["county"], validate_unique=False)
        except ValidationError:
            station.refresh_from_db()  # a refused edit leaves the caller's object as it was
            raise
        station.save()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, entity=station, before=before, after=snapshot(station)
        )
    return station


def stations_csv_rows(stations: Iterable[PollingStation]) -> Iterable[list[str]]:
    """Stations in the import format, so an export can be edited and imported back."""
    yield list(STATION_COLUMNS)
    for station in stations:
        yield [
            station.code,
            station.name,
            station.county.code,
            station.district.code if station.district else "",
            station.address,
            "" if station.latitude is None else str(station.latitude),
            "" if station.longitude is None else str(station.longitude),
        ]
