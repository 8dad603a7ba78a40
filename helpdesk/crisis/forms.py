"""Validation at the edge for the manager's crisis pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.crisis.models import BROADCAST_CHANNEL_CHOICES, DirectoryChannel, Placement
from helpdesk.crisis.services import MAX_CSV_BYTES

LANGUAGE_NAMES = (("en", _("English")), ("fa", _("Persian")), ("km", _("Khmer")), ("kn", _("Kannada")))


def _per_language(form: forms.Form, prefix: str, keys: list[str]) -> dict:
    """Collect fields named <key>_<lang> into {lang: {key: value}}."""
    out: dict = {}
    for lang, _name in LANGUAGE_NAMES:
        values = {k: form.cleaned_data.get(f"{k}_{lang}", "") for k in keys}
        if any(values.values()):
            out[lang] = values
    return out


def _dir_auto(form: forms.Form) -> None:
    """Typed text follows its own script's direction (Persian right-to-left) in any page language."""
    for field in form.fields.values():
        if isinstance(field, forms.CharField):
            field.widget.attrs.setdefault("dir", "auto")


class CrisisForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.IntegerField(label=_("Severity (1–5)"), min_value=1, max_value=5, initial=3)
    affected_segment = forms.CharField(label=_("Affected segment"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"summary_{lang}"] = forms.CharField(
                label=_("Summary (%(lang)s)") % {"lang": name},
                required=False,
                widget=forms.Textarea({"rows": 2}),
            )
            self.fields[f"what_to_do_{lang}"] = forms.CharField(
                label=_("What to do (%(lang)s)") % {"lang": name},
                required=False,
                widget=forms.Textarea({"rows": 2}),
            )
        _dir_auto(self)

    def texts(self) -> dict:
        return _per_language(self, "", ["summary", "what_to_do"])


class BannerForm(forms.Form):
    severity = forms.IntegerField(label=_("Severity (1–5)"), min_value=1, max_value=5, initial=3)
    placement = forms.ChoiceField(label=_("Placement"), choices=Placement.choices)
    starts_at = forms.DateTimeField(label=_("Starts at"), required=False)
    ends_at = forms.DateTimeField(label=_("Ends at"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"title_{lang}"] = forms.CharField(
                label=_("Banner title (%(lang)s)") % {"lang": name}, required=False, max_length=120
            )
            self.fields[f"message_{lang}"] = forms.CharField(
                label=_("Banner message (%(lang)s)") % {"lang": name}, required=False, max_length=400
            )
            self.fields[f"link_{lang}"] = forms.CharField(
                label=_("Link (%(lang)s)") % {"lang": name}, required=False, max_length=300
            )
        _dir_auto(self)

    def texts(self) -> dict:
        return _per_language(self, "", ["title", "message", "link"])


class DirectoryEntryForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=DirectoryChannel.choices)
    target = forms.CharField(label=_("Number or address"), max_length=254)
    hours = forms.CharField(label=_("Hours"), max_length=100, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"need_{lang}"] = forms.CharField(
                label=_("Need (%(lang)s)") % {"lang": name}, required=False, max_length=120
            )
        _dir_auto(self)

    def need(self) -> dict:
        return {lang: self.cleaned_data.get(f"need_{lang}", "") for lang, _n in LANGUAGE_NAMES}


class BroadcastForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    channel = forms.ChoiceField(
        label=_("Send by"),
        choices=BROADCAST_CHANNEL_CHOICES,
        initial="sms",
        required=False,  # a form posted without it (an older page, a script) means SMS
        help_text=_("Email goes to verified addresses, with a subject per language and an unsubscribe link."),
    )
    tags = forms.CharField(label=_("Customer tags (comma separated)"), required=False)
    languages = forms.MultipleChoiceField(
        label=_("Customer languages"),
        choices=LANGUAGE_NAMES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    queues = forms.CharField(label=_("Queue ids with tickets (comma separated)"), required=False)
    only_crisis = forms.BooleanField(label=_("Customers with tickets in this crisis"), required=False)
    has_open_tickets = forms.BooleanField(label=_("Customers with open tickets"), required=False)
    everyone = forms.BooleanField(label=_("Everyone reachable on this channel"), required=False)
    csv_file = forms.FileField(label=_("Or upload a CSV of phone numbers"), required=False)
    max_segments = forms.IntegerField(label=_("Max SMS segments"), min_value=1, max_value=10, initial=2)
    rate_per_second = forms.IntegerField(
        label=_("Messages per second (0 = no limit)"), min_value=0, initial=50
    )
    requires_approval = forms.BooleanField(label=_("Require a second manager's approval"), required=False)
    triage_flow: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Start this triage flow for customers who reply YES"),
        queryset=None,
        required=False,
    )
    scheduled_at = forms.DateTimeField(label=_("Send at (empty = now)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from triage.models import Flow

        self.fields["triage_flow"].queryset = Flow.objects.order_by("name")
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"subject_{lang}"] = forms.CharField(
                label=_("Email subject (%(lang)s)") % {"lang": name}, required=False, max_length=200
            )
            self.fields[f"body_{lang}"] = forms.CharField(
                label=_("Message (%(lang)s)") % {"lang": name},
                required=False,
                widget=forms.Textarea({"rows": 3}),
            )
        _dir_auto(self)

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload is not None and upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(
                _("A CSV of numbers is at most %(mb)d MB (about 200,000 numbers).")
                % {"mb": MAX_CSV_BYTES // (1024 * 1024)}
            )
        return upload

    def clean_channel(self) -> str:
        return self.cleaned_data.get("channel") or "sms"

    def clean_queues(self) -> list[int]:
        raw = [p.strip() for p in self.cleaned_data["queues"].split(",") if p.strip()]
        if not all(p.isdigit() for p in raw):
            raise forms.ValidationError(_("Queue ids are numbers separated by commas."))
        return [int(p) for p in raw]

    def bodies(self) -> dict:
        return {lang: self.cleaned_data.get(f"body_{lang}", "") for lang, _n in LANGUAGE_NAMES}

    def subjects(self) -> dict:
        return {lang: self.cleaned_data.get(f"subject_{lang}", "") for lang, _n in LANGUAGE_NAMES}

    def audience(self, crisis_id: int | None) -> dict:
        data = self.cleaned_data
        audience: dict = {}
        tags = [t.strip() for t in data["tags"].split(",") if t.strip()]
        if tags:
            audience["tags"] = tags
        if data["languages"]:
            audience["languages"] = list(data["languages"])
        if data["queues"]:
            audience["queues"] = data["queues"]
        if data["only_crisis"] and crisis_id:
            audience["crisis"] = crisis_id
        if data["has_open_tickets"]:
            audience["has_open_tickets"] = True
        if data["everyone"]:
            audience["all"] = True
        return audience
