"""Forms of the identity card, classification and level pages: they parse input only.

The services decide what is allowed and what makes sense (an override's reason, a duty's
evidence, thresholds in order); their refusals are shown on these forms' fields.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_list_for
from amanat.risks.models import ClassificationPolicy, SecurityLevel
from amanat.risks.scoring import Policy
from amanat.ui.forms import JalaliDateField

NUMBER_INPUT = forms.NumberInput(attrs={"dir": "ltr", "class": "short"})
POLICY_FIELDS = list(Policy.__dataclass_fields__)


class EventField(forms.ModelChoiceField):
    """The election event a form acts on, sent as a hidden field from the page it was shown on."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Election event"))
        kwargs.setdefault("queryset", ElectionEvent.objects.none())
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("error_messages", {"required": _("Choose an election event.")})
        super().__init__(**kwargs)


def _events_for(form: forms.BaseForm, user: Any) -> None:
    field = form.fields["event"]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = election_event_list_for(user=user)


class LevelDecideForm(forms.Form):
    level = forms.ChoiceField(label=_("Security level"), choices=SecurityLevel.choices)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the level differs from the recommendation."),
    )


class DutyCompleteForm(forms.Form):
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,  # the service names what is missing
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What shows the duty is done: a minute, a report, a test result."),
    )


class DutyReopenForm(forms.Form):
    reason = forms.CharField(label=_("Reason for reopening"), required=False, max_length=500)


class PastElectionForm(forms.Form):
    held_on = JalaliDateField(label=_("Held on"))
    title = forms.CharField(label=_("Election"), max_length=200)
    was_annulled = forms.BooleanField(label=_("The election was annulled"), required=False)
    serious_incidents = forms.IntegerField(
        label=_("Serious incidents"), min_value=0, initial=0, widget=NUMBER_INPUT
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ClassifyForm(forms.Form):
    event = EventField()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _events_for(self, user)


class PolicyForm(forms.Form):
    """The classification policy's weights and thresholds, labelled as the model labels them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in POLICY_FIELDS:
            model_field = ClassificationPolicy._meta.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=str(getattr(model_field, "verbose_name", name)).capitalize(),
                help_text=str(getattr(model_field, "help_text", "") or ""),
                min_value=0,
                widget=NUMBER_INPUT,
            )


class DutyTemplateForm(forms.Form):
    level = forms.ChoiceField(label=_("Security level"), choices=SecurityLevel.choices)
    text = forms.CharField(label=_("Duty"), max_length=300)
    text_en = forms.CharField(label=_("English text"), max_length=300, required=False)


class DutyTemplateEditForm(forms.Form):
    text = forms.CharField(label=_("Duty"), max_length=300)
    text_en = forms.CharField(label=_("English text"), max_length=300, required=False)
    is_active = forms.BooleanField(
        label=_("In use"),
        required=False,
        help_text=_("Untick to retire the duty: counties stop seeing it; what they recorded stays."),
    )
