"""The triage engine: a pure function from (flow definition, state, answer) to the next state.

No I/O and no ORM: a flow version's definition is a plain dict (the JSON stored on FlowVersion),
the state is a plain dict (stored on Run), so SMS, chat, the agent's form and the editor's preview
all drive the very same code. Every step is visited at most once and accepts at most
`max_retries + 1` answers, so a run always ends within `len(steps) * (max_retries + 1)` answers.

Definition shape (see triage/fixtures/stop_the_bleeding.json for a full example)::

    {"name": ..., "languages": ["en", "fa"], "max_retries": 2,
     "steps": [{"key": "affected", "kind": "single", "text": {"en": "..."},
                "choices": [{"value": "few", "label": {"en": "..."}, "weight": 1}],
                "crisis_choices": {"<crisis id>": [choices]},   # per-crisis override
                "branches": [{"when": {...}, "next": "<key>"}], "next": "<key>",
                "bands": [{"min": 0, "max": 10, "weight": 1}],  # number steps
                "yes_weight": 2, "no_weight": 0, "focus": true}],
     "severity_bands": [{"min_score": 0, "severity": 1}, ...],
     "rules": [{"when": {...}, "priority": 1, "queue": "slug", "tags": ["x"]}],  # only these keys
     "texts": {"done": {"en": ...}, "invalid": {...}, "reminder": {...}, "expired": {...}}}

A condition (`when`) holds when every key it has holds: `severity_gte`, `severity_lte`, and for
`step`: `in` (any overlap with a multi answer), `gte`, `lte`, `answered`. `validate_definition`
refuses a rule with any other key, or a condition naming an unknown step or choice; whether the
queue a rule names exists is the database's question (`triage.selectors.definition_problems`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpdesk import digits

KINDS = ("single", "multi", "number", "yesno", "text")
DEFAULT_MAX_RETRIES = 2
MAX_TEXT_ANSWER = 1000
# Big enough for "how many customers", small enough that a typo of digits is caught.
NUMBER_LIMIT = 10**9
DEFAULT_SEVERITY_BANDS = [
    {"min_score": 0, "severity": 1},
    {"min_score": 3, "severity": 2},
    {"min_score": 6, "severity": 3},
    {"min_score": 9, "severity": 4},
    {"min_score": 12, "severity": 5},
]

ACTIVE, COMPLETED = "active", "completed"

# Words people text instead of digits. English fully (with tens and hundreds); one to ten in the
# other launch languages. "نه" is both "nine" and "no" in Persian: yes/no steps read it as "no".
_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "none": 0, "no one": 0, "nobody": 0, "a dozen": 12, "dozen": 12,
}  # fmt: skip
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_OTHER_WORDS = {
    # Persian
    "صفر": 0, "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8,
    "نه": 9, "ده": 10, "صد": 100, "هزار": 1000,
    # Khmer
    "សូន្យ": 0, "មួយ": 1, "ពីរ": 2, "បី": 3, "បួន": 4, "ប្រាំ": 5, "ប្រាំមួយ": 6, "ប្រាំពីរ": 7,
    "ប្រាំបី": 8, "ប្រាំបួន": 9, "ដប់": 10, "រយ": 100, "មួយរយ": 100, "ពាន់": 1000, "មួយពាន់": 1000,
    # Kannada
    "ಸೊನ್ನೆ": 0, "ಒಂದು": 1, "ಎರಡು": 2, "ಮೂರು": 3, "ನಾಲ್ಕು": 4, "ಐದು": 5, "ಆರು": 6, "ಏಳು": 7,
    "ಎಂಟು": 8, "ಒಂಬತ್ತು": 9, "ಹತ್ತು": 10, "ನೂರು": 100, "ಸಾವಿರ": 1000,
}  # fmt: skip
YES_WORDS = frozenset(
    [
        "yes",
        "y",
        "yeah",
        "yep",
        "yup",
        "ok",
        "okay",
        "sure",
        "true",
        "ja",
        "si",
        "sí",
        "oui",
        "بله",
        "بلی",
        "آره",
        "اره",
        "آري",
        "نعم",
        "هست",
        "باشه",
        "បាទ",
        "ចាស",
        "បាទ/ចាស",
        "ចា",
        "បាទចាស",
        "ಹೌದು",
        "ಹೌದ",
        "ಹು",
        "ಸರಿ",
    ]
)
NO_WORDS = frozenset(
    [
        "no",
        "n",
        "nope",
        "nah",
        "false",
        "non",
        "nein",
        "نه",
        "خیر",
        "نخیر",
        "نیست",
        "لا",
        "ទេ",
        "អត់ទេ",
        "អត់",
        "ಇಲ್ಲ",
        "ಬೇಡ",
    ]
)
# Option letters as people write them: Persian abjad order, Khmer and Kannada alphabet order.
_LETTERS = {
    "الف": 0, "ب": 1, "ج": 2, "د": 3,
    "ក": 0, "ខ": 1, "គ": 2, "ឃ": 3,
    "ಅ": 0, "ಆ": 1, "ಇ": 2, "ಈ": 3, "ಎ": 0, "ಬಿ": 1, "ಸಿ": 2,
}  # fmt: skip
RESUME_WORDS = frozenset(["resume", "continue", "restart", "ادامه", "ادامه_بده", "បន្ត", "ಮುಂದುವರಿಸಿ"])

# Hints appended to prompts; the engine is pure, so they live here rather than in gettext.
HINTS: dict[str, dict[str, str]] = {
    "single": {
        "en": "Reply with a number.",
        "fa": "با یک عدد پاسخ دهید.",
        "km": "សូមឆ្លើយតបដោយលេខមួយ។",
        "kn": "ಒಂದು ಸಂಖ್ಯೆಯೊಂದಿಗೆ ಉತ್ತರಿಸಿ.",
    },
    "multi": {
        "en": "Reply with one or more numbers, e.g. 1,3.",
        "fa": "با یک یا چند عدد پاسخ دهید، مثلاً ۱،۳.",
        "km": "សូមឆ្លើយតបដោយលេខមួយ ឬច្រើន ឧ. ១,៣។",
        "kn": "ಒಂದು ಅಥವಾ ಹೆಚ್ಚು ಸಂಖ್ಯೆಗಳೊಂದಿಗೆ ಉತ್ತರಿಸಿ, ಉದಾ. 1,3.",
    },
    "number": {
        "en": "Reply with a number.",
        "fa": "با یک عدد پاسخ دهید.",
        "km": "សូមឆ្លើយតបដោយចំនួនមួយ។",
        "kn": "ಒಂದು ಸಂಖ್ಯೆಯೊಂದಿಗೆ ಉತ್ತರಿಸಿ.",
    },
    "yesno": {
        "en": "Reply YES or NO.",
        "fa": "با «بله» یا «نه» پاسخ دهید.",
        "km": "សូមឆ្លើយ បាទ/ចាស ឬ ទេ។",
        "kn": "ಹೌದು ಅಥವಾ ಇಲ್ಲ ಎಂದು ಉತ್ತರಿಸಿ.",
    },
    "text": {"en": "", "fa": "", "km": "", "kn": ""},
}
DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "invalid": {
        "en": "Sorry, I did not understand that.",
        "fa": "متأسفیم، پاسخ را متوجه نشدیم.",
        "km": "សូមអភ័យទោស យើងមិនយល់ចម្លើយនោះទេ។",
        "kn": "ಕ್ಷಮಿಸಿ, ಆ ಉತ್ತರ ಅರ್ಥವಾಗಲಿಲ್ಲ.",
    },
    "done": {
        "en": "Thank you. We have your answers and will get back to you soon.",
        "fa": "سپاسگزاریم. پاسخ‌های شما را دریافت کردیم و به‌زودی با شما تماس می‌گیریم.",
        "km": "សូមអរគុណ។ យើងបានទទួលចម្លើយរបស់អ្នកហើយ ហើយនឹងទាក់ទងអ្នកឆាប់ៗនេះ។",
        "kn": "ಧನ್ಯವಾದಗಳು. ನಿಮ್ಮ ಉತ್ತರಗಳು ನಮಗೆ ತಲುಪಿವೆ, ಶೀಘ್ರದಲ್ಲೇ ನಿಮ್ಮನ್ನು ಸಂಪರ್ಕಿಸುತ್ತೇವೆ.",
    },
    "reminder": {
        "en": "We are still here to help. Please answer the last question when you can:",
        "fa": "ما هنوز برای کمک اینجا هستیم. لطفاً هر وقت توانستید به آخرین پرسش پاسخ دهید:",
        "km": "យើងនៅទីនេះដើម្បីជួយ។ សូមឆ្លើយសំណួរចុងក្រោយនៅពេលអ្នកអាច៖",
        "kn": "ನಾವು ಸಹಾಯಕ್ಕೆ ಇನ್ನೂ ಇಲ್ಲಿದ್ದೇವೆ. ಸಾಧ್ಯವಾದಾಗ ಕೊನೆಯ ಪ್ರಶ್ನೆಗೆ ಉತ್ತರಿಸಿ:",
    },
    "expired": {
        "en": "We paused your questions. Reply RESUME to continue.",
        "fa": "پرسش‌ها را متوقف کردیم. برای ادامه «ادامه» را بفرستید.",
        "km": "យើងបានផ្អាកសំណួររបស់អ្នក។ សូមផ្ញើ «បន្ត» ដើម្បីបន្ត។",
        "kn": "ನಿಮ್ಮ ಪ್ರಶ್ನೆಗಳನ್ನು ವಿರಾಮಗೊಳಿಸಿದ್ದೇವೆ. ಮುಂದುವರಿಸಲು «ಮುಂದುವರಿಸಿ» ಎಂದು ಕಳುಹಿಸಿ.",
    },
}


class FlowDefinitionError(ValueError):
    """The definition cannot run: the editor and importer show these messages to the manager."""


@dataclass
class Outcome:
    """What a finished run says: the answers, the severity 1–5 and what to do about it."""

    answers: dict[str, Any]
    score: int
    severity: int
    priority: int | None = None
    queue: str | None = None
    tags: list[str] = field(default_factory=list)
    focus: str | None = None  # the answer to the step marked focus: what to solve first
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "score": self.score,
            "severity": self.severity,
            "priority": self.priority,
            "queue": self.queue,
            "tags": self.tags,
            "focus": self.focus,
            "skipped": self.skipped,
        }


# --- Reading the definition ---------------------------------------------------------------


def text_for(texts: Any, language: str) -> str:
    """Return a text in the language, falling back to English, then to any language."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, Mapping):
        return ""
    for lang in (language, "en", *texts.keys()):
        value = texts.get(lang)
        if isinstance(value, str) and value:
            return value
    return ""


