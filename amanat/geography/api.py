from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.geography import selectors

router = Router(tags=["geography"])


class ProvinceOut(Schema):
    id: int
    code: str
    name: str
    name_en: str


class CountyOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    province_id: int


class DistrictOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    county_id: int


class StationOut(Schema):
    id: int
    code: str
    name: str
    county_id: int
    district_id: int | None
    address: str
    latitude: Decimal | None
    longitude: Decimal | None
    is_mobile: bool
    is_synthetic: bool


@router.get("/provinces", response=list[ProvinceOut])
@paginate(LimitOffsetPagination)
def province_list(request: HttpRequest) -> Any:
    return selectors.province_list_for(user=request.user)


@router.get("/provinces/{province_id}", response=ProvinceOut)
def province_detail(request: HttpRequest, province_id: int) -> Any:
    return selectors.province_get_for(user=request.user, province_id=province_id)


@router.get("/counties", response=list[CountyOut])
@paginate(LimitOffsetPagination)
def county_list(request: HttpRequest, province_id: int | None = None, q: str = "") -> Any:
    return selectors.county_list_for(user=request.user, province_id=province_id, q=q)


@router.get("/counties/{county_id}", response=CountyOut)
def county_detail(request: HttpRequest, county_id: int) -> Any:
    return selectors.county_get_for(user=request.user, county_id=county_id)


@router.get("/districts", response=list[DistrictOut])
@paginate(LimitOffsetPagination)
def district_list(request: HttpRequest, county_id: int | None = None) -> Any:
    return selectors.district_list_for(user=request.user, county_id=county_id)


@router.get("/districts/{district_id}", response=DistrictOut)
def district_detail(request: HttpRequest, district_id: int) -> Any:
    return selectors.district_get_for(user=request.user, district_id=district_id)


@router.get("/stations", response=list[StationOut])
@paginate(LimitOffsetPagination)
def station_list(
    request: HttpRequest,
    province_id: int | None = None,
    county_id: int | None = None,
    district_id: int | None = None,
    q: str = "",
) -> Any:
    return selectors.station_list_for(
        user=request.user, province_id=province_id, county_id=county_id, district_id=district_id, q=q
    )


@router.get("/stations/{station_id}", response=StationOut)
def station_detail(request: HttpRequest, station_id: int) -> Any:
    return selectors.station_get_for(user=request.user, station_id=station_id)
