"""The atlas API: taxonomy, risks, submissions and reviews, classification, levels and duties.

Every read goes through the atlas's selectors, so an atlas, risk, version or duty outside the
caller's jurisdiction answers 404 (a query parameter naming one too); an id in a request body that
does not resolve within the caller's jurisdiction is refused with 400 naming the field. Every write
is one service call: a role that may not make it answers 403. Dates are ISO 8601 Gregorian
(`YYYY-MM-DD`), times ISO 8601 with their offset, whatever calendar the pages show.
"""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from amanat.accounts import selectors as accounts_selectors
from amanat.accounts.models import Organisation
from amanat.committees.api import MAX_ID, ErrorsOut
from amanat.elections import selectors as elections_selectors
from amanat.elections.models import ElectionEvent
from amanat.geography import selectors as geography_selectors
from amanat.geography.models import County
from amanat.risks import scoring, selectors, services, snapshots
from amanat.risks.models import (
    MAX_LEVELS,
    Atlas,
    AtlasStatus,
    AtlasVersion,
    CategoryGroup,
    CountyClassification,
    CountyDuty,
    Risk,
    RiskCategory,
    RiskKind,
    RiskMitigation,
    RiskPhase,
    RiskStatus,
    SecurityLevel,
    SecurityLevelDecision,
    VersionStatus,
)

router = Router(tags=["atlas"])

ISO_DATES = "Dates are ISO 8601 Gregorian (`YYYY-MM-DD`)."

# The largest values the database's columns hold: larger ones are refused as bad input (422).
SMALL_MAX = 32767  # PositiveSmallIntegerField
INT_MAX = 2**31 - 1  # PositiveIntegerField
SLUG = r"^[-a-zA-Z0-9_]+$"
COLOUR = r"^#[0-9a-fA-F]{6}$"


# --- output ----------------------------------------------------------------------------------


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_full_name() or user.username)


class CategoryOut(Schema):
    id: int
    code: str
    group: CategoryGroup
    name: str
    name_en: str
    description: str
    position: int
    is_active: bool


class BandOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    colour: str
    rank: int = Field(description="Severity, 1 the least severe")
    weight: int = Field(description="Points each open risk in the band adds to its county's score")


class CellOut(Schema):
    likelihood: int
    impact: int
    score: int
    band: str = Field(description="The band's code")

    @staticmethod
    def resolve_band(obj: Any) -> str:
        return str(obj.band.code)


class MatrixOut(Schema):
    id: int
    name: str
    likelihood_levels: int
    impact_levels: int
    is_default: bool
    bands: list[BandOut]
    cells: list[CellOut]


class PolicyOut(Schema):
    annulled_points: int
    incident_points: int
    incident_points_cap: int
    stations_per_point: int
    important_from: int
    sensitive_from: int
    updated_at: dt.datetime


class DutyTemplateOut(Schema):
    id: int
    level: SecurityLevel
    text: str
    text_en: str
    position: int
    is_active: bool


class AtlasOut(Schema):
    id: int
    event_id: int
    event: str
    province_id: int
    province: str
    county_id: int
    county: str
    status: AtlasStatus
    editable: bool = Field(description="Draft or returned: the county may change its register")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_event(obj: Atlas) -> str:
        return obj.event.name

    @staticmethod
    def resolve_province(obj: Atlas) -> str:
        return obj.province.name

    @staticmethod
    def resolve_county(obj: Atlas) -> str:
        return obj.county.name

    @staticmethod
    def resolve_editable(obj: Atlas) -> bool:
        return obj.is_editable


class AtlasListOut(AtlasOut):
    active_risks: int = Field(description="Risks open or treated (not closed or withdrawn)")


class BandBriefOut(Schema):
    code: str
    name: str
    name_en: str
    colour: str


class RiskOut(Schema):
    id: int
    atlas_id: int
    province_id: int
    county_id: int
    kind: RiskKind
    phase: RiskPhase
    category_id: int
    category: str
    title: str
    description: str
    location: str
    matrix_id: int
    likelihood: int | None
    impact: int | None
    score: int | None
    band: BandBriefOut | None
    treatment: str = Field(description="mitigate, accept, avoid, transfer, or empty while undecided")
    assessed: bool = Field(description="Likelihood, impact and treatment all given")
    awaits_acceptance: bool = Field(description="Treatment is to accept, and no approver has approved it")
    acceptance_approved_by_id: int | None
    acceptance_approved_at: dt.datetime | None
    owner_id: int | None = Field(description="The owner organisation")
    owner: str | None
    status: RiskStatus
    residual_likelihood: int | None
    residual_impact: int | None
    residual_score: int | None
    residual_band: BandBriefOut | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_category(obj: Risk) -> str:
        return obj.category.name

    @staticmethod
    def resolve_assessed(obj: Risk) -> bool:
        return obj.is_assessed

    @staticmethod
    def resolve_owner(obj: Risk) -> str | None:
        return None if obj.owner is None else obj.owner.name


class RiskListOut(RiskOut):
    mitigation_count: int
    mitigations_done: int


class MitigationOut(Schema):
    id: int
    risk_id: int
    action_item_id: int = Field(description="The county committee's action item that follows it up")
    committee_id: int
    title: str
    responsible_id: int = Field(description="The responsible organisation")
    responsible: str
    raised_on: dt.date
    due_on: dt.date
    status: str = Field(description="The action item's status")
    completed_on: dt.date | None

    @staticmethod
    def resolve_committee_id(obj: RiskMitigation) -> int:
        return obj.action_item.committee_id

    @staticmethod
    def resolve_title(obj: RiskMitigation) -> str:
        return obj.action_item.title

    @staticmethod
    def resolve_responsible_id(obj: RiskMitigation) -> int:
        return obj.action_item.responsible_id

    @staticmethod
    def resolve_responsible(obj: RiskMitigation) -> str:
        return obj.action_item.responsible.name

    @staticmethod
    def resolve_raised_on(obj: RiskMitigation) -> dt.date:
        return obj.action_item.raised_on

    @staticmethod
    def resolve_due_on(obj: RiskMitigation) -> dt.date:
        return obj.action_item.due_on

    @staticmethod
    def resolve_status(obj: RiskMitigation) -> str:
        return str(obj.action_item.status)

    @staticmethod
    def resolve_completed_on(obj: RiskMitigation) -> dt.date | None:
        return obj.action_item.completed_on


