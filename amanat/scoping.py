"""Jurisdiction scoping: the one mechanism that keeps each user inside their jurisdiction.

Every model that holds jurisdiction-bound data declares `objects = JurisdictionManager(...)`,
naming the lookups that lead to its province and county. Querying such a model outside an
active scope raises `ScopeError` (fail closed, via django-scopes). Selectors open the scope of
the calling user with `scoped_to(user)`; management commands and internal consistency checks
that must see everything say so explicitly with `unscoped()`.

A national user sees every row; a province user the rows of that province (including its
counties'); a county user only the rows of that county. Rows held at a higher level (a
province's own records, national records) have an empty county and so stay out of a county
user's view.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied
from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

__all__ = [
    "Jurisdiction",
    "JurisdictionManager",
    "ScopeError",
    "scoped_to",
    "unscoped",
]


@dataclass(frozen=True)
class Jurisdiction:
    """Where a user or a record sits: national (both empty), a province, or a county."""

    province_id: int | None = None
    county_id: int | None = None

    def __post_init__(self) -> None:
        if self.county_id is not None and self.province_id is None:
            raise ValueError("a county jurisdiction needs its province")

    @property
    def level(self) -> str:
        if self.county_id is not None:
            return "county"
        if self.province_id is not None:
            return "province"
        return "national"

    def related(self, other: "Jurisdiction") -> bool:
        """True when one jurisdiction lies within the other: same line of the hierarchy."""
        return self.covers(other) or other.covers(self)

    def related_q(self, province_field: str = "province_id", county_field: str = "county_id") -> Any:
        """A filter for records whose jurisdiction is `related` to this one (ancestors and descendants)."""
        from django.db.models import Q

        if self.province_id is None:
            return Q()
        ancestors = Q(**{f"{province_field}__isnull": True}) | Q(
            **{province_field: self.province_id, f"{county_field}__isnull": True}
        )
        if self.county_id is None:
            return ancestors | Q(**{province_field: self.province_id})
        return ancestors | Q(**{county_field: self.county_id})

    def covers(self, other: "Jurisdiction") -> bool:
        """True when `other` lies within this jurisdiction (or is it)."""
        if self.province_id is None:
            return True
        if self.province_id != other.province_id:
            return False
        return self.county_id is None or self.county_id == other.county_id


class HasJurisdiction(Protocol):
    is_authenticated: bool
    is_active: bool

    @property
    def jurisdiction(self) -> Jurisdiction: ...


def JurisdictionManager(*, province: str, county: str | None = None, base: type = models.Manager) -> Any:  # noqa: N802
    """A default manager that refuses to query outside an active jurisdiction scope."""
    dimensions = {"province": province}
    if county is not None:
        dimensions["county"] = county
    return ScopedManager(_manager_class=base, **dimensions)


def jurisdiction_of(user: Any) -> Jurisdiction:
    """The caller's jurisdiction; anonymous or disabled callers have none and are refused."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        raise PermissionDenied("authentication required")
    return user.jurisdiction


@contextmanager
def scoped_to(user: Any) -> Iterator[Jurisdiction]:
    """Open the caller's jurisdiction scope for the queries built inside the block."""
    jurisdiction = jurisdiction_of(user)
    with scope(province=jurisdiction.province_id, county=jurisdiction.county_id):
        yield jurisdiction


@contextmanager
def unscoped() -> Iterator[None]:
    """See every jurisdiction: for commands, imports and integrity checks, never for a caller's read."""
    with scopes_disabled():
        yield
