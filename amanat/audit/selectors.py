"""Reads of the audit log: auditors and administrators, within their jurisdiction."""

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from amanat.audit.models import AuditEntry
from amanat.scoping import jurisdiction_of, scoped_to


def _require_audit(user: Any) -> None:
    jurisdiction_of(user)
    if not user.can("audit"):
        # Same answer as a missing page: the log's existence is not advertised to others.
        raise Http404


def audit_entry_list_for(
    *,
    user: Any,
    action: str = "",
    entity_type: str = "",
    entity_id: str = "",
    actor: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """Audit entries within the caller's jurisdiction, newest first, filtered."""
    _require_audit(user)
    with scoped_to(user):
        entries = AuditEntry.objects.all()
        if action:
            entries = entries.filter(action=action)
        if entity_type:
            entries = entries.filter(entity_type=entity_type)
        if entity_id:
            entries = entries.filter(entity_id=entity_id)
        if actor:
            entries = entries.filter(actor_label=actor)
        if since:
            entries = entries.filter(created_at__date__gte=since)
        if until:
            entries = entries.filter(created_at__date__lte=until)
        return entries.order_by("-seq")


def audit_entry_get_for(*, user: Any, seq: Any) -> AuditEntry:
    """One audit entry within the caller's jurisdiction."""
    try:
        return audit_entry_list_for(user=user).get(seq=int(seq))
    except (AuditEntry.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def audit_entity_types_for(*, user: Any) -> list[str]:
    """The entity types present in the log, for the filter menu."""
    _require_audit(user)
    with scoped_to(user):
        return sorted(set(AuditEntry.objects.values_list("entity_type", flat=True).distinct()) - {""})