class RiskCommentOut(Schema):
    version_id: int
    version: int = Field(description="The number of the version reviewed")
    text: str
    author: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_version(obj: Any) -> int:
        return int(obj.version.number)

    @staticmethod
    def resolve_author(obj: Any) -> str | None:
        return _username(obj.author)


class RiskDetailOut(RiskOut):
    mitigations: list[MitigationOut]
    review_comments: list[RiskCommentOut] = Field(description="The province's comments, newest version first")

    @staticmethod
    def resolve_mitigations(obj: Risk, context: dict[str, Any]) -> Any:
        return selectors.risk_mitigations_for(user=context["request"].user, risk=obj)

    @staticmethod
    def resolve_review_comments(obj: Risk, context: dict[str, Any]) -> Any:
        return selectors.risk_review_comments_for(user=context["request"].user, risk=obj)


class VersionOut(Schema):
    id: int
    atlas_id: int
    number: int
    status: VersionStatus
    province_id: int
    county_id: int
    submitted_by: str | None
    submitted_at: dt.datetime
    note: str = Field(description="The county's note to the reviewer")
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str

    @staticmethod
    def resolve_submitted_by(obj: AtlasVersion) -> str | None:
        return _username(obj.submitted_by)

    @staticmethod
    def resolve_reviewed_by(obj: AtlasVersion) -> str | None:
        return _username(obj.reviewed_by)


class VersionCommentOut(Schema):
    risk_id: int
    text: str


class VersionDetailOut(VersionOut):
    content: dict[str, Any] = Field(
        description="The frozen snapshot: the risks as submitted, with their assessment and mitigations"
    )
    comments: list[VersionCommentOut] = Field(description="The review's comments, one per risk at most")

    @staticmethod
    def resolve_comments(obj: AtlasVersion) -> list[dict[str, Any]]:
        comments = selectors.version_comments_for(version=obj)
        return [{"risk_id": risk_id, "text": text} for risk_id, text in sorted(comments.items())]


class VersionRefOut(Schema):
    id: int
    number: int
    status: VersionStatus


class RiskChangeOut(Schema):
    risk_id: int
    change: Literal["added", "removed", "changed", "same"]
    title: str
    fields: list[str] = Field(description="The compared fields that differ")
    old: dict[str, Any] | None
    new: dict[str, Any] | None


class CompareOut(Schema):
    atlas_id: int
    a: VersionRefOut
    b: VersionRefOut | None = Field(description="null when compared with the current draft")
    changes: list[RiskChangeOut] = Field(description="Changed first, then added, removed and unchanged")


class FactorOut(Schema):
    code: str
    points: int
    params: dict[str, Any]
    text: str = Field(description="The factor in words, in the request's language")


def _factors(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**factor, "text": scoring.factor_text(factor)} for factor in stored]


class ClassificationOut(Schema):
    id: int
    event_id: int
    province_id: int
    province: str
    county_id: int
    county: str
    score: int
    recommended_level: SecurityLevel
    level: str = Field(description="The decided level: normal, important, sensitive, or empty if undecided")
    decided_at: dt.datetime | None
    computed_at: dt.datetime
    factors: list[FactorOut] = Field(description="What drives the score, the largest first")

    @staticmethod
    def resolve_province(obj: CountyClassification) -> str:
        return obj.province.name

    @staticmethod
    def resolve_county(obj: CountyClassification) -> str:
        return obj.county.name

    @staticmethod
    def resolve_factors(obj: CountyClassification) -> list[dict[str, Any]]:
        return _factors(obj.factors)


class ClassifyOut(Schema):
    event_id: int
    counties: int = Field(description="How many counties were scored")


class LevelDecisionOut(Schema):
    id: int
    event_id: int
    province_id: int
    county_id: int
    level: SecurityLevel
    recommended_level: SecurityLevel
    score: int
    override: bool = Field(description="The level differs from the recommendation")
    reason: str
    decided_by: str | None
    decided_at: dt.datetime

    @staticmethod
    def resolve_override(obj: SecurityLevelDecision) -> bool:
        return obj.is_override

    @staticmethod
    def resolve_decided_by(obj: SecurityLevelDecision) -> str | None:
        return _username(obj.decided_by)


class CountyDutyOut(Schema):
    id: int
    event_id: int
    province_id: int
    county_id: int
    template_id: int
    text: str
    is_done: bool
    evidence: str
    done_on: dt.date | None
    done_by: str | None

    @staticmethod
    def resolve_text(obj: CountyDuty) -> str:
        return obj.template.text

    @staticmethod
    def resolve_done_by(obj: CountyDuty) -> str | None:
        return _username(obj.done_by)


class DutyLineOut(Schema):
    template_id: int
    text: str
    text_en: str
    duty_id: int | None = Field(description="The county's record of the duty, once it has one")
    is_done: bool
    evidence: str
    done_on: dt.date | None
    done_by: str | None


class ChecklistOut(Schema):
    event_id: int
    county_id: int
    level: str = Field(description="The county's decided level; empty (and no duties) while undecided")
    duties: list[DutyLineOut]


class PastElectionOut(Schema):
    id: int
    province_id: int
    county_id: int
    held_on: dt.date
    title: str
    was_annulled: bool
    serious_incidents: int
    notes: str


class CountyBriefOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    province_id: int
    province: str

    @staticmethod
    def resolve_province(obj: County) -> str:
        return obj.province.name


class AtlasBriefOut(Schema):
    id: int
    status: AtlasStatus


class ContestBriefOut(Schema):
    id: int
    kind: str
    title: str

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return str(obj)


class MatrixBriefOut(Schema):
    id: int
    name: str
    likelihood_levels: int
    impact_levels: int


