"""Checks that services run before they write: capability from the role, place from the jurisdiction."""

from typing import Any

from django.core.exceptions import PermissionDenied

from amanat.accounts.roles import Capability
from amanat.scoping import Jurisdiction, jurisdiction_of

__all__ = ["Capability", "require"]


def require(user: Any, capability: Capability, *, within: Jurisdiction | None = None) -> Jurisdiction:
    """Refuse unless the user has the capability and (when given) `within` lies in their jurisdiction."""
    jurisdiction = jurisdiction_of(user)
    if not user.can(capability):
        raise PermissionDenied(f"the {capability} capability is required")
    if within is not None and not jurisdiction.covers(within):
        raise PermissionDenied("outside your jurisdiction")
    return jurisdiction