def flow_text(definition: Mapping, key: str, language: str) -> str:
    """Return a flow-level text (done, invalid, reminder, expired) with built-in defaults."""
    all_texts = definition.get("texts")
    texts = (all_texts.get(key) if isinstance(all_texts, Mapping) else None) or {}
    return text_for(texts, language) or text_for(DEFAULT_TEXTS.get(key, {}), language)


def _steps(definition: Mapping) -> list[Mapping]:
    return [s for s in definition.get("steps") or [] if isinstance(s, Mapping)]


def _step_index(definition: Mapping) -> dict[str, int]:
    return {str(s.get("key")): i for i, s in enumerate(_steps(definition))}


def max_retries(definition: Mapping) -> int:
    try:
        return max(0, int(definition.get("max_retries", DEFAULT_MAX_RETRIES)))
    except (TypeError, ValueError):
        return DEFAULT_MAX_RETRIES


def step_bound(definition: Mapping) -> int:
    """The most answers any run of this flow can take before it ends."""
    return len(_steps(definition)) * (max_retries(definition) + 1)


def choices_for(step: Mapping, crisis: str | None) -> list[Mapping]:
    """Return the step's choices, replaced by the crisis's own set when the step has one."""
    overrides = step.get("crisis_choices") or {}
    if crisis is not None and isinstance(overrides, Mapping) and overrides.get(str(crisis)):
        return list(overrides[str(crisis)])
    return list(step.get("choices") or [])


