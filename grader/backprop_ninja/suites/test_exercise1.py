"""Exercise 1: every gradient of the atomic compute graph, in isolation and as a chain.

In isolation, each function gets autograd's upstream gradients, so one mistake costs one item.
Items run in the lecture's order, each over a phase's cases before the next begins, so for
every case a function never receives a gradient that has not already been asked of the student.
The public cases and the chain (public, fed with the student's own gradients) are asked in the
public phase, before any file of the submission is handed a hidden input (runner.
public_phase_first); the hidden cases, and the judging, come after. What each item is judged on
lives in judging.py, which the student bundle's check.py runs too.
"""

import pytest

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


@pytest.mark.public_phase
def test_public_cases(session, public_only, carry):
    every = cases(public_only)
    carry["exercise1"] = judging.public_calls(session, "exercise1", spec.EXERCISE1, every)
    public, _ = judging.phases(every)
    carry["chain"] = judging.chain(session, public[0])


# Judged on hidden cases last (runner.public_phase_first): its functions are handed autograd's
# upstream gradients, from which exercises 2's and 3's answers follow.
@pytest.mark.hidden_order(3)
def test_gradients_in_isolation(session, public_only, record, carry):
    """All 26 items and the chain filed in one test: pytest's own cost per test (a few ms) is
    paid twice, not 27 times, for every submission. Each item is judged and filed on its own."""
    carried = carry.pop("exercise1")
    items = judging.judged(
        session, "exercise1", spec.EXERCISE1, cases(public_only), carried, known_mistakes
    )
    record(*items, chain=carry.pop("chain"))
    failed = [i.id for i in items if not i.passed]
    assert not failed, f"{len(failed)} of {len(items)} gradients failed: {', '.join(failed)}"
