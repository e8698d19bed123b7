"""How long a student function takes per call: derivations by hand against central differences.

Grades, through the real pipeline (every case, hidden ones included), the solutions, every
valid alternative of tests/variants.py (loops included) one at a time, and a submission that
computes gradients by central differences in float64 (no autograd, no derivation), and prints
each function's median and largest call time as the grader measured it (grader/timing.py).
The budget SLOW_CALL_SECONDS is set from these figures (docs/performance.md keeps them).

    .venv/bin/python bench/numerical_differentiation.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from variants import ALTERNATIVES, SOLUTIONS  # noqa: E402

from grader.pipeline import Grader  # noqa: E402
from grader.submissions import Submission  # noqa: E402
from grader.timing import SLOW_CALL_SECONDS  # noqa: E402

FILES = ("exercise1", "exercise2", "exercise3")

# Central differences of a scalar function of one tensor, element by element, in float64.
CENTRAL = """
def _central(f, x, eps=1e-6):
    x = x.detach().double().clone()
    g = torch.zeros_like(x)
    flat, gflat = x.view(-1), g.view(-1)
    for i in range(flat.numel()):
        old = float(flat[i])
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g
"""

NUMERIC = {
    "exercise1": (
        "def dlogprobs(logprobs, Yb, n):",
        "def dlogprobs(logprobs, Yb, n):\n"
        "    return _central(lambda L: -L[range(n), Yb].mean(), logprobs).to(logprobs.dtype)\n"
        "\ndef _unused(logprobs, Yb, n):",
    ),
    "exercise2": (
        "def dlogits(logits, Yb, n):",
        "def dlogits(logits, Yb, n):\n"
        "    return _central(lambda L: F.cross_entropy(L, Yb), logits).to(logits.dtype)\n"
        "\ndef _unused(logits, Yb, n):",
    ),
    "exercise3": (
        "    # BEGIN SOLUTION\n    # Cross-entropy, fused (exercise 2).",
        "    # BEGIN SOLUTION\n"
        "    params = dict(C=C, W1=W1, b1=b1, W2=W2, b2=b2, bngain=bngain, bnbias=bnbias)\n"
        "    P = {k: v.double() for k, v in params.items()}\n"
        "    def loss():\n"
        "        e = P['C'][Xb].view(n, -1)\n"
        "        hp = e @ P['W1'] + P['b1']\n"
        "        m = hp.mean(0, keepdim=True)\n"
        "        v = hp.var(0, keepdim=True, unbiased=True)\n"
        "        hh = torch.tanh(P['bngain'] * (hp - m) / torch.sqrt(v + 1e-5) + P['bnbias'])\n"
        "        return F.cross_entropy(hh @ P['W2'] + P['b2'], Yb)\n"
        "    out = {}\n"
        "    for k in params:\n"
        "        def f(x, k=k):\n"
        "            P[k] = x\n"
        "            return loss()\n"
        "        out['d' + k] = _central(f, P[k]).to(params[k].dtype)\n"
        "        P[k] = params[k].double()\n"
        "    return out\n"
        "    # Cross-entropy, fused (exercise 2).",
    ),
}


# Exercise 2 by central differences with every perturbation in one batched tensor (a row or
# column is perturbed in every column or row at once, which the separable losses allow): no
# derivation either, and a few milliseconds a call, within the budget (docs/performance.md).
VECTORIZED = """
import torch

EPS = 1e-6


def dlogits(logits, Yb, n):
    x = logits.double()
    rows, classes = x.shape
    shifts = EPS * torch.eye(classes, dtype=x.dtype).unsqueeze(1)

    def loss_rows(z):
        picked = z.gather(-1, Yb.view(1, rows, 1).expand(classes, rows, 1)).squeeze(-1)
        return (torch.logsumexp(z, -1) - picked) / n

    up, down = loss_rows(x + shifts), loss_rows(x - shifts)
    return ((up - down) / (2 * EPS)).T.to(logits.dtype)


def dhprebn(dhpreact, hprebn, bngain, n):
    x = hprebn.double()
    shifts = EPS * torch.eye(x.shape[0], dtype=x.dtype).unsqueeze(-1)

    def loss_columns(z):
        m, v = z.mean(-2, keepdim=True), z.var(-2, keepdim=True, unbiased=True)
        return (bngain.double() * (z - m) * (v + 1e-5) ** -0.5 * dhpreact.double()).sum(-2)

    up, down = loss_columns(x + shifts), loss_columns(x - shifts)
    return ((up - down) / (2 * EPS)).to(hprebn.dtype)
"""


def numeric_submission() -> dict[str, str]:
    files = {}
    for f in FILES:
        src = (SOLUTIONS / f"{f}.py").read_text()
        old, new = NUMERIC[f]
        assert src.count(old) == 1, (f, old)
        anchor = "import torch.nn.functional as F"
        src = src.replace(old, new).replace(anchor, anchor + "\n" + CENTRAL, 1)
        files[f] = src
    return files


def grade(grader: Grader, name: str, files: dict[str, str]) -> dict:
    data = {f: files.get(f, (SOLUTIONS / f"{f}.py").read_text()).encode() for f in FILES}
    return grader.grade(Submission(name, data)).to_json()


def main() -> None:
    grader = Grader()
    try:
        rows: dict[str, list[tuple[float, float, str]]] = {}
        subs = {"solutions": {}} | {
            f"alternative {n}": {v.file: v.source()} for n, v in ALTERNATIVES.items()
        }
        for name, files in subs.items():
            result = grade(grader, name, files)
            for func, t in result["timing"]["functions"].items():
                rows.setdefault("correct", []).append((t["median_s"], t["max_s"], f"{name} {func}"))
        result = grade(grader, "central differences", numeric_submission())
        print(f"central differences: score {result['score']}, {result['duration_s']} s")
        for func, t in result["timing"]["functions"].items():
            rows.setdefault("numeric", []).append((t["median_s"], t["max_s"], func))
        print("review:", result["review"])
        result = grade(grader, "vectorized", {"exercise2": VECTORIZED})
        print(f"vectorized, exercise 2: {result['exercises']['exercise2']}")
        for func, t in result["timing"]["functions"].items():
            if func.startswith("exercise2."):
                rows["numeric"].append((t["median_s"], t["max_s"], f"vectorized {func}"))
        print("review:", result["review"])
    finally:
        grader.close()
    correct = sorted(rows["correct"], reverse=True)
    print(f"\nbudget {SLOW_CALL_SECONDS} s per call (median)")
    print("slowest correct functions (median s, max s):")
    for med, mx, what in correct[:8]:
        print(f"  {med:.4f}  {mx:.4f}  {what}")
    print(f"  median of all correct medians: {statistics.median(m for m, _, _ in correct):.4f}")
    print("numerically differentiated (median s, max s):")
    numeric = {"exercise1.dlogprobs", "exercise2.dlogits", "exercise3.backward"}
    for med, mx, what in sorted(rows["numeric"], reverse=True):
        mark = "  <- central differences" if what in numeric else ""
        print(f"  {med:.4f}  {mx:.4f}  {what}{mark}")


if __name__ == "__main__":
    main()
