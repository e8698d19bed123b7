"""The judgement holds against a determined student: each attack of tests/attacks/scan_corpus.py,
graded through the real pipeline with the scan on, costs exactly what the rule says (the
smuggled item, or the file that hid it, with the scan's own message) and nothing else; and an
answer's dtype never buys a looser comparison.
"""

from __future__ import annotations

import pytest
from attacks.scan_corpus import BESSEL_FUSED, COARSER, SCAN_ATTACKS, ScanAttack, solution
from conftest import item

from grader.pipeline import decode_sources
from grader.submissions import Submission

FILES = ("exercise1", "exercise2", "exercise3")


def expected(attack: ScanAttack, item_id: str) -> tuple[str, str] | None:
    return attack.expect.get(item_id) or attack.expect.get(item_id.partition(".")[0])


@pytest.mark.parametrize("attack", SCAN_ATTACKS, ids=[a.name for a in SCAN_ATTACKS])
def test_a_smuggled_item_scores_0_and_nothing_else_is_lost(grade, attack: ScanAttack):
    files = {f: solution(f) for f in FILES} | {"exercise2": attack.exercise2}
    result = grade(files)
    lost = 0.0
    for it in result["items"]:
        want = expected(attack, it["id"])
        if want is None:
            assert it["status"] == "passed", (it["id"], it["message"])
            continue
        status, words = want
        assert it["status"] == status, (it["id"], it["message"])
        assert words in it["message"], (it["id"], it["message"])
        assert it["score"] == 0.0
        lost += it["max_score"]
    assert lost > 0
    assert result["score"] == pytest.approx(result["max_score"] - lost)


def test_the_deep_expression_never_reaches_a_student_process(grade):
    """The file the scan cannot read is not run either: nothing of it was printed or imported."""
    attack = next(a for a in SCAN_ATTACKS if a.name == "deep_expression")
    files = {f: solution(f) for f in FILES} | {"exercise2": attack.exercise2}
    result = grade(files)
    assert "exercise2.dlogits" not in result["timing"]["functions"]


@pytest.mark.parametrize("coarse", COARSER)
def test_a_mistake_returned_in_a_coarser_dtype_scores_what_it_scores_in_float32(grade, coarse):
    """Bessel's fused mistake scored more as float16 or bfloat16 (issue 9: 73 and 77, not 67)."""
    mistake = solution("exercise2").replace(*BESSEL_FUSED)
    coarser = mistake.replace("    return dhprebn\n", f"    return dhprebn.{coarse}()\n")
    assert coarser != mistake
    base = {f: solution(f) for f in FILES}
    as_float32 = grade(base | {"exercise2": mistake})
    as_coarser = grade(base | {"exercise2": coarser})
    assert as_coarser["score"] == as_float32["score"] < as_float32["max_score"]
    got = item(as_coarser, "exercise2.dhprebn")
    assert got["score"] == 0.0 and not any(c["passed"] for c in got["cases"])
    name = {"half": "float16"}.get(coarse, coarse)
    assert f"returned {name} while the inputs are float32" in got["message"]


def test_a_coding_line_that_changes_nothing_is_read_as_written():
    """latin-1 over plain ASCII decodes as UTF-8 does: the file is graded, not refused."""
    source = "# -*- coding: latin-1 -*-\n" + solution("exercise2")
    smuggling = next(a for a in SCAN_ATTACKS if a.name == "utf7").exercise2
    sub = Submission("s", {"exercise1": source.encode(), "exercise2": smuggling})
    sources, notes = decode_sources(sub, ("exercise1", "exercise2"))
    assert sources["exercise1"] == source and notes["exercise1"] == "submitted"
    assert isinstance(sources["exercise2"], ValueError)
    assert notes["exercise2"].startswith("exercise2.py cannot be graded: it declares the encoding")