def _list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, Mapping) for v in value)


def validate_definition(definition: Any) -> list[str]:
    """Return the problems that stop this definition from running (empty when it can run)."""
    errors: list[str] = []
    if not isinstance(definition, Mapping):
        return ["The flow must be a JSON object."]
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        return ["The flow needs at least one step."]
    keys: list[str] = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, Mapping):
            errors.append(f"Step {n} must be an object.")
            continue
        key = step.get("key")
        if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9_]{1,40}", key):
            errors.append(f"Step {n}: the key must be 1–40 lower-case letters, digits or _.")
        elif key in keys:
            errors.append(f"Step {n}: the key '{key}' is used twice.")
        keys.append(str(key))
        if step.get("kind") not in KINDS:
            errors.append(f"Step {n}: the kind must be one of {', '.join(KINDS)}.")
        if not text_for(step.get("text"), "en"):
            errors.append(f"Step {n}: the question needs a text.")
        if step.get("kind") in ("single", "multi"):
            overrides: Any = step.get("crisis_choices")
            overrides = overrides if isinstance(overrides, Mapping) else {}
            sets = [step.get("choices") or []] + list(overrides.values())
            for choices in sets:
                if not _list_of_objects(choices) or len(choices) < 2:
                    errors.append(f"Step {n}: a choice question needs at least two choices.")
                    break
                values = [c.get("value") for c in choices if isinstance(c, Mapping)]
                # Values are what runs store and rules compare: short strings, unique within the step.
                if not all(isinstance(v, str) and v for v in values) or len(set(values)) != len(values):
                    errors.append(f"Step {n}: every choice needs its own value.")
                    break
    for name in ("rules", "severity_bands"):
        value = definition.get(name)
        if value is not None and not _list_of_objects(value):
            errors.append(f"'{name}' must be a list of objects.")
    rules: Any = definition.get("rules")
    known = {str(s.get("key")): s for s in steps if isinstance(s, Mapping)}
    for n, rule in enumerate(rules if _list_of_objects(rules) else [], start=1):
        errors.extend(_rule_errors(n, rule, known))
    if definition.get("texts") is not None and not isinstance(definition.get("texts"), Mapping):
        errors.append("'texts' must map a name to its text per language.")
    index = {k: i for i, k in enumerate(keys)}
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, Mapping):
            continue
        if step.get("crisis_choices") is not None and not isinstance(step.get("crisis_choices"), Mapping):
            errors.append(f"Step {n}: per-crisis choices must map a crisis id to a list of choices.")
        branches = step.get("branches") or []
        if not isinstance(branches, list):
            errors.append(f"Step {n}: branches must be a list.")
            branches = []
        if (
            step.get("kind") == "number"
            and step.get("bands") is not None
            and not _list_of_objects(step["bands"])
        ):
            errors.append(f"Step {n}: number weights must be a list of objects.")
        if not all(isinstance(b, Mapping) and isinstance(b.get("when", {}), Mapping) for b in branches):
            errors.append(f"Step {n}: each branch needs a 'when' condition and a 'next' step.")
        targets = [step.get("next")] + [b.get("next") for b in branches if isinstance(b, Mapping)]
        for target in targets:
            if target in (None, "", "end"):
                continue
            if not isinstance(target, str) or target not in index:
                errors.append(f"Step {n}: it goes to an unknown step '{target}'.")
            elif index[target] <= n - 1:
                # Forward only: this is what bounds every run (no step is asked twice).
                errors.append(f"Step {n}: it may only go to a later step, not back to '{target}'.")
    return errors


