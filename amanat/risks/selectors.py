"""Reads of the security atlas, scoped to the caller's jurisdiction; missing and forbidden both 404."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404

from amanat.committees.models import ActionStatus
from amanat.elections.models import Contest, ElectionEvent
from amanat.geography.models import County, District, PollingStation, Province
from amanat.risks.models import (
    ACTIVE_RISK_STATUSES,
    LEVEL_ORDER,
    Atlas,
    AtlasStatus,
    AtlasVersion,
    ClassificationPolicy,
    CountyClassification,
    CountyDuty,
    DutyTemplate,
    PastElection,
    ReviewComment,
    Risk,
    RiskBand,
    RiskCategory,
    RiskMatrix,
    RiskMatrixCell,
    RiskMitigation,
    RiskPhase,
    SecurityLevel,
    SecurityLevelDecision,
    VersionStatus,
)
from amanat.risks.snapshots import atlas_snapshot
from amanat.scoping import jurisdiction_of, scoped_to


def _get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


# --- reference data (read by every jurisdiction) ---------------------------------------------


def risk_category_list_for(*, user: Any, active_only: bool = False) -> QuerySet[RiskCategory]:
    """The taxonomy of electoral risk factors."""
    jurisdiction_of(user)
    categories = RiskCategory.objects.all()
    return categories.filter(is_active=True) if active_only else categories


def risk_category_get_for(*, user: Any, category_id: Any) -> RiskCategory:
    """One category of the taxonomy."""
    return _get_or_404(risk_category_list_for(user=user), category_id)


def risk_matrix_default() -> RiskMatrix | None:
    """The matrix new risks are assessed on."""
    return RiskMatrix.objects.filter(is_default=True).first() or RiskMatrix.objects.first()


def risk_matrix_list_for(*, user: Any) -> QuerySet[RiskMatrix]:
    """Every configured matrix, the default first, with its bands and cells."""
    jurisdiction_of(user)
    return RiskMatrix.objects.prefetch_related(
        Prefetch("bands", queryset=RiskBand.objects.order_by("rank")),
        Prefetch("cells", queryset=RiskMatrixCell.objects.select_related("band")),
    )


def duty_template_list_for(
    *, user: Any, level: str = "", active_only: bool = False
) -> QuerySet[DutyTemplate]:
    """The duty checklists of the security levels."""
    jurisdiction_of(user)
    duties = DutyTemplate.objects.all()
    if level:
        duties = duties.filter(level=level)
    return duties.filter(is_active=True) if active_only else duties


def duty_template_get_for(*, user: Any, duty_id: Any) -> DutyTemplate:
    """One duty template."""
    return _get_or_404(duty_template_list_for(user=user), duty_id)


# --- atlases and risks -----------------------------------------------------------------------


def atlas_list_for(
    *, user: Any, event_id: Any = None, status: str = "", province_id: Any = None
) -> QuerySet[Atlas]:
    """The atlases within the caller's jurisdiction, with their count of active risks."""
    with scoped_to(user):
        atlases = Atlas.objects.select_related("event", "province", "county").annotate(
            active_risks=Count("risks", filter=Q(risks__status__in=ACTIVE_RISK_STATUSES))
        )
        if event_id not in (None, ""):
            atlases = atlases.filter(event_id=event_id)
        if status in AtlasStatus.values:
            atlases = atlases.filter(status=status)
        if province_id not in (None, ""):
            atlases = atlases.filter(province_id=province_id)
        return atlases.order_by("province__name", "county__name")


def atlas_get_for(*, user: Any, atlas_id: Any) -> Atlas:
    """One atlas, if the caller's jurisdiction reaches its county."""
    with scoped_to(user):
        return _get_or_404(Atlas.objects.select_related("event", "province", "county"), atlas_id)


def atlas_find_for(*, user: Any, event: ElectionEvent, county: County) -> Atlas | None:
    """The county's atlas for the event, or None if nobody has started it."""
    with scoped_to(user):
        return (
            Atlas.objects.select_related("event", "province", "county")
            .filter(event=event, county=county)
            .first()
        )


@dataclass
class AtlasTally:
    """A province's atlases by status: the set the national level receives once the province approves."""

    province: Province
    counties: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def not_started(self) -> int:
        return self.counties - sum(self.counts.values())

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def approved(self) -> int:
        return self.count(AtlasStatus.APPROVED)

    @property
    def submitted(self) -> int:
        return self.count(AtlasStatus.SUBMITTED)

    @property
    def returned(self) -> int:
        return self.count(AtlasStatus.RETURNED)

    @property
    def draft(self) -> int:
        return self.count(AtlasStatus.DRAFT)


