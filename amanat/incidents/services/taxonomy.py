"""The incident taxonomy and the response deadlines: national reference data."""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amanat.accounts.permissions import Capability, require
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.incidents.models import (
    IncidentCategory,
    ResponseDeadline,
    Severity,
)
from amanat.reference_cache import ReferenceCache

_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class IntakeTaxonomy:
    """What every report is checked against: the active categories by code, and the deadline rules."""

    active_by_code: dict[str, IncidentCategory]
    # (category id, or None for the severity's default rule, severity) -> hours
    deadline_rules: dict[tuple[int | None, str], int]


# Every report reads the taxonomy; it changes a few times a year, through the services below.
_taxonomy: ReferenceCache[IntakeTaxonomy] = ReferenceCache(
    "incident-taxonomy", timeout=settings.REFERENCE_CACHE_SECONDS
)


def intake_taxonomy() -> IntakeTaxonomy:
    """The active categories and the deadline rules, from the cache (read again after any change).

    Held in the process's memory, as every report reads it: callers must not change what they get.
    """
    taxonomy: IntakeTaxonomy = _taxonomy.held("all", _intake_taxonomy_read)
    return taxonomy


def _intake_taxonomy_read() -> IntakeTaxonomy:
    return IntakeTaxonomy(
        active_by_code={c.code: c for c in IncidentCategory.objects.filter(is_active=True)},
        deadline_rules={
            (category_id, severity): hours
            for category_id, severity, hours in ResponseDeadline.objects.values_list(
                "category_id", "severity", "hours"
            )
        },
    )


def incident_taxonomy_forget() -> None:
    """Drop the cached taxonomy: for changes made outside these services (data migrations, tests)."""
    _taxonomy.invalidate()


def _fail(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def _require_national_administrator(actor: Any) -> None:
    jurisdiction = require(actor, Capability.ADMINISTER)
    if jurisdiction.level != "national":
        raise PermissionDenied("national administrators manage the incident taxonomy")


def incident_category_create(
    *,
    actor: Any,
    code: str,
    name: str,
    name_en: str = "",
    default_severity: str = Severity.MEDIUM,
    is_violation: bool = False,
) -> IncidentCategory:
    """Add a category to the taxonomy (national administrators)."""
    _require_national_administrator(actor)
    code = code.strip()
    errors: dict[str, list[str]] = {}
    if not _CODE.match(code) or len(code) > 40:
        errors["code"] = [_("Use lower-case Latin letters, digits and hyphens (at most 40).")]
    elif IncidentCategory.objects.filter(code=code).exists():
        errors["code"] = [_("A category with this code exists.")]
    if not name.strip() or len(name.strip()) > 200:
        errors["name"] = [_("Give the name (at most 200 characters).")]
    if len(name_en.strip()) > 200:
        errors["name_en"] = [_("At most 200 characters.")]
    if default_severity not in Severity.values:
        errors["default_severity"] = [_("Unknown severity.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        position = (
            IncidentCategory.objects.order_by("-position").values_list("position", flat=True).first() or 0
        ) + 1
        category = IncidentCategory.objects.create(
            code=code,
            name=name.strip(),
            name_en=name_en.strip(),
            default_severity=default_severity,
            is_violation=is_violation,
            position=position,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, entity=category, after=snapshot(category))
        _taxonomy.invalidate()
    return category


def incident_category_update(*, actor: Any, category: IncidentCategory, **changes: Any) -> IncidentCategory:
    """Rename, re-grade, retire or restore a category (national administrators)."""
    _require_national_administrator(actor)
    allowed = {"name", "name_en", "default_severity", "is_violation", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise _fail(sorted(unknown)[0], _("This field cannot be changed."))
    if "default_severity" in changes and changes["default_severity"] not in Severity.values:
        raise _fail("default_severity", _("Unknown severity."))
    if "name" in changes and not (0 < len(str(changes["name"]).strip()) <= 200):
        raise _fail("name", _("Give the name (at most 200 characters)."))
    if "name_en" in changes and len(str(changes["name_en"]).strip()) > 200:
        raise _fail("name_en", _("At most 200 characters."))
    with transaction.atomic():
        category = IncidentCategory.objects.select_for_update().get(pk=category.pk)
        before = snapshot(category)
        for name, value in changes.items():
            setattr(
                category,
                name,
                value.strip() if isinstance(value, str) and name != "default_severity" else value,
            )
        category.save()
        _taxonomy.invalidate()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, entity=category, before=before, after=snapshot(category)
        )
    return category


def response_deadline_set(
    *, actor: Any, severity: str, hours: int, category: IncidentCategory | None = None
) -> ResponseDeadline:
    """Set how many hours a case of this severity (and category, when given) has to be resolved."""
    _require_national_administrator(actor)
    if severity not in Severity.values:
        raise _fail("severity", _("Unknown severity."))
    if not isinstance(hours, int) or hours < 1 or hours > 24 * 365:
        raise _fail("hours", _("Give a whole number of hours between 1 and 8760."))
    with transaction.atomic():
        row, created = ResponseDeadline.objects.select_for_update().get_or_create(
            category=category, severity=severity, defaults={"hours": hours}
        )
        before = None if created else snapshot(row)
        row.hours = hours
        row.save(update_fields=["hours"])
        _taxonomy.invalidate()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            entity=row,
            before=before,
            after=snapshot(row),
        )
    return row


def deadline_hours(category: IncidentCategory, severity: str) -> int:
    """The hours allowed for a case: the category's own rule, else the default for the severity."""
    rules = intake_taxonomy().deadline_rules
    for key in ((category.pk, severity), (None, severity)):
        if key in rules:
            return rules[key]
    # No rule at all (the seeded defaults were removed): the seeded values.
    return {Severity.CRITICAL: 2, Severity.HIGH: 8, Severity.MEDIUM: 24}.get(Severity(severity), 72)
