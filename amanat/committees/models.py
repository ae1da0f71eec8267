import datetime as dt
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation
from amanat.elections.models import ElectionEvent
from amanat.geography.models import InJurisdiction, unique_within_jurisdiction
from amanat.scoping import Jurisdiction, JurisdictionManager

# How deep a jurisdiction sits: escalation moves an item towards 0.
DEPTH = {"national": 0, "province": 1, "county": 2}


class CadenceParameters(models.Model):
    """How often a committee meets as voting day nears.

    Every `regular_interval_days` from the first meeting; weekly from `weekly_from_days_before`
    days before voting; daily from `daily_from_days_before` days before voting through
    `daily_until_days_after` days after it. The ranges cannot overlap: weekly starts before daily.
    """

    regular_interval_days = models.PositiveSmallIntegerField(
        default=14, verbose_name=_("regular interval (days)")
    )
    weekly_from_days_before = models.PositiveSmallIntegerField(
        default=56, verbose_name=_("weekly from (days before voting)")
    )
    daily_from_days_before = models.PositiveSmallIntegerField(
        default=7, verbose_name=_("daily from (days before voting)")
    )
    daily_until_days_after = models.PositiveSmallIntegerField(
        default=3, verbose_name=_("daily until (days after voting)")
    )
    meeting_time = models.TimeField(default=dt.time(10, 0), verbose_name=_("meeting time"))

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(regular_interval_days__gte=1, regular_interval_days__lte=90),
                name="%(app_label)s_%(class)s_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(weekly_from_days_before__gt=F("daily_from_days_before")),
                name="%(app_label)s_%(class)s_weekly_before_daily",
            ),
            models.CheckConstraint(
                condition=Q(daily_until_days_after__lte=60), name="%(app_label)s_%(class)s_daily_after_range"
            ),
        ]

    def cadence(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CADENCE_FIELDS}


CADENCE_FIELDS = (
    "regular_interval_days",
    "weekly_from_days_before",
    "daily_from_days_before",
    "daily_until_days_after",
    "meeting_time",
)


class Instruction(CadenceParameters):
    """The national instruction (دستورالعمل): the committees' duties and default meeting cadence."""

    event = models.ForeignKey(
        ElectionEvent, on_delete=models.CASCADE, related_name="instructions", verbose_name=_("election event")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    duties = models.TextField(verbose_name=_("duties"), help_text=_("One duty per line."))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta(CadenceParameters.Meta):
        ordering = ["-created_at"]
        verbose_name = _("instruction")
        verbose_name_plural = _("instructions")

    def __str__(self) -> str:
        return self.title


class Committee(InJurisdiction, CadenceParameters):
    """An election security committee (کمیته امنیت انتخابات) of one jurisdiction for one event.

    `terms` start as the instruction's duties; a county may localise them (بومی‌سازی).
    """

    event = models.ForeignKey(
        ElectionEvent, on_delete=models.PROTECT, related_name="committees", verbose_name=_("election event")
    )
    instruction = models.ForeignKey(
        Instruction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="committees",
        verbose_name=_("instruction"),
    )
    name = models.CharField(max_length=250, verbose_name=_("name"))
    terms = models.TextField(blank=True, verbose_name=_("terms of reference"))
    first_meeting_on = models.DateField(verbose_name=_("first meeting"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["name"]
        verbose_name = _("committee")
        verbose_name_plural = _("committees")
        constraints = [
            *InJurisdiction.Meta.constraints,
            *CadenceParameters.Meta.constraints,
            *unique_within_jurisdiction("event", name="committee_one_per_jurisdiction"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return DEPTH[self.jurisdiction.level]


class MemberRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")


class CommitteeMember(models.Model):
    """An organisation seated on a committee, with its representative."""

    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="committee_seats", verbose_name=_("organisation")
    )
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="committee_seats",
        verbose_name=_("representative"),
    )
    role = models.CharField(
        max_length=20, choices=MemberRole.choices, default=MemberRole.MEMBER, verbose_name=_("role")
    )

    objects: ClassVar[Any] = JurisdictionManager(
        province="committee__province_id", county="committee__county_id"
    )

    class Meta:
        ordering = ["committee", "role", "organisation__name"]
        verbose_name = _("committee member")
        verbose_name_plural = _("committee members")
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "organisation"], name="member_one_seat_per_organisation"
            ),
            models.UniqueConstraint(fields=["committee"], condition=Q(role="chair"), name="member_one_chair"),
            models.UniqueConstraint(
                fields=["committee"], condition=Q(role="secretary"), name="member_one_secretary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.committee.jurisdiction


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class Meeting(models.Model):
    """A committee meeting (جلسه): planned from the cadence or added by hand."""

    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="meetings")
    scheduled_on = models.DateField(verbose_name=_("date"))
    starts_at = models.TimeField(verbose_name=_("time"))
    status = models.CharField(
        max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED, verbose_name=_("status")
    )
    from_cadence = models.BooleanField(default=True, verbose_name=_("from the cadence plan"))
    agenda = models.TextField(blank=True, verbose_name=_("agenda"))
    location = models.CharField(max_length=200, blank=True, verbose_name=_("location"))
    cancel_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for cancelling"))

    objects: ClassVar[Any] = JurisdictionManager(
        province="committee__province_id", county="committee__county_id"
    )

    class Meta:
        ordering = ["scheduled_on", "starts_at"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "scheduled_on"],
                condition=Q(from_cadence=True),
                name="meeting_one_planned_per_day",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="meeting_cancel_needs_reason"
            ),
        ]
        indexes = [models.Index(fields=["committee", "scheduled_on"], name="meeting_committee_day_idx")]

    def __str__(self) -> str:
        return f"{self.committee} · {self.scheduled_on.isoformat()}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.committee.jurisdiction


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    REPRESENTED = "represented", _("Represented")


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(CommitteeMember, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=20, choices=AttendanceStatus.choices, verbose_name=_("attendance"))
    note = models.CharField(max_length=200, blank=True, verbose_name=_("represented by / note"))

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.status}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.meeting.committee.jurisdiction


class MinutesStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class Minutes(models.Model):
    """Minutes (صورتجلسه) of a meeting. Approved minutes are read-only; a correction is a new version."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="minutes_versions")
    version = models.PositiveSmallIntegerField(default=1)
    text = models.TextField(blank=True, verbose_name=_("minutes"))
    status = models.CharField(max_length=20, choices=MinutesStatus.choices, default=MinutesStatus.DRAFT)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "-version"]
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="minutes_version_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False, approved_by__isnull=False),
                name="minutes_approval_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} v{self.version}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.meeting.committee.jurisdiction


class Decision(models.Model):
    """A decision (مصوبه) taken at a meeting; each becomes an action item."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    number = models.PositiveSmallIntegerField(verbose_name=_("number"))
    text = models.TextField(verbose_name=_("decision"))

    class Meta:
        ordering = ["meeting", "number"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [models.UniqueConstraint(fields=["meeting", "number"], name="decision_number_unique")]

    def __str__(self) -> str:
        return f"{self.number}. {self.text[:60]}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.meeting.committee.jurisdiction


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionItem(InJurisdiction):
    """Work that follows a decision, owned by one organisation, followed up to done.

    Held at the committee's jurisdiction. `visible_from_depth` is how high it has been escalated:
    it starts at the committee's depth (county 2, province 1, national 0) and drops by one each
    time the escalation grace passes while it is overdue.
    """

    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="action_items")
    decision = models.OneToOneField(
        Decision, null=True, blank=True, on_delete=models.CASCADE, related_name="action_item"
    )
    title = models.CharField(max_length=300, verbose_name=_("action"))
    responsible = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="action_items",
        verbose_name=_("responsible organisation"),
    )
    raised_on = models.DateField(verbose_name=_("raised on"))
    due_on = models.DateField(verbose_name=_("due"))
    status = models.CharField(
        max_length=20, choices=ActionStatus.choices, default=ActionStatus.OPEN, verbose_name=_("status")
    )
    cancel_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for cancelling"))
    completed_on = models.DateField(null=True, blank=True, verbose_name=_("completed on"))
    visible_from_depth = models.PositiveSmallIntegerField(verbose_name=_("escalation depth"))
    escalated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("escalated"))
    last_reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        constraints = [
            *InJurisdiction.Meta.constraints,
            models.CheckConstraint(condition=Q(due_on__gte=F("raised_on")), name="action_due_after_raised"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="action_cancel_needs_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_on__isnull=False), name="action_done_has_date"
            ),
            models.CheckConstraint(condition=Q(visible_from_depth__lte=2), name="action_depth_range"),
        ]
        indexes = [
            models.Index(fields=["status", "due_on"], name="action_status_due_idx"),
            models.Index(fields=["responsible", "status", "due_on"], name="action_owner_idx"),
            models.Index(fields=["visible_from_depth", "status", "due_on"], name="action_escalation_idx"),
            # Overdue lists read open items in due order a page at a time: this lets them stop early.
            models.Index(
                fields=["due_on", "id"],
                condition=Q(status__in=["open", "in_progress"]),
                name="action_open_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open and self.due_on < today


class ProgressNote(models.Model):
    """A dated note on an action item's progress, optionally with the status it moved to."""

    action_item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(verbose_name=_("note"))
    status = models.CharField(max_length=20, choices=ActionStatus.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("progress note")
        verbose_name_plural = _("progress notes")

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.action_item.jurisdiction