def atlas_tally_for(*, user: Any, event: ElectionEvent) -> list[AtlasTally]:
    """Per province within the caller's jurisdiction: its counties' atlases by status (three queries)."""
    with scoped_to(user):
        counties = dict(
            County.objects.values("province_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("province_id", "n")
        )
        tallies = {
            province.pk: AtlasTally(province=province, counties=counties.get(province.pk, 0))
            for province in Province.objects.order_by("name")
        }
        for province_id, status, n in (
            Atlas.objects.filter(event=event)
            .values("province_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("province_id", "status", "n")
        ):
            if province_id in tallies:
                tallies[province_id].counts[status] = n
    return list(tallies.values())


def risk_list_for(
    *, user: Any, atlas: Atlas, include_withdrawn: bool = False, phase: str = "", kind: str = ""
) -> QuerySet[Risk]:
    """The risks of an atlas, highest score first, with what a list shows of each."""
    with scoped_to(user):
        risks = (
            Risk.objects.filter(atlas=atlas)
            .select_related("category", "band", "residual_band", "owner", "acceptance_approved_by")
            .annotate(
                mitigation_count=Count("mitigations", distinct=True),
                mitigations_done=Count(
                    "mitigations", filter=Q(mitigations__action_item__status=ActionStatus.DONE), distinct=True
                ),
            )
        )
        if not include_withdrawn:
            risks = risks.filter(status__in=ACTIVE_RISK_STATUSES)
        if phase:
            risks = risks.filter(phase=phase)
        if kind:
            risks = risks.filter(kind=kind)
        # Meta.ordering does not survive the GROUP BY of the counts: order explicitly.
        return risks.order_by(F("score").desc(nulls_last=True), "pk")


def risk_get_for(*, user: Any, risk_id: Any) -> Risk:
    """One risk, if the caller's jurisdiction reaches its county."""
    with scoped_to(user):
        return _get_or_404(
            Risk.objects.select_related(
                "atlas__event", "atlas__county", "category", "band", "residual_band", "owner", "matrix"
            ),
            risk_id,
        )


def risk_mitigations_for(*, user: Any, risk: Risk) -> QuerySet[RiskMitigation]:
    """A risk's mitigations with their action items' state."""
    jurisdiction_of(user)
    return RiskMitigation.objects.filter(risk=risk).select_related(
        "action_item__responsible", "action_item__committee"
    )


def risk_review_comments_for(*, user: Any, risk: Risk) -> QuerySet[ReviewComment]:
    """The province's comments on a risk, newest version first."""
    jurisdiction_of(user)
    return (
        ReviewComment.objects.filter(risk=risk)
        .select_related("version", "author")
        .order_by("-version__number")
    )


def past_election_list_for(*, user: Any, county: County) -> QuerySet[PastElection]:
    """A county's record of previous elections, newest first."""
    with scoped_to(user):
        return PastElection.objects.filter(county=county).order_by("-held_on", "pk")


def classification_policy_for(*, user: Any) -> ClassificationPolicy | None:
    """The classification's weights and thresholds (read by every jurisdiction: the rule is public)."""
    jurisdiction_of(user)
    return ClassificationPolicy.objects.order_by("pk").first()


# --- versions --------------------------------------------------------------------------------


def atlas_version_list_for(*, user: Any, atlas: Atlas) -> QuerySet[AtlasVersion]:
    """An atlas's submitted versions, newest first (their content is not loaded)."""
    with scoped_to(user):
        return (
            AtlasVersion.objects.filter(atlas=atlas)
            .defer("content")
            .select_related("submitted_by", "reviewed_by")
            .order_by("-number")
        )


def atlas_version_get_for(*, user: Any, version_id: Any) -> AtlasVersion:
    """One submitted version with its frozen content."""
    with scoped_to(user):
        return _get_or_404(
            AtlasVersion.objects.select_related(
                "atlas__event", "atlas__county", "atlas__province", "submitted_by", "reviewed_by"
            ),
            version_id,
        )


def atlas_draft_content_for(*, user: Any, atlas: Atlas) -> dict[str, Any]:
    """The live register in a version's form, to compare a submitted version with the draft."""
    with scoped_to(user):
        return atlas_snapshot(_get_or_404(Atlas.objects.select_related("event", "county"), atlas.pk))


def version_comments_for(*, version: AtlasVersion) -> dict[int, str]:
    """The review's comments on a version, by risk id (the version was already fetched in scope)."""
    return dict(ReviewComment.objects.filter(version=version).values_list("risk_id", "text"))


def review_queue_for(*, user: Any, event_id: Any = None) -> QuerySet[AtlasVersion]:
    """Versions awaiting the caller's review: submitted, within the caller's province."""
    with scoped_to(user):
        versions = (
            AtlasVersion.objects.filter(status=VersionStatus.SUBMITTED)
            .defer("content")
            .select_related("atlas__event", "county", "province", "submitted_by")
        )
        if event_id not in (None, ""):
            versions = versions.filter(atlas__event_id=event_id)
        return versions.order_by("submitted_at")


# --- classification --------------------------------------------------------------------------

SORTS = {
    "county": ("county__name",),
    "-county": ("-county__name",),
    "province": ("province__name", "county__name"),
    "-province": ("-province__name", "county__name"),
    "score": ("score", "county__name"),
    "-score": ("-score", "county__name"),
    # Levels sort by severity (undecided first), not by their codes' spelling.
    "level": ("level_rank", "county__name"),
    "-level": ("-level_rank", "county__name"),
    "recommended": ("recommended_rank", "county__name"),
    "-recommended": ("-recommended_rank", "county__name"),
}


def _severity(field_name: str) -> Case:
    return Case(
        *(When(**{field_name: level}, then=Value(rank + 1)) for level, rank in LEVEL_ORDER.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def classification_list_for(
    *, user: Any, event: ElectionEvent, sort: str = "-score", level: str = "", province_id: Any = None
) -> QuerySet[CountyClassification]:
    """Counties' scores, recommendations and decided levels within the caller's jurisdiction."""
    with scoped_to(user):
        rows = (
            CountyClassification.objects.filter(event=event)
            .select_related("county", "province")
            .annotate(level_rank=_severity("level"), recommended_rank=_severity("recommended_level"))
        )
        if level in SecurityLevel.values:
            rows = rows.filter(level=level)
        elif level == "undecided":
            rows = rows.filter(level="")
        if province_id not in (None, ""):
            rows = rows.filter(province_id=province_id)
        return rows.order_by(*SORTS.get(sort, SORTS["-score"]))


def classification_get_for(*, user: Any, event: ElectionEvent, county: County) -> CountyClassification | None:
    """A county's classification for the event, if it has been computed."""
    with scoped_to(user):
        return CountyClassification.objects.filter(event=event, county=county).first()


def level_history_for(*, user: Any, event: ElectionEvent, county: County) -> QuerySet[SecurityLevelDecision]:
    """Every decision on a county's level, newest first, with who decided and why."""
    with scoped_to(user):
        return SecurityLevelDecision.objects.filter(event=event, county=county).select_related("decided_by")


def level_counts_for(*, user: Any, event: ElectionEvent) -> dict[str, int]:
    """How many classified counties within the caller's jurisdiction are at each level ("" undecided)."""
    with scoped_to(user):
        rows = (
            CountyClassification.objects.filter(event=event)
            .values("level")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("level", "n")
        )
        return dict(rows)


@dataclass
class ProvinceTally:
    """A province's counties by decided level, for the national map."""

    province: Province
    counts: dict[str, int] = field(default_factory=dict)
    undecided: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.undecided

    @property
    def top_level(self) -> str:
        """The most severe level decided for any of its counties (colours the tile)."""
        decided = [level for level, n in self.counts.items() if n]
        return max(decided, key=lambda level: LEVEL_ORDER[SecurityLevel(level)]) if decided else ""


def level_tally_for(*, user: Any, event: ElectionEvent) -> list[ProvinceTally]:
    """Per province within the caller's jurisdiction: how many counties are at each level (one query)."""
    with scoped_to(user):
        provinces = {p.pk: ProvinceTally(province=p) for p in Province.objects.order_by("name")}
        rows = (
            CountyClassification.objects.filter(event=event)
            .values("province_id", "level")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counties_per_province = dict(
            County.objects.values("province_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("province_id", "n")
        )
    for row in rows:
        tally = provinces.get(row["province_id"])
        if tally is None:
            continue
        if row["level"]:
            tally.counts[row["level"]] = tally.counts.get(row["level"], 0) + row["n"]
    for province_id, tally in provinces.items():
        tally.undecided = counties_per_province.get(province_id, 0) - sum(tally.counts.values())
    return list(provinces.values())


def county_level_map_for(*, user: Any, event: ElectionEvent, province: Province) -> list[dict[str, Any]]:
    """A province's counties with their decided and recommended levels (the province map's tiles)."""
    with scoped_to(user):
        counties = list(
            County.objects.filter(province=province).order_by("name").values("pk", "name", "code")
        )
        rows = {
            row["county_id"]: row
            for row in CountyClassification.objects.filter(event=event, province=province).values(
                "county_id", "level", "recommended_level", "score"
            )
        }
    return [
        {
            **county,
            "level": rows.get(county["pk"], {}).get("level", ""),
            "recommended_level": rows.get(county["pk"], {}).get("recommended_level", ""),
            "score": rows.get(county["pk"], {}).get("score"),
        }
        for county in counties
    ]


# --- duties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DutyLine:
    template: DutyTemplate
    duty: CountyDuty | None

    @property
    def is_done(self) -> bool:
        return self.duty is not None and self.duty.is_done


def county_duties_for(*, user: Any, event: ElectionEvent, county: County, level: str) -> list[DutyLine]:
    """The checklist of the county's level, each duty with what the county recorded for it."""
    if not level:
        return []
    with scoped_to(user):
        recorded = {
            duty.template_id: duty
            for duty in CountyDuty.objects.filter(event=event, county=county).select_related("done_by")
        }
    return [
        DutyLine(template=template, duty=recorded.get(template.pk))
        for template in DutyTemplate.objects.filter(level=level, is_active=True)
    ]


def county_duty_get_for(*, user: Any, duty_id: Any) -> CountyDuty:
    """One county's record of a duty."""
    with scoped_to(user):
        return _get_or_404(CountyDuty.objects.select_related("template", "event", "county"), duty_id)


# --- the identity card -----------------------------------------------------------------------

TOP_RISKS_PER_PHASE = 5


@dataclass
class IdentityCard:
    """What a county's identity card (شناسنامه) shows, gathered in a fixed number of queries."""

    event: ElectionEvent
    county: County
    atlas: Atlas | None
    stations: int
    districts: int
    contests: list[Contest]
    past_elections: list[PastElection]
    matrix: RiskMatrix | None
    heat: dict[tuple[int, int], int]
    cells: dict[tuple[int, int], RiskMatrixCell]
    top_risks: dict[str, list[Risk]]
    mitigations: list[RiskMitigation]
    mitigation_progress: Counter[str]
    classification: CountyClassification | None
    level_history: list[SecurityLevelDecision]
    risk_count: int = 0

    @property
    def likelihoods(self) -> list[int]:
        return list(range(self.matrix.likelihood_levels, 0, -1)) if self.matrix else []

    @property
    def impacts(self) -> list[int]:
        return list(range(1, self.matrix.impact_levels + 1)) if self.matrix else []

    @property
    def heat_rows(self) -> list[list[dict[str, Any]]]:
        """The heat map, highest likelihood on top: each cell's band colour and risk count."""
        return [
            [
                {
                    "likelihood": likelihood,
                    "impact": impact,
                    "count": self.heat.get((likelihood, impact), 0),
                    "cell": self.cells.get((likelihood, impact)),
                }
                for impact in self.impacts
            ]
            for likelihood in self.likelihoods
        ]


def identity_card_for(*, user: Any, event: ElectionEvent, county: County) -> IdentityCard:
    """A county's identity card for an event: key facts, heat map, top risks, mitigations, level."""
    with scoped_to(user):
        county = _get_or_404(County.objects.select_related("province"), county.pk)
        atlas = Atlas.objects.filter(event=event, county=county).first()
        stations = PollingStation.objects.filter(county=county).count()
        districts = District.objects.filter(county=county).count()
        past = list(PastElection.objects.filter(county=county))
        risks: list[Risk] = []
        mitigations: list[RiskMitigation] = []
        if atlas is not None:
            risks = list(
                Risk.objects.filter(atlas=atlas, status__in=ACTIVE_RISK_STATUSES).select_related(
                    "category", "band", "residual_band", "owner", "matrix"
                )
            )
            mitigations = list(
                RiskMitigation.objects.filter(risk__atlas=atlas, risk__status__in=ACTIVE_RISK_STATUSES)
                .select_related("risk", "action_item__responsible")
                .order_by("action_item__due_on", "pk")
            )
        classification = CountyClassification.objects.filter(event=event, county=county).first()
        history = list(
            SecurityLevelDecision.objects.filter(event=event, county=county).select_related("decided_by")
        )
    contests = list(Contest.objects.filter(event=event, participations__county=county).distinct())
    matrix = risks[0].matrix if risks else risk_matrix_default()
    cells = (
        {
            (c.likelihood, c.impact): c
            for c in RiskMatrixCell.objects.filter(matrix=matrix).select_related("band")
        }
        if matrix
        else {}
    )
    heat: Counter[tuple[int, int]] = Counter(
        (r.likelihood, r.impact)
        for r in risks
        if r.likelihood is not None and r.impact is not None and r.matrix_id == getattr(matrix, "pk", None)
    )
    top: dict[str, list[Risk]] = {}
    for phase in RiskPhase.values:
        ranked = sorted((r for r in risks if r.phase == phase), key=lambda r: (-(r.score or 0), r.pk))
        top[phase] = ranked[:TOP_RISKS_PER_PHASE]
    return IdentityCard(
        event=event,
        county=county,
        atlas=atlas,
        stations=stations,
        districts=districts,
        contests=contests,
        past_elections=past,
        matrix=matrix,
        heat=dict(heat),
        cells=cells,
        top_risks=top,
        mitigations=mitigations,
        mitigation_progress=Counter(m.action_item.status for m in mitigations),
        classification=classification,
        level_history=history,
        risk_count=len(risks),
    )