class HeatCellOut(Schema):
    likelihood: int
    impact: int
    count: int = Field(description="Active risks assessed in this cell")
    score: int | None
    band: str | None = Field(description="The band's code")
    colour: str | None


class RiskBriefOut(Schema):
    id: int
    title: str
    kind: RiskKind
    phase: RiskPhase
    category: str
    likelihood: int | None
    impact: int | None
    score: int | None
    band: BandBriefOut | None
    treatment: str
    status: RiskStatus

    @staticmethod
    def resolve_category(obj: Risk) -> str:
        return obj.category.name


class TopRisksOut(Schema):
    before: list[RiskBriefOut]
    during: list[RiskBriefOut]
    after: list[RiskBriefOut]


class CardLevelOut(Schema):
    score: int
    recommended_level: SecurityLevel
    level: str = Field(description="The decided level, or empty while undecided")
    decided_at: dt.datetime | None
    computed_at: dt.datetime
    factors: list[FactorOut]

    @staticmethod
    def resolve_factors(obj: CountyClassification) -> list[dict[str, Any]]:
        return _factors(obj.factors)


class CardOut(Schema):
    event_id: int
    event: str
    county: CountyBriefOut
    atlas: AtlasBriefOut | None = Field(description="null until the county opens its atlas")
    stations: int = Field(description="Polling stations in the county")
    districts: int
    contests: list[ContestBriefOut] = Field(description="The event's contests held in the county")
    past_elections: list[PastElectionOut]
    risk_count: int = Field(description="Active risks in the atlas")
    matrix: MatrixBriefOut | None
    heat_map: list[list[HeatCellOut]] = Field(description="Rows from the highest likelihood down")
    top_risks: TopRisksOut = Field(description="The highest-scored active risks of each phase")
    mitigations: list[MitigationOut]
    mitigation_progress: dict[str, int] = Field(description="Mitigations by their action item's status")
    classification: CardLevelOut | None
    level_history: list[LevelDecisionOut] = Field(description="Every decision on the level, newest first")

    @staticmethod
    def resolve_event_id(obj: selectors.IdentityCard) -> int:
        return obj.event.pk

    @staticmethod
    def resolve_event(obj: selectors.IdentityCard) -> str:
        return obj.event.name

    @staticmethod
    def resolve_heat_map(obj: selectors.IdentityCard) -> list[list[dict[str, Any]]]:
        return [
            [
                {
                    "likelihood": cell["likelihood"],
                    "impact": cell["impact"],
                    "count": cell["count"],
                    "score": cell["cell"].score if cell["cell"] else None,
                    "band": cell["cell"].band.code if cell["cell"] else None,
                    "colour": cell["cell"].band.colour if cell["cell"] else None,
                }
                for cell in row
            ]
            for row in obj.heat_rows
        ]

    @staticmethod
    def resolve_mitigation_progress(obj: selectors.IdentityCard) -> dict[str, int]:
        return {str(status): n for status, n in obj.mitigation_progress.items()}


# --- input -----------------------------------------------------------------------------------


def _id(description: str = "") -> Any:
    return Field(ge=1, le=MAX_ID, description=description)


def _optional_id(description: str = "") -> Any:
    return Field(None, ge=1, le=MAX_ID, description=description)


class CategoryFilter(Schema):
    active_only: bool = Field(False, description="Only the categories in use")


class CategoryIn(Schema):
    code: str = Field(max_length=50, pattern=SLUG, description="Letters, digits and hyphens; unique")
    group: CategoryGroup
    name: str = Field(max_length=150)
    name_en: str = Field("", max_length=150)
    description: str = ""


class CategoryUpdateIn(Schema):
    name: str = Field(max_length=150)
    name_en: str = Field("", max_length=150)
    description: str = ""
    is_active: bool = Field(True, description="false retires the category; risks already filed keep it")


class CategoryPatchIn(Schema):
    name: str | None = Field(None, max_length=150)
    name_en: str | None = Field(None, max_length=150)
    description: str | None = None
    is_active: bool | None = None


class BandIn(Schema):
    code: str = Field(max_length=30, pattern=SLUG)
    name: str = Field(max_length=60)
    name_en: str = Field("", max_length=60)
    colour: str = Field(pattern=COLOUR, description="#rrggbb")
    weight: int = Field(0, ge=0, le=SMALL_MAX, description="Classification points per open risk in the band")


class CellIn(Schema):
    likelihood: int = Field(ge=1, le=MAX_LEVELS)
    impact: int = Field(ge=1, le=MAX_LEVELS)
    score: int = Field(ge=0, le=SMALL_MAX)
    band: str = Field(description="The code of one of the matrix's bands")


class MatrixIn(Schema):
    name: str = Field(max_length=100)
    likelihood_levels: int = Field(description=f"2 to {MAX_LEVELS}")
    impact_levels: int = Field(description=f"2 to {MAX_LEVELS}")
    bands: list[BandIn] = Field(description="The least severe first")
    cells: list[CellIn] = Field(description="Every cell of the grid, once")
    make_default: bool = Field(False, description="New risks are then assessed on this matrix")


class PolicyIn(Schema):
    annulled_points: int = Field(le=SMALL_MAX, description="Points for each annulled previous election")
    incident_points: int = Field(le=SMALL_MAX, description="Points per serious incident in past elections")
    incident_points_cap: int = Field(le=SMALL_MAX, description="The most points past incidents may add")
    stations_per_point: int = Field(le=INT_MAX, description="Polling stations per point; 0 leaves them out")
    important_from: int = Field(le=INT_MAX, description="The score from which a county is important")
    sensitive_from: int = Field(le=INT_MAX, description="The score from which a county is sensitive")


class PolicyPatchIn(Schema):
    annulled_points: int | None = Field(None, le=SMALL_MAX)
    incident_points: int | None = Field(None, le=SMALL_MAX)
    incident_points_cap: int | None = Field(None, le=SMALL_MAX)
    stations_per_point: int | None = Field(None, le=INT_MAX)
    important_from: int | None = Field(None, le=INT_MAX)
    sensitive_from: int | None = Field(None, le=INT_MAX)


class DutyTemplateFilter(Schema):
    level: SecurityLevel | None = None
    active_only: bool = False


