"""Incidents and election violations (تخلفات و جرائم انتخاباتی): intake, triage, referral and closure.

Every case follows one state machine (`TRANSITIONS`), moved only by the services, each of which checks
the actor's role and jurisdiction and writes an activity row and an audit entry in the same transaction.
`search_text` holds the case's searchable text (description, comments, merged reports) folded by
`amanat.persian.normalize`; the database's own full-text engine indexes it (a generated tsvector with a
GIN index on PostgreSQL, an FTS5 table kept by triggers on SQLite: see the migrations and `search.py`).
"""

import os
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation
from amanat.elections.models import ElectionEvent
from amanat.geography.models import InCounty, PollingStation
from amanat.scoping import JurisdictionManager


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class IncidentCategory(models.Model):
    """A kind of incident or violation in the managed taxonomy (e.g. vote buying, power outage)."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    name_en = models.CharField(max_length=200, blank=True, verbose_name=_("English name"))
    default_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.MEDIUM, verbose_name=_("default severity")
    )
    is_violation = models.BooleanField(
        default=False,
        verbose_name=_("election violation"),
        help_text=_("A possible offence under election law, which may need referral to the prosecutor."),
    )
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    is_active = models.BooleanField(default=True, verbose_name=_("in use"))

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")

    def __str__(self) -> str:
        return self.name


class ResponseDeadline(models.Model):
    """How long a case may stay open: per severity, optionally per category (the category's row wins)."""

    category = models.ForeignKey(
        IncidentCategory,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deadlines",
        verbose_name=_("category"),
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    hours = models.PositiveIntegerField(verbose_name=_("hours to resolve"))

    class Meta:
        ordering = ["category", "severity"]
        verbose_name = _("response deadline")
        verbose_name_plural = _("response deadlines")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "severity"],
                condition=Q(category__isnull=False),
                name="response_deadline_category_unique",
            ),
            models.UniqueConstraint(
                fields=["severity"],
                condition=Q(category__isnull=True),
                name="response_deadline_default_unique",
            ),
            models.CheckConstraint(condition=Q(hours__gte=1), name="response_deadline_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} / {self.severity}: {self.hours} h"


class IncidentState(models.TextChoices):
    AWAITING_MODERATION = "awaiting_moderation", _("Awaiting moderation")
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    REFERRED = "referred", _("Referred to the judiciary")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged as duplicate")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    PUBLIC = "public", _("Public report")
    SYSTEM = "system", _("Automatic")


# Cases still needing work: the deadline and escalation apply to these.
OPEN_STATES = frozenset(
    {
        IncidentState.AWAITING_MODERATION,
        IncidentState.NEW,
        IncidentState.TRIAGED,
        IncidentState.ASSIGNED,
        IncidentState.IN_PROGRESS,
        IncidentState.REFERRED,
    }
)
# Where a case has been dealt with: its handling time ends at the first of these.
DONE_STATES = frozenset(
    {IncidentState.RESOLVED, IncidentState.CLOSED, IncidentState.REJECTED, IncidentState.MERGED}
)


class EvidenceStorage(FileSystemStorage):
    """Files under `settings.EVIDENCE_ROOT`, read when used (so a changed setting, e.g. in tests, applies).

    Evidence lives outside the web root and has no URL: it is served only through a view that checks the
    caller's jurisdiction.
    """

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return os.fspath(settings.EVIDENCE_ROOT)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("evidence files have no public URL; serve them through the checked view")


def evidence_storage() -> Storage:
    """The evidence files' storage (made once by the FileField; it reads the setting each time)."""
    return EvidenceStorage()


def new_public_ref() -> str:
    return secrets.token_hex(6).upper()


class Incident(InCounty):
    """One reported incident or violation in a county, followed from intake to closure."""

    event = models.ForeignKey(
        ElectionEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("election event"),
    )
    category = models.ForeignKey(
        IncidentCategory, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("category")
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    state = models.CharField(
        max_length=20, choices=IncidentState.choices, default=IncidentState.NEW, verbose_name=_("state")
    )
    station = models.ForeignKey(
        PollingStation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("polling station"),
    )
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred"))
    description = models.TextField(verbose_name=_("description"))
    channel = models.CharField(max_length=10, choices=Channel.choices, verbose_name=_("channel"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_incidents",
        verbose_name=_("reported by"),
    )
    # A public reporter's details are optional and seen only inside the handling jurisdiction.
    reporter_name = models.CharField(max_length=100, blank=True, verbose_name=_("reporter's name"))
    reporter_contact = models.CharField(max_length=100, blank=True, verbose_name=_("reporter's contact"))
    public_ref = models.CharField(max_length=12, default=new_public_ref, verbose_name=_("receipt"))
    idempotency_key = models.CharField(max_length=100, blank=True, verbose_name=_("idempotency key"))
    intake_fingerprint = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(verbose_name=_("received"))
    deadline_at = models.DateTimeField(verbose_name=_("deadline"))
    assigned_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("assigned organisation"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_incidents",
        verbose_name=_("handler"),
    )
    referral_authority = models.CharField(max_length=200, blank=True, verbose_name=_("referred to"))
    referral_case_number = models.CharField(
        max_length=60, blank=True, verbose_name=_("judiciary case number")
    )
    referred_at = models.DateTimeField(null=True, blank=True, verbose_name=_("referred"))
    resolution = models.TextField(blank=True, verbose_name=_("resolution"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed"))
    reason = models.TextField(blank=True, verbose_name=_("reason for rejection or merge"))
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_reports",
        verbose_name=_("merged into"),
    )
    escalation_level = models.PositiveSmallIntegerField(default=0, verbose_name=_("escalation level"))
    escalated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("escalated"))
    search_text = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(verbose_name=_("updated"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.UniqueConstraint(
                fields=["reported_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="incident_idempotency_key_unique",
            ),
            models.UniqueConstraint(fields=["public_ref"], name="incident_public_ref_unique"),
            models.CheckConstraint(
                condition=Q(state="referred", referral_case_number__gt="") | ~Q(state="referred"),
                name="incident_referred_has_case_number",
            ),
            models.CheckConstraint(
                condition=Q(state="merged", merged_into__isnull=False) | ~Q(state="merged"),
                name="incident_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["rejected", "merged"]) | Q(reason__gt=""),
                name="incident_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="incident_not_merged_into_itself"
            ),
            models.CheckConstraint(
                condition=Q(deadline_at__gt=models.F("received_at")), name="incident_deadline"
            ),
        ]
        indexes = [
            models.Index(fields=["county", "state", "deadline_at"], name="incident_county_state_idx"),
            models.Index(fields=["province", "state", "deadline_at"], name="incident_province_state_idx"),
            models.Index(fields=["state", "deadline_at"], name="incident_state_deadline_idx"),
            models.Index(fields=["-received_at", "-id"], name="incident_received_idx"),
            models.Index(fields=["assigned_organisation", "state"], name="incident_org_state_idx"),
            models.Index(fields=["assignee", "state"], name="incident_assignee_state_idx"),
            models.Index(fields=["station", "category", "occurred_at"], name="incident_station_cat_idx"),
            models.Index(fields=["county", "category", "occurred_at"], name="incident_county_cat_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class IncidentComment(models.Model):
    """A note on a case by one of its handlers (searchable with the description)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(verbose_name=_("comment"))
    created_at = models.DateTimeField(verbose_name=_("written"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return self.body[:60]


class ActivityKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    MODERATED = "moderated", _("Accepted by moderation")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    STARTED = "started", _("Work started")
    REFERRED = "referred", _("Referred to the judiciary")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged as duplicate")
    ABSORBED = "absorbed", _("Duplicate merged in")
    REOPENED = "reopened", _("Reopened")
    COMMENTED = "commented", _("Comment")
    EVIDENCE = "evidence", _("Evidence added")
    ESCALATED = "escalated", _("Escalated")


class IncidentActivity(models.Model):
    """One line of a case's timeline: who did what, when, and the state it moved between."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=ActivityKind.choices, verbose_name=_("what"))
    from_state = models.CharField(max_length=20, blank=True, choices=IncidentState.choices)
    to_state = models.CharField(max_length=20, blank=True, choices=IncidentState.choices)
    note = models.TextField(blank=True, verbose_name=_("note"))
    at = models.DateTimeField(verbose_name=_("when"))

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("case activity")
        verbose_name_plural = _("case activities")
        indexes = [models.Index(fields=["incident", "at"], name="incident_activity_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class IncidentEvidence(models.Model):
    """A file attached to a case: type checked by content, stored outside the web root, SHA-256 kept."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(storage=evidence_storage, upload_to="%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=200, verbose_name=_("file name"))
    content_type = models.CharField(max_length=100, verbose_name=_("type"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    sha256 = models.CharField(max_length=64, verbose_name=_("SHA-256"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(verbose_name=_("uploaded"))

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="incident_evidence_not_empty")]

    def __str__(self) -> str:
        return self.original_name
