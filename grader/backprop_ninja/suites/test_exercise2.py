"""Exercise 2: the fused cross-entropy and batchnorm backward passes, each one formula.

Their public cases in the public phase (runner.public_phase_first), then the hidden ones and the
judging of both items in one test."""

import pytest

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


@pytest.mark.public_phase
def test_public_cases(session, public_only, carry):
    public, _ = judging.phases(cases(public_only))
    carry["exercise2"] = {g: judging.ask(session, "exercise2", g, public) for g in spec.EXERCISE2}


def test_fused(session, public_only, record, carry):
    public, hidden = judging.phases(cases(public_only))
    outcomes = carry.pop("exercise2")
    for g in spec.EXERCISE2:
        outcomes[g] += judging.ask(session, "exercise2", g, hidden)
    items = [
        judging.fused(g, session, public + hidden, known_mistakes, outcomes[g])
        for g in spec.EXERCISE2
    ]
    record(*items)
    failed = [i for i in items if not i.passed]
    assert not failed, "; ".join(f"{i.id}: {i.message}" for i in failed)