RULE_KEYS = ("when", "priority", "queue", "tags")
CONDITION_KEYS = ("severity_gte", "severity_lte", "step", "in", "gte", "lte", "answered")


def rule_label(n: int, rule: Mapping) -> str:
    """Name a rule for a manager: its place in the list and its condition, as written."""
    when = rule.get("when")
    if not when:
        return f"Rule {n} (always)"
    return f"Rule {n} (when {json.dumps(when, ensure_ascii=False, sort_keys=True, default=str)[:200]})"


def _rule_errors(n: int, rule: Mapping, steps: Mapping[str, Mapping]) -> list[str]:
    # A rule that cannot do what it says must not publish: an unknown key or condition is ignored
    # by `evaluate` (a misspelt "severity_gt" would make the rule match every run).
    label, errors = rule_label(n, rule), []
    for key in rule:
        if key in ("skill", "skills"):
            errors.append(f"{label}: rules cannot route by skill yet; route to a queue or add tags.")
        elif key not in RULE_KEYS:
            errors.append(f"{label}: '{key}' is not part of a rule (use {', '.join(RULE_KEYS)}).")
    priority = rule.get("priority")
    if priority is not None and (isinstance(priority, bool) or priority not in (1, 2, 3, 4)):
        errors.append(f"{label}: the priority must be 1 (urgent), 2, 3 or 4 (low).")
    queue = rule.get("queue")
    if queue is not None and (not isinstance(queue, str) or not queue.strip()):
        errors.append(f"{label}: the queue must be a queue's slug.")
    tags = rule.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.append(f"{label}: the tags must be a list of words.")
    when = rule.get("when") or {}  # as `evaluate` reads it: no condition means always
    if not isinstance(when, Mapping):
        return [*errors, f"{label}: the condition ('when') must be an object."]
    for key in when:
        if key not in CONDITION_KEYS:
            errors.append(f"{label}: '{key}' is not a condition (use {', '.join(CONDITION_KEYS)}).")
    step_key = when.get("step")
    if step_key is None:
        if any(k in when for k in ("in", "gte", "lte", "answered")):
            errors.append(f"{label}: a condition on an answer needs the step it reads.")
        return errors
    step = steps.get(str(step_key)) if isinstance(step_key, str) else None
    if step is None:
        return [*errors, f"{label}: its condition reads an unknown step '{step_key}'."]
    if "in" in when and step.get("kind") in ("single", "multi"):
        overrides: Any = step.get("crisis_choices")
        overrides = overrides if isinstance(overrides, Mapping) else {}
        sets = [step.get("choices") or [], *overrides.values()]
        values = {
            c.get("value")
            for choices in sets
            if isinstance(choices, list)
            for c in choices
            if isinstance(c, Mapping) and isinstance(c.get("value"), str)
        }
        wanted = when["in"] if isinstance(when["in"], list) else [when["in"]]
        for value in wanted:
            if not isinstance(value, str) or value not in values:
                errors.append(f"{label}: step '{step_key}' has no choice '{value}'.")
    return errors


