"""The example class: the submissions `grader examples` builds, as edits of the solutions.

Each example maps an exercise file to what it holds: a list of (old_text, new_text) edits applied
to the solution (each old_text must occur exactly once, so a change to the solutions cannot let
an example silently stop showing its mistake), STUB for the blank stub, or OMIT to leave the file
out. A file an example does not mention is the solution as it is.
"""

from __future__ import annotations

from grader.examples import OMIT, STUB

ALL_FILES = ("exercise1.py", "exercise2.py", "exercise3.py")

EXAMPLES: dict[str, dict[str, object]] = {
    # Every function right: full marks.
    "complete": {},
    # Nothing done: every item "not implemented".
    "blank": {name: STUB for name in ALL_FILES},
    # Bessel's correction forgotten: bnvar's 1/(n-1) backpropagated as 1/n (fails dbndiff2).
    "bessel": {"exercise1.py": [("(1.0 / (n - 1))", "(1.0 / n)")]},
    # counts feeds two branches; only the one through probs is kept (fails dcounts).
    "missing_branch": {"exercise1.py": [("    dcounts += dcounts_sum\n", "")]},
    # Biases broadcast over the batch, but the gradient is not summed over it (wrong shapes).
    "missing_sum": {
        "exercise1.py": [("db2 = dlogits.sum(0)", "db2 = dlogits")],
        "exercise3.py": [("dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact")],
    },
    # The fused cross-entropy gradient without the mean's 1/n (fails exercise2.dlogits).
    "no_div_n": {"exercise2.py": [("    dlogits /= n\n", "")]},
    # Exercise 3 not submitted: it scores 0 with a "missing" message, the others are graded.
    "partial": {"exercise3.py": OMIT},
    # A name with a space and a non-ASCII letter, whose answers are right but written the
    # lecture's other ways: dbnmeani without keepdim (passes with a shape warning) and dC with a
    # loop instead of index_add_. Full marks.
    "zoë martin": {
        "exercise1.py": [
            ("dbnmeani = (-dbndiff).sum(0, keepdim=True)", "dbnmeani = (-dbndiff).sum(0)"),
            (
                "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n",
                "    for i in range(Xb.shape[0]):\n"
                "        for j in range(Xb.shape[1]):\n"
                "            dC[Xb[i, j]] += demb[i, j]\n",
            ),
        ],
    },
}
