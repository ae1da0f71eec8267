"""The county security atlas (اطلس و شناسنامه امنیت انتخابات): risks, reviews and security levels.

Risks describe situations, places, procedures and systems. No model here has a field for a
person's or a group's political identity, views or associations, by design.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation
from amanat.committees.models import ActionItem
from amanat.elections.models import ElectionEvent
from amanat.geography.models import InCounty
from amanat.scoping import Jurisdiction, JurisdictionManager

MAX_LEVELS = 10  # the largest matrix side a configuration may have


class CategoryGroup(models.TextChoices):
    INTERNAL = "internal", _("Internal to the electoral process")
    EXTERNAL = "external", _("External to the electoral process")


class RiskCategory(models.Model):
    """A factor in the managed taxonomy of electoral risks; the national administrator edits it."""

    code = models.SlugField(max_length=50, verbose_name=_("code"))
    group = models.CharField(max_length=10, choices=CategoryGroup.choices, verbose_name=_("group"))
    name = models.CharField(max_length=150, verbose_name=_("name"))
    name_en = models.CharField(max_length=150, blank=True, verbose_name=_("English name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    is_active = models.BooleanField(default=True, verbose_name=_("in use"))

    class Meta:
        ordering = ["group", "position", "name"]
        verbose_name = _("risk category")
        verbose_name_plural = _("risk categories")
        constraints = [models.UniqueConstraint(fields=["code"], name="risk_category_code_unique")]

    def __str__(self) -> str:
        return self.name


class RiskMatrix(models.Model):
    """A likelihood x impact matrix: its cells map each pair to a score and a band.

    A 3x3 or a 5x5 matrix, with its own bands and colours, is configuration. One matrix is the
    default, used by new risks; a risk keeps the matrix it was assessed on.
    """

    name = models.CharField(max_length=100, verbose_name=_("name"))
    likelihood_levels = models.PositiveSmallIntegerField(verbose_name=_("likelihood levels"))
    impact_levels = models.PositiveSmallIntegerField(verbose_name=_("impact levels"))
    is_default = models.BooleanField(default=False, verbose_name=_("default"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("risk matrix")
        verbose_name_plural = _("risk matrices")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="risk_matrix_name_unique"),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="risk_matrix_one_default"
            ),
            models.CheckConstraint(
                condition=Q(likelihood_levels__gte=2, likelihood_levels__lte=MAX_LEVELS)
                & Q(impact_levels__gte=2, impact_levels__lte=MAX_LEVELS),
                name="risk_matrix_size_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RiskBand(models.Model):
    """A band of a matrix (low, medium, high...): colour, severity rank and classification weight."""

    matrix = models.ForeignKey(RiskMatrix, on_delete=models.CASCADE, related_name="bands")
    code = models.SlugField(max_length=30, verbose_name=_("code"))
    name = models.CharField(max_length=60, verbose_name=_("name"))
    name_en = models.CharField(max_length=60, blank=True, verbose_name=_("English name"))
    colour = models.CharField(max_length=7, verbose_name=_("colour"))
    rank = models.PositiveSmallIntegerField(verbose_name=_("severity rank"))
    weight = models.PositiveSmallIntegerField(
        default=0,
        verbose_name=_("classification weight"),
        help_text=_("Points each open risk in this band adds to its county's classification score."),
    )

    class Meta:
        ordering = ["matrix", "rank"]
        verbose_name = _("risk band")
        verbose_name_plural = _("risk bands")
        constraints = [
            models.UniqueConstraint(fields=["matrix", "code"], name="risk_band_code_unique"),
            models.UniqueConstraint(fields=["matrix", "rank"], name="risk_band_rank_unique"),
            models.CheckConstraint(
                condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="risk_band_colour_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RiskMatrixCell(models.Model):
    """One cell of the lookup grid: this likelihood and impact give this score and band."""

    matrix = models.ForeignKey(RiskMatrix, on_delete=models.CASCADE, related_name="cells")
    likelihood = models.PositiveSmallIntegerField()
    impact = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    band = models.ForeignKey(RiskBand, on_delete=models.PROTECT, related_name="cells")

    class Meta:
        ordering = ["matrix", "likelihood", "impact"]
        verbose_name = _("matrix cell")
        verbose_name_plural = _("matrix cells")
        constraints = [
            models.UniqueConstraint(fields=["matrix", "likelihood", "impact"], name="risk_cell_unique"),
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=MAX_LEVELS)
                & Q(impact__gte=1, impact__lte=MAX_LEVELS),
                name="risk_cell_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.likelihood}x{self.impact}={self.score}"


class AtlasStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted to the province")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved and sent to the national level")


class Atlas(InCounty):
    """A county's security atlas for one election event: the live register and its workflow state.

    The county drafts; a submission freezes a numbered `AtlasVersion`; the province approves it
    (which sends it on to the national level) or returns it with comments per risk.
    """

    event = models.ForeignKey(ElectionEvent, on_delete=models.PROTECT, related_name="atlases")
    status = models.CharField(
        max_length=10, choices=AtlasStatus.choices, default=AtlasStatus.DRAFT, verbose_name=_("status")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["province__name", "county__name"]
        verbose_name = _("security atlas")
        verbose_name_plural = _("security atlases")
        constraints = [
            models.UniqueConstraint(fields=["event", "county"], name="atlas_one_per_county_event"),
        ]

    def __str__(self) -> str:
        return f"{self.county} · {self.event}"

    @property
    def is_editable(self) -> bool:
        return self.status in (AtlasStatus.DRAFT, AtlasStatus.RETURNED)


class RiskKind(models.TextChoices):
    THREAT = "threat", _("Threat")
    VULNERABILITY = "vulnerability", _("Vulnerability")
    CHALLENGE = "challenge", _("Challenge")


class RiskPhase(models.TextChoices):
    BEFORE = "before", _("Before the election")
    DURING = "during", _("During the election")
    AFTER = "after", _("After the election")


class Treatment(models.TextChoices):
    MITIGATE = "mitigate", _("Mitigate")
    ACCEPT = "accept", _("Accept")
    AVOID = "avoid", _("Avoid")
    TRANSFER = "transfer", _("Transfer")


class RiskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    TREATED = "treated", _("Treated")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


ACTIVE_RISK_STATUSES = (RiskStatus.OPEN, RiskStatus.TREATED)


class Risk(InCounty):
    """A threat, vulnerability or challenge (تهدید، آسیب، چالش) in a county's atlas, assessed on a matrix."""

    atlas = models.ForeignKey(Atlas, on_delete=models.CASCADE, related_name="risks")
    kind = models.CharField(max_length=15, choices=RiskKind.choices, verbose_name=_("kind"))
    phase = models.CharField(max_length=10, choices=RiskPhase.choices, verbose_name=_("phase"))
    category = models.ForeignKey(
        RiskCategory, on_delete=models.PROTECT, related_name="risks", verbose_name=_("category")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    location = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=_("place or system"),
        help_text=_("Where it applies: stations, districts, facilities or systems; never a person."),
    )
    matrix = models.ForeignKey(RiskMatrix, on_delete=models.PROTECT, related_name="risks")
    likelihood = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("likelihood"))
    impact = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("impact"))
    score = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("score"))
    band = models.ForeignKey(
        RiskBand, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("band")
    )
    treatment = models.CharField(
        max_length=10, choices=Treatment.choices, blank=True, verbose_name=_("treatment")
    )
    acceptance_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acceptance approved by"),
    )
    acceptance_approved_at = models.DateTimeField(null=True, blank=True)
    # Who proposed accepting the risk: the approval must come from someone else.
    treatment_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risks",
        verbose_name=_("owner organisation"),
    )
    status = models.CharField(
        max_length=10, choices=RiskStatus.choices, default=RiskStatus.OPEN, verbose_name=_("status")
    )
    residual_likelihood = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("residual likelihood")
    )
    residual_impact = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("residual impact")
    )
    residual_score = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("residual score"))
    residual_band = models.ForeignKey(
        RiskBand,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("residual band"),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = [F("score").desc(nulls_last=True), "pk"]
        verbose_name = _("risk")
        verbose_name_plural = _("risks")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    likelihood__isnull=True, impact__isnull=True, score__isnull=True, band__isnull=True
                )
                # NULL makes a range test unknown, which a CHECK lets pass: say not-null explicitly.
                | Q(likelihood__isnull=False, impact__isnull=False, score__isnull=False, band__isnull=False)
                & Q(likelihood__gte=1, likelihood__lte=MAX_LEVELS, impact__gte=1, impact__lte=MAX_LEVELS),
                name="risk_assessment_complete",
            ),
            models.CheckConstraint(
                condition=Q(
                    residual_likelihood__isnull=True,
                    residual_impact__isnull=True,
                    residual_score__isnull=True,
                    residual_band__isnull=True,
                )
                | Q(
                    residual_likelihood__isnull=False,
                    residual_impact__isnull=False,
                    residual_score__isnull=False,
                    residual_band__isnull=False,
                )
                & Q(
                    residual_likelihood__gte=1,
                    residual_likelihood__lte=MAX_LEVELS,
                    residual_impact__gte=1,
                    residual_impact__lte=MAX_LEVELS,
                ),
                name="risk_residual_complete",
            ),
            models.CheckConstraint(
                condition=Q(acceptance_approved_by__isnull=True) | Q(treatment="accept"),
                name="risk_approval_only_for_acceptance",
            ),
        ]
        indexes = [models.Index(fields=["atlas", "status"], name="risk_atlas_status_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_assessed(self) -> bool:
        return self.score is not None and bool(self.treatment)

    @property
    def awaits_acceptance(self) -> bool:
        return self.treatment == Treatment.ACCEPT and self.acceptance_approved_by_id is None


class RiskMitigation(models.Model):
    """A mitigation of a risk: an action item of the county committee, followed up like any other."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="mitigations")
    action_item = models.OneToOneField(ActionItem, on_delete=models.PROTECT, related_name="mitigation")

    class Meta:
        ordering = ["action_item__due_on", "pk"]
        verbose_name = _("mitigation")
        verbose_name_plural = _("mitigations")

    def __str__(self) -> str:
        return self.action_item.title

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.risk.jurisdiction


class VersionStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting review")
    RETURNED = "returned", _("Returned")
    APPROVED = "approved", _("Approved")


class AtlasVersion(InCounty):
    """A submitted atlas, frozen: `content` is never changed after creation; only the review is added."""

    atlas = models.ForeignKey(Atlas, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(verbose_name=_("version"))
    content = models.JSONField(verbose_name=_("snapshot"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    note = models.TextField(blank=True, verbose_name=_("note to the reviewer"))
    status = models.CharField(
        max_length=10,
        choices=VersionStatus.choices,
        default=VersionStatus.SUBMITTED,
        verbose_name=_("status"),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, verbose_name=_("review"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["atlas", "-number"]
        verbose_name = _("atlas version")
        verbose_name_plural = _("atlas versions")
        constraints = [
            models.UniqueConstraint(fields=["atlas", "number"], name="atlas_version_number_unique"),
            models.CheckConstraint(
                condition=Q(status="submitted", reviewed_by__isnull=True, reviewed_at__isnull=True)
                | ~Q(status="submitted") & Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="atlas_version_review_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.atlas} v{self.number}"


class ReviewComment(models.Model):
    """The province's comment on one risk of a submitted version (what to fix when it is returned)."""

    version = models.ForeignKey(AtlasVersion, on_delete=models.CASCADE, related_name="comments")
    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="review_comments")
    text = models.TextField(verbose_name=_("comment"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "pk"]
        verbose_name = _("review comment")
        verbose_name_plural = _("review comments")
        constraints = [
            models.UniqueConstraint(fields=["version", "risk"], name="review_comment_one_per_risk")
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.risk.jurisdiction


class PastElection(InCounty):
    """A county's record of a previous election: whether it was annulled (ابطال) and how it went."""

    held_on = models.DateField(verbose_name=_("held on"))
    title = models.CharField(max_length=200, verbose_name=_("election"))
    was_annulled = models.BooleanField(default=False, verbose_name=_("annulled"))
    serious_incidents = models.PositiveIntegerField(default=0, verbose_name=_("serious incidents"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["-held_on", "pk"]
        verbose_name = _("past election")
        verbose_name_plural = _("past elections")
        constraints = [
            models.UniqueConstraint(fields=["county", "held_on", "title"], name="past_election_unique"),
        ]

    def __str__(self) -> str:
        return self.title


class SecurityLevel(models.TextChoices):
    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")
    SENSITIVE = "sensitive", _("Sensitive")


LEVEL_ORDER = {SecurityLevel.NORMAL: 0, SecurityLevel.IMPORTANT: 1, SecurityLevel.SENSITIVE: 2}


class ClassificationPolicy(models.Model):
    """The weights and thresholds of the classification score; one row, edited by the national level.

    Score = sum of each active risk's band weight (residual band when assessed) + the record's points.
    """

    annulled_points = models.PositiveSmallIntegerField(
        default=15, verbose_name=_("points for an annulled previous election")
    )
    incident_points = models.PositiveSmallIntegerField(
        default=2, verbose_name=_("points per serious incident in past elections")
    )
    incident_points_cap = models.PositiveSmallIntegerField(
        default=20, verbose_name=_("most points from past incidents")
    )
    stations_per_point = models.PositiveIntegerField(
        default=200, verbose_name=_("polling stations per point"), help_text=_("0 leaves station count out.")
    )
    important_from = models.PositiveIntegerField(default=20, verbose_name=_("important from score"))
    sensitive_from = models.PositiveIntegerField(default=45, verbose_name=_("sensitive from score"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("classification policy")
        verbose_name_plural = _("classification policy")
        constraints = [
            models.CheckConstraint(
                condition=Q(sensitive_from__gt=F("important_from")), name="policy_thresholds_ordered"
            ),
            models.CheckConstraint(condition=Q(important_from__gt=0), name="policy_important_positive"),
        ]

    def __str__(self) -> str:
        return str(_("classification policy"))


class CountyClassification(InCounty):
    """A county's classification for an event: the latest computed score and the decided level."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="classifications")
    score = models.PositiveIntegerField(verbose_name=_("score"))
    recommended_level = models.CharField(
        max_length=10, choices=SecurityLevel.choices, verbose_name=_("recommended level")
    )
    factors = models.JSONField(default=list, verbose_name=_("factors"))
    computed_at = models.DateTimeField()
    level = models.CharField(
        max_length=10, choices=SecurityLevel.choices, blank=True, verbose_name=_("security level")
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["province__name", "county__name"]
        verbose_name = _("county classification")
        verbose_name_plural = _("county classifications")
        constraints = [
            models.UniqueConstraint(fields=["event", "county"], name="classification_one_per_county_event"),
            models.CheckConstraint(
                condition=Q(level="", decided_at__isnull=True) | ~Q(level="") & Q(decided_at__isnull=False),
                name="classification_decision_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} · {self.level or self.recommended_level}"


class SecurityLevelDecision(InCounty):
    """A decision on a county's security level (سطح‌بندی امنیتی), kept forever as its history."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="level_decisions")
    level = models.CharField(max_length=10, choices=SecurityLevel.choices, verbose_name=_("security level"))
    recommended_level = models.CharField(
        max_length=10, choices=SecurityLevel.choices, verbose_name=_("recommended level")
    )
    score = models.PositiveIntegerField(verbose_name=_("score"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["-decided_at", "-pk"]
        verbose_name = _("security level decision")
        verbose_name_plural = _("security level decisions")
        constraints = [
            models.CheckConstraint(
                condition=Q(level=F("recommended_level")) | ~Q(reason=""), name="level_override_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} · {self.level}"

    @property
    def is_override(self) -> bool:
        return self.level != self.recommended_level


class DutyTemplate(models.Model):
    """A duty that a security level carries (e.g. sensitive: a second communication link at every station)."""

    level = models.CharField(max_length=10, choices=SecurityLevel.choices, verbose_name=_("security level"))
    text = models.CharField(max_length=300, verbose_name=_("duty"))
    text_en = models.CharField(max_length=300, blank=True, verbose_name=_("English text"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    is_active = models.BooleanField(default=True, verbose_name=_("in use"))

    class Meta:
        ordering = ["level", "position", "pk"]
        verbose_name = _("duty template")
        verbose_name_plural = _("duty templates")
        constraints = [models.UniqueConstraint(fields=["level", "text"], name="duty_template_unique")]

    def __str__(self) -> str:
        return self.text


class CountyDuty(InCounty):
    """A county's progress on one duty of its level: done, with the evidence that shows it."""

    event = models.ForeignKey(ElectionEvent, on_delete=models.CASCADE, related_name="county_duties")
    template = models.ForeignKey(DutyTemplate, on_delete=models.PROTECT, related_name="county_duties")
    is_done = models.BooleanField(default=False, verbose_name=_("done"))
    evidence = models.TextField(blank=True, verbose_name=_("evidence"))
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_on = models.DateField(null=True, blank=True, verbose_name=_("done on"))

    objects: ClassVar[Any] = JurisdictionManager(province="province_id", county="county_id")

    class Meta:
        ordering = ["template__position", "pk"]
        verbose_name = _("county duty")
        verbose_name_plural = _("county duties")
        constraints = [
            models.UniqueConstraint(fields=["event", "county", "template"], name="county_duty_unique"),
            models.CheckConstraint(
                condition=Q(is_done=False) | ~Q(evidence="") & Q(done_on__isnull=False),
                name="county_duty_done_with_evidence",
            ),
        ]

    def __str__(self) -> str:
        return self.template.text