# --- Reading answers ----------------------------------------------------------------------

# "-" stays: "-1" is a negative number, not "1".
_PUNCT_EDGES = " \t\r\n.,;:!?()[]{}<>\"'`«»“”‘’_*#/\\|،؛؟。।॥៖។"


def normalize(answer: str) -> str:
    """Lower-case, ASCII digits, collapsed spaces, trimmed punctuation: what every parser reads."""
    text = unicodedata.normalize("NFKC", answer)
    text = digits.to_ascii(text).casefold()
    text = text.replace("\u200c", " ").replace("\u200b", "")  # ZWNJ/ZWSP inside Persian/Khmer words
    text = " ".join(text.split())
    return text.strip(_PUNCT_EDGES)


def parse_number_words(text: str) -> int | None:
    """Read '2', '1,200', 'two', 'twenty-five', 'one hundred', 'دو', 'ពីរ', 'ಎರಡು'; else None."""
    text = normalize(text)
    if not text:
        return None
    compact = re.sub(r"(?<=\d)[,٬'’ ](?=\d{3}\b)", "", text)
    if re.fullmatch(r"\d{1,10}", compact):
        return int(compact)
    if text in _OTHER_WORDS:
        return _OTHER_WORDS[text]
    if text in _EN_UNITS:
        return _EN_UNITS[text]
    words = [w for w in re.split(r"\s+|(?<=[a-z])-(?=[a-z])", text) if w and w != "and"]
    if not words or len(words) > 8:
        return None
    total, current, seen = 0, 0, False
    for word in words:
        if word in _EN_UNITS:
            current += _EN_UNITS[word]
        elif word in _EN_SCALES:
            current = max(current, 1) * _EN_SCALES[word]
            if _EN_SCALES[word] >= 1000:
                total, current = total + current, 0
        elif word.isdecimal() and len(word) <= 10:  # isdigit() takes "𐹠", which int() refuses
            current += int(word)
        else:
            return None
        seen = True
    return total + current if seen else None


def _find_number(text: str) -> int | None:
    # "about 50 people" → 50; but "5 or 6" is ambiguous, so exactly one number is required.
    whole = parse_number_words(text)
    if whole is not None:
        return whole
    found = re.findall(r"\d[\d,٬]*", normalize(text))
    numbers = {int(n.replace(",", "").replace("٬", "")) for n in found if n.replace(",", "").replace("٬", "")}
    if len(numbers) == 1:
        return numbers.pop()
    return None


