"""Forms for the ticket panel and the flow editor: they turn what a manager types into definition JSON."""

from __future__ import annotations

import json
import re

from django import forms
from django.conf import settings
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from triage import engine
from triage.models import Flow, RunMode

# The desk's languages (settings.LANGUAGES owns them), English first: flows are written in it.
LANGUAGES = tuple(settings.LANGUAGES)
KIND_CHOICES = (
    ("single", _("Single choice")),
    ("multi", _("Multiple choice")),
    ("number", _("Number")),
    ("yesno", _("Yes / no")),
    ("text", _("Free text")),
)


class StartRunForm(forms.Form):
    flow: forms.ModelChoiceField = forms.ModelChoiceField(queryset=Flow.objects.none(), label=_("Flow"))
    mode = forms.ChoiceField(choices=RunMode.choices, label=_("How"))

    def __init__(self, *args, flows=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flow"].queryset = flows  # type: ignore[attr-defined]
        self.fields["flow"].empty_label = None  # a flow is always chosen: the seeded one comes first
        preferred = flows.filter(slug="stop-the-bleeding").first() or flows.first()
        if preferred is not None:
            self.initial.setdefault("flow", preferred.pk)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), max_length=1000)


class FlowCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SegmentForm(forms.Form):
    tag = forms.CharField(label=_("Customer tag"), required=False, max_length=64)
    language = forms.ChoiceField(label=_("Language"), required=False, choices=(("", "—"), *LANGUAGES))