class DutyTemplateIn(Schema):
    level: SecurityLevel
    text: str = Field(max_length=300)
    text_en: str = Field("", max_length=300)


class DutyTemplateUpdateIn(Schema):
    text: str = Field(max_length=300)
    text_en: str = Field("", max_length=300)
    is_active: bool = Field(True, description="false retires the duty; what counties recorded stays")


class AtlasFilter(Schema):
    event_id: int | None = _optional_id()
    status: AtlasStatus | None = None
    province_id: int | None = _optional_id()


class AtlasOpenIn(Schema):
    event_id: int = _id()
    county_id: int = _id("A county within your jurisdiction")


class RiskFilter(Schema):
    phase: RiskPhase | None = None
    kind: RiskKind | None = None
    include_withdrawn: bool = Field(False, description="Also the withdrawn and closed risks")


TreatmentIn = Literal["mitigate", "accept", "avoid", "transfer", ""]


class RiskIn(Schema):
    kind: RiskKind
    phase: RiskPhase
    category_id: int = _id("A category of the taxonomy, in use")
    title: str = Field(max_length=200)
    description: str = ""
    location: str = Field(
        "", max_length=200, description="Where it applies: stations, districts, facilities or systems"
    )
    likelihood: int | None = Field(None, description="1 to the matrix's likelihood levels; with impact")
    impact: int | None = Field(None, description="1 to the matrix's impact levels; with likelihood")
    treatment: TreatmentIn = Field(
        "", description="mitigate, accept, avoid or transfer; empty while undecided"
    )
    owner_id: int | None = _optional_id("The owner organisation: one serving the county")


class RiskUpdateIn(RiskIn):
    status: RiskStatus = RiskStatus.OPEN
    residual_likelihood: int | None = Field(None, description="After treatment; with residual_impact")
    residual_impact: int | None = None


class AssessIn(Schema):
    likelihood: int = Field(description="1 to the matrix's likelihood levels")
    impact: int = Field(description="1 to the matrix's impact levels")
    residual_likelihood: int | None = Field(None, description="After treatment; with residual_impact")
    residual_impact: int | None = None


class ReasonIn(Schema):
    reason: str


class MitigationIn(Schema):
    title: str = Field(max_length=300)
    responsible_id: int = _id("The responsible organisation: one serving the county")
    due_on: dt.date = Field(description="Today or later (YYYY-MM-DD)")


class SubmitIn(Schema):
    note: str = Field("", description="A note to the province's reviewer")


class ReviewCommentIn(Schema):
    risk_id: int = _id("A risk of the version reviewed")
    text: str


class ReviewIn(Schema):
    approve: bool = Field(
        description="true approves (the atlas goes to the national level); false returns it"
    )
    note: str = ""
    comments: list[ReviewCommentIn] = Field(
        default_factory=list, description="What to change, per risk; a return needs a comment or a note"
    )


class CompareFilter(Schema):
    a: int = _id("A version of this atlas")
    b: str = Field(
        "draft", pattern=r"^(draft|[1-9][0-9]{0,18})$", description='Another version\'s id, or "draft"'
    )


SortKey = Literal[
    "county",
    "-county",
    "province",
    "-province",
    "score",
    "-score",
    "level",
    "-level",
    "recommended",
    "-recommended",
]


class ClassificationFilter(Schema):
    event_id: int | None = _optional_id("The current election event if left out")
    sort: SortKey = "-score"
    level: Literal["normal", "important", "sensitive", "undecided", ""] = Field(
        "", description="The decided level, or undecided"
    )
    province_id: int | None = _optional_id()


class EventIn(Schema):
    event_id: int = _id()


class LevelDecideIn(Schema):
    event_id: int = _id()
    county_id: int = _id("A county within your jurisdiction")
    level: SecurityLevel
    reason: str = Field("", description="Required when the level differs from the recommendation")


class CountyEventFilter(Schema):
    event_id: int | None = _optional_id("The current election event if left out")
    county_id: int = _id()


class CardFilter(Schema):
    event_id: int | None = _optional_id("The current election event if left out")


class DutyCompleteIn(Schema):
    event_id: int = _id()
    county_id: int = _id("A county within your jurisdiction")
    template_id: int = _id("A duty of the county's current level")
    evidence: str = Field(description="What shows the duty is done")


class PastElectionFilter(Schema):
    county_id: int = _id()


class PastElectionIn(Schema):
    county_id: int = _id("A county within your jurisdiction")
    held_on: dt.date = Field(description="Not in the future (YYYY-MM-DD)")
    title: str = Field(max_length=200)
    was_annulled: bool = False
    serious_incidents: int = Field(0, le=INT_MAX)
    notes: str = ""


# --- resolving ids ---------------------------------------------------------------------------


def _referenced(field: str, message: str, get: Any, *args: Any, **kwargs: Any) -> Any:
    """A selector's object named in the request body; out of reach, a 400 on the body's field."""
    try:
        return get(*args, **kwargs)
    except Http404 as exc:
        raise ValidationError({field: message}) from exc


def _event_in_body(request: HttpRequest, event_id: int) -> ElectionEvent:
    return _referenced(
        "event_id",
        _("Unknown election event."),
        elections_selectors.election_event_get_for,
        user=request.user,
        event_id=event_id,
    )


def _county_in_body(request: HttpRequest, county_id: int) -> County:
    return _referenced(
        "county_id",
        _("Unknown county, or one outside your jurisdiction."),
        geography_selectors.county_get_for,
        user=request.user,
        county_id=county_id,
    )


def _category_in_body(request: HttpRequest, category_id: int) -> RiskCategory:
    return _referenced(
        "category_id",
        _("Unknown risk category."),
        selectors.risk_category_get_for,
        user=request.user,
        category_id=category_id,
    )


def _organisation_in_body(
    request: HttpRequest, organisation_id: int | None, field: str
) -> Organisation | None:
    """An organisation the caller may name: one serving its jurisdiction; others are unknown."""
    if organisation_id is None:
        return None
    organisation = (
        accounts_selectors.organisation_list_for(user=request.user).filter(pk=organisation_id).first()
    )
    if organisation is None:
        raise ValidationError({field: _("Unknown organisation, or one outside your jurisdiction.")})
    return organisation