def _choice_index(token: str, choices: list[Mapping]) -> int | None:
    token = normalize(token)
    if not token:
        return None
    n = parse_number_words(token)
    if n is not None:
        return n - 1 if 1 <= n <= len(choices) else None
    if token in _LETTERS:
        i = _LETTERS[token]
        return i if i < len(choices) else None
    if len(token) == 1 and "a" <= token <= "z":
        i = ord(token) - ord("a")
        return i if i < len(choices) else None
    for i, choice in enumerate(choices):
        labels = choice.get("label") or {}
        names = [str(choice.get("value", ""))] + (
            list(labels.values()) if isinstance(labels, Mapping) else [str(labels)]
        )
        if any(token == normalize(str(name)) for name in names if name):
            return i
    return None


def parse_yes_no(text: str) -> bool | None:
    """Return True for yes, False for no in any launch language, None when it is neither."""
    token = normalize(text)
    if token in YES_WORDS or token == "1":
        return True
    if token in NO_WORDS or token == "2":
        return False
    first = token.split(" ")[0] if token else ""
    if first in YES_WORDS:
        return True
    if first in NO_WORDS:
        return False
    return None


def parse_answer(step: Mapping, answer: str, crisis: str | None = None) -> tuple[bool, Any]:
    """Return (valid, value) for an answer to this step; the value is what the run stores."""
    kind = step.get("kind")
    if not isinstance(answer, str):
        return False, None
    answer = answer[:2000]  # an SMS is never longer; a pasted novel is not an answer
    if kind == "single":
        choices = choices_for(step, crisis)
        i = _choice_index(answer, choices)
        return (True, choices[i].get("value")) if i is not None else (False, None)
    if kind == "multi":
        choices = choices_for(step, crisis)
        whole = _choice_index(answer, choices)
        if whole is not None:
            return True, [choices[whole].get("value")]
        tokens = [t for t in re.split(r"[,،;/&+\s]+|\band\b|\bو\b", normalize(answer)) if t]
        picked: list[Any] = []
        for token in tokens:
            i = _choice_index(token, choices)
            if i is None:
                return False, None
            if choices[i].get("value") not in picked:
                picked.append(choices[i].get("value"))
        return (True, picked) if picked else (False, None)
    if kind == "number":
        n = _find_number(answer)
        if n is None or n > NUMBER_LIMIT:
            return False, None
        low, high = step.get("min"), step.get("max")
        if isinstance(low, int) and n < low or isinstance(high, int) and n > high:
            return False, None
        return True, n
    if kind == "yesno":
        value = parse_yes_no(answer)
        return (value is not None), value
    if kind == "text":
        clean = " ".join(answer.split())
        return (True, clean[:MAX_TEXT_ANSWER]) if clean else (False, None)
    return False, None


# --- Scoring and rules --------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def answer_weight(step: Mapping, value: Any, crisis: str | None = None) -> int:
    """Return how much this answer adds to the severity score."""
    kind = step.get("kind")
    if value is None:
        return 0
    if kind in ("single", "multi"):
        weights = {c.get("value"): _int(c.get("weight")) for c in choices_for(step, crisis)}
        values = value if isinstance(value, list) else [value]
        return sum(weights.get(v, 0) for v in values)
    if kind == "number":
        for band in step.get("bands") or []:
            low, high = band.get("min"), band.get("max")
            if (low is None or value >= _int(low)) and (high is None or value <= _int(high)):
                return _int(band.get("weight"))
        return 0
    if kind == "yesno":
        return _int(step.get("yes_weight" if value else "no_weight"))
    return 0


def severity_for(definition: Mapping, score: int) -> int:
    """Map a score to severity 1–5 through the flow's bands."""
    bands = definition.get("severity_bands") or DEFAULT_SEVERITY_BANDS
    severity = 1
    for band in sorted(bands, key=lambda b: _int(b.get("min_score"))):
        if score >= _int(band.get("min_score")):
            severity = _int(band.get("severity"), 1)
    return min(5, max(1, severity))


