"""Geography writes: division and station imports (all or nothing, idempotent), synthetic stations, edits."""

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from amanat.accounts.models import User
from amanat.audit.models import AuditAction, AuditEntry
from amanat.geography.models import County, District, PollingStation, Province
from amanat.geography.services import (
    ImportRejectedError,
    geography_import,
    iran_division_rows,
    parse_division_csv,
    parse_station_csv,
    station_generate,
    station_import,
    station_update,
)
from amanat.scoping import unscoped
from conftest import DIVISIONS_CSV, STATIONS_CSV, World

HEADER = "level,code,name,name_en,parent_code\n"
STATION_HEADER = "code,name,county_code,district_code,address,latitude,longitude\n"


def _counts() -> dict[str, int]:
    with unscoped():
        return {
            "provinces": Province.objects.count(),
            "counties": County.objects.count(),
            "districts": District.objects.count(),
            "stations": PollingStation.objects.count(),
            "audit": AuditEntry.all_entries.count(),
        }


def _lines(exc: pytest.ExceptionInfo[ImportRejectedError]) -> list[int]:
    return [error.line for error in exc.value.errors]


@pytest.fixture
def english() -> Any:
    """Error messages are translated; assert on their English wording."""
    with translation.override("en"):
        yield


class _RollbackError(Exception):
    """Raised to undo a block inside the test's transaction."""


# Division import


def test_division_import_creates_every_level_with_parents(admin: User, db: Any) -> None:
    result = geography_import(actor=admin, rows=parse_division_csv(DIVISIONS_CSV), source="unit")

    assert result.created == {"provinces": 2, "counties": 3, "districts": 3}
    with unscoped():
        county = County.objects.select_related("province").get(code="A2")
        district = District.objects.select_related("county").get(code="B1-1")
    assert county.province.code == "A"
    assert county.name == "شهرستان الف۲"
    assert county.name_en == "County A2"
    assert district.county.code == "B1"
    entry = AuditEntry.all_entries.order_by("-seq").first()
    assert entry is not None
    assert entry.action == AuditAction.IMPORT
    assert entry.entity_label == "unit"
    assert len((entry.after or {})["sha256"]) == 64


def test_division_import_again_creates_nothing(admin: User, world: World) -> None:
    before = _counts()

    result = geography_import(actor=admin, rows=parse_division_csv(DIVISIONS_CSV), source="again")

    assert result.total("created") == 0
    assert result.total("updated") == 0
    assert result.unchanged == {"provinces": 2, "counties": 3, "districts": 3}
    after = _counts()
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }


def test_division_import_updates_a_renamed_county(admin: User, world: World) -> None:
    renamed = DIVISIONS_CSV.replace("شهرستان الف۱,County A1", "شهرستان نو,County New")

    result = geography_import(actor=admin, rows=parse_division_csv(renamed), source="rename")

    assert result.updated["counties"] == 1
    assert result.total("created") == 0
    with unscoped():
        assert County.objects.get(code="A1").name == "شهرستان نو"


def test_malformed_division_rows_are_reported_by_line(admin: User, world: World, english: None) -> None:
    text = (
        HEADER
        + "province,C,استان ج,Province C,\n"  # line 2: good
        + "region,X,ناحیه,Region,\n"  # line 3: unknown level
        + "county,C1,,County C1,C\n"  # line 4: empty name
        + "county,C2,شهرستان ج۲,County C2,\n"  # line 5: county without parent
        + ",,,,\n"  # line 6: empty level
    )
    before = _counts()

    with pytest.raises(ImportRejectedError) as rejected:
        geography_import(actor=admin, rows=parse_division_csv(text), source="bad")

    assert _lines(rejected) == [3, 4, 5, 6]
    assert "line 3" in str(rejected.value)
    assert _counts() == before
    with unscoped():
        assert not Province.objects.filter(code="C").exists()


def test_division_file_with_a_repeated_code_writes_nothing(admin: User, world: World, english: None) -> None:
    text = (
        HEADER
        + "province,C,استان ج,Province C,\n"
        + "county,C1,شهرستان ج۱,County C1,C\n"
        + "county,C1,شهرستان دیگر,Other,C\n"  # line 4 repeats line 3
    )
    before = _counts()

    with pytest.raises(ImportRejectedError) as rejected:
        geography_import(actor=admin, rows=parse_division_csv(text), source="dup")

    assert _lines(rejected) == [4]
    assert "line 3" in rejected.value.errors[0].message
    assert _counts() == before


