"""The training demo: the lecture's model trained by exercise 3's backward alone.

A short run with the reference backward lowers the loss, samples names and passes its own
gradient check; the dataset, split and argument passing follow the lecture; a backward that
cannot train is a clear TrainingError, not a traceback from deep inside the loop.
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grader.backprop_ninja.train import (
    TrainingError,
    build_dataset,
    call_by_name,
    load_names,
    run_training,
    split_words,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "backprop-ninja" / "exercise3.py"


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(load_names(None)[::10]) + "\n")  # ~550 census names
    return path


def test_a_short_run_lowers_the_loss_and_samples_names(names_file: Path) -> None:
    result = run_training(SOLUTION, data=names_file, steps=200, check_steps=2, seed=1)
    losses = result["losses"]
    assert len(losses) == 200
    assert sum(losses[-20:]) / 20 < losses[0] - 0.4
    assert result["train_loss"] < losses[0] and result["val_loss"] < losses[0]
    assert len(result["samples"]) == 10
    assert all(set(s) <= set(string.ascii_lowercase) for s in result["samples"])


def test_the_solution_passes_the_gradient_check(names_file: Path) -> None:
    result = run_training(SOLUTION, data=names_file, steps=3, check_steps=3, seed=2)
    assert len(result["grad_check"]) == 3
    for step in result["grad_check"]:
        assert set(step) == {"dC", "dW1", "db1", "dW2", "db2", "dbngain", "dbnbias"}
        assert all(ok for _, ok in step.values()), step


def test_the_run_is_reproducible(names_file: Path) -> None:
    a = run_training(SOLUTION, data=names_file, steps=20, check_steps=0, seed=3)
    b = run_training(SOLUTION, data=names_file, steps=20, check_steps=0, seed=3)
    assert a["losses"] == b["losses"] and a["samples"] == b["samples"]


def test_a_stub_backward_is_a_clear_training_error(names_file: Path) -> None:
    with pytest.raises(TrainingError, match="NotImplementedError"):
        run_training(ROOT / "assignments" / "backprop-ninja" / "exercise3.py", names_file, 5, 0, 1)


def test_a_gradient_of_the_wrong_shape_is_a_clear_training_error(
    names_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "exercise3.py"
    bad.write_text(
        SOLUTION.read_text().replace(
            "dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact"
        )
    )
    with pytest.raises(TrainingError, match=r"dbnbias has shape \(32, 64\)"):
        run_training(bad, names_file, 5, 0, 1)


def test_default_names_are_the_census_first_names_lower_case_a_to_z() -> None:
    words = load_names(None)
    assert len(words) > 5000 and "mary" in words and "james" in words
    assert all(w and set(w) <= set(string.ascii_lowercase) for w in words)


def test_a_data_file_is_cleaned_to_lower_case_a_to_z(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("Emma\n\nANNE-MARIE\nzoë\n")
    assert load_names(path) == ["emma", "annemarie", "zo"]


def test_the_dataset_is_every_context_of_three_and_the_next_character() -> None:
    X, Y = build_dataset(["ab"])
    assert X.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2]]
    assert Y.tolist() == [1, 2, 0]
    assert X.dtype == Y.dtype == torch.int64


def test_the_split_is_80_10_10_and_seeded() -> None:
    words = [f"w{i}" for i in range(100)]
    train, val, test = split_words(words)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(train + val + test) == sorted(words)
    assert split_words(words) == (train, val, test)


@pytest.mark.parametrize("assignment", ["backprop-ninja", "layer-by-layer"])
def test_grader_train_writes_no_progress_bar_into_a_log(assignment: str) -> None:
    """`grader train ... 2> log` (or piped) wrote the bar's every redraw, a few hundred
    carriage-return lines of `training:  3%|...`, around the gradient check it exists to show;
    `grader grade` already keeps its bar for a terminal."""
    cli = [sys.executable, "-m", "grader.cli", "train", "-a", assignment, "--steps", "60"]
    run = subprocess.run([*cli, "--check-steps", "1"], capture_output=True, text=True,
                         cwd=ROOT, stdin=subprocess.DEVNULL, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "val loss" in run.stdout  # the run's report is all there
    assert "training:" not in run.stderr and "\r" not in run.stderr, run.stderr[:300]


def test_call_by_name_passes_only_declared_arguments_as_fresh_copies() -> None:
    t = torch.zeros(2)

    def f(a, t):
        t += 1
        return a

    assert call_by_name(f, {"a": 1, "t": t, "unused": 3}) == 1
    assert t.tolist() == [0.0, 0.0], "the caller's tensor is untouched"


def test_call_by_name_gives_kwargs_everything() -> None:
    def f(a, **kwargs):
        return a, sorted(kwargs)

    assert call_by_name(f, {"a": 1, "b": 2, "c": 3}) == (1, ["b", "c"])


@pytest.mark.parametrize(
    "tail",
    [
        # `eps=1e-5` beside the lecture's arguments is the student's own constant, not an
        # argument to supply.
        "eps=1e-5",
        # Python: the callable standing for the sandboxed backward named its own `**kwargs` so,
        # beside the student's `kwargs`, and `grader train` ended in a ValueError traceback
        # (duplicate parameter name) instead of training.
        "kwargs=None, **kw",
    ],
)
def test_grader_train_calls_backward_with_what_it_declares(names_file: Path, tmp_path, tail):
    """`grader train` calls the sandboxed backward with exactly what it declares; a defaulted
    parameter keeps its default."""
    source = SOLUTION.read_text().replace("h, logits\n):", f"h, logits, {tail}\n):")
    assert tail in source
    path = tmp_path / "exercise3.py"
    path.write_text(source)
    result = run_training(path, names_file, steps=3, check_steps=3, seed=2)
    for step in result["grad_check"]:
        assert all(ok for _, ok in step.values()), step


def test_call_by_name_refuses_an_argument_it_cannot_supply() -> None:
    def f(a, dW1):
        return a

    with pytest.raises(TypeError, match="'dW1'"):
        call_by_name(f, {"a": 1})


# The bundle's train.py (torch only) and `grader train` answer bad input in plain words.


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import zipfile

    from grader.bundle import write_student_bundle

    zipped = write_student_bundle(tmp_path_factory.mktemp("dist"))
    out = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(out)
    return out / "backprop-ninja"


def bundle_train(bundle_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_bundle_trains_with_the_students_backward(bundle_dir: Path, names_file: Path):
    shutil.copy(SOLUTION, bundle_dir / "exercise3.py")
    done = bundle_train(bundle_dir, "--data", str(names_file), "--steps", "30")
    assert done.returncode == 0, done.stderr
    assert "train loss" in done.stdout and "samples:" in done.stdout
    assert "NOT OK" not in done.stdout


def test_the_bundle_trains_a_file_that_changes_torch_against_torch_itself(
    bundle_dir: Path, names_file: Path
) -> None:
    """A file that changes torch for the whole process (`torch.tanh = None` at import) meets
    the change in its own code only: train.py's autograd run, computed beside it, ended in a
    traceback (the grader computes it in a process of its own)."""
    source = SOLUTION.read_text()
    assert source.count("import torch ") == 1
    changed = source.replace("import torch ", "import torch\n\ntorch.tanh = None\nimport torch ")
    (bundle_dir / "exercise3.py").write_text(changed)
    done = bundle_train(bundle_dir, "--data", str(names_file), "--steps", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "train loss" in done.stdout


def test_a_run_leaves_no_folder_behind(bundle_dir: Path, names_file: Path, tmp_path: Path):
    shutil.copy(SOLUTION, bundle_dir / "exercise3.py")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "train.py", "--data", str(names_file), "--steps", "2"],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, TMPDIR=str(scratch)),
    )
    assert done.returncode == 0, done.stderr
    assert list(scratch.iterdir()) == []  # the empty folder it ran in is gone


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nowhere/exercise3.py"], "not found: give the path of your exercise3.py"),
        (["."], "(give the file, not its folder)"),
        (["exercise3.py", "--data", "nowhere.txt"], "no names file at nowhere.txt"),
    ],
)
def test_the_bundle_answers_a_wrong_path_in_plain_words(
    bundle_dir: Path, names_file: Path, args: list[str], says: str
) -> None:
    shutil.copy(SOLUTION, bundle_dir / "exercise3.py")
    if "--data" not in args:
        args = [*args, "--data", str(names_file)]
    done = bundle_train(bundle_dir, *args)
    assert done.returncode == 1
    assert says in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            "dbnbias = dhpreact.sum(0, keepdim=True)",
            "dbnbias = dhpreact",
            "dbnbias has shape (32, 64), expected (1, 64)",
        ),
        ('        "dC": dC,\n', "", "backward's dC is NoneType, not a tensor"),
        ("    return {\n", "    return dC\n    return {\n", "backward returned a Tensor"),
        ("import torch ", "x = input()\nimport torch ", "calls input()"),
        # Run from memory, as the grader runs it: reading itself fails here as it fails there.
        (
            "import torch ",
            "SOURCE = open(__file__).read()\nimport torch ",
            "opens the file 'exercise3.py'",
        ),
    ],
)
def test_the_bundle_answers_a_wrong_return_in_plain_words(
    bundle_dir: Path, names_file: Path, old: str, new: str, says: str
) -> None:
    source = SOLUTION.read_text()
    assert source.count(old) == 1, old
    (bundle_dir / "exercise3.py").write_text(source.replace(old, new))
    done = bundle_train(bundle_dir, "--data", str(names_file), "--steps", "5")
    assert done.returncode == 1
    assert says in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_grader_train_answers_a_wrong_path_in_plain_words(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    done = CliRunner().invoke(main, ["train", str(tmp_path / "exercise3.py"), "--steps", "2"])
    assert done.exit_code == 1
    assert "not found: give the path of your exercise3.py" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_the_bundle_trains_on_its_census_names_without_names_txt(bundle_dir: Path) -> None:
    """train.py without the lecture's names.txt (a file the bundle does not ship) stopped with
    "no names file", while the notebook trained on the census names it carries: the bundle now
    carries them too, and says it trains on them."""
    shutil.copy(SOLUTION, bundle_dir / "exercise3.py")
    assert not (bundle_dir / "names.txt").exists()
    done = bundle_train(bundle_dir, "--steps", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "training on census_names.txt" in done.stdout
    assert "samples:" in done.stdout


def test_the_bundle_trains_from_another_folder_in_isolated_mode(bundle_dir: Path, tmp_path):
    """`python -I train.py` (or PYTHONSAFEPATH) puts no script folder on sys.path: train.py
    stopped with "No module named '_ninja_check'", where check.py beside it ran."""
    shutil.copy(SOLUTION, bundle_dir / "exercise3.py")
    done = subprocess.run(
        [sys.executable, "-I", str(bundle_dir / "train.py"), "--steps", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "samples:" in done.stdout