def matches(condition: Any, answers: Mapping[str, Any], severity: int | None = None) -> bool:
    """Return True when every part of the condition holds for these answers and severity."""
    if not isinstance(condition, Mapping):
        return False
    if "severity_gte" in condition and (severity is None or severity < _int(condition["severity_gte"])):
        return False
    if "severity_lte" in condition and (severity is None or severity > _int(condition["severity_lte"])):
        return False
    key = condition.get("step")
    if key is None:
        return True
    value = answers.get(str(key))
    if "answered" in condition and bool(condition["answered"]) != (value is not None):
        return False
    if "in" in condition:
        wanted = condition["in"] if isinstance(condition["in"], list) else [condition["in"]]
        values = value if isinstance(value, list) else [value]
        if not any(v in wanted for v in values):
            return False
    for op, test in (("gte", lambda a, b: a >= b), ("lte", lambda a, b: a <= b)):
        if op in condition and (
            not isinstance(value, int) or isinstance(value, bool) or not test(value, _int(condition[op]))
        ):
            return False
    return True


def evaluate(definition: Mapping, answers: Mapping[str, Any], crisis: str | None = None) -> Outcome:
    """Score the answers and apply the flow's rules: severity, priority, queue, tags, focus."""
    score, focus = 0, None
    for step in _steps(definition):
        key = str(step.get("key"))
        if key in answers:
            score += answer_weight(step, answers[key], crisis)
            if step.get("focus") and answers[key] is not None:
                focus = answers[key] if isinstance(answers[key], str) else str(answers[key])
    severity = severity_for(definition, score)
    outcome = Outcome(answers=dict(answers), score=score, severity=severity, focus=focus)
    for rule in definition.get("rules") or []:
        if not isinstance(rule, Mapping) or not matches(rule.get("when") or {}, answers, severity):
            continue
        if rule.get("priority") is not None:
            p = min(4, max(1, _int(rule["priority"], 3)))
            outcome.priority = p if outcome.priority is None else min(outcome.priority, p)
        if rule.get("queue") and outcome.queue is None:
            outcome.queue = str(rule["queue"])
        for tag in rule.get("tags") or []:
            if str(tag) not in outcome.tags:
                outcome.tags.append(str(tag))
    outcome.skipped = [k for k, v in answers.items() if v is None]
    return outcome


