from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import Organisation
from amanat.accounts.roles import Role
from amanat.accounts.selectors import organisation_list_for
from amanat.geography.selectors import county_get_for, county_list_for, province_get_for, province_list_for


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"), max_length=100, help_text=_("Where it will be used, e.g. a device.")
    )


class UserCreateForm(forms.Form):
    """A new user in the administrator's jurisdiction; jurisdiction choices stop at its borders."""

    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.none())
    jurisdiction = forms.ChoiceField(label=_("Jurisdiction"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        organisation_field = self.fields["organisation"]
        assert isinstance(organisation_field, forms.ModelChoiceField)
        organisation_field.queryset = organisation_list_for(user=user)
        jurisdiction_field = self.fields["jurisdiction"]
        assert isinstance(jurisdiction_field, forms.ChoiceField)
        jurisdiction_field.choices = _jurisdiction_choices(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        where = data.get("jurisdiction", "")
        data["province"], data["county"] = None, None
        if where.startswith("c:"):
            data["county"] = county_get_for(user=self.user, county_id=where[2:])
        elif where.startswith("p:"):
            data["province"] = province_get_for(user=self.user, province_id=where[2:])
        return data


def _jurisdiction_choices(user: Any) -> list[Any]:
    """National (for national administrators), then each province with its counties, within reach."""
    choices: list[Any] = []
    if user.jurisdiction.province_id is None:
        choices.append(("n", _("National")))
    counties_by_province: dict[int, list[tuple[str, str]]] = {}
    for county in county_list_for(user=user):
        counties_by_province.setdefault(county.province_id, []).append((f"c:{county.pk}", county.name))
    for province in province_list_for(user=user):
        options = (
            []
            if user.jurisdiction.county_id
            else [(f"p:{province.pk}", _("%s (whole province)") % province.name)]
        )
        choices.append((province.name, options + counties_by_province.get(province.pk, [])))
    return choices
