"""Forms of the register, its review and its reference data: they parse input only.

The services decide what is allowed and what makes sense (a complete assessment, an owner that
serves the county, a return with comments); their refusals are shown on these forms' fields.
Risks describe places, systems and procedures: no form here asks about a person or a group.
"""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation
from amanat.accounts.selectors import organisation_list_for
from amanat.risks.models import (
    MAX_LEVELS,
    Atlas,
    CategoryGroup,
    Risk,
    RiskCategory,
    RiskKind,
    RiskMatrix,
    RiskPhase,
    RiskStatus,
    Treatment,
)
from amanat.risks.selectors import risk_category_list_for
from amanat.risks.services import BandSpec
from amanat.ui.formatting import is_persian, localize_digits
from amanat.ui.forms import JalaliDateField

NUMBER_INPUT = forms.NumberInput(attrs={"dir": "ltr", "class": "short"})
DRAFT = "draft"  # the compare form's name for the live register


def category_label(category: RiskCategory) -> str:
    """A category's name in the reader's language (the Persian name when there is no English one)."""
    if not is_persian() and category.name_en:
        return category.name_en
    return category.name


def _model_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


def _choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def level_choices(size: int) -> list[tuple[str, str]]:
    """A matrix side's levels as select options, 1 (lowest) up, with an empty choice for 'not yet'."""
    return [("", "—"), *((str(n), localize_digits(n)) for n in range(1, size + 1))]


def serving_organisations(user: Any, atlas: Atlas) -> QuerySet[Organisation]:
    """Organisations the caller may name that serve the atlas's county: national, its province's, its own."""
    related = atlas.county.jurisdiction.related_q("province_id", "county_id")
    return (
        organisation_list_for(user=user)
        .filter(related)
        .select_related("province", "county")
        .order_by("province_id", "county_id", "name")
    )


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        if obj.county_id:
            return f"{obj.name} · {obj.county.name}"
        if obj.province_id:
            return f"{obj.name} · {obj.province.name}"
        return str(obj.name)


