from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from amanat.accounts.roles import Capability, Role, role_has
from amanat.geography.models import InJurisdiction, unique_within_jurisdiction
from amanat.scoping import JurisdictionManager


class OrganisationKind(models.TextChoices):
    GOVERNORATE = "governorate", _("Governorate")
    ELECTION_HQ = "election_hq", _("Election headquarters")
    POLICE = "police", _("Police")
    JUDICIARY = "judiciary", _("Judiciary")
    PROSECUTOR = "prosecutor", _("Prosecutor's office")
    TELECOM = "telecom", _("Telecommunications")
    POWER = "power", _("Power utility")
    CRISIS_MANAGEMENT = "crisis_management", _("Crisis management")
    IT = "it", _("Information technology")
    EMERGENCY = "emergency", _("Emergency services")
    OTHER = "other", _("Other")


class Organisation(InJurisdiction):
    """An agency that takes part in election security work, at one jurisdiction (managed list)."""

    name = models.CharField(max_length=200, verbose_name=_("name"))
    name_en = models.CharField(max_length=200, blank=True, verbose_name=_("English name"))
    kind = models.CharField(max_length=30, choices=OrganisationKind.choices, verbose_name=_("kind"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            *InJurisdiction.Meta.constraints,
            *unique_within_jurisdiction("name", name="organisation_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class User(InJurisdiction, AbstractUser):
    """A person using Amanat: one organisation, one jurisdiction, one role."""

    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("organisation"),
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER, verbose_name=_("role"))

    objects: ClassVar[Any] = UserManager()
    # Authentication must find any user by name; everything else lists users through this one.
    in_jurisdiction: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = InJurisdiction.Meta.constraints

    def can(self, capability: "Capability | str") -> bool:
        """Whether this user's role grants a capability (superusers have all)."""
        if not self.is_active:
            return False
        return self.is_superuser or role_has(self.role, Capability(capability))

    @property
    def can_audit(self) -> bool:
        return self.can(Capability.AUDIT)

    @property
    def can_administer(self) -> bool:
        return self.can(Capability.ADMINISTER)

    @property
    def can_manage_elections(self) -> bool:
        """Election events are national: only national administrators schedule them."""
        return self.can(Capability.ADMINISTER) and self.province_id is None


class ApiToken(models.Model):
    """A bearer token for a device or an integration; only its SHA-256 is stored."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    prefix = models.CharField(max_length=12, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, verbose_name=_("key hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [models.UniqueConstraint(fields=["key_hash"], name="api_token_key_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Notification(models.Model):
    """An in-app message for one user (reminders, escalations); read ones stay until cleared."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500, verbose_name=_("message"))
    url = models.CharField(max_length=300, blank=True, verbose_name=_("link"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.message[:60]
