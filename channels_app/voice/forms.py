"""The IVR editor's form: one crisis's (or ordinary days') IVR, with a message per language."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from channels_app.voice.models import IvrConfig


class IvrForm(forms.ModelForm):
    class Meta:
        model = IvrConfig
        fields = [
            "offer_sms",
            "offer_agent",
            "offer_voicemail",
            "offer_triage",
            "surge_wait_seconds",
            "handle_seconds",
            "agents_on_phones",
            "opens_at",
            "closes_at",
            "time_zone",
        ]
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}),
            "closes_at": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = self.instance
        self.language_choices = [(code, str(name)) for code, name in settings.LANGUAGES]
        for code, name in self.language_choices:
            self.fields[f"message_{code}"] = forms.CharField(
                label=_("Message (%(language)s)") % {"language": name},
                required=False,
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
                initial=config.messages.get(code, ""),
                help_text=_("Said when no recording exists; empty: the crisis's summary and what to do."),
            )
            self.fields[f"sms_{code}"] = forms.CharField(
                label=_("Steps by SMS (%(language)s)") % {"language": name},
                required=False,
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
                initial=config.sms_steps.get(code, ""),
            )
            self.fields[f"recording_{code}"] = forms.FileField(
                label=_("Recording (%(language)s), MP3 or WAV") % {"language": name},
                required=False,
            )

    def clean(self):
        from helpdesk.tickets.media import recording_problem

        data = super().clean()
        for code, _name in settings.LANGUAGES:
            upload = data.get(f"recording_{code}")
            if upload is not None and (problem := recording_problem(upload)):
                self.add_error(f"recording_{code}", problem)
        if (data.get("opens_at") is None) != (data.get("closes_at") is None):
            self.add_error("closes_at", _("Give both the opening and the closing time, or neither."))
        return data