class RiskForm(forms.Form):
    """A risk as the county records it; the assessment may come later (both values, or neither)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=RiskKind.choices)
    phase = forms.ChoiceField(label=_("Phase"), choices=RiskPhase.choices)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=RiskCategory.objects.none(),
        error_messages={"invalid_choice": _("Choose a category in use.")},
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    location = forms.CharField(
        label=_("Place or system"),
        max_length=200,
        required=False,
        help_text=_(
            "Where it applies: polling stations, districts, facilities, lines or systems. "
            "Never name a person or a group."
        ),
    )
    likelihood = forms.TypedChoiceField(label=_("Likelihood"), coerce=int, empty_value=None, required=False)
    impact = forms.TypedChoiceField(label=_("Impact"), coerce=int, empty_value=None, required=False)
    treatment = forms.ChoiceField(
        label=_("Treatment"),
        choices=[("", _("Not decided yet")), *Treatment.choices],
        required=False,
        help_text=_("Accepting a risk needs the approval of an authorised approver."),
    )
    owner = OrganisationChoiceField(
        label=_("Owner organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("The organisation does not serve this county.")},
    )

    def __init__(
        self,
        *args: Any,
        user: Any,
        atlas: Atlas,
        matrix: RiskMatrix | None,
        risk: Risk | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.matrix = matrix
        visible = Q(is_active=True)
        if risk is not None:
            visible |= Q(pk=risk.category_id)  # a retired category stays on the risks filed under it
        categories = list(risk_category_list_for(user=user).filter(visible))
        category = _model_field(self, "category")
        category.queryset = risk_category_list_for(user=user).filter(visible)
        category.choices = grouped_categories(categories)
        _model_field(self, "owner").queryset = serving_organisations(user, atlas)
        likelihoods = matrix.likelihood_levels if matrix else 0
        impacts = matrix.impact_levels if matrix else 0
        for name, size in self.assessment_sizes(likelihoods, impacts):
            _choice_field(self, name).choices = level_choices(size)

    def assessment_sizes(self, likelihoods: int, impacts: int) -> list[tuple[str, int]]:
        return [("likelihood", likelihoods), ("impact", impacts)]


def grouped_categories(categories: Iterable[RiskCategory]) -> list[Any]:
    """Category options grouped as internal and external to the electoral process."""
    groups: list[Any] = [("", "---------")]
    for value, label in CategoryGroup.choices:
        options = [(c.pk, category_label(c)) for c in categories if c.group == value]
        if options:
            groups.append((label, options))
    return groups


class RiskUpdateForm(RiskForm):
    """A risk being changed: also its status and its residual assessment after treatment."""

    status = forms.ChoiceField(label=_("Status"))
    residual_likelihood = forms.TypedChoiceField(
        label=_("Residual likelihood"), coerce=int, empty_value=None, required=False
    )
    residual_impact = forms.TypedChoiceField(
        label=_("Residual impact"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("What remains once the treatment is in place."),
    )

    def __init__(self, *args: Any, risk: Risk, **kwargs: Any) -> None:
        super().__init__(*args, risk=risk, **kwargs)
        # Withdrawal has its own form, with a reason; a withdrawn risk may be brought back here.
        _choice_field(self, "status").choices = [
            (value, label)
            for value, label in RiskStatus.choices
            if value != RiskStatus.WITHDRAWN or risk.status == RiskStatus.WITHDRAWN
        ]

    def assessment_sizes(self, likelihoods: int, impacts: int) -> list[tuple[str, int]]:
        return [
            ("likelihood", likelihoods),
            ("impact", impacts),
            ("residual_likelihood", likelihoods),
            ("residual_impact", impacts),
        ]

    @staticmethod
    def initial_for(risk: Risk) -> dict[str, Any]:
        return {
            "kind": risk.kind,
            "phase": risk.phase,
            "category": risk.category_id,
            "title": risk.title,
            "description": risk.description,
            "location": risk.location,
            "likelihood": risk.likelihood,
            "impact": risk.impact,
            "treatment": risk.treatment,
            "owner": risk.owner_id,
            "status": risk.status,
            "residual_likelihood": risk.residual_likelihood,
            "residual_impact": risk.residual_impact,
        }


class SubmitForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the reviewer"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Optional: what changed since the last version, what the province should look at."),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for withdrawing"),
        max_length=500,
        required=False,  # the service names what is missing
        help_text=_("The risk stays in earlier versions of the atlas."),
    )


class MitigationForm(forms.Form):
    title = forms.CharField(label=_("Mitigation"), max_length=300, required=False)
    responsible = OrganisationChoiceField(
        label=_("Responsible organisation"),
        queryset=Organisation.objects.none(),
        error_messages={"invalid_choice": _("The organisation does not serve this county.")},
    )
    due_on = JalaliDateField(label=_("Due"))

    def __init__(self, *args: Any, user: Any, atlas: Atlas, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "responsible").queryset = serving_organisations(user, atlas)


class ReviewForm(forms.Form):
    """The province's review of a submitted version: approve, or return with comments per risk."""

    APPROVE = "approve"
    RETURN = "return"

    decision = forms.ChoiceField(
        label=_("Outcome of the review"),
        widget=forms.RadioSelect,
        choices=[
            (APPROVE, _("Approve and send to the national level")),
            (RETURN, _("Return to the county for changes")),
        ],
    )
    note = forms.CharField(
        label=_("Review note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Needed when returning without a comment on any risk."),
    )

    def __init__(self, *args: Any, risk_rows: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.risk_ids = [int(row["id"]) for row in risk_rows]
        for row in risk_rows:
            self.fields[f"comment_{row['id']}"] = forms.CharField(
                label=_("Comment on “%(title)s”") % {"title": row.get("title", "")},
                widget=forms.Textarea(attrs={"rows": 2}),
                required=False,
            )

    def comment_field(self, risk_id: int) -> forms.BoundField:
        return self[f"comment_{risk_id}"]

    def comments(self) -> dict[int, str]:
        return {
            risk_id: self.cleaned_data[f"comment_{risk_id}"]
            for risk_id in self.risk_ids
            if self.cleaned_data.get(f"comment_{risk_id}", "").strip()
        }


class CompareForm(forms.Form):
    """Two versions of one atlas to compare, or a version and the current draft."""

    a = forms.ChoiceField(label=_("Compare"))
    b = forms.ChoiceField(label=_("with"))

    def __init__(self, *args: Any, versions: Sequence[Any], allow_draft: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = [
            (str(v.pk), _("Version %(number)s") % {"number": localize_digits(v.number)}) for v in versions
        ]
        _choice_field(self, "a").choices = options
        _choice_field(self, "b").choices = [*options, *([(DRAFT, _("Current draft"))] if allow_draft else [])]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("a") and data.get("a") == data.get("b"):
            self.add_error("b", _("Choose two different versions."))
        return data


# --- reference data --------------------------------------------------------------------------


class CategoryForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"),
        max_length=50,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
        help_text=_("Latin letters, digits and hyphens; it never changes."),
    )
    group = forms.ChoiceField(label=_("Group"), choices=CategoryGroup.choices)
    name = forms.CharField(label=_("Name"), max_length=150)
    name_en = forms.CharField(label=_("English name"), max_length=150, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class CategoryEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    name_en = forms.CharField(label=_("English name"), max_length=150, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    is_active = forms.BooleanField(
        label=_("In use"),
        required=False,
        help_text=_("A retired category is no longer offered for new risks; risks filed under it keep it."),
    )


_BAND_LINE = re.compile(
    r"^\s*([\w-]+)\s*\|\s*([^|]+?)\s*\|\s*(#[0-9a-fA-F]{6})\s*\|\s*(\d+)\s*(?:\|\s*(.*?)\s*)?$"
)
_CELL = re.compile(r"^(\d+):([\w-]+)$")


class MatrixForm(forms.Form):
    """A new matrix typed as text: its bands, then the grid row by row (likelihood 1 first)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    likelihood_levels = forms.IntegerField(
        label=_("Likelihood levels"), min_value=2, max_value=MAX_LEVELS, widget=NUMBER_INPUT
    )
    impact_levels = forms.IntegerField(
        label=_("Impact levels"), min_value=2, max_value=MAX_LEVELS, widget=NUMBER_INPUT
    )
    bands = forms.CharField(
        label=_("Bands"),
        widget=forms.Textarea(attrs={"rows": 4, "dir": "ltr"}),
        help_text=_(
            "One band per line, least severe first: code | name | colour | weight | English name "
            "(optional). For example: low | کم | #2e7d32 | 0 | Low"
        ),
    )
    grid = forms.CharField(
        label=_("Grid"),
        widget=forms.Textarea(attrs={"rows": 5, "dir": "ltr"}),
        help_text=_(
            "One line per likelihood, from 1 up; on each line one cell per impact, from 1 up, "
            "written score:band_code and separated by spaces. For example: 1:low 2:low 3:medium"
        ),
    )
    make_default = forms.BooleanField(
        label=_("Make it the default"), required=False, help_text=_("New risks are assessed on it.")
    )

    def clean_bands(self) -> list[BandSpec]:
        specs = []
        for number, line in enumerate(self.cleaned_data["bands"].splitlines(), start=1):
            if not line.strip():
                continue
            match = _BAND_LINE.match(line)
            if match is None:
                raise forms.ValidationError(
                    _("Line %(line)s: write code | name | #rrggbb | weight.")
                    % {"line": localize_digits(number)}
                )
            code, name, colour, weight, name_en = match.groups()
            specs.append(
                BandSpec(
                    code=code.lower(), name=name, colour=colour, weight=int(weight), name_en=name_en or ""
                )
            )
        return specs

    def clean_grid(self) -> dict[tuple[int, int], tuple[int, str]]:
        grid: dict[tuple[int, int], tuple[int, str]] = {}
        lines = [line for line in self.cleaned_data["grid"].splitlines() if line.strip()]
        for likelihood, line in enumerate(lines, start=1):
            for impact, cell in enumerate(line.replace(",", " ").split(), start=1):
                match = _CELL.match(cell.strip())
                if match is None:
                    raise forms.ValidationError(
                        _("Likelihood %(likelihood)s, impact %(impact)s: write score:band_code.")
                        % {"likelihood": localize_digits(likelihood), "impact": localize_digits(impact)}
                    )
                grid[(likelihood, impact)] = (int(match.group(1)), match.group(2).lower())
        return grid
