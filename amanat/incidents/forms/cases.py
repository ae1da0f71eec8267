"""Forms of the officials' incident pages: they parse input only.

The services decide what is allowed and what makes sense (a station within reach, a time not in the
future, a legal move of the case, an organisation serving its county); their refusals are shown on
these forms' fields (`service_errors`).
"""

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation, User
from amanat.accounts.selectors import organisation_list_for, user_list_for
from amanat.geography.models import County
from amanat.geography.selectors import county_list_for
from amanat.incidents.models import Incident, IncidentCategory, Severity
from amanat.incidents.selectors import incident_category_list_for
from amanat.incidents.services.cases import BULK_ACTIONS, MAX_DESCRIPTION, MAX_EVIDENCE_FILES
from amanat.incidents.workflow import Action
from amanat.ui.formatting import is_persian, latin_digits
from amanat.ui.forms import JalaliDateField

TEXTAREA = forms.Textarea(attrs={"rows": 3})
LTR = forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"})


def category_label(category: IncidentCategory) -> str:
    """A category's name in the reader's language (the Persian name when there is no English one)."""
    if not is_persian() and category.name_en:
        return category.name_en
    return category.name


def service_errors(
    form: forms.BaseForm, exc: ValidationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: on the named field (or its alias), else above it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        field = (aliases or {}).get(name, name)
        form.add_error(field if field in form.fields else None, messages)


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return category_label(obj)


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        if obj.county_id:
            return f"{obj.name} · {obj.county.name}"
        if obj.province_id:
            return f"{obj.name} · {obj.province.name}"
        return str(obj.name)


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name() or obj.username
        return f"{name} · {obj.organisation.name}" if obj.organisation_id else str(name)


class CountyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.province.name}"


def _model_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


def serving_organisations(user: Any, incident: Incident) -> QuerySet[Organisation]:
    """Organisations the caller may name that serve the case's county: national, its province's, its own."""
    related = incident.jurisdiction.related_q("province_id", "county_id")
    return (
        organisation_list_for(user=user)
        .filter(related)
        .select_related("province", "county")
        .order_by("province_id", "county_id", "name")
    )