def _event_in_query(request: HttpRequest, event_id: int | None) -> ElectionEvent:
    """The event a query names (404 if unknown), or the current one when it names none."""
    if event_id is not None:
        return elections_selectors.election_event_get_for(user=request.user, event_id=event_id)
    event = elections_selectors.election_event_current()
    if event is None:
        raise Http404
    return event


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's error with its field names as the API's payload calls them."""
    if not hasattr(exc, "error_dict"):
        return ValidationError(exc.error_list)
    return ValidationError({names.get(field, field): errors for field, errors in exc.error_dict.items()})


# --- reference data --------------------------------------------------------------------------


@router.get(
    "/categories",
    response=list[CategoryOut],
    summary="The taxonomy of electoral risk factors",
)
def category_list(request: HttpRequest, filters: Query[CategoryFilter]) -> Any:
    """External factors, then internal ones (the electoral process's own), each group in its order."""
    return selectors.risk_category_list_for(user=request.user, active_only=filters.active_only)


@router.post(
    "/categories",
    response={201: CategoryOut, 400: ErrorsOut},
    summary="Add a category to the taxonomy (national administrator)",
)
def category_create(request: HttpRequest, payload: CategoryIn) -> Any:
    """Categories name situations, places, procedures and systems; never people or groups."""
    category = services.risk_category_create(actor=request.user, **payload.dict())
    return 201, category


def _category_update(request: HttpRequest, category_id: int, values: dict[str, Any]) -> Any:
    category = selectors.risk_category_get_for(user=request.user, category_id=category_id)
    current = {
        "name": category.name,
        "name_en": category.name_en,
        "description": category.description,
        "is_active": category.is_active,
    }
    return services.risk_category_update(actor=request.user, category=category, **{**current, **values})


@router.put(
    "/categories/{category_id}",
    response={200: CategoryOut, 400: ErrorsOut},
    summary="Rename, describe, retire or restore a category (national administrator)",
)
def category_update(request: HttpRequest, category_id: int, payload: CategoryUpdateIn) -> Any:
    """The code and group stay; fields left out take their defaults (an empty English name, in use)."""
    return 200, _category_update(request, category_id, payload.dict())


@router.patch(
    "/categories/{category_id}",
    response={200: CategoryOut, 400: ErrorsOut},
    summary="Change some of a category's fields (national administrator)",
)
def category_patch(request: HttpRequest, category_id: int, payload: CategoryPatchIn) -> Any:
    """Only the fields given change; null leaves a field as it is."""
    values = {name: value for name, value in payload.dict(exclude_unset=True).items() if value is not None}
    return 200, _category_update(request, category_id, values)


@router.get(
    "/matrices",
    response=list[MatrixOut],
    summary="The likelihood x impact matrices, the default first, with their bands and cells",
)
def matrix_list(request: HttpRequest) -> Any:
    """A risk keeps the matrix it was assessed on; new risks use the default."""
    return selectors.risk_matrix_list_for(user=request.user)


@router.post(
    "/matrices",
    response={201: MatrixOut, 400: ErrorsOut},
    summary="Configure a matrix: its bands and every cell's score and band (national administrator)",
)
def matrix_create(request: HttpRequest, payload: MatrixIn) -> Any:
    """Each cell names a band by its code. A grid with a cell missing, repeated or outside the matrix's
    sides is refused on `cells`."""
    grid: dict[tuple[int, int], tuple[int, str]] = {}
    for cell in payload.cells:
        if (cell.likelihood, cell.impact) in grid:
            raise ValidationError(
                {"cells": _("The cell %(likelihood)d x %(impact)d is given twice.") % cell.dict()}
            )
        grid[(cell.likelihood, cell.impact)] = (cell.score, cell.band)
    bands = [services.BandSpec(**band.dict()) for band in payload.bands]
    try:
        matrix = services.risk_matrix_create(
            actor=request.user,
            name=payload.name,
            likelihood_levels=payload.likelihood_levels,
            impact_levels=payload.impact_levels,
            bands=bands,
            grid=grid,
            make_default=payload.make_default,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"grid": "cells"}) from exc
    return 201, selectors.risk_matrix_list_for(user=request.user).get(pk=matrix.pk)


@router.get(
    "/policy",
    response=PolicyOut,
    summary="The classification's weights and thresholds",
)
def policy_detail(request: HttpRequest) -> Any:
    """A county's score is the sum of its active risks' band weights (the residual band once assessed)
    and the points of its record; the thresholds turn the score into the recommended level."""
    policy = selectors.classification_policy_for(user=request.user)
    if policy is None:
        raise Http404
    return policy


@router.put(
    "/policy",
    response={200: PolicyOut, 400: ErrorsOut},
    summary="Set every weight and threshold (national administrator)",
)
def policy_update(request: HttpRequest, payload: PolicyIn) -> Any:
    """The next classification uses them. `sensitive_from` must be above `important_from`."""
    return 200, services.classification_policy_update(actor=request.user, **payload.dict())


@router.patch(
    "/policy",
    response={200: PolicyOut, 400: ErrorsOut},
    summary="Change some weights or thresholds (national administrator)",
)
def policy_patch(request: HttpRequest, payload: PolicyPatchIn) -> Any:
    """Only the settings given change."""
    values = {name: value for name, value in payload.dict(exclude_unset=True).items() if value is not None}
    return 200, services.classification_policy_update(actor=request.user, **values)


@router.get(
    "/duty-templates",
    response=list[DutyTemplateOut],
    summary="The duty checklists of the security levels",
)
def duty_template_list(request: HttpRequest, filters: Query[DutyTemplateFilter]) -> Any:
    """Each level carries its duties, which the counties at that level tick off with evidence."""
    return selectors.duty_template_list_for(
        user=request.user, level=filters.level or "", active_only=filters.active_only
    )


