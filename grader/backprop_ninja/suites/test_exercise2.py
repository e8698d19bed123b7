"""Exercise 2: the fused cross-entropy and batchnorm backward passes, each one formula."""

import pytest

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


@pytest.mark.parametrize("grad", spec.EXERCISE2)
def test_fused(grad, session, public_only, record):
    item = record(judging.fused(grad, session, cases(public_only), known_mistakes))
    assert item.passed, item.message
