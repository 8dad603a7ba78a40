"""Forms of the agent workspace: validation at the edge, the services do the work."""

from __future__ import annotations

from typing import cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from channels_app.base import channel_spec, reply_channels
from helpdesk.tickets.models import Channel, Priority, Queue, TicketStatus
from helpdesk.tickets.selectors import SEARCH_KINDS, SEARCH_MAX_CHARS, SORTS, QueueFilters, SearchFilters

STATUS_FILTER_CHOICES = [("", _("Open (new, open, pending)")), ("all", _("All")), *TicketStatus.choices]


def reply_channel_choices() -> list[tuple[str, str]]:
    """The channels an agent can reply on here (registered, with a gateway configured)."""
    return [(name, str(channel_spec(name).label)) for name in reply_channels()]  # type: ignore[union-attr]


SORT_LABELS = {
    "priority": _("Priority, then SLA due"),
    "newest": _("Newest activity"),
    "oldest": _("Oldest first"),
}


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTER_CHOICES, required=False)
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.order_by("name"), required=False, empty_label=_("All queues")
    )
    assignee = forms.CharField(label=_("Assignee"), required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=[("", _("Any priority")), *Priority.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=[("", _("Any language"))], required=False)
    crisis = forms.IntegerField(label=_("Crisis"), required=False, min_value=1)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)
    sla = forms.ChoiceField(
        label=_("SLA"),
        choices=[("", _("Any")), ("soon", _("Due within the hour or missed")), ("breached", _("Missed"))],
        required=False,
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=[(k, SORT_LABELS[k]) for k in SORTS], required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        language = cast(forms.ChoiceField, self.fields["language"])
        language.choices = [("", _("Any language")), *[(c, c) for c, _n in settings.LANGUAGES]]

    def clean_assignee(self) -> str:
        value = self.cleaned_data.get("assignee") or ""
        if value in ("", "me", "unassigned") or value.isdigit():
            return value
        raise forms.ValidationError(_("Choose me, unassigned or an agent."))

    def to_filters(self) -> QueueFilters:
        data = self.cleaned_data if self.is_valid() else {}
        queue = data.get("queue")
        return QueueFilters(
            status=data.get("status") or "",
            queue=queue.pk if queue else None,
            assignee=data.get("assignee") or "",
            priority=data.get("priority") or None,
            channel=data.get("channel") or "",
            language=data.get("language") or "",
            crisis=data.get("crisis") or None,
            tag=data.get("tag") or "",
            sla=data.get("sla") or "",
        )


SEARCH_KIND_LABELS = {
    "messages": _("Messages and notes"),
    "tickets": _("Tickets"),
    "customers": _("Customers"),
}
SEARCH_SORT_LABELS = {"relevance": _("Best match"), "newest": _("Newest first"), "oldest": _("Oldest first")}


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=SEARCH_MAX_CHARS)
    kind = forms.ChoiceField(choices=[(k, SEARCH_KIND_LABELS[k]) for k in SEARCH_KINDS], required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *TicketStatus.choices], required=False
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.order_by("name"), required=False, empty_label=_("All queues")
    )
    crisis = forms.IntegerField(label=_("Crisis"), required=False, min_value=1, max_value=2**63 - 1)
    since = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=list(SEARCH_SORT_LABELS.items()), required=False)

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            from helpdesk.tickets.selectors import visible_queues

            cast(forms.ModelChoiceField, self.fields["queue"]).queryset = visible_queues(user).order_by(
                "name"
            )

    def to_filters(self) -> SearchFilters:
        data = self.cleaned_data if self.is_valid() else {}
        queue = data.get("queue")
        return SearchFilters(
            channel=data.get("channel") or "",
            status=data.get("status") or "",
            queue=queue.pk if queue else None,
            crisis=data.get("crisis") or None,
            since=data.get("since"),
            until=data.get("until"),
        )


class ReplyForm(forms.Form):
    channel = forms.ChoiceField(label=_("Send by"), choices=())
    # The newest reply on the page when the agent opened it: a colleague's reply after it is
    # shown before this one goes out (tickets.views.ticket_reply).
    seen_reply = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}), max_length=10_000
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = reply_channel_choices()  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}), max_length=10_000
    )


class TicketUpdateForm(forms.Form):
    """One or more of the header's fields, with the version the page showed. The page posts each
    field on its own as it changes; only the fields present in the post are written."""

    FIELDS = ("status", "priority", "assignee", "queue", "tags")

    version = forms.IntegerField(min_value=1)
    status = forms.ChoiceField(label=_("Status"), choices=TicketStatus.choices, required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, required=False, empty_value=None
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Unassigned"),
    )
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.order_by("name"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500, help_text=_("Comma separated"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        assignee = cast(forms.ModelChoiceField, self.fields["assignee"])
        assignee.queryset = get_user_model().objects.filter(is_staff=True, is_active=True)

    def changes(self) -> dict:
        """The fields the post carried, as update_ticket's keyword arguments."""
        sent = [name for name in self.FIELDS if name in self.data]
        values = {name: self.cleaned_data.get(name) for name in sent}
        if "tags" in values:
            values["tags"] = self.tag_names()
        if values.get("status") == "":
            values.pop("status")
        if "priority" in values and values["priority"] is None:
            values.pop("priority")
        if "queue" in values and values["queue"] is None:
            values.pop("queue")
        return values

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class AuditExportForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The end comes before the start."))
        return data