@router.post(
    "/duty-templates",
    response={201: DutyTemplateOut, 400: ErrorsOut},
    summary="Add a duty to a level's checklist (national administrator)",
)
def duty_template_create(request: HttpRequest, payload: DutyTemplateIn) -> Any:
    """A level cannot hold the same duty twice."""
    return 201, services.duty_template_create(actor=request.user, **payload.dict())


@router.put(
    "/duty-templates/{template_id}",
    response={200: DutyTemplateOut, 400: ErrorsOut},
    summary="Reword, retire or restore a duty (national administrator)",
)
def duty_template_update(request: HttpRequest, template_id: int, payload: DutyTemplateUpdateIn) -> Any:
    """Its level stays; what counties ticked off stays recorded."""
    duty = selectors.duty_template_get_for(user=request.user, duty_id=template_id)
    return 200, services.duty_template_update(actor=request.user, duty=duty, **payload.dict())


# --- atlases ---------------------------------------------------------------------------------


@router.get(
    "/atlases",
    response=list[AtlasListOut],
    summary="The counties' atlases within your jurisdiction",
)
@paginate(LimitOffsetPagination)
def atlas_list(request: HttpRequest, filters: Query[AtlasFilter]) -> Any:
    """By province, then county. Times are ISO 8601."""
    return selectors.atlas_list_for(
        user=request.user,
        event_id=filters.event_id,
        status=filters.status or "",
        province_id=filters.province_id,
    )


@router.get(
    "/atlases/{atlas_id}",
    response=AtlasOut,
    summary="An atlas and where it stands in its workflow",
)
def atlas_detail(request: HttpRequest, atlas_id: int) -> Any:
    """Draft, submitted to the province, returned for changes, or approved and sent to the national level."""
    return selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)


@router.post(
    "/atlases",
    response={200: AtlasOut, 201: AtlasOut, 400: ErrorsOut},
    summary="Open a county's atlas for an event (201 when started now, 200 when it already existed)",
)
def atlas_open(request: HttpRequest, payload: AtlasOpenIn) -> Any:
    """One atlas per county and event; a role that may not edit the county's register is refused (403)."""
    event = _event_in_body(request, payload.event_id)
    county = _county_in_body(request, payload.county_id)
    existed = selectors.atlas_find_for(user=request.user, event=event, county=county) is not None
    atlas = services.atlas_open(actor=request.user, event=event, county=county)
    return (200 if existed else 201), selectors.atlas_get_for(user=request.user, atlas_id=atlas.pk)


# --- risks -----------------------------------------------------------------------------------


@router.get(
    "/atlases/{atlas_id}/risks",
    response=list[RiskListOut],
    summary="An atlas's risks, the highest score first",
)
@paginate(LimitOffsetPagination)
def risk_list(request: HttpRequest, atlas_id: int, filters: Query[RiskFilter]) -> Any:
    """Active risks (open or treated) unless `include_withdrawn`. Unassessed risks come last."""
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    risks = selectors.risk_list_for(
        user=request.user,
        atlas=atlas,
        include_withdrawn=filters.include_withdrawn,
        phase=filters.phase or "",
        kind=filters.kind or "",
    )
    return risks


@router.post(
    "/atlases/{atlas_id}/risks",
    response={201: RiskDetailOut, 400: ErrorsOut},
    summary="Record a threat, vulnerability or challenge in a county's atlas",
)
def risk_create(request: HttpRequest, atlas_id: int, payload: RiskIn) -> Any:
    """Assessed now (likelihood and impact on the default matrix, both or neither) or later. A risk
    describes a situation, a place or a system, never a person. The atlas must not be with the
    province for review."""
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    category = _category_in_body(request, payload.category_id)
    owner = _organisation_in_body(request, payload.owner_id, "owner_id")
    values = payload.dict(exclude={"category_id", "owner_id"})
    try:
        risk = services.risk_create(actor=request.user, atlas=atlas, category=category, owner=owner, **values)
    except ValidationError as exc:
        raise _renamed(exc, {"category": "category_id", "owner": "owner_id"}) from exc
    return 201, selectors.risk_get_for(user=request.user, risk_id=risk.pk)


@router.get(
    "/risks/{risk_id}",
    response=RiskDetailOut,
    summary="A risk with its mitigations and the province's comments",
)
def risk_detail(request: HttpRequest, risk_id: int) -> Any:
    """Mitigations are the county committee's action items, followed up with its others."""
    return selectors.risk_get_for(user=request.user, risk_id=risk_id)


@router.put(
    "/risks/{risk_id}",
    response={200: RiskDetailOut, 400: ErrorsOut},
    summary="Change a risk: description, assessment, treatment, owner, status and residual",
)
def risk_update(request: HttpRequest, risk_id: int, payload: RiskUpdateIn) -> Any:
    """The whole risk is replaced: a field left out takes its default (an assessment left out is
    cleared). A new assessment or treatment needs a new approval of an acceptance."""
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    category = _category_in_body(request, payload.category_id)
    owner = _organisation_in_body(request, payload.owner_id, "owner_id")
    values = payload.dict(exclude={"category_id", "owner_id"})
    try:
        services.risk_update(actor=request.user, risk=risk, category=category, owner=owner, **values)
    except ValidationError as exc:
        raise _renamed(exc, {"category": "category_id", "owner": "owner_id"}) from exc
    return 200, selectors.risk_get_for(user=request.user, risk_id=risk.pk)


@router.post(
    "/risks/{risk_id}/assess",
    response={200: RiskDetailOut, 400: ErrorsOut},
    summary="Assess a risk on its matrix: likelihood x impact, and the residual after treatment",
)
def risk_assess(request: HttpRequest, risk_id: int, payload: AssessIn) -> Any:
    """A value outside the matrix's sides is refused naming the field. The residual, when left out,
    is cleared."""
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    services.risk_assess(actor=request.user, risk=risk, **payload.dict())
    return 200, selectors.risk_get_for(user=request.user, risk_id=risk.pk)


