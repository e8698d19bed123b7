"""Exercise 1: every gradient of the atomic compute graph, in isolation and as a chain.

In isolation, each function gets autograd's upstream gradients, so one mistake costs one item.
Items run in the lecture's order, each over all cases before the next begins: a function never
receives a gradient that has not already been asked of the student for every case. What each
item is judged on lives in judging.py, which the student bundle's check.py runs too.
"""

from grader.backprop_ninja import judging, spec
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


def test_gradients_in_isolation(session, public_only, record):
    """All 26 items in one test: pytest's own cost per test (a few ms) is paid once, not 26
    times, for every submission. Each item is still judged and filed on its own."""
    all_cases = cases(public_only)
    items = [judging.isolated(g, session, all_cases, known_mistakes) for g in spec.EXERCISE1]
    record(*items)
    failed = [i.id for i in items if not i.passed]
    assert not failed, f"{len(failed)} of {len(items)} gradients failed: {', '.join(failed)}"


def test_chain(session, public_only, record):
    """The whole backward pass on the public case, fed with the student's own gradients."""
    record(chain=judging.chain(session, cases(public_only)[0]))
