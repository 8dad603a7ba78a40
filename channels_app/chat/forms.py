"""The managers' form for a chat widget: its sites, look, greeting per language and business hours."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from channels_app.chat.models import ChatWidget, validate_hours

WEEKDAYS = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))


def _languages():
    return list(settings.LANGUAGES)


class WidgetForm(forms.ModelForm):
    """The model's fields, a greeting field per desk language and opens/closes per weekday (both
    empty: closed that day; no day open: always open)."""

    class Meta:
        model = ChatWidget
        fields = [
            "name",
            "allowed_origins",
            "colour",
            "position",
            "queue",
            "reply_minutes",
            "time_zone",
            "is_active",
        ]
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "allowed_origins": forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
            "time_zone": forms.TextInput(attrs={"dir": "ltr", "placeholder": "Asia/Tehran"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        greeting = self.instance.greeting or {}
        for code, name in _languages():
            self.fields[f"greeting_{code}"] = forms.CharField(
                label=_("Greeting (%(language)s)") % {"language": name}, required=False, max_length=300,
                initial=greeting.get(code, ""), widget=forms.TextInput(attrs={"dir": "auto"}),
            )  # fmt: skip
        hours = {day: (opens, closes) for day, opens, closes in self.instance.hours or []}
        for day, label in enumerate(WEEKDAYS):
            opens, closes = hours.get(day, ("", ""))
            for part, value in (("opens", opens), ("closes", closes)):
                self.fields[f"{part}_{day}"] = forms.CharField(
                    label=f"{label}: {_('opens') if part == 'opens' else _('closes')}", required=False,
                    initial=value, widget=forms.TimeInput(attrs={"type": "time"}),
                )  # fmt: skip

    def greeting_fields(self):
        return [self[name] for name in self.fields if name.startswith("greeting_")]

    def hour_rows(self):
        return [(label, self[f"opens_{day}"], self[f"closes_{day}"]) for day, label in enumerate(WEEKDAYS)]

    def model_fields(self):
        return [self[name] for name in self.Meta.fields]

    def clean(self):
        data = super().clean()
        hours = []
        for day in range(7):
            opens, closes = (
                (data.get(f"opens_{day}") or "").strip(),
                (data.get(f"closes_{day}") or "").strip(),
            )
            if opens or closes:
                closes = closes[:5] or "24:00"
                hours.append([day, opens[:5] or "00:00", "24:00" if closes == "00:00" else closes])
        try:
            validate_hours(hours)
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        self.instance.hours = hours
        self.instance.greeting = {
            code: data[f"greeting_{code}"].strip()
            for code, _name in _languages()
            if data.get(f"greeting_{code}", "").strip()
        }
        return data
