"""Forms of the feedback pages: the survey rules, a plan step, the report's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.feedback.models import SurveyPolicy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = SurveyPolicy
        fields = ["window_hours", "delay_minutes", "during_open_crisis", "low_score", "answer_hours"]

    def clean_low_score(self) -> int:
        value = self.cleaned_data["low_score"]
        if not 1 <= value <= 4:
            raise forms.ValidationError(_("Choose 1 to 4: a 5 is never a low score."))
        return value


class StepForm(forms.Form):
    title = forms.CharField(label=_("Step"), max_length=300)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    tell_customer = forms.BooleanField(label=_("Tell the customer when done"), required=False)


class ReportFilterForm(forms.Form):
    since = forms.DateTimeField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateTimeField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    queue: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Queue"), queryset=None, required=False)
    crisis: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Crisis"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        from channels_app.base import channels
        from helpdesk.crisis.models import Crisis
        from helpdesk.tickets.models import Queue

        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels"))] + [  # type: ignore[attr-defined]
            (spec.name, spec.label) for spec in channels().values()
        ]
        self.fields["queue"].queryset = Queue.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["crisis"].queryset = Crisis.objects.order_by("-created_at")  # type: ignore[attr-defined]
