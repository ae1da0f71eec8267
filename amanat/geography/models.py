from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from amanat.scoping import Jurisdiction, JurisdictionManager


class Division(models.Model):
    """Fields shared by every administrative division: an official code and names in two languages."""

    code = models.CharField(max_length=20, verbose_name=_("official code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    name_en = models.CharField(max_length=200, blank=True, verbose_name=_("English name"))

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Province(Division):
    """A first-level division (استان)."""

    objects: ClassVar[Any] = JurisdictionManager(province="pk")

    class Meta(Division.Meta):
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        constraints = [models.UniqueConstraint(fields=["code"], name="province_code_unique")]

    @property
    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(province_id=self.pk)


class County(Division):
    """A second-level division (شهرستان): the unit a county election security committee serves."""

    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="counties", verbose_name=_("province")
    )

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="pk")

    class Meta(Division.Meta):
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        constraints = [models.UniqueConstraint(fields=["code"], name="county_code_unique")]

    @property
    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(province_id=self.province_id, county_id=self.pk)


class District(Division):
    """A third-level division (بخش) within a county."""

    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="districts", verbose_name=_("county")
    )

    objects: ClassVar[Any] = JurisdictionManager(province="county__province_id", county="county_id")

    class Meta(Division.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [models.UniqueConstraint(fields=["code"], name="district_code_unique")]


class PollingStation(models.Model):
    """A polling station (شعبه اخذ رأی): where votes are cast, identified by its official code."""

    code = models.CharField(max_length=30, verbose_name=_("station code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="stations", verbose_name=_("county")
    )
    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stations",
        verbose_name=_("district"),
    )
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        verbose_name=_("latitude"),
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        verbose_name=_("longitude"),
    )
    is_mobile = models.BooleanField(default=False, verbose_name=_("mobile station"))
    is_synthetic = models.BooleanField(
        default=False,
        verbose_name=_("synthetic"),
        help_text=_("Generated for demonstrations and benchmarks, not a real station."),
    )

    objects: ClassVar[Any] = JurisdictionManager(province="county__province_id", county="county_id")

    class Meta:
        ordering = ["code"]
        verbose_name = _("polling station")
        verbose_name_plural = _("polling stations")
        constraints = [
            models.UniqueConstraint(fields=["code"], name="station_code_unique"),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="station_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True)
                | models.Q(longitude__gte=-180, longitude__lte=180),
                name="station_longitude_range",
            ),
        ]
        indexes = [models.Index(fields=["county", "code"], name="station_county_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(province_id=self.county.province_id, county_id=self.county_id)


def unique_within_jurisdiction(*fields: str, name: str) -> list[models.UniqueConstraint]:
    """`fields` unique among the records of one jurisdiction, the national one (both empty) included.

    Three partial constraints rather than one with nulls_distinct=False, which SQLite does not enforce.
    """
    return [
        models.UniqueConstraint(
            fields=[*fields, "county"], condition=models.Q(county__isnull=False), name=f"{name}_county"
        ),
        models.UniqueConstraint(
            fields=[*fields, "province"],
            condition=models.Q(county__isnull=True, province__isnull=False),
            name=f"{name}_province",
        ),
        models.UniqueConstraint(
            fields=list(fields),
            condition=models.Q(county__isnull=True, province__isnull=True),
            name=f"{name}_national",
        ),
    ]


class InJurisdiction(models.Model):
    """A record held at one jurisdiction: national (both empty), a province, or a county of it.

    Pair it with `JurisdictionManager(province="province_id", county="county_id")` to scope reads.
    That the county lies in the province is a cross-table rule, kept by the services.
    """

    province = models.ForeignKey(
        Province,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("province"),
    )
    county = models.ForeignKey(
        County, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("county")
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=models.Q(county__isnull=True) | models.Q(province__isnull=False),
                name="%(app_label)s_%(class)s_county_needs_province",
            )
        ]

    @property
    def jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(province_id=self.province_id, county_id=self.county_id)


class InCounty(InJurisdiction):
    """A record always held by one county (and so by its province): both foreign keys required."""

    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="+", verbose_name=_("province")
    )
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+", verbose_name=_("county"))

    class Meta:
        abstract = True