class LocalTimeField(forms.TimeField):
    """A time of day as HH:MM, in Persian, Arabic or Latin digits."""

    widget = forms.TimeInput(attrs={"type": "time", "dir": "ltr"}, format="%H:%M")
    default_error_messages = {"invalid": _("Enter the time as HH:MM, for example 14:30.")}

    def to_python(self, value: Any) -> dt.time | None:
        if isinstance(value, str):
            value = latin_digits(value.strip())
        return super().to_python(value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """Up to MAX_EVIDENCE_FILES files; the service checks each one's type and size by its content."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [single(item, initial) for item in files if item]
        if len(cleaned) > MAX_EVIDENCE_FILES:
            raise ValidationError(
                _("At most %(n)d files per report.") % {"n": MAX_EVIDENCE_FILES}, code="too_many"
            )
        if self.required and not cleaned:
            raise ValidationError(self.error_messages["required"], code="required")
        return cleaned


# --- a report filed by an official -----------------------------------------------------------


class ReportForm(forms.Form):
    """An official's report: what, where (a polling station, or a county and an address), when."""

    category = CategoryChoiceField(
        label=_("Category"),
        queryset=IncidentCategory.objects.none(),
        to_field_name="code",
        error_messages={"invalid_choice": _("Choose a category in use.")},
    )
    station_code = forms.CharField(
        label=_("Polling station code"),
        max_length=40,
        required=False,
        widget=LTR,
        help_text=_("When it happened at or near a polling station; otherwise give the county and address."),
    )
    county = CountyChoiceField(
        label=_("County"),
        queryset=County.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose a county within your jurisdiction.")},
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    occurred_on = JalaliDateField(label=_("Date it happened"))
    occurred_time = LocalTimeField(label=_("Time it happened"))
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=[("", _("The category's usual severity")), *Severity.choices],
        required=False,
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, who was affected, what was done: in Persian or English."),
    )
    evidence = EvidenceField(
        label=_("Evidence files"),
        help_text=_(
            "Up to 5 photos, PDF, video or audio files. A file chosen here must be chosen again "
            "if the form comes back with an error."
        ),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    # Service field names that differ from this form's.
    ALIASES = {"county_code": "county", "occurred_at": "occurred_on"}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        now = timezone.localtime()
        kwargs["initial"] = {
            "occurred_on": now.date(),
            "occurred_time": now.time().replace(second=0, microsecond=0),
            "idempotency_key": uuid.uuid4().hex,
            **kwargs["initial"],
        }
        super().__init__(*args, **kwargs)
        _model_field(self, "category").queryset = incident_category_list_for(user=user)
        counties = county_list_for(user=user)
        county = _model_field(self, "county")
        county.queryset = counties
        jurisdiction = user.jurisdiction
        if jurisdiction.county_id is not None:
            self.initial.setdefault("county", jurisdiction.county_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, time = data.get("occurred_on"), data.get("occurred_time")
        if day is not None and time is not None:
            data["occurred_at"] = timezone.make_aware(dt.datetime.combine(day, time))
        return data


# --- moving a case: one small form per action ------------------------------------------------


class _ActionForm(forms.Form):
    """The fields one action needs; `prefix` is the action, so several forms share a page."""

    def __init__(self, *args: Any, user: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.incident = incident


class EmptyActionForm(_ActionForm):
    """Moderate or start: nothing to say."""


class TriageForm(_ActionForm):
    category = CategoryChoiceField(
        label=_("Category"),
        queryset=IncidentCategory.objects.none(),
        error_messages={"invalid_choice": _("Choose a category in use.")},
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=TEXTAREA)

    def __init__(self, *args: Any, user: Any, incident: Incident, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"category": incident.category_id, "severity": incident.severity})
        super().__init__(*args, user=user, incident=incident, **kwargs)
        _model_field(self, "category").queryset = incident_category_list_for(user=user)


class AssignForm(_ActionForm):
    organisation = OrganisationChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        error_messages={"invalid_choice": _("Choose an organisation serving this county.")},
    )
    assignee = HandlerChoiceField(
        label=_("Handler"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Optional: one of the chosen organisation's people."),
        error_messages={"invalid_choice": _("Choose one of the organisation's people within your reach.")},
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=TEXTAREA)

    def __init__(self, *args: Any, user: Any, incident: Incident, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"organisation": incident.assigned_organisation_id, "assignee": incident.assignee_id}
        )
        super().__init__(*args, user=user, incident=incident, **kwargs)
        organisations = serving_organisations(user, incident)
        _model_field(self, "organisation").queryset = organisations
        _model_field(self, "assignee").queryset = (
            user_list_for(user=user)
            .filter(organisation__in=organisations.values("pk"), is_active=True)
            .order_by("organisation__name", "username")
        )


class ReferForm(_ActionForm):
    authority = forms.CharField(
        label=_("Referred to"),
        max_length=200,
        help_text=_("The prosecutor's office or court the case was sent to."),
    )
    case_number = forms.CharField(label=_("Judiciary case number"), max_length=60, widget=LTR)


class ResolveForm(_ActionForm):
    resolution = forms.CharField(label=_("Resolution"), max_length=MAX_DESCRIPTION, widget=TEXTAREA)


class CloseForm(_ActionForm):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=TEXTAREA)


class ReasonForm(_ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=MAX_DESCRIPTION, widget=TEXTAREA)


class MergeForm(_ActionForm):
    into = forms.IntegerField(
        label=_("Merge into case number"),
        min_value=1,
        widget=forms.NumberInput(attrs={"dir": "ltr", "class": "short"}),
    )
    reason = forms.CharField(label=_("Reason"), max_length=MAX_DESCRIPTION, widget=TEXTAREA)


ACTION_FORMS: dict[str, type[_ActionForm]] = {
    Action.MODERATE: EmptyActionForm,
    Action.TRIAGE: TriageForm,
    Action.ASSIGN: AssignForm,
    Action.START: EmptyActionForm,
    Action.REFER: ReferForm,
    Action.RESOLVE: ResolveForm,
    Action.CLOSE: CloseForm,
    Action.REOPEN: ReasonForm,
    Action.REJECT: ReasonForm,
    Action.MERGE: MergeForm,
}


def action_form(
    action: str, *, user: Any, incident: Incident, data: Any = None, **kwargs: Any
) -> _ActionForm:
    return ACTION_FORMS[action](data, user=user, incident=incident, prefix=action, **kwargs)


class AbsorbForm(forms.Form):
    """Merge a suggested duplicate into the case being looked at."""

    duplicate = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=MAX_DESCRIPTION, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), max_length=MAX_DESCRIPTION, widget=forms.Textarea(attrs={"rows": 3})
    )


