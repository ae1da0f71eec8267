"""Forms of the readiness pages: they parse input only.

The services decide what is allowed and what makes sense (an item's code, a due date by voting day,
a station within the uploader's reach); their refusals are shown on these forms' fields.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_list_for
from amanat.readiness.models import ItemStatus
from amanat.ui.forms import JalaliDateField

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Where a station's status form was sent from, to return there.
BACK_COUNTY, BACK_STATION = "county", "station"


class EventField(forms.ModelChoiceField):
    """The election event a form acts on, sent as a hidden field from the page it was shown on."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Election event"))
        kwargs.setdefault("queryset", ElectionEvent.objects.none())
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("error_messages", {"required": _("Choose an election event.")})
        super().__init__(**kwargs)


class _EventForm(forms.Form):
    """A form carrying the event it acts on, chosen among the events the user can see."""

    event = EventField()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = election_event_list_for(user=user)


class ReadinessUploadForm(_EventForm):
    """A readiness CSV for one event; `clean_file` gives its text (UTF-8, with or without a BOM)."""

    event = EventField(widget=forms.Select)
    file = forms.FileField(
        label=_("Readiness CSV"),
        help_text=_(
            "UTF-8 CSV of at most 5 MB with the columns station_code, item_code, status and "
            "optionally evidence."
        ),
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
            ) from exc


class StationReadinessForm(forms.Form):
    """One station's state on one checklist item; done means verified by the sender, now."""

    status = forms.ChoiceField(label=_("Status"), choices=ItemStatus.choices)
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=500,
        help_text=_("What shows it: a test report number, a delivery note, a photo's reference."),
    )
    back = forms.ChoiceField(
        choices=[(BACK_COUNTY, BACK_COUNTY), (BACK_STATION, BACK_STATION)],
        required=False,
        widget=forms.HiddenInput,
    )


class ReadinessItemCreateForm(_EventForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
        help_text=_("Latin letters, digits and hyphens, e.g. line-installed; used in the CSV files."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200, required=False)
    due_on = JalaliDateField(label=_("Due"))


class ReadinessItemsDefaultForm(_EventForm):
    due_on = JalaliDateField(label=_("Due"))


class ReadinessItemEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200, required=False)
    due_on = JalaliDateField(label=_("Due"))
    is_active = forms.BooleanField(
        label=_("In use"),
        required=False,
        help_text=_("Untick to retire the item: it leaves the checklist, what stations recorded stays."),
    )


class RecountForm(_EventForm):
    pass