class StepForm(forms.Form):
    """One question. Choices are typed one per line as 'Label = weight'; translations line by line."""

    key = forms.SlugField(
        label=_("Key"),
        required=False,
        max_length=40,
        help_text=_("Left empty, it is made from the question."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES)
    text_en = forms.CharField(label=_("Question (English)"), max_length=500)
    text_fa = forms.CharField(label=_("Question (Persian)"), max_length=500, required=False)
    text_km = forms.CharField(label=_("Question (Khmer)"), max_length=500, required=False)
    text_kn = forms.CharField(label=_("Question (Kannada)"), max_length=500, required=False)
    choices_en = forms.CharField(
        label=_("Choices (English), one per line: Label = weight"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    choices_fa = forms.CharField(
        label=_("Choices (Persian), same order"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    choices_km = forms.CharField(
        label=_("Choices (Khmer), same order"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    choices_kn = forms.CharField(
        label=_("Choices (Kannada), same order"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    branches = forms.CharField(
        label=_("Branches, one per line: answer -> step key"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next = forms.CharField(label=_("Then go to (step key, or 'end')"), required=False, max_length=40)
    yes_weight = forms.IntegerField(label=_("Weight of 'yes'"), required=False)
    min = forms.IntegerField(label=_("Smallest number"), required=False)
    max = forms.IntegerField(label=_("Largest number"), required=False)
    bands = forms.CharField(
        label=_("Number weights, one per line: from-to = weight"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    focus = forms.BooleanField(label=_("This answer is what to solve first"), required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("key"):
            data["key"] = (slugify(data["text_en"]).replace("-", "_")[:30] or "step").strip("_") or "step"
        if data["kind"] in ("single", "multi"):
            choices = _parse_choices(data.get("choices_en", ""))
            if len(choices) < 2:
                raise forms.ValidationError(_("A choice question needs at least two choices."))
            data["parsed_choices"] = choices
        return data

    def to_step(self) -> dict:
        data = self.cleaned_data
        step: dict = {
            "key": data["key"],
            "kind": data["kind"],
            "text": {code: data[f"text_{code}"] for code, _label in LANGUAGES if data.get(f"text_{code}")},
        }
        if data["kind"] in ("single", "multi"):
            choices = data["parsed_choices"]
            for code, _label in LANGUAGES[1:]:
                labels = [
                    line.split("=")[0].strip() for line in (data.get(f"choices_{code}") or "").splitlines()
                ]
                labels = [label for label in labels if label]
                for choice, label in zip(choices, labels, strict=False):
                    choice["label"][code] = label
            step["choices"] = choices
        if data.get("branches") and data["kind"] in ("single", "multi", "yesno"):
            step["branches"] = _parse_branches(data["branches"], step.get("choices") or [], data["kind"])
        if data.get("next"):
            step["next"] = data["next"].strip()
        if data["kind"] == "yesno" and data.get("yes_weight") is not None:
            step["yes_weight"] = data["yes_weight"]
        if data["kind"] == "number":
            for bound in ("min", "max"):
                if data.get(bound) is not None:
                    step[bound] = data[bound]
            if data.get("bands"):
                step["bands"] = _parse_bands(data["bands"])
        if data.get("focus"):
            step["focus"] = True
        return step

    @classmethod
    def initial_for(cls, step: dict) -> dict:
        """Turn a stored step back into what the manager typed."""
        initial = {
            "key": step.get("key"),
            "kind": step.get("kind"),
            "next": step.get("next", ""),
            "yes_weight": step.get("yes_weight"),
            "min": step.get("min"),
            "max": step.get("max"),
            "focus": bool(step.get("focus")),
        }
        for code, _label in LANGUAGES:
            initial[f"text_{code}"] = (step.get("text") or {}).get(code, "")
            lines = []
            for choice in step.get("choices") or []:
                label = (choice.get("label") or {}).get(code, "")
                lines.append(f"{label} = {choice.get('weight', 0)}" if code == "en" else label)
            initial[f"choices_{code}"] = "\n".join(lines)
        labels = {
            c.get("value"): (c.get("label") or {}).get("en", c.get("value"))
            for c in step.get("choices") or []
        }
        initial["branches"] = "\n".join(
            f"{', '.join(str(labels.get(v, v)) for v in b.get('when', {}).get('in', []))} -> {b.get('next')}"
            for b in step.get("branches") or []
        )
        initial["bands"] = "\n".join(
            f"{b.get('min', '')}-{b.get('max', '')} = {b.get('weight', 0)}" for b in step.get("bands") or []
        )
        return initial


class AdvancedForm(forms.Form):
    """Flow-wide settings: retries, severity bands and the routing rules, as JSON."""

    max_retries = forms.IntegerField(
        label=_("Retries before a question is skipped"), min_value=0, max_value=5
    )
    settings_json = forms.CharField(
        label=_("Severity bands, rules and texts (JSON)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
    )

    def clean_settings_json(self):
        raw = self.cleaned_data.get("settings_json") or "{}"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Expected a JSON object."))
        return {k: v for k, v in value.items() if k in ("severity_bands", "rules", "texts", "languages")}


# A flow is a few KB of questions and rules; anything this big is not one.
MAX_FLOW_FILE_BYTES = 256 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Flow JSON file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FLOW_FILE_BYTES:
            raise forms.ValidationError(
                _("A flow file is at most %(kb)d KB.") % {"kb": MAX_FLOW_FILE_BYTES // 1024}
            )
        return upload


def _parse_choices(text: str) -> list[dict]:
    choices: list[dict] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        label, _sep, weight = line.partition("=")
        label = label.strip()
        value = slugify(label).replace("-", "_")[:30] or f"c{len(choices) + 1}"
        while value in seen:
            value = f"{value}_{len(choices) + 1}"
        seen.add(value)
        try:
            weight_value = int(weight.strip()) if weight.strip() else 0
        except ValueError:
            weight_value = 0
        choices.append({"value": value, "label": {"en": label}, "weight": weight_value})
    return choices


def _parse_branches(text: str, choices: list[dict], kind: str) -> list[dict]:
    # The manager names answers as the customer would ("Door", "2", "yes"); the engine reads them.
    reader = {"kind": "yesno"} if kind == "yesno" else {"kind": "single", "choices": choices}
    branches = []
    for line in text.splitlines():
        if "->" not in line:
            continue
        left, right = (part.strip() for part in line.split("->", 1))
        values = []
        for token in re.split(r"\s*,\s*", left):
            ok, value = engine.parse_answer(reader, token)
            if ok:
                values.append(value)
        if values and right:
            branches.append({"when": {"in": values}, "next": right})
    return branches


def _parse_bands(text: str) -> list[dict]:
    bands = []
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(\d*)\s*-\s*(\d*)\s*=\s*(-?\d+)\s*", line)
        if match:
            band: dict = {"weight": int(match.group(3))}
            if match.group(1):
                band["min"] = int(match.group(1))
            if match.group(2):
                band["max"] = int(match.group(2))
            bands.append(band)
    return bands
