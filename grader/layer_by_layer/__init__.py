"""Backprop Ninja, layer by layer: a hand-written backward for each module of makemore part 5.

The content of the course's second assignment (CONTRACT.md is its contract): the modules'
forwards (model.py), the items and their arguments (spec.py), the cases (cases.py, hidden.py),
the known mistakes (mistakes.py), the graded WaveNet training run (training.py), the suites, the
rubric, the example class and the student bundle's self-check.
"""

from importlib import import_module
from pathlib import Path

from grader.assignment import Assignment

from .bundle import BUNDLE
from .cases import cases
from .demo import training_demo
from .spec import FILE, FUNCTIONS, ITEMS

_HERE = Path(__file__).resolve().parent


def _warm(public_only: bool) -> None:
    """The cases, built before a batch forks its grader processes; their inputs go to every
    student process unchanged, so they are framed once (grader/sandbox/framing.py)."""
    from grader.sandbox.framing import constant_arguments

    for group in cases(public_only).values():
        for case in group:
            constant_arguments(case.inputs.values())


ASSIGNMENT = Assignment(
    name="layer-by-layer",
    title="Backprop Ninja, layer by layer",
    files=(FILE,),
    item_ids=(*(f"{FILE}.{i.name}" for i in ITEMS), f"{FILE}.training"),
    suites=_HERE / "suites",
    rubric=_HERE / "rubric.yaml",
    warm=_warm,
    functions=((FILE, FUNCTIONS),),  # what a notebook submission is read for (grader/notebook.py)
    examples=lambda: import_module(f"{__name__}.examples").EXAMPLES,
    bundle=BUNDLE,
    training_demo=training_demo,
    # The WaveNet's run names the backward that failed in it, or the parameter that drifted
    # (training.sgd_run): its message tells the layers' verdicts.
    tells={f"{FILE}.training": tuple(f"{FILE}.{i.name}" for i in ITEMS)},
)
