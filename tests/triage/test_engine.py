"""The pure engine: parsing answers in every script, branching, scoring, and its bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import engine

SEED = json.loads(
    (Path(__file__).resolve().parents[2] / "triage" / "fixtures" / "stop_the_bleeding.json").read_text(
        "utf-8"
    )
)["definition"]

THREE = {
    "max_retries": 1,
    "steps": [
        {
            "key": "kind",
            "kind": "single",
            "text": {"en": "What happened?", "fa": "چه شد؟"},
            "choices": [
                {"value": "flood", "label": {"en": "Flood"}, "weight": 3},
                {"value": "fire", "label": {"en": "Fire"}, "weight": 4},
                {"value": "other", "label": {"en": "Other"}, "weight": 0},
            ],
            "branches": [{"when": {"in": ["other"]}, "next": "detail"}],
            "next": "people",
        },
        {
            "key": "people",
            "kind": "number",
            "text": {"en": "How many people?"},
            "bands": [{"min": 10, "weight": 5}],
        },
        {"key": "detail", "kind": "text", "text": {"en": "Tell us more"}},
    ],
    "severity_bands": [
        {"min_score": 0, "severity": 1},
        {"min_score": 4, "severity": 3},
        {"min_score": 8, "severity": 5},
    ],
    "rules": [{"when": {"severity_gte": 5}, "priority": 1, "tags": ["urgent"], "queue": "crisis"}],
}


def run_through(definition, answers, language="en", crisis=None):
    state, prompts, outcome = engine.advance(
        definition, engine.new_state(language=language, crisis=crisis), None
    )
    transcript = [prompts]
    for answer in answers:
        state, prompts, outcome = engine.advance(definition, state, answer)
        transcript.append(prompts)
    return state, transcript, outcome


def choice_step(**extra):
    return {
        "key": "q",
        "kind": "single",
        "text": {"en": "Pick"},
        "choices": [
            {"value": v, "label": {"en": v.title(), "fa": f"{v}-fa"}} for v in ("apple", "bread", "corn")
        ],
        **extra,
    }


@pytest.mark.parametrize(
    "answer",
    [
        "2",
        "two",
        "Two",
        "b",
        "B",
        "B)",
        "b.",
        " 2 ",
        "۲",
        "٢",
        "២",
        "೨",
        "Bread",
        "bread-fa",
        "دو",
        "ពីរ",
        "ಎರಡು",
        "ب",
        "ខ",
    ],
)
def test_choice_accepts_digits_words_letters_and_labels_in_every_script(answer):
    valid, value = engine.parse_answer(choice_step(), answer)
    assert (valid, value) == (True, "bread")


@pytest.mark.parametrize("answer", ["4", "0", "d", "", "   ", "bananas", "ದ", "2 3", "-1"])
def test_choice_rejects_what_is_not_a_choice(answer):
    assert engine.parse_answer(choice_step(), answer) == (False, None)


@pytest.mark.parametrize(
    "answer,expected",
    [("120", 120), ("۱۲۰", 120), ("១២០", 120), ("೧೨೦", 120), ("1,200", 1200), ("twenty-five", 25),
     ("one hundred and five", 105), ("three thousand", 3000), ("about 50 people", 50), ("ده", 10)],
)  # fmt: skip
def test_number_reads_native_digits_separators_and_english_words(answer, expected):
    assert engine.parse_answer({"kind": "number"}, answer) == (True, expected)


def test_number_rejects_two_numbers_and_out_of_range():
    assert engine.parse_answer({"kind": "number"}, "5 or 6")[0] is False
    assert engine.parse_answer({"kind": "number", "max": 10}, "11")[0] is False


@pytest.mark.parametrize("answer", ["yes", "YES!", "y", "بله", "آره", "បាទ", "ចាស", "ಹೌದು", "1"])
def test_yes_in_every_language(answer):
    assert engine.parse_answer({"kind": "yesno"}, answer) == (True, True)


@pytest.mark.parametrize("answer", ["no", "No.", "نه", "خیر", "ទេ", "ಇಲ್ಲ", "2"])
def test_no_in_every_language(answer):
    assert engine.parse_answer({"kind": "yesno"}, answer) == (True, False)


def test_multi_choice_takes_several_numbers_once_each():
    step = {**choice_step(), "kind": "multi"}
    assert engine.parse_answer(step, "1, 3") == (True, ["apple", "corn"])
    assert engine.parse_answer(step, "۳،۱،۳") == (True, ["corn", "apple"])
    assert engine.parse_answer(step, "1, 9") == (False, None)


def test_per_crisis_choices_replace_the_default_options():
    step = choice_step(
        crisis_choices={
            "7": [{"value": "ash", "label": {"en": "Ash cloud"}}, {"value": "x", "label": {"en": "X"}}]
        }
    )
    assert engine.parse_answer(step, "1", crisis="7") == (True, "ash")
    assert engine.parse_answer(step, "1", crisis="8") == (True, "apple")
    assert "A) Ash cloud" not in engine.render_prompt(step, "en", "7")
    assert "1) Ash cloud" in engine.render_prompt(step, "en", "7")


def test_single_choice_prompt_is_numbered_for_sms_in_the_runs_language():
    prompt = engine.render_prompt(choice_step(), "fa")
    assert prompt.splitlines()[1:4] == ["1) apple-fa", "2) bread-fa", "3) corn-fa"]


def test_invalid_answer_is_reprompted_then_skipped_after_the_retry_limit():
    state, transcript, outcome = run_through(THREE, ["nonsense"])
    assert transcript[-1][0].startswith("Sorry, I did not understand that.\nWhat happened?")
    assert state["step"] == "kind" and outcome is None
    state, prompts, outcome = engine.advance(THREE, state, "still nonsense")
    assert state["answers"]["kind"] is None  # max_retries=1: the second miss moves on
    assert prompts[0].startswith("How many people?")


def test_branch_on_answer_and_default_next():
    _, transcript, outcome = run_through(THREE, ["3", "the roof fell"])
    assert transcript[1][0].startswith("Tell us more")
    assert outcome.answers == {"kind": "other", "detail": "the roof fell"}
    state, transcript, outcome = run_through(THREE, ["fire", "12"])
    assert transcript[1][0].startswith("How many people?")
    assert transcript[2][0].startswith("Tell us more") and outcome is None  # default next: the following step


def test_weights_score_severity_and_rules_set_priority_queue_tags():
    _, _, outcome = run_through(THREE, ["2", "40", "x"])
    assert outcome.score == 9 and outcome.severity == 5
    assert (outcome.priority, outcome.queue, outcome.tags) == (1, "crisis", ["urgent"])
    _, _, calm = run_through(THREE, ["1", "3", "x"])
    assert calm.severity == 1 and calm.priority is None and calm.tags == []


def test_seeded_flow_in_persian_with_persian_digits():
    state, transcript, outcome = run_through(SEED, ["۱۲۰", "۲", "۴", "الف", "حقوق کارکنان"], language="fa")
    assert "چند نفر" in transcript[0][0]
    assert outcome.answers == {"affected": 120, "finances": "debts", "exhaustion": "loss", "danger": "safety",
                               "focus": "حقوق کارکنان"}  # fmt: skip
    assert outcome.severity == 5 and outcome.priority == 1 and outcome.focus == "حقوق کارکنان"
    assert set(outcome.tags) == {"triage", "severity-high", "safety", "finances"}
    assert transcript[-1] == [engine.DEFAULT_TEXTS["done"]["fa"]]


def test_seed_definition_is_valid_and_has_all_four_languages():
    assert engine.validate_definition(SEED) == []
    for step in SEED["steps"]:
        assert set(step["text"]) == {"en", "fa", "km", "kn"}
        for choice in step.get("choices", []):
            assert set(choice["label"]) == {"en", "fa", "km", "kn"}


def test_validation_refuses_backward_branches_and_unknown_steps():
    bad = json.loads(json.dumps(THREE))
    bad["steps"][1]["next"] = "kind"
    bad["steps"][2]["branches"] = [{"when": {"in": ["x"]}, "next": "nowhere"}]
    errors = engine.validate_definition(bad)
    assert any("later step" in e for e in errors) and any("unknown step" in e for e in errors)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"when": {"severity_gt": 4}, "queue": "crisis"}, "'severity_gt' is not a condition"),
        ({"when": {"step": "kinds"}, "tags": ["x"]}, "unknown step 'kinds'"),
        ({"when": {"step": "kind", "in": ["flood", "storm"]}, "tags": ["x"]}, "no choice 'storm'"),
        ({"when": {"in": ["fire"]}, "tags": ["x"]}, "needs the step it reads"),
        ({"when": {"severity_gte": 4}, "skills": ["Persian"]}, "cannot route by skill"),
        ({"when": {"severity_gte": 4}, "assignee": "ava"}, "'assignee' is not part of a rule"),
        ({"priority": "urgent"}, "the priority must be 1"),
        ({"queue": ""}, "the queue must be a queue's slug"),
        ({"tags": [1]}, "the tags must be a list of words"),
        ({"when": "always"}, "must be an object"),
    ],
)
def test_validation_refuses_a_rule_that_would_not_do_what_it_says(rule, expected):
    bad = {**THREE, "rules": [*THREE["rules"], rule]}
    errors = engine.validate_definition(bad)
    assert any(e.startswith("Rule 2 ") and expected in e for e in errors), errors


def test_finished_run_ignores_further_answers():
    state, _, outcome = run_through(THREE, ["1", "3", "x"])
    assert outcome is not None
    assert engine.advance(THREE, state, "1") == (state, [], None)


# --- Properties -----------------------------------------------------------------------------

ANSWERS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["1", "2", "3", "9", "b", "B)", "yes", "نه", "۲", "២", "೨", "twenty", "", " ", "1,3"]),
    st.text(alphabet="0123456789۰۱۲۳۴۵۶۷۸۹០១២៣៤៥៦៧៨៩೦೧೨೩೪೫೬೭೮೯,. -abcABC)", max_size=12),
)


@settings(max_examples=3000, deadline=None)
@given(answer=ANSWERS)
def test_no_answer_string_crashes_any_kind_of_step(answer):
    for kind in engine.KINDS:
        valid, _ = engine.parse_answer({**choice_step(), "kind": kind}, answer)
        assert isinstance(valid, bool)


@settings(max_examples=1500, deadline=None)
@given(
    answers=st.lists(ANSWERS, min_size=0, max_size=80),
    language=st.sampled_from(["en", "fa", "km", "kn", "xx"]),
)
def test_every_run_ends_within_the_step_bound(answers, language):
    for definition in (SEED, THREE):
        state, prompts, outcome = engine.advance(definition, engine.new_state(language=language), None)
        bound = engine.step_bound(definition)
        taken = 0
        for answer in answers + ["zzz-invalid"] * (bound + 1):
            if outcome is not None:
                break
            state, prompts, outcome = engine.advance(definition, state, answer)
            taken += 1
            assert prompts and all(isinstance(p, str) and p for p in prompts)
        assert outcome is not None and taken <= bound
        assert 1 <= outcome.severity <= 5


JSON_KEYS = st.sampled_from(
    ["key", "kind", "text", "choices", "value", "label", "weight", "next", "branches", "when", "in", "step",
     "crisis_choices", "bands", "min", "max", "rules", "severity_bands", "steps", "en"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.sampled_from(["", "end", "a", "q", "single", "x"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(JSON_KEYS, children, max_size=5),
    max_leaves=25,
)


# Near-valid flows: well-formed steps whose other fields are random JSON, so validation passes often.
STEP = st.builds(
    lambda key, kind, extra: {"key": key, "kind": kind, "text": {"en": "Q"}, **extra},
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(engine.KINDS),
    st.dictionaries(st.sampled_from(["choices", "next", "branches", "crisis_choices", "bands", "min", "max",
                                     "yes_weight", "letters", "focus"]), JSON, max_size=4),
)  # fmt: skip
NEAR_VALID = st.builds(
    lambda steps, extra: {"steps": steps, **extra},
    st.lists(STEP, min_size=1, max_size=3, unique_by=lambda s: s["key"]),
    st.dictionaries(st.sampled_from(["rules", "severity_bands", "max_retries", "texts"]), JSON, max_size=2),
)


@settings(max_examples=1500, deadline=None)
@given(definition=JSON | NEAR_VALID, answers=st.lists(ANSWERS, max_size=6))
def test_no_definition_crashes_validation_and_valid_ones_run(definition, answers):
    errors = engine.validate_definition(definition)
    assert isinstance(errors, list)
    if not errors:
        state, _prompts, outcome = engine.advance(definition, engine.new_state(), None)
        for answer in answers:
            state, _prompts, outcome = engine.advance(definition, state, answer)


@pytest.mark.parametrize("language", ["en", "fa", "km", "kn"])
def test_every_answer_button_is_an_answer_the_engine_takes(language):
    """The chat widget's buttons send what they say: each parses back to its own choice."""
    from tests.triage.conftest import SMALL
    from triage import services

    seeded = json.loads(services.SEED_PATH.read_text(encoding="utf-8"))
    flows = [SMALL, seeded.get("definition", seeded)]
    for definition in flows:
        for step in definition["steps"]:
            buttons = engine.answer_buttons(step, language)
            if step["kind"] in ("number", "text"):
                assert buttons == []
                continue
            expected = (
                [c["value"] for c in engine.choices_for(step, None)]
                if step["kind"] != "yesno"
                else [True, False]
            )
            assert len(buttons) == len(expected)
            for button, value in zip(buttons, expected, strict=True):
                ok, parsed = engine.parse_answer(step, button["answer"])
                assert ok and parsed == ([value] if step["kind"] == "multi" else value), (step["key"], button)
                assert button["label"]
