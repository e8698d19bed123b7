"""Exercise 2: the fused cross-entropy and batchnorm backward passes, each one formula.

Both in one test, every public case of both before any hidden one (judging.phases)."""

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


def test_fused(session, public_only, record):
    public, hidden = judging.phases(cases(public_only))
    outcomes = {g: judging.ask(session, "exercise2", g, public) for g in spec.EXERCISE2}
    for g in spec.EXERCISE2:
        outcomes[g] += judging.ask(session, "exercise2", g, hidden)
    items = [
        judging.fused(g, session, public + hidden, known_mistakes, outcomes[g])
        for g in spec.EXERCISE2
    ]
    record(*items)
    failed = [i for i in items if not i.passed]
    assert not failed, "; ".join(f"{i.id}: {i.message}" for i in failed)