def describe_value(step: Mapping, value: Any, language: str, crisis: str | None = None) -> str:
    """Return a stored answer as people read it: choice labels, yes/no, the number or text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return {True: "✓", False: "✗"}[value]
    if step.get("kind") in ("single", "multi"):
        labels = {c.get("value"): text_for(c.get("label"), language) for c in choices_for(step, crisis)}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v) or str(v) for v in values)
    return str(value)


# --- Prompts and the state machine --------------------------------------------------------


def render_prompt(step: Mapping, language: str, crisis: str | None = None) -> str:
    """Return the question as an SMS: numbered choices for choice steps, a hint for the others."""
    kind = str(step.get("kind"))
    lines = [text_for(step.get("text"), language)]
    if kind in ("single", "multi"):
        for n, choice in enumerate(choices_for(step, crisis), start=1):
            # "A) B) C)" when the question names its options by letter; numbers read best by SMS.
            mark = chr(ord("A") + n - 1) if step.get("letters") and n <= 26 else str(n)
            lines.append(f"{mark}) {text_for(choice.get('label'), language) or choice.get('value')}")
    hint = text_for(step.get("hint"), language) or HINTS.get(kind, {}).get(language) or ""
    if hint:
        lines.append(hint)
    return "\n".join(line for line in lines if line)


YES_NO_LABELS = {"en": ("Yes", "No"), "fa": ("بله", "نه"), "km": ("បាទ/ចាស", "ទេ"), "kn": ("ಹೌದು", "ಇಲ್ಲ")}


def answer_buttons(step: Mapping, language: str, crisis: str | None = None) -> list[dict[str, str]]:
    """The question's answers as buttons (a chat widget): what each shows, and the answer it sends,
    one `parse_answer` takes (its label where that is understood, else its number). Free-text and
    number questions have none: the customer types."""
    kind = step.get("kind")
    buttons: list[dict[str, str]] = []
    if kind in ("single", "multi"):
        for n, choice in enumerate(choices_for(step, crisis), start=1):
            label = text_for(choice.get("label"), language) or str(choice.get("value"))
            understood = parse_answer(step, label, crisis) == (
                True,
                [choice.get("value")] if kind == "multi" else choice.get("value"),
            )
            buttons.append({"label": label, "answer": label if understood else str(n)})
    elif kind == "yesno":
        yes, no = YES_NO_LABELS.get(language, YES_NO_LABELS["en"])
        buttons = [
            {"label": yes, "answer": yes if parse_yes_no(yes) is True else "1"},
            {"label": no, "answer": no if parse_yes_no(no) is False else "2"},
        ]
    return buttons


def new_state(*, language: str = "en", crisis: str | None = None) -> dict[str, Any]:
    """Return the state of a run that has not asked anything yet."""
    return {
        "status": ACTIVE,
        "step": None,
        "answers": {},
        "retries": 0,
        "answers_taken": 0,
        "language": language,
        "crisis": None if crisis is None else str(crisis),
        "started": False,
    }


def _next_key(definition: Mapping, step: Mapping, answers: Mapping, position: int) -> str | None:
    steps = _steps(definition)
    index = _step_index(definition)
    target: Any = step.get("next")
    branches: Any = step.get("branches")
    for branch in branches if isinstance(branches, list) else []:
        when = branch.get("when") if isinstance(branch, Mapping) else None
        if isinstance(when, Mapping) and matches({**when, "step": step.get("key")}, answers):
            target = branch.get("next")
            break
    if target == "end":
        return None
    if isinstance(target, str) and target in index and index[target] > position:
        return target
    return str(steps[position + 1].get("key")) if position + 1 < len(steps) else None


def current_step(definition: Mapping, state: Mapping) -> Mapping | None:
    """Return the step the run is waiting on, or None when it is not waiting."""
    key = state.get("step")
    index = _step_index(definition)
    if key is None or key not in index:
        return None
    return _steps(definition)[index[key]]


def current_prompt(definition: Mapping, state: Mapping) -> str:
    """Return the question the run is waiting on, for reminders and resumed runs."""
    step = current_step(definition, state)
    if step is None:
        return ""
    return render_prompt(step, str(state.get("language") or "en"), state.get("crisis"))


def advance(
    definition: Mapping, state: Mapping | None, answer: str | None
) -> tuple[dict[str, Any], list[str], Outcome | None]:
    """Feed one answer to the run: return the new state, the prompts to send, and the outcome at the end.

    A fresh state (or None) starts the run: the answer is ignored and the first question returned.
    """
    state = dict(state) if isinstance(state, Mapping) else new_state()
    state["answers"] = dict(state.get("answers") or {})
    language = str(state.get("language") or "en")
    crisis = state.get("crisis")
    steps = _steps(definition)
    if state.get("status") != ACTIVE:
        return state, [], None
    if not state.get("started"):
        state["started"] = True
        if not steps:
            return _finish(definition, state, [])
        state["step"] = str(steps[0].get("key"))
        state["retries"] = 0
        intro = flow_text(definition, "intro", language)
        first = render_prompt(steps[0], language, crisis)
        return state, [f"{intro}\n{first}" if intro else first], None
    step = current_step(definition, state)
    if step is None:
        return _finish(definition, state, [])
    key = str(step.get("key"))
    position = _step_index(definition)[key]
    state["answers_taken"] = _int(state.get("answers_taken")) + 1
    valid, value = parse_answer(step, answer if isinstance(answer, str) else "", crisis)
    prompts: list[str] = []
    if not valid:
        state["retries"] = _int(state.get("retries")) + 1
        if state["retries"] <= max_retries(definition):
            invalid = flow_text(definition, "invalid", language)
            return state, [f"{invalid}\n{render_prompt(step, language, crisis)}"], None
        value = None  # out of retries: record the step as skipped and move on
    state["answers"][key] = value
    state["retries"] = 0
    following = _next_key(definition, step, state["answers"], position)
    if following is None:
        return _finish(definition, state, prompts)
    state["step"] = following
    next_step = steps[_step_index(definition)[following]]
    prompts.append(render_prompt(next_step, language, crisis))
    return state, prompts, None


def _finish(
    definition: Mapping, state: dict[str, Any], prompts: list[str]
) -> tuple[dict, list[str], Outcome]:
    state["status"] = COMPLETED
    state["step"] = None
    outcome = evaluate(definition, state["answers"], state.get("crisis"))
    prompts = [*prompts, flow_text(definition, "done", str(state.get("language") or "en"))]
    return state, prompts, outcome