def test_unknown_parent_is_refused_and_nothing_written(admin: User, world: World) -> None:
    text = (
        HEADER
        + "province,C,استان ج,Province C,\n"
        + "county,C1,شهرستان ج۱,County C1,C\n"
        + "county,Z1,شهرستان ز۱,County Z1,Z\n"  # line 4: no province Z anywhere
        + "district,Z1-1,بخش,District,NOPE\n"  # line 5: no county NOPE
    )
    before = _counts()

    with pytest.raises(ImportRejectedError) as rejected:
        geography_import(actor=admin, rows=parse_division_csv(text), source="orphans")

    assert _lines(rejected) == [4, 5]
    assert "Z" in rejected.value.errors[0].message
    assert "NOPE" in rejected.value.errors[1].message
    assert _counts() == before


def test_parent_already_in_the_database_is_accepted(admin: User, world: World) -> None:
    text = HEADER + "county,A3,شهرستان الف۳,County A3,A\n" + "district,A1-2,بخش دوم,Second A1,A1\n"

    result = geography_import(actor=admin, rows=parse_division_csv(text), source="add")

    assert result.created == {"provinces": 0, "counties": 1, "districts": 1}
    with unscoped():
        assert County.objects.get(code="A3").province_id == world.province_a.pk
        assert District.objects.get(code="A1-2").county_id == world.county_a1.pk


def test_missing_columns_are_reported_on_line_one(db: Any, english: None) -> None:
    with pytest.raises(ImportRejectedError) as rejected:
        parse_division_csv("level,code,name\nprovince,C,استان ج\n")

    assert _lines(rejected) == [1]
    assert "parent_code" in str(rejected.value)


def test_iran_division_rows_cover_the_country() -> None:
    rows = iran_division_rows()
    by_level = {
        level: [row for row in rows if row.level == level] for level in ("province", "county", "district")
    }

    assert len(by_level["province"]) == 31
    assert len(by_level["county"]) == 448
    assert len(by_level["district"]) == 1099
    for level_rows in by_level.values():
        codes = [row.code for row in level_rows]
        assert len(set(codes)) == len(codes)
    province_codes = {row.code for row in by_level["province"]}
    county_codes = {row.code for row in by_level["county"]}
    assert {row.parent_code for row in by_level["county"]} <= province_codes
    assert {row.parent_code for row in by_level["district"]} <= county_codes
    assert all(row.name and "ي" not in row.name and "ك" not in row.name for row in rows)


# Station import


def test_station_import_of_world(world: World) -> None:
    with unscoped():
        station = PollingStation.objects.select_related("county", "district").get(code="A1-001")
        bare = PollingStation.objects.get(code="A1-002")
    assert station.county == world.county_a1
    assert station.district == world.district_a1
    assert station.latitude == Decimal("35.700000")
    assert station.address == "خیابان اول"
    assert bare.latitude is None
    assert not station.is_synthetic


def test_station_import_again_creates_nothing(admin: User, world: World) -> None:
    before = _counts()

    result = station_import(actor=admin, rows=parse_station_csv(STATIONS_CSV), source="again")

    assert result.created == {"stations": 0}
    assert result.updated == {"stations": 0}
    assert result.unchanged == {"stations": 5}
    assert _counts()["stations"] == before["stations"]


def test_station_import_is_all_or_nothing(admin: User, world: World) -> None:
    text = (
        STATION_HEADER
        + "A1-100,شعبه نو,A1,A1-1,,,\n"  # line 2: good, new
        + "A1-101,شعبه غلط,A1,B1-1,,,\n"  # line 3: district of another county
        + "A1-102,شعبه بی‌شهرستان,ZZ,,,,\n"  # line 4: unknown county
        + "A1-103,شعبه بی‌بخش,A1,ZZ-9,,,\n"  # line 5: unknown district
        + "A1-001,نام تازه,A1,A1-1,,,\n"  # line 6: good, would update
    )
    before = _counts()

    with pytest.raises(ImportRejectedError) as rejected:
        station_import(actor=admin, rows=parse_station_csv(text), source="bad")

    assert _lines(rejected) == [3, 4, 5]
    assert "B1-1" in rejected.value.errors[0].message
    assert _counts() == before
    with unscoped():
        assert not PollingStation.objects.filter(code="A1-100").exists()
        assert PollingStation.objects.get(code="A1-001").name == "مدرسه شهید بهشتی"


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [("abc", "51.4", "latitude"), ("95", "51.4", "latitude"), ("35.7", "181", "longitude")],
)
def test_bad_coordinates_are_refused_by_line(
    latitude: str, longitude: str, field: str, world: World, english: None
) -> None:
    text = (
        STATION_HEADER
        + "A1-100,شعبه نو,A1,A1-1,,35.1,51.1\n"
        + f"A1-101,شعبه دو,A1,A1-1,,{latitude},{longitude}\n"
    )

    with pytest.raises(ImportRejectedError) as rejected:
        parse_station_csv(text)

    assert _lines(rejected) == [3]
    assert field in rejected.value.errors[0].message


