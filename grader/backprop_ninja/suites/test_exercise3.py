"""Exercise 3: the whole backward pass, judged at one step and over a short SGD run.

The run is judged only on the parameters whose one-step gradients pass: a wrong gradient costs
its own item, not the training item's 17 points as well. The run is public, so it is made in the
public phase (runner.public_phase_first) with the gradients excused that fail on the public
cases at the run's sizes (judging.excused); if the hidden cases excuse others, it is made again
after them, and the session then starts it in a fresh process beside no process that was
handed a hidden input. What that run says (its message, the step it stopped at, its timing)
could still carry what the hidden cases taught, so it is filed as a hidden case: its details
wait for publication. A run counts only where backward answered every case at its sizes
(judging.counted): its inputs are public, and stored answers to them once scored its points.
"""

import pytest

from grader.backprop_ninja import judging
from grader.backprop_ninja.cases import cases
from grader.backprop_ninja.mistakes import known_mistakes


@pytest.mark.public_phase
def test_public_cases(session, public_only, carry):
    public, _ = judging.phases(cases(public_only))
    first = judging.backward_calls(session, public)
    at_public = judging.parameter_gradients(session, public, known_mistakes, first)
    carry["exercise3"] = (first, at_public, judging.training(session, at_public))


# Judged on hidden cases first (runner.public_phase_first): backward is handed no gradient,
# while exercise 1's functions are handed autograd's, from which backward's answers follow.
@pytest.mark.hidden_order(1)
def test_backward(session, public_only, record, carry):
    public, hidden = judging.phases(cases(public_only))
    first, at_public, run = carry.pop("exercise3")
    rest = judging.backward_calls(session, hidden)
    items = judging.parameter_gradients(session, public + hidden, known_mistakes, first + rest)
    if judging.excused(items) != judging.excused(at_public):
        run = judging.training(session, items, after_hidden=True)
    else:  # a case at the run's sizes that backward left unanswered still undoes it
        run = judging.counted(run, items)
    items.append(run)
    record(*items)
    assert all(i.passed for i in items), "; ".join(i.message for i in items if not i.passed)
