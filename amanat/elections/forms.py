from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.elections.models import ContestKind
from amanat.geography.selectors import province_list_for
from amanat.ui.forms import JalaliDateField


class ElectionEventForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    voting_day = JalaliDateField(label=_("Voting day"))
    opens_on = JalaliDateField(
        label=_("Season opens"), required=False, help_text=_("Default: 120 days before.")
    )
    voting_ends_on = JalaliDateField(
        label=_("Voting ends"), required=False, help_text=_("Only if voting is extended past voting day.")
    )
    closes_on = JalaliDateField(
        label=_("Season closes"), required=False, help_text=_("Default: 30 days after.")
    )


class ContestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContestKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    provinces: forms.ModelMultipleChoiceField = forms.ModelMultipleChoiceField(
        label=_("Provinces"),
        queryset=None,
        required=False,
        help_text=_("Leave empty when every county takes part."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provinces_field = self.fields["provinces"]
        assert isinstance(provinces_field, forms.ModelMultipleChoiceField)
        provinces_field.queryset = province_list_for(user=user)
