"""Exercise 3: the whole backward pass, judged at one step and over a short SGD run.

One test, because the run is judged only on the parameters whose one-step gradients pass: a
wrong gradient costs its own item, not the training item's 17 points as well.
"""

from grader.backprop_ninja import judging
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


def test_backward(session, public_only, record):
    items = judging.parameter_gradients(session, cases(public_only), known_mistakes)
    items.append(judging.training(session, items))
    record(*items)
    assert all(i.passed for i in items), "; ".join(i.message for i in items if not i.passed)
