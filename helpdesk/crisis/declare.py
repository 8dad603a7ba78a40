"""Declare a crisis in one guided action: the statement, the affected segment, the directory, the
channels to switch, and an optional first broadcast — previewed on every channel before it goes
live, then done in one transaction.

`preview` builds, without writing anything, what each channel will say: the crisis page, the
banner on customers' sites, the chat widget's notice, the SMS HELP answer, the IVR message and
the surge auto-acknowledgement, plus the broadcast's audience and drain time. `declare` then
creates, activates and publishes (the statement drives every channel through the public
snapshot), writes the crisis's directory, switches surge mode where asked and starts the
broadcast, all audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk import languages as desk_languages
from helpdesk.crisis import acks, public, services, statements, surge
from helpdesk.crisis.forms import LANGUAGE_NAMES, _dir_auto
from helpdesk.crisis.models import (
    BROADCAST_CHANNEL_CHOICES,
    STATEMENT_FIELDS,
    Broadcast,
    Crisis,
    DirectoryChannel,
    Statement,
    StatementStatus,
)
from helpdesk.errors import ApplicationError
from helpdesk.messaging.segments import count_segments

DIRECTORY_ROWS = 3
FIELD_LABELS = {
    "title": _("Title"),
    "summary": _("What happened"),
    "what_to_do": _("What to do"),
    "unknowns": _("What we don't know yet"),
}


class StatementFields:
    """Fields named <key>_<lang> for the four statement texts in every language."""

    def add_statement_fields(self, form: forms.Form) -> None:
        for lang, name in LANGUAGE_NAMES:
            for key in STATEMENT_FIELDS:
                form.fields[f"{key}_{lang}"] = forms.CharField(
                    label=f"{FIELD_LABELS[key]} ({name})",
                    required=False,
                    max_length=statements.MAX_FIELD_CHARS[key],
                    widget=forms.TextInput() if key == "title" else forms.Textarea({"rows": 2}),
                )

    def statement_texts(self, form: forms.Form) -> dict:
        out: dict = {}
        for lang, _name in LANGUAGE_NAMES:
            values = {k: form.cleaned_data.get(f"{k}_{lang}", "").strip() for k in STATEMENT_FIELDS}
            values = {k: v for k, v in values.items() if v}
            if values:
                out[lang] = values
        return out


class StatementForm(forms.Form, StatementFields):
    """A new version of a crisis's statement (the manage page), with a recorded reading per
    language for the phone line. A recording belongs to its version's words: a new version
    without one is said by the IVR's voice, never played from an older version's recording."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_statement_fields(self)
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"recording_{lang}"] = forms.FileField(
                label=_("Recording of this version (%(lang)s), MP3 or WAV") % {"lang": name}, required=False
            )
        _dir_auto(self)

    def clean(self):
        from helpdesk.tickets.media import recording_problem

        data = super().clean()
        for lang, _name in LANGUAGE_NAMES:
            upload = data.get(f"recording_{lang}")
            if upload is not None and (problem := recording_problem(upload)):
                self.add_error(f"recording_{lang}", problem)
        return data

    def texts(self) -> dict:
        return self.statement_texts(self)

    def recordings(self) -> dict[str, str]:
        """Store the uploaded recordings; language → the path the IVR plays (the voice adapter's
        public recording URL, which Twilio fetches)."""
        import secrets

        from django.core.files.storage import default_storage
        from django.urls import reverse

        out = {}
        for lang, _name in LANGUAGE_NAMES:
            upload = self.cleaned_data.get(f"recording_{lang}")
            if upload is None:
                continue
            extension = "wav" if upload.read(4) == b"RIFF" else "mp3"
            upload.seek(0)
            name = default_storage.save(f"ivr/{lang}-{secrets.token_urlsafe(12)[:16]}.{extension}", upload)
            out[lang] = reverse("voice:recording", args=[name.rsplit("/", 1)[1]])
        return out


