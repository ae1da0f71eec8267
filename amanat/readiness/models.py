"""Polling-station readiness for electronic voting (آمادگی زیرساخت) and live election-day status.

Roll-ups never scan stations: `ReadinessTally` and `LiveTally` hold exact per-county counts that the
services change in the same transaction as the rows they count, and `ReadinessCounty` holds each
county's number of stations, refreshed by `readiness_stations_recount`. Tests prove the tallies
equal a full recount.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amanat.elections.models import ElectionEvent
from amanat.geography.models import InCounty, PollingStation
from amanat.scoping import JurisdictionManager


class ReadinessItem(models.Model):
    """An item of an event's readiness checklist (e.g. communication line installed), with its due date."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="readiness_items")
    code = models.SlugField(max_length=40, verbose_name=_("code"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    title_en = models.CharField(max_length=200, blank=True, verbose_name=_("English title"))
    due_on = models.DateField(verbose_name=_("due"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    is_active = models.BooleanField(default=True, verbose_name=_("in use"))

    class Meta:
        ordering = ["event", "position", "pk"]
        verbose_name = _("readiness item")
        verbose_name_plural = _("readiness items")
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="readiness_item_code_unique")]

    def __str__(self) -> str:
        return self.title


class ItemStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


TRACKED_STATUSES = (ItemStatus.IN_PROGRESS, ItemStatus.DONE, ItemStatus.FAILED)


class StationReadiness(InCounty):
    """One station's state on one checklist item; no row means not started."""

    item = models.ForeignKey(ReadinessItem, on_delete=models.CASCADE, related_name="stations")
    station = models.ForeignKey(PollingStation, on_delete=models.CASCADE, related_name="readiness")
    status = models.CharField(
        max_length=12, choices=ItemStatus.choices, default=ItemStatus.NOT_STARTED, verbose_name=_("status")
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verified"))
    evidence = models.CharField(max_length=500, blank=True, verbose_name=_("evidence"))
    updated_at = models.DateTimeField(verbose_name=_("updated"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["item", "station"]
        verbose_name = _("station readiness")
        verbose_name_plural = _("station readiness")
        constraints = [
            models.UniqueConstraint(fields=["item", "station"], name="station_readiness_unique"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(verified_at__isnull=False),
                name="station_readiness_done_verified",
            ),
        ]
        indexes = [models.Index(fields=["county", "item", "status"], name="readiness_county_item_idx")]

    def __str__(self) -> str:
        return f"{self.station_id} · {self.item_id} · {self.status}"


class ReadinessCounty(InCounty):
    """How many stations a county has, as the readiness roll-ups count them (refreshed by a recount)."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="readiness_counties")
    stations = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField()

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        verbose_name = _("county station count")
        verbose_name_plural = _("county station counts")
        constraints = [models.UniqueConstraint(fields=["event", "county"], name="readiness_county_unique")]

    def __str__(self) -> str:
        return f"{self.county_id}: {self.stations}"


class ReadinessTally(InCounty):
    """Per county and item: how many stations are in progress, done and failed (the rest not started)."""

    item = models.ForeignKey(ReadinessItem, on_delete=models.CASCADE, related_name="tallies")
    in_progress = models.IntegerField(default=0)
    done = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        verbose_name = _("readiness tally")
        verbose_name_plural = _("readiness tallies")
        constraints = [
            models.UniqueConstraint(fields=["item", "county"], name="readiness_tally_unique"),
            models.CheckConstraint(
                condition=Q(in_progress__gte=0, done__gte=0, failed__gte=0),
                name="readiness_tally_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.county_id}: {self.done} done"


# --- election day ----------------------------------------------------------------------------


class LiveStatus(models.TextChoices):
    NOT_OPENED = "not_opened", _("Not opened")
    OPENED = "opened", _("Opened")
    OPERATING = "operating", _("Operating")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


# What a station may report next from each status (the same status again is a heartbeat).
LIVE_MOVES: dict[str, frozenset[str]] = {
    LiveStatus.NOT_OPENED: frozenset({LiveStatus.OPENED}),
    LiveStatus.OPENED: frozenset({LiveStatus.OPERATING, LiveStatus.PAUSED, LiveStatus.CLOSED}),
    LiveStatus.OPERATING: frozenset({LiveStatus.PAUSED, LiveStatus.CLOSED}),
    LiveStatus.PAUSED: frozenset({LiveStatus.OPERATING, LiveStatus.CLOSED}),
    LiveStatus.CLOSED: frozenset(),
}
WATCHED_STATUSES = (LiveStatus.OPENED, LiveStatus.OPERATING, LiveStatus.PAUSED)


class StationLive(InCounty):
    """A station's live state on voting day: its last status, when it was last heard, and whether silent."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="live_stations")
    station = models.ForeignKey(PollingStation, on_delete=models.CASCADE, related_name="live")
    status = models.CharField(
        max_length=12, choices=LiveStatus.choices, default=LiveStatus.NOT_OPENED, verbose_name=_("status")
    )
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for pausing"))
    status_at = models.DateTimeField(verbose_name=_("status since"))
    last_seen_at = models.DateTimeField(verbose_name=_("last heard"))
    unreachable_since = models.DateTimeField(null=True, blank=True, verbose_name=_("unreachable since"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["station"]
        verbose_name = _("station's live status")
        verbose_name_plural = _("stations' live status")
        constraints = [
            models.UniqueConstraint(fields=["event", "station"], name="station_live_unique"),
            models.CheckConstraint(
                condition=Q(status="paused") | Q(reason=""), name="station_live_reason_only_when_paused"
            ),
        ]
        indexes = [
            # The silence check reads watched stations by when they were last heard.
            models.Index(
                fields=["event", "last_seen_at"],
                condition=Q(unreachable_since__isnull=True, status__in=["opened", "operating", "paused"]),
                name="live_watch_idx",
            ),
            models.Index(
                fields=["event", "county"],
                condition=Q(unreachable_since__isnull=False),
                name="live_unreachable_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_id}: {self.status}"


class LiveEvent(InCounty):
    """A line of the day's timeline: a status change, a station going silent or coming back."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status")
        UNREACHABLE = "unreachable", _("Unreachable")
        RETURNED = "returned", _("Back in contact")

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="live_events")
    station = models.ForeignKey(PollingStation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    status = models.CharField(max_length=12, choices=LiveStatus.choices, blank=True, verbose_name=_("status"))
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))
    at = models.DateTimeField(verbose_name=_("at"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [
            models.Index(fields=["event", "county", "-at"], name="live_event_county_idx"),
            models.Index(fields=["event", "-at"], name="live_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.kind} {self.at}"


class LiveTally(InCounty):
    """Per county on voting day: stations by status, and how many are unreachable now (exact counts)."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="live_tallies")
    opened = models.IntegerField(default=0)
    operating = models.IntegerField(default=0)
    paused = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    unreachable = models.IntegerField(default=0)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        verbose_name = _("live tally")
        verbose_name_plural = _("live tallies")
        constraints = [
            models.UniqueConstraint(fields=["event", "county"], name="live_tally_unique"),
            models.CheckConstraint(
                condition=Q(
                    opened__gte=0, operating__gte=0, paused__gte=0, closed__gte=0, unreachable__gte=0
                ),
                name="live_tally_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county_id}: {self.operating} operating"
