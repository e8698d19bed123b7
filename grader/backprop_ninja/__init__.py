"""The Backprop Ninja assignment's content: model, allowed arguments, cases, rubric, suites."""

from importlib import import_module
from pathlib import Path

from grader.assignment import Assignment, DerivedFile

from .bundle import BUNDLE
from .cases import cases
from .spec import CENSUS_NAMES, EXERCISE1, EXERCISE2, EXERCISE3_GRADS

_HERE = Path(__file__).resolve().parent


def training_demo(assignment: Assignment, path: Path | None, **options):
    """`grader train`: the lecture's model trained by exercise 3's `backward` (the solution's
    when no file is given)."""
    import click

    from .train import TrainingError, run_training

    try:
        return run_training(path or assignment.solutions / "exercise3.py", **options)
    except TrainingError as e:
        raise click.ClickException(str(e)) from None


def _warm(public_only: bool) -> None:
    """What every submission is judged against, built before the first one (and before a
    batch forks its grader processes, which then share it): the cases and autograd's run.
    The cases' inputs go to every student process unchanged, so they are framed once."""
    from grader.sandbox.framing import constant_arguments

    from .training import TRAIN_CFG, TRAIN_STEPS, reference_run

    for case in cases(public_only):
        constant_arguments(case.atomic_inputs.values())
        constant_arguments(case.compact_inputs.values())
    reference_run(TRAIN_CFG, TRAIN_STEPS)


def _notebook_text(solutions: Path) -> str:
    from .notebook_build import notebook_text

    return notebook_text(solutions)


def _census_names(solutions: Path) -> str:
    from .train import load_names

    return "\n".join(load_names(None)) + "\n"


ASSIGNMENT = Assignment(
    name="backprop-ninja",
    title="Becoming a Backprop Ninja",
    files=("exercise1", "exercise2", "exercise3"),
    item_ids=(
        *(f"exercise1.{g}" for g in EXERCISE1),
        *(f"exercise2.{g}" for g in EXERCISE2),
        *(f"exercise3.{g}" for g in EXERCISE3_GRADS),
        "exercise3.training",
    ),
    suites=_HERE / "suites",
    rubric=_HERE / "rubric.yaml",
    warm=_warm,
    functions=(("exercise1", EXERCISE1), ("exercise2", EXERCISE2), ("exercise3", ("backward",))),
    examples=lambda: import_module(f"{__name__}.examples").EXAMPLES,
    bundle=BUNDLE,
    training_demo=training_demo,
    # The assignment as a notebook (notebook_build.py), written beside the stubs.
    # train.py's data when the lecture's names.txt is not beside it: the census first names the
    # notebook carries too, so the bundle trains out of the box.
    derived=(
        DerivedFile("backprop_ninja.ipynb", _notebook_text),
        DerivedFile(CENSUS_NAMES, _census_names),
    ),
    # The run names the gradients it took from autograd, and is made again after the hidden
    # cases when one fails there alone: its message tells every gradient item's verdict.
    tells={"exercise3.training": tuple(f"exercise3.{g}" for g in EXERCISE3_GRADS)},
)
