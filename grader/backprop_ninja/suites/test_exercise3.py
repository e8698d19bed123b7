"""Exercise 3: the whole backward pass, judged at one step and over a short SGD run.

One test, because the run is judged only on the parameters whose one-step gradients pass: a
wrong gradient costs its own item, not the training item's 17 points as well. The run is
public, so it comes between the public and the hidden cases (judging.phases), with the
gradients excused that fail on the public cases; if the hidden cases excuse others, it runs
again, in a fresh process (the session's rule for a process handed hidden inputs).
"""

from grader.backprop_ninja import judging
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


def test_backward(session, public_only, record):
    public, hidden = judging.phases(cases(public_only))
    first = judging.backward_calls(session, public)
    at_public = judging.parameter_gradients(session, public, known_mistakes, first)
    run = judging.training(session, at_public)
    rest = judging.backward_calls(session, hidden)
    items = judging.parameter_gradients(session, public + hidden, known_mistakes, first + rest)
    if judging.excused(items) != judging.excused(at_public):
        run = judging.training(session, items)
    items.append(run)
    record(*items)
    assert all(i.passed for i in items), "; ".join(i.message for i in items if not i.passed)
