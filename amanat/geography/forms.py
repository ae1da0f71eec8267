from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.geography.models import District, PollingStation
from amanat.geography.selectors import district_list_for

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class StationImportForm(forms.Form):
    file = forms.FileField(
        label=_("Stations CSV"),
        help_text=_(
            "UTF-8 CSV with columns code, name, county_code and optionally district_code, address, "
            "latitude, longitude."
        ),
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc


class StationForm(forms.ModelForm):
    district: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("District"), queryset=District.objects.none(), required=False
    )

    class Meta:
        model = PollingStation
        fields = ["name", "district", "address", "latitude", "longitude", "is_mobile"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = district_list_for(user=user, county_id=self.instance.county_id)  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        # Validation of the model happens in the service, which also writes the audit entry.
        pass