def test_station_file_errors_are_all_reported(db: Any, english: None) -> None:
    text = (
        STATION_HEADER
        + ",بی‌کد,A1,,,,\n"
        + "X1,,A1,,,,\n"
        + "X2,نام,,,,,\n"
        + "X3,نام,A1,,,,\n"
        + "X3,نام,A1,,,,\n"
    )

    with pytest.raises(ImportRejectedError) as rejected:
        parse_station_csv(text)

    assert _lines(rejected) == [2, 3, 4, 6]
    assert "line 5" in rejected.value.errors[-1].message


def test_station_file_with_extra_fields_is_refused(db: Any) -> None:
    with pytest.raises(ImportRejectedError) as rejected:
        parse_station_csv(STATION_HEADER + "X1,نام,A1,,,,,surplus\n")

    assert _lines(rejected) == [2]


# Synthetic stations


def _synthetic() -> list[tuple[str, str, int, int | None]]:
    with unscoped():
        return list(
            PollingStation.objects.filter(is_synthetic=True)
            .order_by("code")
            .values_list("code", "name", "county_id", "district_id")
        )


def test_station_generate_is_reproducible(admin: User, world: World) -> None:
    try:
        with transaction.atomic():
            station_generate(actor=admin, total=40, seed=7)
            first = _synthetic()
            raise _RollbackError
    except _RollbackError:
        pass
    assert _synthetic() == []

    result = station_generate(actor=admin, total=40, seed=7)

    assert _synthetic() == first
    assert result.created == {"stations": 40}


def test_station_generate_counts_sum_to_total_and_are_labelled(admin: User, world: World) -> None:
    result = station_generate(actor=admin, total=57, seed=1405)

    rows = _synthetic()
    assert len(rows) == 57
    assert result.created["stations"] == 57
    per_county = Counter(county_id for _code, _name, county_id, _district in rows)
    assert sum(per_county.values()) == 57
    assert set(per_county) <= {world.county_a1.pk, world.county_a2.pk, world.county_b1.pk}
    assert all(code.startswith("SYN-") for code, *_rest in rows)
    assert all("مصنوعی" in name for _code, name, *_rest in rows)
    with unscoped():
        districts = dict(District.objects.values_list("id", "county_id"))
    assert all(district is not None and districts[district] == county for _c, _n, county, district in rows)
    with unscoped():
        assert PollingStation.objects.filter(is_synthetic=False).count() == 5


def test_station_generate_again_adds_nothing(admin: User, world: World) -> None:
    station_generate(actor=admin, total=30, seed=3)
    before = _synthetic()

    result = station_generate(actor=admin, total=30, seed=3)

    assert result.created == {"stations": 0}
    assert result.unchanged == {"stations": 30}
    assert _synthetic() == before


def test_station_generate_refuses_a_negative_total(admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        station_generate(actor=admin, total=-1)

    assert "total" in refused.value.message_dict


# Station edits


def test_station_update_changes_and_audits(admin: User, world: World) -> None:
    station = world.station_a1

    station_update(actor=admin, station=station, data={"name": "نام تازه", "is_mobile": True})

    with unscoped():
        stored = PollingStation.objects.get(pk=station.pk)
    assert stored.name == "نام تازه"
    assert stored.is_mobile
    entry = AuditEntry.all_entries.order_by("-seq").first()
    assert entry is not None
    assert entry.action == AuditAction.UPDATE
    assert entry.entity_id == str(station.pk)
    assert (entry.province_id, entry.county_id) == (world.province_a.pk, world.county_a1.pk)
    assert (entry.before or {})["name"] == "مدرسه شهید بهشتی"
    assert (entry.after or {})["name"] == "نام تازه"


def test_station_update_refuses_a_district_of_another_county(admin: User, world: World) -> None:
    station = world.station_a1
    audit_before = AuditEntry.all_entries.count()

    with pytest.raises(ValidationError) as refused:
        station_update(actor=admin, station=station, data={"district": world.district_b1})

    assert "district" in refused.value.message_dict
    with unscoped():
        assert PollingStation.objects.get(pk=station.pk).district_id == world.district_a1.pk
    assert AuditEntry.all_entries.count() == audit_before


def test_station_update_refuses_fields_that_are_not_editable(admin: User, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        station_update(actor=admin, station=world.station_a1, data={"county": world.county_b1, "code": "X"})

    assert set(refused.value.message_dict) == {"code", "county"}
