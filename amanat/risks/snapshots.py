"""Atlas versions as data: the frozen content of a submission, and the differences between two.

A version's content is plain JSON, written once at submission, so it reads the same years later
whatever happens to the live register, the taxonomy or the organisations it names.
"""

from dataclasses import dataclass, field
from typing import Any

from amanat.risks.models import ACTIVE_RISK_STATUSES, Atlas, Risk, RiskMitigation
from amanat.scoping import unscoped

SNAPSHOT_SCHEMA = 1

# What a side-by-side comparison shows for each risk, in this order.
COMPARED_FIELDS = [
    "title",
    "kind",
    "phase",
    "category",
    "description",
    "location",
    "likelihood",
    "impact",
    "score",
    "band",
    "treatment",
    "owner",
    "status",
    "residual_score",
    "residual_band",
    "mitigations",
]


def _risk_content(risk: Risk, mitigations: list[RiskMitigation]) -> dict[str, Any]:
    return {
        "id": risk.pk,
        "kind": risk.kind,
        "phase": risk.phase,
        "category": risk.category.name,
        "category_code": risk.category.code,
        "title": risk.title,
        "description": risk.description,
        "location": risk.location,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risk.score,
        "band": risk.band.name if risk.band else "",
        "band_code": risk.band.code if risk.band else "",
        "band_colour": risk.band.colour if risk.band else "",
        "treatment": risk.treatment,
        "acceptance_approved_by": risk.acceptance_approved_by.get_username()
        if risk.acceptance_approved_by
        else "",
        "owner": risk.owner.name if risk.owner else "",
        "status": risk.status,
        "residual_likelihood": risk.residual_likelihood,
        "residual_impact": risk.residual_impact,
        "residual_score": risk.residual_score,
        "residual_band": risk.residual_band.name if risk.residual_band else "",
        "mitigations": [
            {
                "title": m.action_item.title,
                "responsible": m.action_item.responsible.name,
                "due_on": m.action_item.due_on.isoformat(),
                "status": m.action_item.status,
            }
            for m in mitigations
        ],
    }


def atlas_snapshot(atlas: Atlas) -> dict[str, Any]:
    """The atlas's active risks, with their assessment and mitigations, as JSON to freeze."""
    with unscoped():
        risks = list(
            Risk.objects.filter(atlas=atlas, status__in=ACTIVE_RISK_STATUSES)
            .select_related("category", "band", "residual_band", "owner", "acceptance_approved_by", "matrix")
            .order_by("pk")
        )
        mitigations: dict[int, list[RiskMitigation]] = {}
        for mitigation in RiskMitigation.objects.filter(risk__in=risks).select_related(
            "action_item__responsible"
        ):
            mitigations.setdefault(mitigation.risk_id, []).append(mitigation)
    matrices = {risk.matrix.name for risk in risks}
    return {
        "schema": SNAPSHOT_SCHEMA,
        "event": atlas.event.name,
        "county": atlas.county.name,
        "county_code": atlas.county.code,
        "matrix": sorted(matrices),
        "risks": [_risk_content(risk, mitigations.get(risk.pk, [])) for risk in risks],
    }


@dataclass(frozen=True)
class RiskChange:
    """One risk across two versions: added, removed, changed or the same, with the fields that differ."""

    risk_id: int
    change: str  # "added", "removed", "changed" or "same"
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    fields: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return str((self.new or self.old or {}).get("title", ""))


def snapshot_diff(old: dict[str, Any], new: dict[str, Any]) -> list[RiskChange]:
    """Compare two versions' contents risk by risk (matched by the risk's identity, not its title)."""
    before = {row["id"]: row for row in old.get("risks", [])}
    after = {row["id"]: row for row in new.get("risks", [])}
    changes: list[RiskChange] = []
    for risk_id in sorted(before.keys() | after.keys()):
        a, b = before.get(risk_id), after.get(risk_id)
        if a is None:
            changes.append(RiskChange(risk_id, "added", None, b))
        elif b is None:
            changes.append(RiskChange(risk_id, "removed", a, None))
        else:
            differing = tuple(name for name in COMPARED_FIELDS if a.get(name) != b.get(name))
            changes.append(RiskChange(risk_id, "changed" if differing else "same", a, b, differing))
    order = {"changed": 0, "added": 1, "removed": 2, "same": 3}
    changes.sort(key=lambda c: (order[c.change], c.risk_id))
    return changes
