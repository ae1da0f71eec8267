"""Pure rules of the atlas: matrix lookup and the county classification score, with its reasons.

Nothing here touches the database, so the same functions serve one county's page and the bulk
classification of every county, and the tests can check them exhaustively.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, ngettext_lazy
from django.utils.translation import gettext_lazy as _

NORMAL, IMPORTANT, SENSITIVE = "normal", "important", "sensitive"


@dataclass(frozen=True)
class Cell:
    score: int
    band_id: int


def cell_for(cells: Mapping[tuple[int, int], Cell], likelihood: int, impact: int) -> Cell | None:
    """The matrix cell for a likelihood and impact, or None when the pair lies outside the grid."""
    return cells.get((likelihood, impact))


@dataclass(frozen=True)
class Policy:
    """Weights and thresholds; mirrors `ClassificationPolicy` so the rule is testable without a database."""

    annulled_points: int = 15
    incident_points: int = 2
    incident_points_cap: int = 20
    stations_per_point: int = 200
    important_from: int = 20
    sensitive_from: int = 45

    @classmethod
    def of(cls, policy: Any) -> "Policy":
        return cls(**{name: getattr(policy, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BandCount:
    band_id: int
    name: str
    weight: int
    count: int
    name_en: str = ""


@dataclass(frozen=True)
class CountyRecord:
    """What classification reads of a county: its open risks per band and its electoral record."""

    bands: tuple[BandCount, ...] = ()
    annulled_elections: int = 0
    past_serious_incidents: int = 0
    stations: int = 0


@dataclass(frozen=True)
class Factor:
    """One reason the score is what it is: a code, the points it adds and the numbers behind it.

    Stored as data, not text, so the same factor reads in Persian or English when shown.
    """

    code: str
    points: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "params": dict(self.params)}

    @property
    def text(self) -> str:
        return factor_text(self.as_json())


def _band_name(params: Mapping[str, Any]) -> str:
    if get_language() == "en" and params.get("band_en"):
        return str(params["band_en"])
    return str(params.get("band", ""))


def factor_text(factor: Mapping[str, Any]) -> str:
    """A stored factor in words, in the active language."""
    code, params = factor.get("code", ""), dict(factor.get("params") or {})
    count = int(params.get("count", 0))
    if code.startswith("band:"):
        return str(
            ngettext_lazy(
                "%(count)d open risk in the %(band)s band, %(weight)d points each",
                "%(count)d open risks in the %(band)s band, %(weight)d points each",
                count,
            )
            % {"count": count, "band": _band_name(params), "weight": params.get("weight", 0)}
        )
    if code == "annulled":
        # Two sentences rather than plural forms: the singular names no number ("a previous election").
        if count == 1:
            return str(_("a previous election here was annulled"))
        return str(_("%(count)d previous elections here were annulled") % {"count": count})
    if code == "incidents":
        text = str(
            ngettext_lazy(
                "%(count)d serious incident in past elections",
                "%(count)d serious incidents in past elections",
                count,
            )
            % {"count": count}
        )
        return text + (str(_(" (capped)")) if params.get("capped") else "")
    if code == "stations":
        return str(
            _("%(stations)d polling stations, a point per %(per)d")
            % {"stations": params.get("stations", 0), "per": params.get("per", 0)}
        )
    return code


@dataclass(frozen=True)
class Classification:
    score: int
    level: str
    factors: tuple[Factor, ...] = field(default_factory=tuple)


def level_for(score: int, policy: Policy) -> str:
    """The recommended level for a score: sensitive, important or normal by the policy's thresholds."""
    if score >= policy.sensitive_from:
        return SENSITIVE
    if score >= policy.important_from:
        return IMPORTANT
    return NORMAL


def classify(record: CountyRecord, policy: Policy) -> Classification:
    """Score a county and explain it: each factor with its points, the largest first."""
    factors: list[Factor] = []
    for band in record.bands:
        if band.count and band.weight:
            factors.append(
                Factor(
                    code=f"band:{band.band_id}",
                    points=band.count * band.weight,
                    params={
                        "count": band.count,
                        "band": band.name,
                        "band_en": band.name_en,
                        "weight": band.weight,
                    },
                )
            )
    if record.annulled_elections and policy.annulled_points:
        factors.append(
            Factor(
                code="annulled",
                points=record.annulled_elections * policy.annulled_points,
                params={"count": record.annulled_elections},
            )
        )
    if record.past_serious_incidents and policy.incident_points:
        uncapped = record.past_serious_incidents * policy.incident_points
        points = min(uncapped, policy.incident_points_cap)
        if points:
            factors.append(
                Factor(
                    code="incidents",
                    points=points,
                    params={"count": record.past_serious_incidents, "capped": uncapped > points},
                )
            )
    if policy.stations_per_point and record.stations >= policy.stations_per_point:
        factors.append(
            Factor(
                code="stations",
                points=record.stations // policy.stations_per_point,
                params={"stations": record.stations, "per": policy.stations_per_point},
            )
        )
    factors.sort(key=lambda f: (-f.points, f.code))
    score = sum(f.points for f in factors)
    return Classification(score=score, level=level_for(score, policy), factors=tuple(factors))


def bands_from_rows(
    rows: Iterable[tuple[int, int]], bands: Mapping[int, tuple[str, str, int]]
) -> tuple[BandCount, ...]:
    """(band id, count) rows and a band table {id: (name, English name, weight)} as BandCounts."""
    counts = [
        BandCount(
            band_id=band_id,
            name=bands[band_id][0],
            name_en=bands[band_id][1],
            weight=bands[band_id][2],
            count=count,
        )
        for band_id, count in rows
        if band_id in bands
    ]
    return tuple(sorted(counts, key=lambda b: (-b.weight, b.band_id)))
