"""Sign-in form with the attributes the browser and password managers expect."""

from __future__ import annotations

import math
from typing import cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from helpdesk.accounts import throttle
from helpdesk.accounts.models import CalendarChoice, DigitsChoice
from helpdesk.localformat import available_time_zones


class LoginForm(AuthenticationForm):
    retry_after = 0  # seconds, when sign-ins for this username or address are paused

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def clean(self):
        # The username as authenticate() will see it (normalized by the field).
        self.retry_after = throttle.retry_after(self.cleaned_data.get("username") or "", self.request)
        if self.retry_after:
            minutes = math.ceil(self.retry_after / 60)
            raise forms.ValidationError(
                ngettext(
                    "Too many failed sign-ins. Try again in %(minutes)d minute.",
                    "Too many failed sign-ins. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        return super().clean()


class DisplayPreferencesForm(forms.Form):
    """How an agent reads times and numbers: their time zone, digits and calendar."""

    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    digits = forms.ChoiceField(label=_("Digits"), choices=DigitsChoice.choices, required=False)
    calendar = forms.ChoiceField(label=_("Calendar"), choices=CalendarChoice.choices, required=False)

    def __init__(self, *args, site_time_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        site = _("The desk's time zone (%(zone)s)") % {"zone": site_time_zone}
        zones = [("", site), *((name, name) for name in available_time_zones())]
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = zones
