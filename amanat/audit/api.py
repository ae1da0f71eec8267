import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.audit import selectors

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    seq: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str
    entity_type: str
    entity_id: str
    entity_label: str
    province_id: int | None
    county_id: int | None
    before: Any = None
    after: Any = None
    ip_address: str | None
    prev_hash: str
    hash: str


class AuditFilter(Schema):
    action: str = ""
    entity_type: str = ""
    entity_id: str = ""
    actor: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


@router.get("/entries", response=list[AuditEntryOut], summary="Audit entries (auditors and administrators)")
@paginate(LimitOffsetPagination)
def entry_list(request: HttpRequest, filters: Query[AuditFilter]) -> Any:
    return selectors.audit_entry_list_for(user=request.user, **filters.dict())


@router.get("/entries/{seq}", response=AuditEntryOut)
def entry_detail(request: HttpRequest, seq: int) -> Any:
    return selectors.audit_entry_get_for(user=request.user, seq=seq)
