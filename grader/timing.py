"""How long each student function takes per call, and which ones look numerically differentiated.

A gradient derived by hand costs a few tensor operations per call, loops included; numerical
differentiation (central differences: two forward evaluations per input element) costs
thousands. The session times every call on the grader's side (wall clock from the moment the
student's process could start the call, its request sent and the previous answer in, to its
reply; the worker's own figure comes from the student's process) and compares each function's
median call with a fixed budget per call, measured in docs/performance.md ("Numerical
differentiation"): the slowest correct formulation known stays far below it, a
central-differences submission far above.

A fixed budget rather than a reference timed per case: the grader's reference is one autograd
pass over the whole graph, so it says nothing of one function's fair cost, and its own timing
would be as noisy as the student's on a shared machine; the budget's margin absorbs both.

The verdict never changes a score: it is a `review` entry of result.json, naming the functions,
and puts the submission on the summary's "needs a look" list.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

# Median seconds per call above which a function is flagged. Measured with
# bench/numerical_differentiation.py on a 2-core machine (every case, hidden ones included; the
# two figures are a quiet machine and one loaded by six other jobs): the slowest correct function,
# loops and every alternative of tests/variants.py included, has a median of 9.5 ms (22.7 ms
# loaded; 0.9 ms / 3.6 ms is typical), while central differences take 52 ms / 154 ms for
# exercise2.dlogits (864 inputs), 109 ms / 365 ms for exercise1.dlogprobs and 2.0 s / 0.85 s
# for exercise3.backward. 100 ms is 10x the slowest correct function on a quiet machine and 4x
# on a loaded one; central differences on a function of fewer than about 1,500 numbers cost
# too little to tell from a loop and go unflagged (the TA sees the helper they share), and so
# do central differences batched in one tensor (every perturbation at once: 3 ms a call for
# exercise2.dhprebn), which no budget tells from a derivation (docs/threat-model.md).
SLOW_CALL_SECONDS = 0.1
REVIEW_SLOW = "slow_functions"


@dataclass
class CallTimer:
    """Every call a session made, timed by the session, by `file.func` in call order."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        """One call of `name` (file.func) that returned a value. Only those count: a missing
        function or a crash says nothing of how the gradient was computed, and a timeout is an
        item status of its own."""
        self.seconds.setdefault(name, []).append(seconds)


def summary(seconds: dict[str, list[float]]) -> dict:
    """result.json's `timing`: each function's calls against the budget (for the TA; it varies
    from run to run like `duration_s`, and never enters a score)."""
    return {
        "budget_s": SLOW_CALL_SECONDS,
        "functions": {
            name: {
                "calls": len(calls),
                "median_s": round(statistics.median(calls), 6),
                "max_s": round(max(calls), 6),
            }
            for name, calls in sorted(seconds.items())
            if calls
        },
    }


def slow_review(seconds: dict[str, list[float]]) -> dict | None:
    """The non-scoring flag for functions far slower than any real derivation, or None."""
    slow = {
        name: statistics.median(calls)
        for name, calls in seconds.items()
        if calls and statistics.median(calls) > SLOW_CALL_SECONDS
    }
    if not slow:
        return None
    names = sorted(slow, key=slow.get, reverse=True)
    shown = ", ".join(f"{n} ({slow[n]:.2g} s)" for n in names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return {
        "flag": REVIEW_SLOW,
        "functions": names,
        "median_s": {n: round(slow[n], 4) for n in names},
        "budget_s": SLOW_CALL_SECONDS,
        "reason": f"far slower than a derivation by hand (numerical differentiation?): "
        f"{shown}{more} per call, against a budget of {SLOW_CALL_SECONDS:g} s",
    }
