from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amanat.scoping import JurisdictionManager


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    IMPORT = "import", _("Import")
    LOGIN = "login", _("Login")
    LOGOUT = "logout", _("Logout")
    LOGIN_FAILED = "login_failed", _("Failed login")


class AppendOnlyQuerySet(models.QuerySet):
    """The application never rewrites history: bulk updates and deletes are refused."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit entries are append-only")


class AuditEntry(models.Model):
    """One audited event. `hash` covers the entry's content and the previous entry's hash.

    Jurisdiction is kept as plain ids (not foreign keys) so the audit app depends on no
    other app and an entry outlives whatever it describes.
    """

    seq = models.PositiveBigIntegerField(primary_key=True, verbose_name=_("sequence"))
    created_at = models.DateTimeField(verbose_name=_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(max_length=200, blank=True, verbose_name=_("actor"))
    action = models.CharField(max_length=20, choices=AuditAction.choices, verbose_name=_("action"))
    entity_type = models.CharField(max_length=100, blank=True, verbose_name=_("entity type"))
    entity_id = models.CharField(max_length=64, blank=True, verbose_name=_("entity id"))
    entity_label = models.CharField(max_length=300, blank=True, verbose_name=_("entity"))
    province_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("province"))
    county_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("county"))
    before = models.JSONField(null=True, blank=True, verbose_name=_("before"))
    after = models.JSONField(null=True, blank=True, verbose_name=_("after"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    prev_hash = models.CharField(max_length=64, verbose_name=_("previous hash"))
    hash = models.CharField(max_length=64, verbose_name=_("hash"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")
    all_entries = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        base_manager_name = "all_entries"
        indexes = [
            models.Index(fields=["entity_type", "entity_id"], name="audit_entity_idx"),
            models.Index(fields=["province_id", "county_id", "seq"], name="audit_jurisdiction_idx"),
            models.Index(fields=["actor", "seq"], name="audit_actor_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(county_id__isnull=True) | models.Q(province_id__isnull=False),
                name="audit_county_needs_province",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.entity_type} {self.entity_id}"


class AuditChainHead(models.Model):
    """The single row that serialises appends and remembers the chain's last link.

    Without it, deleting the newest entries would leave a chain that still verifies.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"head at {self.last_seq}"
