"""Exercise 2: the fused cross-entropy and batchnorm backward passes, each one formula.

Their public cases in the public phase (runner.public_phase_first), then the hidden ones and the
judging of both items in one test."""

import pytest

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


@pytest.mark.public_phase
def test_public_cases(session, public_only, carry):
    carry["exercise2"] = judging.public_calls(
        session, "exercise2", spec.EXERCISE2, cases(public_only)
    )


# Judged on hidden cases after exercise 3 and before exercise 1 (runner.public_phase_first):
# exercise 1's functions are handed autograd's dlogits and dhprebn, this file's answers.
@pytest.mark.hidden_order(2)
def test_fused(session, public_only, record, carry):
    carried = carry.pop("exercise2")
    items = judging.judged(
        session, "exercise2", spec.EXERCISE2, cases(public_only), carried, known_mistakes
    )
    record(*items)
    failed = [i for i in items if not i.passed]
    assert not failed, "; ".join(f"{i.id}: {i.message}" for i in failed)
