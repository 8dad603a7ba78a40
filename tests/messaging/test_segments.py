"""Segment counting per GSM 03.38 / Twilio, and the reply box's JS agreeing with Python."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpdesk.messaging.segments import count_segments

JS = Path(__file__).resolve().parents[2] / "static" / "sms" / "segments.js"

# (text, encoding, characters, segments)
VECTORS = [
    ("", "GSM-7", 0, 0),
    ("Press firmly on the wound.", "GSM-7", 26, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 80, 1),  # 160 septets: extension chars count two
    ("€" * 81, "GSM-7", 81, 2),
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 305, 3),  # 306 septets, but the escape pair never straddles 153
    ("a" * 158 + "{}", "GSM-7", 160, 2),
    ("Ça coûte 5€ [urgent] ~ ok", "UCS-2", 25, 1),  # û is not GSM-7
    ("سلام، کمک لازم دارم", "UCS-2", 19, 1),  # Persian
    ("س" * 70, "UCS-2", 70, 1),
    ("س" * 71, "UCS-2", 71, 2),
    ("ខ្ញុំត្រូវការជំនួយ", "UCS-2", 18, 1),  # Khmer
    ("ನನಗೆ ಸಹಾಯ ಬೇಕು", "UCS-2", 14, 1),  # Kannada
    ("ក" * 135, "UCS-2", 135, 3),
    ("🩸", "UCS-2", 1, 1),
    ("🩸" * 35, "UCS-2", 35, 1),  # 70 code units
    ("🩸" * 36, "UCS-2", 36, 2),
    ("a" * 66 + "🩸" + "b" * 10, "UCS-2", 77, 2),  # the pair does not straddle 67
    ("a" * 66 + "🩸" * 34, "UCS-2", 100, 3),
]


@pytest.mark.parametrize(("text", "encoding", "characters", "segments"), VECTORS)
def test_python_counts(text, encoding, characters, segments):
    info = count_segments(text)
    assert (info.encoding, info.characters, info.segments) == (encoding, characters, segments)
    if info.segments > 1:
        assert info.per_segment == (153 if encoding == "GSM-7" else 67)


def test_never_splits_a_surrogate_pair():
    # 66 units then an emoji (2 units): a naive count says 68 → 2 segments of 67 with a split pair.
    info = count_segments("a" * 66 + "🩸" + "a" * 3)
    assert info.units == 71
    assert info.segments == 2


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_agrees_with_python():
    texts = [v[0] for v in VECTORS] + ["Hello ^ world " * 20, "سلام 🩸 " * 30, "ಕನ್ನಡ €"]
    script = (
        f"const {{countSegments}} = require({json.dumps(str(JS))});"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map(countSegments)));"
    )
    out = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    js = json.loads(out.stdout)
    for text, result in zip(texts, js, strict=True):
        info = count_segments(text)
        expected = {
            "encoding": info.encoding,
            "characters": info.characters,
            "segments": info.segments,
            "per_segment": info.per_segment,
            "units": info.units,
        }
        assert result == expected, text