class ClosingForm(forms.Form, StatementFields):
    """Resolve a crisis: the final statement, and the closing message to everyone it touched."""

    preview: dict = {}  # closing.closing_preview's counts, shown above the form

    send = forms.BooleanField(
        label=_("Send the closing message to everyone who contacted us or was broadcast to"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_statement_fields(self)
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"closing_{lang}"] = forms.CharField(
                label=_("Closing message (%(lang)s)") % {"lang": name},
                required=False,
                max_length=services.MAX_BODY_CHARS,
                widget=forms.Textarea({"rows": 2}),
            )
            self.fields[f"subject_{lang}"] = forms.CharField(
                label=_("Email subject (%(lang)s)") % {"lang": name}, required=False, max_length=200
            )
        _dir_auto(self)

    def texts(self) -> dict:
        return self.statement_texts(self)

    def per_language(self, prefix: str) -> dict:
        return {
            lang: self.cleaned_data[f"{prefix}_{lang}"].strip()
            for lang, _n in LANGUAGE_NAMES
            if self.cleaned_data.get(f"{prefix}_{lang}", "").strip()
        }


class DeclareForm(forms.Form, StatementFields):
    title = forms.CharField(label=_("Crisis name (for agents)"), max_length=200)
    severity = forms.IntegerField(label=_("Severity (1–5)"), min_value=1, max_value=5, initial=4)
    is_emergency = forms.BooleanField(label=_("Emergency: ignore customers' quiet hours"), required=False)
    statements_need_approval = forms.BooleanField(
        label=_("Each statement version needs a second manager's approval"), required=False
    )
    # The affected segment: who the crisis is about (and who the first broadcast goes to).
    tags = forms.CharField(label=_("Customer tags (comma separated)"), required=False)
    regions = forms.CharField(label=_("Regions: customer tags of places (comma separated)"), required=False)
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=LANGUAGE_NAMES, required=False, widget=forms.CheckboxSelectMultiple
    )
    queues = forms.CharField(label=_("Queue ids with tickets (comma separated)"), required=False)
    csv_file = forms.FileField(label=_("Or a CSV of phone numbers"), required=False)
    # Channels to switch now.
    publish_banner = forms.BooleanField(
        label=_("Show the banner on our websites"), required=False, initial=True
    )
    surge_now = forms.BooleanField(
        label=_("Switch surge mode on now (IVR deflection, auto-acknowledgements)"), required=False
    )
    # The first broadcast (optional).
    broadcast = forms.BooleanField(label=_("Send a first broadcast to the segment"), required=False)
    broadcast_channel = forms.ChoiceField(
        label=_("Broadcast by"), choices=BROADCAST_CHANNEL_CHOICES, initial="sms"
    )
    rate_per_second = forms.IntegerField(
        label=_("Messages per second (0 = the account's rate)"), min_value=0, max_value=1000, initial=0
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_statement_fields(self)
        for i in range(DIRECTORY_ROWS):
            for lang, name in LANGUAGE_NAMES[:2]:
                self.fields[f"dir{i}_need_{lang}"] = forms.CharField(
                    label=_("Need (%(lang)s)") % {"lang": name}, required=False, max_length=200
                )
            self.fields[f"dir{i}_channel"] = forms.ChoiceField(
                label=_("Channel"), choices=DirectoryChannel.choices, required=False
            )
            self.fields[f"dir{i}_target"] = forms.CharField(
                label=_("Number or address"), required=False, max_length=254
            )
            self.fields[f"dir{i}_hours"] = forms.CharField(
                label=_("Hours (e.g. 08:00-20:00)"), required=False, max_length=100
            )
        for lang, name in LANGUAGE_NAMES:
            self.fields[f"body_{lang}"] = forms.CharField(
                label=_("Broadcast text (%(lang)s)") % {"lang": name},
                required=False,
                widget=forms.Textarea({"rows": 2}),
            )
        _dir_auto(self)

    def groups(self) -> dict:
        """The bound fields by step, for the template."""

        def pick(names):
            return [self[name] for name in names]

        return {
            "crisis_fields": pick(["title", "severity", "is_emergency", "statements_need_approval"]),
            "statement_fields": [
                (lang, name, pick([f"{key}_{lang}" for key in STATEMENT_FIELDS]))
                for lang, name in LANGUAGE_NAMES
            ],
            "segment_fields": pick(["tags", "regions", "languages", "queues", "csv_file"]),
            "directory_rows": [
                pick(
                    [
                        f"dir{i}_need_en",
                        f"dir{i}_need_fa",
                        f"dir{i}_channel",
                        f"dir{i}_target",
                        f"dir{i}_hours",
                    ]
                )
                for i in range(DIRECTORY_ROWS)
            ],
            "channel_fields": pick(
                ["publish_banner", "surge_now", "broadcast", "broadcast_channel", "rate_per_second"]
                + [f"body_{lang}" for lang, _n in LANGUAGE_NAMES]
            ),
        }

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload and upload.size > services.MAX_CSV_BYTES:
            raise forms.ValidationError(_("The CSV is larger than 4 MB."))
        return upload

    def texts(self) -> dict:
        return self.statement_texts(self)

    def directory(self) -> list[dict]:
        rows = []
        for i in range(DIRECTORY_ROWS):
            need = {
                lang: self.cleaned_data.get(f"dir{i}_need_{lang}", "").strip()
                for lang, _n in LANGUAGE_NAMES[:2]
                if self.cleaned_data.get(f"dir{i}_need_{lang}", "").strip()
            }
            target = self.cleaned_data.get(f"dir{i}_target", "").strip()
            if need or target:
                rows.append(
                    {
                        "need": need,
                        "channel": self.cleaned_data.get(f"dir{i}_channel") or "call",
                        "target": target,
                        "hours": self.cleaned_data.get(f"dir{i}_hours", "").strip(),
                    }
                )
        return rows

    def audience(self) -> dict:
        def split(name: str) -> list[str]:
            return [t.strip() for t in self.cleaned_data.get(name, "").split(",") if t.strip()]

        audience: dict = {}
        tags = split("tags") + split("regions")
        if tags:
            audience["tags"] = tags
        if self.cleaned_data.get("languages"):
            audience["languages"] = list(self.cleaned_data["languages"])
        queues = split("queues")
        if queues:
            if not all(q.isdigit() for q in queues):
                raise ApplicationError(gettext("Queue ids are numbers."), code="invalid_audience")
            audience["queues"] = [int(q) for q in queues]
        return audience

    def bodies(self) -> dict:
        bodies = {
            lang: self.cleaned_data.get(f"body_{lang}", "").strip()
            for lang, _n in LANGUAGE_NAMES
            if self.cleaned_data.get(f"body_{lang}", "").strip()
        }
        if bodies:
            return bodies
        # Nothing written: the statement's "what to do" with the crisis page, in each language.
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        out = {}
        for lang, values in self.texts().items():
            line = " ".join(v for v in (values.get("title"), values.get("what_to_do")) if v)
            if line:
                out[lang] = f"{line} {base}/crisis/?lang={lang}"[: services.MAX_BODY_CHARS]
        return out


# --- Preview -------------------------------------------------------------------------------------


@dataclass
class ChannelPreview:
    language: str
    language_name: str
    rtl: bool
    page: dict
    banner: dict
    widget: dict
    help_answer: str
    help_segments: int
    ivr: str
    acknowledgement: str
    broadcast: str = ""
    broadcast_segments: int = 0


@dataclass
class DeclarePreview:
    channels: list[ChannelPreview]
    directory: list[dict]
    audience_count: int | None = None
    drain_hours: float | None = None
    problems: list[str] = field(default_factory=list)


def _candidate(form: DeclareForm) -> dict:
    """The public snapshot as it will be once declared (nothing written)."""
    return {
        "crises": [
            {
                "id": 0,
                "title": form.cleaned_data["title"],
                "severity": form.cleaned_data["severity"],
                "version": 1,
                "texts": form.texts(),
                "recordings": {},
            }
        ],
        "directory": [{**row, "languages": [], "href": ""} for row in form.directory()],
    }


def build_preview(form: DeclareForm) -> DeclarePreview:
    """What every channel will say, in every language the statement has."""
    snapshot = _candidate(form)
    crisis = snapshot["crises"][0]
    problems: list[str] = []
    try:
        statements.clean_statement_texts(form.texts())
    except ApplicationError as exc:
        problems.append(exc.message)
    bodies = form.bodies() if form.cleaned_data.get("broadcast") else {}
    channels = []
    for lang in [lang for lang, _n in LANGUAGE_NAMES if lang in crisis["texts"]] or ["en"]:
        title = public.statement_text(crisis, lang, "title") or crisis["title"]
        todo = public.statement_text(crisis, lang, "what_to_do")
        help_answer = "\n".join(public.help_lines(lang, snapshot))
        channels.append(
            ChannelPreview(
                language=lang,
                language_name=str(dict(LANGUAGE_NAMES)[lang]),
                rtl=lang in desk_languages.RTL_LANGUAGES,
                page={key: public.statement_text(crisis, lang, key) for key in STATEMENT_FIELDS},
                banner={"title": title, "message": public.statement_text(crisis, lang, "summary")},
                widget={
                    "title": title,
                    "summary": public.statement_text(crisis, lang, "summary"),
                    "what_to_do": todo,
                },
                help_answer=help_answer,
                help_segments=count_segments(help_answer).segments,
                # What the IVR really says: English words where Twilio has no voice (Persian, Khmer).
                ivr=public.spoken_statement(crisis, _spoken(lang)),
                acknowledgement=acks.acknowledgement_text(crisis, lang),
                broadcast=bodies.get(lang, ""),
                broadcast_segments=count_segments(bodies[lang]).segments if bodies.get(lang) else 0,
            )
        )
    result = DeclarePreview(channels=channels, directory=snapshot["directory"], problems=problems)
    if form.cleaned_data.get("broadcast"):
        audience = form.audience()
        if services.audience_is_set(audience):
            channel = form.cleaned_data["broadcast_channel"]
            result.audience_count = (
                services.audience_queryset(services.clean_audience(audience), channel=channel)
                .filter(opted_out_at__isnull=True, invalid_at__isnull=True)
                .count()
            )
            if channel == "sms":
                rate = services.sending_rate(
                    channel=channel, rate_per_second=form.cleaned_data["rate_per_second"] or 0
                )
                drain = services.drain_estimate(result.audience_count, rate)
                result.drain_hours = round(drain.total_seconds() / 3600, 1) if drain else None
                try:  # the planner's own refusal, said before anything is written
                    services.check_drain_window(recipients=result.audience_count, rate=rate)
                except ApplicationError as exc:
                    problems.append(exc.message)
        elif not form.cleaned_data.get("csv_file"):
            problems.append(
                gettext("Choose who the broadcast goes to (tags, regions, languages, queues or a CSV).")
            )
    return result


def _spoken(language: str) -> str:
    """The language the IVR says a statement in: the caller's where the provider has a voice for it
    (VOICE_SAY_LANGUAGES, the voice adapter's rule), else English."""
    return language if settings.VOICE_SAY_LANGUAGES.get(language) else "en"


# --- Declare -------------------------------------------------------------------------------------


@dataclass
class Declared:
    crisis: Crisis
    statement: Statement
    broadcast: Broadcast | None
    waiting_for_approval: bool


@transaction.atomic
def declare(*, form: DeclareForm, actor) -> Declared:
    """Everything the preview showed, in one transaction: nothing half-declared if a step fails."""
    data = form.cleaned_data
    segment = ", ".join(
        part
        for part in (data.get("tags", ""), data.get("regions", ""), ",".join(data.get("languages") or []))
        if part
    )
    crisis = services.create_crisis(
        title=data["title"],
        severity=data["severity"],
        affected_segment=segment[:200],
        is_emergency=bool(data.get("is_emergency")),
    )
    crisis.statements_need_approval = bool(data.get("statements_need_approval"))
    crisis.save(update_fields=["statements_need_approval"])
    statements.audit(
        crisis_id=crisis.pk, action="crisis_declared", actor=actor, detail={"title": crisis.title}
    )
    for position, row in enumerate(form.directory()):
        services.save_directory_entry(
            need=row["need"],
            channel=row["channel"],
            target=row["target"],
            hours=row["hours"],
            position=position,
            crisis=crisis,
        )
    services.activate_crisis(crisis=crisis)
    statement = statements.create_statement(crisis=crisis, texts=form.texts(), author=actor)
    statement = statements.request_publish(statement=statement, actor=actor)
    if not data.get("publish_banner"):
        for banner in crisis.banners.all():
            services.unpublish_banner(banner=banner)
    if data.get("surge_now"):
        surge.set_surge(scope=surge.ALL, forced=True, actor=actor)
    broadcast = None
    if data.get("broadcast"):
        upload = data.get("csv_file")
        broadcast = services.create_broadcast(
            name=gettext("First broadcast: %(title)s") % {"title": crisis.title},
            channel=data["broadcast_channel"],
            bodies=form.bodies(),
            subjects={lang: values.get("title", crisis.title) for lang, values in form.texts().items()},
            audience=form.audience(),
            crisis=crisis,
            rate_per_second=data.get("rate_per_second") or 0,
            created_by=actor,
            csv_data=upload.read() if upload else None,
        )
        broadcast = services.start_broadcast(broadcast=broadcast, actor=actor)
    return Declared(
        crisis=crisis,
        statement=statement,
        broadcast=broadcast,
        waiting_for_approval=statement.status == StatementStatus.PENDING_APPROVAL,
    )
