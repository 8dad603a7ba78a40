"""The public contact form: validated here, at the edge, before anything is recorded."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def language_choices() -> list[tuple[str, Any]]:
    return [(code, name) for code, name in settings.LANGUAGES]


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        help_text=_("With the country code, e.g. +98 912 345 6789, if you would like a text or a call."),
    )
    language = forms.ChoiceField(label=_("Language for our answer"), choices=language_choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(label=_("How can we help?"), max_length=5000, widget=forms.Textarea)
    # Generated when the page is rendered: a second submit of the same page carries the same
    # token, which becomes the event's provider id, so the message is recorded once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            active = (get_language() or "en").split("-")[0]
            codes = {code for code, _name in settings.LANGUAGES}
            self.initial.setdefault("language", active if active in codes else "en")
            self.initial.setdefault("token", uuid.uuid4().hex)
        for name in ("name", "subject", "message"):
            self.fields[name].widget.attrs["dir"] = "auto"
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "dir": "ltr"})
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel", "dir": "ltr", "inputmode": "tel"})
        self.fields["name"].widget.attrs["autocomplete"] = "name"

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip().lower()
        if not TOKEN_RE.match(token):
            raise forms.ValidationError(_("This form has expired; please reload the page."))
        return token

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        try:
            return normalize_phone(raw)
        except ApplicationError as exc:
            raise forms.ValidationError(
                _("Enter a phone number with its country code, e.g. +98 912 345 6789.")
            ) from exc

    def clean_message(self) -> str:
        message = self.cleaned_data["message"].strip()
        if not message:
            raise forms.ValidationError(_("Please tell us what happened."))
        return message