@router.post(
    "/risks/{risk_id}/approve-acceptance",
    response={200: RiskDetailOut, 400: ErrorsOut},
    summary="Approve accepting a risk (treatment `accept`) without treating it",
)
def risk_acceptance_approve(request: HttpRequest, risk_id: int) -> Any:
    """Needs the approve capability in the county or above; the risk must be assessed."""
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    services.risk_acceptance_approve(actor=request.user, risk=risk)
    return 200, selectors.risk_get_for(user=request.user, risk_id=risk.pk)


@router.post(
    "/risks/{risk_id}/withdraw",
    response={200: RiskDetailOut, 400: ErrorsOut},
    summary="Take a risk out of the register, with the reason (earlier versions keep it)",
)
def risk_withdraw(request: HttpRequest, risk_id: int, payload: ReasonIn) -> Any:
    """The reason is recorded in the audit log."""
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    services.risk_withdraw(actor=request.user, risk=risk, reason=payload.reason)
    return 200, selectors.risk_get_for(user=request.user, risk_id=risk.pk)


@router.post(
    "/risks/{risk_id}/mitigations",
    response={201: MitigationOut, 400: ErrorsOut},
    summary="Add a mitigation: an action item of the county's committee",
)
def mitigation_add(request: HttpRequest, risk_id: int, payload: MitigationIn) -> Any:
    """The county must have its committee for the event; the responsible organisation must serve the
    county. `due_on` cannot be in the past. Dates are ISO 8601 Gregorian (`YYYY-MM-DD`)."""
    risk = selectors.risk_get_for(user=request.user, risk_id=risk_id)
    responsible = _organisation_in_body(request, payload.responsible_id, "responsible_id")
    assert responsible is not None
    try:
        mitigation = services.mitigation_add(
            actor=request.user, risk=risk, title=payload.title, responsible=responsible, due_on=payload.due_on
        )
    except ValidationError as exc:
        raise _renamed(exc, {"responsible": "responsible_id"}) from exc
    return 201, mitigation


# --- submission and review -------------------------------------------------------------------


@router.post(
    "/atlases/{atlas_id}/submit",
    response={201: VersionDetailOut, 400: ErrorsOut},
    summary="Submit the atlas to the province: its register is frozen as the next version",
)
def atlas_submit(request: HttpRequest, atlas_id: int, payload: SubmitIn) -> Any:
    """Every active risk must be assessed and treated, and any acceptance approved. The version's
    content never changes afterwards; the next draft starts from it."""
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    version = services.atlas_submit(actor=request.user, atlas=atlas, note=payload.note)
    return 201, selectors.atlas_version_get_for(user=request.user, version_id=version.pk)


@router.get(
    "/atlases/{atlas_id}/versions",
    response=list[VersionOut],
    summary="An atlas's submitted versions, the newest first (without their content)",
)
@paginate(LimitOffsetPagination)
def version_list(request: HttpRequest, atlas_id: int) -> Any:
    """Each with its review, once reviewed."""
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)
    return selectors.atlas_version_list_for(user=request.user, atlas=atlas)


@router.get(
    "/versions/{version_id}",
    response=VersionDetailOut,
    summary="A submitted version: its frozen content and its review",
)
def version_detail(request: HttpRequest, version_id: int) -> Any:
    """Read-only: a submitted snapshot cannot be edited, so this path has no write method."""
    return selectors.atlas_version_get_for(user=request.user, version_id=version_id)


@router.post(
    "/versions/{version_id}/review",
    response={200: VersionDetailOut, 400: ErrorsOut},
    summary="The province approves a submitted version, or returns it with comments per risk",
)
def version_review(request: HttpRequest, version_id: int, payload: ReviewIn) -> Any:
    """Only the county's own province (a chair or administrator there) reviews. A return needs a
    comment on a risk of the version, or a note."""
    version = selectors.atlas_version_get_for(user=request.user, version_id=version_id)
    comments: dict[int, str] = {}
    for comment in payload.comments:
        if comment.risk_id in comments:
            raise ValidationError({"comments": _("Give one comment per risk.")})
        comments[comment.risk_id] = comment.text
    services.atlas_review(
        actor=request.user, version=version, approve=payload.approve, note=payload.note, comments=comments
    )
    return 200, selectors.atlas_version_get_for(user=request.user, version_id=version.pk)


@router.get(
    "/atlases/{atlas_id}/compare",
    response=CompareOut,
    summary="Compare two versions of an atlas, or a version with the current draft, risk by risk",
)
def atlas_compare(request: HttpRequest, atlas_id: int, filters: Query[CompareFilter]) -> Any:
    """`a` and `b` are versions of this atlas (`b` may be `draft`, the register as it stands). Risks
    are matched by their identity, not their title."""
    atlas = selectors.atlas_get_for(user=request.user, atlas_id=atlas_id)

    def version_of_atlas(version_id: Any) -> AtlasVersion:
        version = selectors.atlas_version_get_for(user=request.user, version_id=version_id)
        if version.atlas_id != atlas.pk:
            raise Http404
        return version

    a = version_of_atlas(filters.a)
    b = None if filters.b == "draft" else version_of_atlas(filters.b)
    new_content = snapshots.atlas_snapshot(atlas) if b is None else b.content
    changes = snapshots.snapshot_diff(a.content, new_content)
    return {
        "atlas_id": atlas.pk,
        "a": a,
        "b": b,
        "changes": [
            {
                "risk_id": change.risk_id,
                "change": change.change,
                "title": change.title,
                "fields": list(change.fields),
                "old": change.old,
                "new": change.new,
            }
            for change in changes
        ],
    }


# --- classification and levels ---------------------------------------------------------------


@router.get(
    "/classifications",
    response=list[ClassificationOut],
    summary="Counties' scores, recommended and decided levels, with the factors in words",
)
@paginate(LimitOffsetPagination)
def classification_list(request: HttpRequest, filters: Query[ClassificationFilter]) -> Any:
    """Within your jurisdiction, for the event (the current one if left out). `sort` by county,
    province, score, level or recommended (a leading `-` reverses it). Each factor's `text` is in the
    request's language."""
    event = _event_in_query(request, filters.event_id)
    return selectors.classification_list_for(
        user=request.user,
        event=event,
        sort=filters.sort,
        level=filters.level,
        province_id=filters.province_id,
    )