class EvidenceForm(forms.Form):
    evidence = EvidenceField(label=_("Evidence files"), required=True)


# --- bulk actions on a list ------------------------------------------------------------------

SELECTED, PAGE, FILTER = "selected", "page", "filter"
BULK_LIMIT = 1000

BULK_ACTION_LABELS = {
    Action.MODERATE: _("Accept into handling (moderate)"),
    Action.TRIAGE: _("Triage"),
    Action.ASSIGN: _("Assign to an organisation"),
    Action.MERGE: _("Merge into a case"),
    Action.CLOSE: _("Close"),
    Action.REJECT: _("Reject"),
}


class IdListField(forms.Field):
    """Case numbers sent as repeated fields (checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        ids = []
        for item in values:
            text = latin_digits(str(item)).strip()
            if not (text.isascii() and text.isdigit() and len(text) < 12):
                raise ValidationError(_("Unknown case number."), code="invalid")
            ids.append(int(text))
        return ids


class BulkForm(forms.Form):
    """One action on many cases: the selected rows, every row of the page, or every case of the filter."""

    action = forms.ChoiceField(label=_("Action"), choices=[])
    selection = forms.ChoiceField(
        label=_("Apply to"),
        choices=[
            (SELECTED, _("the selected cases")),
            (PAGE, _("every case on this page")),
            (FILTER, _("every case matching the filter (at most 1,000)")),
        ],
        initial=SELECTED,
    )
    ids = IdListField(required=False)
    page_ids = IdListField(required=False)
    filter = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=[("", _("keep each case's")), *Severity.choices],
        required=False,
        help_text=_("For triage."),
    )
    organisation = OrganisationChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("For assignment."),
        error_messages={"invalid_choice": _("Choose an organisation within your reach.")},
    )
    into = forms.IntegerField(
        label=_("Into case number"),
        min_value=1,
        required=False,
        help_text=_("For merging."),
        widget=forms.NumberInput(attrs={"dir": "ltr", "class": "short"}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=MAX_DESCRIPTION,
        help_text=_("Needed to reject or merge; a note when closing."),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def __init__(self, *args: Any, user: Any, actions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = [a for a in Action if a in BULK_ACTIONS and (actions is None or a in actions)]
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [(str(a), BULK_ACTION_LABELS[a]) for a in allowed]
        _model_field(self, "organisation").queryset = (
            organisation_list_for(user=user)
            .select_related("province", "county")
            .order_by("province_id", "county_id", "name")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("selection") == SELECTED and not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", _("Select at least one case."))
        return data


# --- the taxonomy and the deadlines ----------------------------------------------------------


class CategoryCreateForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        widget=LTR,
        help_text=_("Latin letters, digits and hyphens, e.g. vote-buying; used by the API."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    default_severity = forms.ChoiceField(
        label=_("Default severity"), choices=Severity.choices, initial=Severity.MEDIUM
    )
    is_violation = forms.BooleanField(
        label=_("Election violation"),
        required=False,
        help_text=_("A possible offence under election law, which may need referral to the prosecutor."),
    )


class CategoryEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    default_severity = forms.ChoiceField(label=_("Default severity"), choices=Severity.choices)
    is_violation = forms.BooleanField(label=_("Election violation"), required=False)
    is_active = forms.BooleanField(
        label=_("In use"),
        required=False,
        help_text=_("Untick to retire the category: it is no longer offered, cases filed under it keep it."),
    )


class DeadlineForm(forms.Form):
    category = CategoryChoiceField(
        label=_("Category"),
        queryset=IncidentCategory.objects.none(),
        required=False,
        empty_label=_("Every category (the default)"),
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    hours = forms.IntegerField(
        label=_("Hours to resolve"),
        min_value=1,
        max_value=24 * 365,
        widget=forms.NumberInput(attrs={"dir": "ltr", "class": "short"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "category").queryset = incident_category_list_for(user=user, active_only=False)
