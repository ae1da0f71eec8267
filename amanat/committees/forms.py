"""Forms of the committee pages: they parse input only; the services decide what is allowed."""

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation, User
from amanat.accounts.selectors import organisation_list_for, user_list_for
from amanat.committees.models import (
    ActionStatus,
    Attendance,
    AttendanceStatus,
    Committee,
    CommitteeMember,
    Instruction,
    MemberRole,
)
from amanat.committees.selectors import instruction_list_for
from amanat.committees.services import ALLOWED_MOVES
from amanat.elections.models import ElectionEvent
from amanat.elections.selectors import election_event_list_for
from amanat.ui.forms import JalaliDateField

TIME_INPUT = forms.TimeInput(attrs={"type": "time", "dir": "ltr"}, format="%H:%M")
NUMBER_INPUT = forms.NumberInput(attrs={"dir": "ltr", "class": "short"})


def _set_queryset(form: forms.BaseForm, name: str, queryset: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class CadenceFields(forms.Form):
    """The cadence parameters (see CadenceParameters); the service checks that they make sense."""

    regular_interval_days = forms.IntegerField(label=_("Regular interval (days)"), widget=NUMBER_INPUT)
    weekly_from_days_before = forms.IntegerField(
        label=_("Weekly from (days before voting)"), widget=NUMBER_INPUT
    )
    daily_from_days_before = forms.IntegerField(
        label=_("Daily from (days before voting)"), widget=NUMBER_INPUT
    )
    daily_until_days_after = forms.IntegerField(
        label=_("Daily until (days after voting)"), widget=NUMBER_INPUT
    )
    meeting_time = forms.TimeField(label=_("Meeting time"), widget=TIME_INPUT)

    def cadence(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in CadenceFields.base_fields}


class InstructionForm(CadenceFields):
    event = forms.ModelChoiceField(label=_("Election event"), queryset=ElectionEvent.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    duties = forms.CharField(
        label=_("Duties"), widget=forms.Textarea(attrs={"rows": 8}), help_text=_("One duty per line.")
    )

    field_order = ["event", "title", "duties", *CadenceFields.base_fields]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        defaults = Instruction()  # the model's default cadence
        initial = {name: getattr(defaults, name) for name in CadenceFields.base_fields}
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        _set_queryset(self, "event", election_event_list_for(user=user))


class InstructionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.title} · {obj.event}"


class CommitteesBulkCreateForm(forms.Form):
    event = forms.ModelChoiceField(label=_("Election event"), queryset=ElectionEvent.objects.none())
    instruction = InstructionChoiceField(label=_("Instruction"), queryset=Instruction.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "event", election_event_list_for(user=user))
        _set_queryset(self, "instruction", instruction_list_for(user=user))


def _serving(committee: Committee) -> Q:
    """Organisations whose jurisdiction covers the committee's: national, its province's, its county's."""
    serving = Q(province__isnull=True)
    if committee.province_id is not None:
        serving |= Q(province_id=committee.province_id, county__isnull=True)
    if committee.county_id is not None:
        serving |= Q(county_id=committee.county_id)
    return serving


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else str(obj.username)


class MemberAddForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        error_messages={
            "invalid_choice": _("The organisation does not serve this committee's jurisdiction.")
        },
    )
    representative = PersonChoiceField(
        label=_("Representative"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("A user of the organisation who sits on the committee for it."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices, initial=MemberRole.MEMBER)

    def __init__(self, *args: Any, user: Any, committee: Committee, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisations = (
            organisation_list_for(user=user)
            .filter(_serving(committee))
            .select_related("province", "county")
            .order_by("province__name", "county__name", "name")
        )
        _set_queryset(self, "organisation", organisations)
        serving_ids = Organisation.objects.filter(_serving(committee), is_active=True).values("pk")
        _set_queryset(
            self,
            "representative",
            user_list_for(user=user).filter(organisation_id__in=serving_ids, is_active=True),
        )


class TermsForm(forms.Form):
    terms = forms.CharField(
        label=_("Terms of reference"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("One duty per line. Lines you add or remove show against the national instruction."),
    )


class CadenceForm(CadenceFields):
    first_meeting_on = JalaliDateField(label=_("First meeting"))

    field_order = ["first_meeting_on", *CadenceFields.base_fields]

    def params(self) -> dict[str, Any]:
        return {**self.cadence(), "first_meeting_on": self.cleaned_data["first_meeting_on"]}


class MeetingCreateForm(forms.Form):
    scheduled_on = JalaliDateField(label=_("Date"))
    starts_at = forms.TimeField(
        label=_("Time"),
        widget=TIME_INPUT,
        required=False,
        help_text=_("Default: the committee's meeting time."),
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    agenda = forms.CharField(label=_("Agenda"), widget=forms.Textarea(attrs={"rows": 4}), required=False)


class MeetingUpdateForm(forms.Form):
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    agenda = forms.CharField(
        label=_("Agenda"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_("One item per line. Open actions from earlier meetings are carried over on their own."),
    )


class MeetingCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)


class AttendanceForm(forms.Form):
    """One row per seat: attendance status and a note (e.g. who represented the organisation)."""

    def __init__(
        self,
        *args: Any,
        members: Sequence[CommitteeMember],
        recorded: Iterable[Attendance] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.members = list(members)
        known = {attendance.member_id: attendance for attendance in recorded}
        for member in self.members:
            previous = known.get(member.pk)
            self.fields[f"status_{member.pk}"] = forms.ChoiceField(
                label=str(member.organisation),
                choices=AttendanceStatus.choices,
                initial=previous.status if previous else AttendanceStatus.PRESENT,
            )
            self.fields[f"note_{member.pk}"] = forms.CharField(
                label=_("Represented by / note"),
                max_length=200,
                required=False,
                initial=previous.note if previous else "",
            )

    def rows(self) -> list[tuple[CommitteeMember, forms.BoundField, forms.BoundField]]:
        return [(m, self[f"status_{m.pk}"], self[f"note_{m.pk}"]) for m in self.members]

    def entries(self) -> list[tuple[CommitteeMember, str, str]]:
        data = self.cleaned_data
        return [(m, data[f"status_{m.pk}"], data[f"note_{m.pk}"]) for m in self.members]


class MinutesForm(forms.Form):
    text = forms.CharField(label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 12}))


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("Decision"), widget=forms.Textarea(attrs={"rows": 3}))
    responsible = forms.ModelChoiceField(
        label=_("Responsible organisation"), queryset=Organisation.objects.none()
    )
    due_on = JalaliDateField(label=_("Due"))
    title = forms.CharField(
        label=_("Short title of the action"),
        max_length=300,
        required=False,
        help_text=_("Default: the decision's text."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(
            self,
            "responsible",
            organisation_list_for(user=user).order_by("province_id", "county_id", "name"),
        )


class ActionUpdateForm(forms.Form):
    note = forms.CharField(label=_("Progress note"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    cancel_reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        required=False,
        help_text=_("Needed only when cancelling."),
    )

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        moves = ALLOWED_MOVES.get(ActionStatus(current), set())
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [
            ("", _("Keep: %(status)s") % {"status": ActionStatus(current).label}),
            *[(value, label) for value, label in ActionStatus.choices if value in moves],
        ]