@router.post(
    "/classifications/run",
    response={200: ClassifyOut, 400: ErrorsOut},
    summary="Score the event's counties within your jurisdiction (province or national level)",
)
def classification_run(request: HttpRequest, payload: EventIn) -> Any:
    """A computation, not a decision: decided levels stay as they are."""
    event = _event_in_body(request, payload.event_id)
    counties = services.county_classify(event=event, actor=request.user)
    return 200, {"event_id": event.pk, "counties": counties}


@router.post(
    "/levels",
    response={201: LevelDecisionOut, 400: ErrorsOut},
    summary="Decide a county's security level (province or national level)",
)
def level_decide(request: HttpRequest, payload: LevelDecideIn) -> Any:
    """The county is scored first; a level other than the recommended one needs a written `reason`.
    Every decision is kept in the county's history."""
    event = _event_in_body(request, payload.event_id)
    county = _county_in_body(request, payload.county_id)
    decision = services.security_level_decide(
        actor=request.user, event=event, county=county, level=payload.level, reason=payload.reason
    )
    return 201, decision


@router.get(
    "/levels/history",
    response=list[LevelDecisionOut],
    summary="Every decision on a county's level, the newest first, with who decided and why",
)
def level_history(request: HttpRequest, filters: Query[CountyEventFilter]) -> Any:
    """For the event (the current one if left out)."""
    event = _event_in_query(request, filters.event_id)
    county = geography_selectors.county_get_for(user=request.user, county_id=filters.county_id)
    return selectors.level_history_for(user=request.user, event=event, county=county)


# --- duties ----------------------------------------------------------------------------------


@router.get(
    "/duties",
    response=ChecklistOut,
    summary="A county's checklist: the duties of its current level and what it has done",
)
def duty_checklist(request: HttpRequest, filters: Query[CountyEventFilter]) -> Any:
    """For the event (the current one if left out). Empty while the county's level is undecided.
    Dates are ISO 8601 Gregorian (`YYYY-MM-DD`)."""
    event = _event_in_query(request, filters.event_id)
    county = geography_selectors.county_get_for(user=request.user, county_id=filters.county_id)
    classification = selectors.classification_get_for(user=request.user, event=event, county=county)
    level = classification.level if classification is not None else ""
    lines = selectors.county_duties_for(user=request.user, event=event, county=county, level=level)
    return {
        "event_id": event.pk,
        "county_id": county.pk,
        "level": level,
        "duties": [
            {
                "template_id": line.template.pk,
                "text": line.template.text,
                "text_en": line.template.text_en,
                "duty_id": line.duty.pk if line.duty else None,
                "is_done": line.is_done,
                "evidence": line.duty.evidence if line.duty else "",
                "done_on": line.duty.done_on if line.duty else None,
                "done_by": _username(line.duty.done_by) if line.duty else None,
            }
            for line in lines
        ],
    }


@router.post(
    "/duties/complete",
    response={200: CountyDutyOut, 400: ErrorsOut},
    summary="Tick off a duty of the county's current level, with the evidence",
)
def duty_complete(request: HttpRequest, payload: DutyCompleteIn) -> Any:
    """The duty must be on the checklist of the level decided for the county."""
    event = _event_in_body(request, payload.event_id)
    county = _county_in_body(request, payload.county_id)
    template = _referenced(
        "template_id",
        _("Unknown duty."),
        selectors.duty_template_get_for,
        user=request.user,
        duty_id=payload.template_id,
    )
    try:
        duty = services.county_duty_complete(
            actor=request.user, event=event, county=county, template=template, evidence=payload.evidence
        )
    except ValidationError as exc:
        raise _renamed(exc, {"template": "template_id"}) from exc
    return 200, selectors.county_duty_get_for(user=request.user, duty_id=duty.pk)


@router.post(
    "/duties/{duty_id}/reopen",
    response={200: CountyDutyOut, 400: ErrorsOut},
    summary="Mark a ticked duty as not done after all, with the reason",
)
def duty_reopen(request: HttpRequest, duty_id: int, payload: ReasonIn) -> Any:
    """The reason is recorded in the audit log."""
    duty = selectors.county_duty_get_for(user=request.user, duty_id=duty_id)
    services.county_duty_reopen(actor=request.user, duty=duty, reason=payload.reason)
    return 200, selectors.county_duty_get_for(user=request.user, duty_id=duty.pk)


# --- the county's record and card ------------------------------------------------------------


@router.get(
    "/past-elections",
    response=list[PastElectionOut],
    summary="A county's previous elections, the latest first",
)
def past_election_list(request: HttpRequest, filters: Query[PastElectionFilter]) -> Any:
    """An annulled election or serious incidents add to the county's classification score."""
    county = geography_selectors.county_get_for(user=request.user, county_id=filters.county_id)
    return selectors.past_election_list_for(user=request.user, county=county)


@router.post(
    "/past-elections",
    response={201: PastElectionOut, 400: ErrorsOut},
    summary="Record a previous election of a county (province or national level)",
)
def past_election_record(request: HttpRequest, payload: PastElectionIn) -> Any:
    """Whether it was annulled, and how many serious incidents it had. Dates are ISO 8601 Gregorian
    (`YYYY-MM-DD`)."""
    county = _county_in_body(request, payload.county_id)
    values = payload.dict(exclude={"county_id"})
    return 201, services.past_election_record(actor=request.user, county=county, **values)


@router.get(
    "/counties/{county_id}/card",
    response=CardOut,
    summary="A county's identity card for an event: key facts, heat map, top risks, mitigations, level",
)
def county_card(request: HttpRequest, county_id: int, filters: Query[CardFilter]) -> Any:
    """The same facts as the printable card, as data: for the event named (the current one if left
    out). Dates are ISO 8601 Gregorian (`YYYY-MM-DD`)."""
    event = _event_in_query(request, filters.event_id)
    county = geography_selectors.county_get_for(user=request.user, county_id=county_id)
    return selectors.identity_card_for(user=request.user, event=event, county=county)
