"""Forms of the reports and staffing pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _channel_choices(blank: str) -> list[tuple[str, str]]:
    from channels_app.base import channels

    return [("", blank)] + [(spec.name, str(spec.label)) for spec in channels().values()]


class ReportFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    queue: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Queue"), queryset=None, required=False)
    crisis: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Crisis"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        from helpdesk.crisis.models import Crisis
        from helpdesk.tickets.models import Queue

        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = _channel_choices(str(_("All channels")))  # type: ignore[attr-defined]
        self.fields["queue"].queryset = Queue.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["crisis"].queryset = Crisis.objects.order_by("-created_at")  # type: ignore[attr-defined]

    def clean(self):
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise forms.ValidationError(_("The end comes before the start."))
        if data.get("since") and data.get("until") and (data["until"] - data["since"]).days > 400:
            raise forms.ValidationError(_("At most 400 days at once."))
        return data

    def period(self) -> tuple[datetime, datetime]:
        """The chosen days, as aware datetimes [since, until) in the desk's zone; the last week by default."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        until_day = data.get("until") or today
        since_day = data.get("since") or until_day - timedelta(days=6)
        zone = timezone.get_current_timezone()
        since = timezone.make_aware(datetime.combine(since_day, time()), zone)
        until = timezone.make_aware(datetime.combine(until_day + timedelta(days=1), time()), zone)
        return since, until


class PlanForm(forms.Form):
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    broadcast_recipients = forms.IntegerField(
        label=_("Planned broadcast: recipients"), required=False, min_value=0, max_value=10_000_000
    )
    broadcast_at = forms.TimeField(
        label=_("sent at (UTC)"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    broadcast_language = forms.CharField(label=_("language"), required=False, max_length=8)


class VolumeImportForm(forms.Form):
    file = forms.FileField(label=_("CSV of past volumes (start, channel, language, contacts)"))
