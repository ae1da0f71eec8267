"""Roles and what each may do. Jurisdiction decides *where* a user acts; the role decides *what*."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    MEMBER = "member", _("Member")
    SECRETARY = "secretary", _("Secretary")
    CHAIR = "chair", _("Chair")
    ADMINISTRATOR = "administrator", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


class Capability(StrEnum):
    VIEW = "view"  # read everything within the jurisdiction
    EDIT = "edit"  # record operational data: risks, incidents, readiness
    RUN_MEETINGS = "run_meetings"  # schedule meetings, write minutes
    APPROVE = "approve"  # approve minutes and submissions, decide
    ADMINISTER = "administer"  # users, organisations, reference data
    AUDIT = "audit"  # read the audit log


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.VIEW}),
    Role.MEMBER: frozenset({Capability.VIEW, Capability.EDIT}),
    Role.SECRETARY: frozenset({Capability.VIEW, Capability.EDIT, Capability.RUN_MEETINGS}),
    Role.CHAIR: frozenset({Capability.VIEW, Capability.EDIT, Capability.RUN_MEETINGS, Capability.APPROVE}),
    Role.ADMINISTRATOR: frozenset(Capability),
    Role.AUDITOR: frozenset({Capability.VIEW, Capability.AUDIT}),
}


def role_has(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())
