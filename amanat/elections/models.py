import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from amanat.geography.models import County
from amanat.scoping import JurisdictionManager


class Phase(models.TextChoices):
    """Where an election event stands: before, during or after voting (پیش، حین و پس از انتخابات)."""

    BEFORE = "before", _("Before the election")
    DURING = "during", _("Voting day")
    AFTER = "after", _("After the election")
    CLOSED = "closed", _("Closed")


class ContestKind(models.TextChoices):
    PRESIDENTIAL = "presidential", _("Presidential")
    PARLIAMENTARY = "parliamentary", _("Parliamentary")
    CITY_COUNCIL = "city_council", _("City councils")
    VILLAGE_COUNCIL = "village_council", _("Village councils")
    ASSEMBLY_OF_EXPERTS = "assembly_of_experts", _("Assembly of Experts")
    BY_ELECTION = "by_election", _("By-election")
    REFERENDUM = "referendum", _("Referendum")


class ElectionEvent(models.Model):
    """One voting day (رویداد انتخاباتی) with the season around it; holds one or more contests.

    `opens_on` starts the "before" phase (the season's work), `voting_day` is the "during"
    phase (through `voting_ends_on` when voting is extended), and the "after" phase runs until
    `closes_on`.
    """

    name = models.CharField(max_length=200, verbose_name=_("name"))
    name_en = models.CharField(max_length=200, blank=True, verbose_name=_("English name"))
    opens_on = models.DateField(verbose_name=_("season opens"))
    voting_day = models.DateField(verbose_name=_("voting day"))
    voting_ends_on = models.DateField(verbose_name=_("voting ends"))
    closes_on = models.DateField(verbose_name=_("season closes"))
    is_demo = models.BooleanField(default=False, verbose_name=_("demonstration data"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["-voting_day"]
        verbose_name = _("election event")
        verbose_name_plural = _("election events")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_on__lte=models.F("voting_day")), name="event_opens_before_voting"
            ),
            models.CheckConstraint(
                condition=models.Q(voting_ends_on__gte=models.F("voting_day")),
                name="event_voting_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(closes_on__gte=models.F("voting_ends_on")),
                name="event_closes_after_voting",
            ),
            models.UniqueConstraint(fields=["voting_day", "name"], name="event_unique_name_per_day"),
        ]

    def __str__(self) -> str:
        return self.name

    def phase_on(self, day: dt.date) -> str:
        if day <= self.voting_day - dt.timedelta(days=1):
            return Phase.BEFORE
        if day <= self.voting_ends_on:
            return Phase.DURING
        if day <= self.closes_on:
            return Phase.AFTER
        return Phase.CLOSED

    def days_to_voting(self, day: dt.date) -> int:
        return (self.voting_day - day).days


class Contest(models.Model):
    """One race decided on the event's voting day, e.g. presidential, or city councils."""

    event = models.ForeignKey(
        ElectionEvent, on_delete=models.CASCADE, related_name="contests", verbose_name=_("election event")
    )
    kind = models.CharField(max_length=30, choices=ContestKind.choices, verbose_name=_("kind"))
    title = models.CharField(max_length=200, blank=True, verbose_name=_("title"))
    counties = models.ManyToManyField(
        County, through="ContestCounty", related_name="contests", verbose_name=_("counties")
    )

    class Meta:
        ordering = ["event", "kind", "title"]
        verbose_name = _("contest")
        verbose_name_plural = _("contests")
        constraints = [
            models.UniqueConstraint(fields=["event", "kind", "title"], name="contest_unique_per_event")
        ]

    def __str__(self) -> str:
        return self.title or str(self.get_kind_display())


class ContestCounty(models.Model):
    """A county taking part in a contest."""

    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="participations")
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="contest_participations")

    objects: ClassVar[Any] = JurisdictionManager(province="county__province_id", county="county_id")

    class Meta:
        verbose_name = _("participating county")
        verbose_name_plural = _("participating counties")
        constraints = [models.UniqueConstraint(fields=["contest", "county"], name="contest_county_unique")]

    def __str__(self) -> str:
        return f"{self.contest_id}:{self.county_id}"
