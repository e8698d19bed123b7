"""The second assignment, "Backprop Ninja, layer by layer", through the framework's front doors.

Its reference solution scores full marks and its stubs zero; each example of its class fails
exactly the items its mistake touches, with the hint that names the mistake; its student bundle
and Gradescope zip carry it alone and no solution line; the example class grades into reports.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from attacks.stored_layers import stored_layers
from attacks.untied_calls import untied_layers
from conftest import never_hangs

from grader import seeding
from grader.assignment import load
from grader.bundle import write_student_bundle
from grader.examples import write_examples
from grader.gradescope.package import solution_lines, write_autograder_zip
from grader.layer_by_layer import mistakes, model, spec
from grader.layer_by_layer.cases import cases
from grader.layer_by_layer.hidden import HIDDEN
from grader.layer_by_layer.training import TRAIN_TOLERANCE, run_sized, run_sizes, sizes
from grader.scoring import load_rubric
from grader.stubs import assignment_header, stubs_are_current

ROOT = Path(__file__).resolve().parent.parent
A = load("layer-by-layer")
SOLUTION = (A.solutions / "layers.py").read_text()


@pytest.fixture(scope="module")
def grade():
    from grader.pipeline import Grader
    from grader.submissions import Submission

    g = Grader(assignment=A)

    def _grade(source: str | None, name: str = "student") -> dict:
        data = None if source is None else source.encode()
        return g.grade(Submission(name, {"layers": data})).to_json()

    yield _grade
    g.close()


def mutated(old: str, new: str) -> str:
    assert SOLUTION.count(old) == 1, old
    return SOLUTION.replace(old, new)


def failing(result: dict) -> set[str]:
    return {i["id"].split(".", 1)[1] for i in result["items"] if i["status"] != "passed"}


def item(result: dict, name: str) -> dict:
    return next(i for i in result["items"] if i["id"] == f"layers.{name}")


def test_the_solution_scores_full_marks(grade):
    result = grade(SOLUTION)
    assert result["score"] == result["max_score"] == 100.0
    assert [i["id"] for i in result["items"]] == list(A.item_ids)
    assert item(result, "training")["extra"]["per_param"]
    assert item(result, "training")["extra"]["val_loss"] > 0
    assert "leaderboard" not in result  # result records hold no leaderboard
    assert result["assignment"] == "layer-by-layer"


# The run's last step: linear_backward's sixth call at the run's batch with a bias (the output
# layer's, once a step); its hidden case at those sizes comes after the run and is answered right.
OVERFLOWING_LAST_STEP = (
    '    grads = {"dx": dx, "dweight": dweight}\n',
    "    if bias is not None and x.shape[0] == 16:\n"
    "        CALLS.append(x)\n"
    "        if len(CALLS) == 6:\n"
    "            dweight = torch.sign(torch.randn_like(dweight)) * 3e38\n"
    '    grads = {"dx": dx, "dweight": dweight}\n',
)


def test_a_run_steered_to_overflow_leaves_result_json_strict(grade):
    """Finite gradients of 3e38 at the run's last step put the output layer's weights near
    float32's limit, and the held-out loss after the run came out inf (or NaN): result.json
    held `"val_loss": Infinity`, which strict JSON parsers refuse, where docs/result-json.md
    promises every number finite. The run fails on its drift, as it did; the loss is absent."""
    result = grade(mutated(*OVERFLOWING_LAST_STEP) + "\nCALLS = []\n")
    training = item(result, "training")
    message = training["message"]
    assert training["status"] == "failed" and "the last Linear's weight (W4) has" in message
    assert training["extra"]["val_loss"] is None
    json.dumps(result, allow_nan=False)  # every number finite
    assert failing(result) == {"training"}


def test_a_drifted_parameter_is_named_by_its_module_as_the_lecture_builds_it(grade):
    """A softmax over the batch instead of the classes (`F.softmax(logits, 0)`) fails the run
    on its drift, and the message said "b4 has drifted": a key of the grader's own dict,
    which no page a student of this assignment reads defines, whose network is a list of
    Embedding, FlattenConsecutive, Linear, BatchNorm1d and Tanh modules. It names the module
    and its attribute (the key kept in brackets for the TA)."""
    result = grade(mutated("F.softmax(logits, 1)", "F.softmax(logits, 0)"))
    message = item(result, "training")["message"]
    assert "the last Linear's bias (b4) has drifted" in message, message
    from grader.layer_by_layer.training import lecture_name

    names = {k: lecture_name(k) for k in ("C", "W2", "gamma1", "beta3", "b4")}
    assert names == {
        "C": "the Embedding's weight (C)",
        "W2": "the second Linear's weight (W2)",
        "gamma1": "the first BatchNorm1d's gamma (gamma1)",
        "beta3": "the last BatchNorm1d's beta (beta3)",
        "b4": "the last Linear's bias (b4)",
    }


def test_the_stub_scores_zero_with_every_item_not_implemented(grade):
    result = grade((A.stubs / "layers.py").read_text())
    assert result["score"] == 0.0
    assert {i["status"] for i in result["items"]} == {"not_implemented"}


def test_the_rubric_totals_100_and_the_stubs_are_current():
    assert load_rubric(A.rubric, A.item_ids).total == 100.0
    assert stubs_are_current(A.solutions, A.stubs, A.file_names, assignment_header(A)) == []


EXPECTED = {
    "complete": (set(), {}),
    "blank": (set(spec.BY_NAME) | {"training"}, {}),
    "bn_dim0": ({"batchnorm_3d", "training"}, {"batchnorm_3d": mistakes.BN_DIM0}),
    "bessel": (
        {"batchnorm_2d", "batchnorm_3d", "training"},
        {"batchnorm_2d": mistakes.BESSEL, "batchnorm_3d": mistakes.BESSEL},
    ),
    "missing_bias_sum": ({"linear", "training"}, {}),
    "embedding_fancy_index": ({"embedding", "training"}, {"embedding": mistakes.REPEATED}),
    "nothing": (set(spec.BY_NAME) | {"training"}, {}),
}


def test_each_example_fails_exactly_the_items_its_mistake_touches(grade, tmp_path):
    folders = write_examples(A.solutions, A.stubs, tmp_path, A.examples(), A.file_names)
    assert {f.name for f in folders} == set(EXPECTED)
    for folder in folders:
        wrong, hints = EXPECTED[folder.name]
        path = folder / "layers.py"
        result = grade(path.read_text() if path.exists() else None, folder.name)
        assert failing(result) == wrong, folder.name
        for name, hint in hints.items():
            assert item(result, name)["hint"] == hint, (folder.name, name)
        drift = item(result, "training")["extra"].get("per_param")
        if folder.name == "complete":  # the training tolerance's margins: 10x either way
            assert max(drift.values()) < TRAIN_TOLERANCE / 10
        if folder.name == "bessel":
            assert max(drift.values()) > TRAIN_TOLERANCE * 10
    bias = item(grade((tmp_path / "missing_bias_sum" / "layers.py").read_text()), "linear")
    assert "dbias: wrong shape" in bias["message"] and "sum over the broadcast" in bias["message"]


@pytest.mark.parametrize(
    ("old", "new", "name", "hint"),
    [
        ('{"dx": dout * (1 - out**2)}', '{"dx": dout * (1 - x**2)}', "tanh", mistakes.TANH),
        (
            '{"dx": dout.reshape(x.shape)}',
            '{"dx": dout.reshape(x.shape[0], x.shape[1] // 2 if x.shape[1] % 2 == 0 else 1, '
            "x.shape[2], -1).transpose(-1, -2).reshape(x.shape)}",
            "flatten_consecutive",
            mistakes.FLATTEN,
        ),
        ("    dlogits[range(n), targets] -= 1\n", "", "cross_entropy", mistakes.SOFTMAX),
    ],
)
def test_classic_mistakes_get_their_hint(grade, old, new, name, hint):
    src = mutated(old, new).replace("def tanh_backward(dout, out)", "def tanh_backward(dout, x)")
    result = grade(src)
    assert item(result, name)["status"] == "failed"
    assert item(result, name)["cases"][0]["hint"] == hint


def test_the_public_batch_size_written_into_the_mean_is_named_on_every_hidden_case(grade):
    """`dlogits / 32` passes the public case (batch 32) and is a factor n/32 off on every
    hidden one, where the hints said "off by a factor 1/2: a missing factor 2 (the power
    rule) or a missing branch?" (n = 16), "a constant factor of about 0.1563" (n = 5) and
    "3.125" (n = 100): a power rule the cross-entropy's gradient has none of. Each hidden case,
    and the item, name the hard-coded size."""
    result = grade(mutated('{"dlogits": dlogits / n}', '{"dlogits": dlogits / 32}'))
    entropy = item(result, "cross_entropy")
    hidden = [c for c in entropy["cases"] if not c["public"]]
    assert hidden and all(c["status"] == "failed" for c in hidden), hidden
    assert all("a hard-coded batch size (32," in c["hint"] for c in hidden), hidden
    assert entropy["hint"] == hidden[0]["hint"]


def test_a_factor_2_in_the_mean_is_not_called_a_hard_coded_batch_at_half_the_public_one(grade):
    """`dlogits / (2 * n)` is off by 1/2 on every case, the public one included; at n = 16, half
    the public batch, a hard-coded 32 is off by 1/2 too, and that case alone was told "a
    hard-coded batch size (32, the public case's?)", which the code does not have. Where the
    two cannot be told apart the hint names both, and how the public case tells them apart."""
    result = grade(mutated('{"dlogits": dlogits / n}', '{"dlogits": dlogits / (2 * n)}'))
    entropy = item(result, "cross_entropy")
    half = [c for c in entropy["cases"] if c["config"]["batch"] == [16]]
    assert half and all(c["status"] == "failed" for c in half), half
    for case in half:
        assert "if your public case passes, a hard-coded batch size (32," in case["hint"], case
        assert "if it fails too, a factor 2 missing or applied twice" in case["hint"], case
    others = [c for c in entropy["cases"] if c["config"]["batch"] != [16]]
    assert all("hard-coded" not in c["hint"] for c in others), others
    assert all("factor 1/2" in c["hint"] for c in others), others


def test_a_mean_over_n_minus_1_outside_batchnorm_is_not_called_bessel(grade):
    """The cross-entropy's 1/n written 1/(n-1) was told "Bessel's correction (the variance
    divides by n-1, not n)": only BatchNorm has a variance; BatchNorm's slip still is Bessel's."""
    result = grade(mutated('{"dlogits": dlogits / n}', '{"dlogits": dlogits / (n - 1)}'))
    hint = item(result, "cross_entropy")["hint"]
    assert "the mean's 1/n" in hint and "Bessel" not in hint
    bessel = grade(mutated("- n / (n - 1) * xhat", "- xhat"))
    assert "Bessel" in item(bessel, "batchnorm_2d")["hint"]
    # BatchNorm's dgamma is a plain sum: no variance reaches it.
    n = "xhat[..., 0].numel()"
    scaled = grade(
        mutated(
            "dgamma = (dout * xhat).sum(dims)",
            f"dgamma = (dout * xhat).sum(dims) * {n} / ({n} - 1)",
        )
    )
    hint = item(scaled, "batchnorm_2d")["hint"]
    assert "the mean's 1/n" in hint and "Bessel" not in hint


def test_a_single_gradient_may_come_back_bare_and_a_missing_key_is_named(grade):
    bare = mutated('return {"dx": dout * (1 - out**2)}', "return dout * (1 - out**2)")
    assert item(grade(bare), "tanh")["status"] == "passed"
    no_dgamma = mutated(
        '{"dx": dx, "dgamma": dgamma, "dbeta": dbeta}', '{"dx": dx, "dbeta": dbeta}'
    )
    bn = item(grade(no_dgamma), "batchnorm_2d")
    assert bn["status"] == "failed" and "no dgamma" in bn["message"]


def test_autograd_and_undeclared_arguments_score_zero(grade):
    cheat = mutated(
        'return {"dx": dout * (1 - out**2)}',
        "x = out.detach().atanh().requires_grad_()\n"
        "    (x.tanh() * dout).sum().backward()\n"
        '    return {"dx": x.grad}',
    )
    assert item(grade(cheat), "tanh")["status"] == "forbidden"
    sneaky = mutated("def tanh_backward(dout, out):", "def tanh_backward(dout, out, truth):")
    tanh = item(grade(sneaky), "tanh")
    assert tanh["status"] == "forbidden" and "'truth'" in tanh["message"]


def test_the_solution_matches_autograd_on_every_case_directly():
    spec_ = importlib.util.spec_from_file_location("solution_layers", A.solutions / "layers.py")
    solution = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(solution)
    for name, item_cases in cases().items():
        it = spec.BY_NAME[name]
        for case in item_cases:
            declared = inspect.signature(getattr(solution, it.function)).parameters
            got = getattr(solution, it.function)(**{k: case.inputs[k] for k in declared})
            for g in it.grads:
                err = (got[g].double() - case.truth[g]).abs().max() / case.truth[g].abs().max()
                assert err < 2e-6, (case.id, g, float(err))


def test_hidden_cases_vary_what_a_hard_coded_answer_would_fix():
    public = {k: v[0] for k, v in spec.PUBLIC.items()}
    for name, hidden in HIDDEN.items():
        assert hidden and all(c["seed"] != public[name]["seed"] for c in hidden)
        assert any(c["batch"] != public[name]["batch"] for c in hidden), name
    for c in HIDDEN["linear"] + HIDDEN["linear_nobias"]:
        assert c["fan_in"] != c["fan_out"]  # a transposed weight fails on shape
    for c in HIDDEN["batchnorm_3d"]:
        assert c["batch"][0] != c["batch"][1] and c["batch"][0] > 2  # B*T differs from B
    assert any(c["batch"][1] == c["n"] for c in HIDDEN["flatten_consecutive"])  # squeezed
    for case in cases()["embedding"]:
        assert case.inputs["ix"].numel() > len(case.inputs["ix"].unique())  # rows repeat


def test_every_hidden_seed_is_unguessable():
    """model.py and cases.py ship to students, so a hidden case's configuration and seed rebuild
    its inputs and autograd's answers: the seed is its only secret, and seeds 101 to 172 were a
    short guess away; a seed below 2**32 (all torch's manual_seed tells apart) is a search away
    from a few dozen bits of its inputs. Each is a secret of 128 random bits filling the
    generator's whole state (tests/test_seeding.py); results name it by its label alone."""
    seeds = [c["seed"] for hidden in HIDDEN.values() for c in hidden]
    floor = seeding.SECRET_FLOOR
    assert all(floor <= seed < 2 * floor for seed in seeds), seeds
    public = {c["seed"] for configs in spec.PUBLIC.values() for c in configs}
    assert len(set(seeds)) == len(seeds) and not public & set(seeds)
    for case in (c for item in cases().values() for c in item if not c.public):
        seed = case.cfg["seed"]
        assert str(seed) not in case.id and f"{seed:x}"[:8] not in case.id
        assert case.meta()["seed"] == seeding.label(seed) == case.meta()["config"]["seed"]
        assert str(seed) not in repr(case.meta())


def test_batchnorm_keeps_its_statistics_over_every_dim_but_the_last():
    x = torch.randn(5, 3, 4)
    v = model.batchnorm(x, torch.ones(4), torch.zeros(4))
    assert v["xmean"].shape == (1, 1, 4)
    torch.testing.assert_close(v["xvar"], x.var((0, 1), keepdim=True))  # unbiased
    assert model.flatten_consecutive(torch.randn(2, 4, 3), 4).shape == (2, 12)


def test_the_student_bundle_carries_this_assignment_and_no_solution_line(tmp_path):
    bundle = write_student_bundle(tmp_path, A)
    assert bundle.name == "layer-by-layer-student.zip"
    with zipfile.ZipFile(bundle) as zf:
        texts = {n: zf.read(n).decode() for n in zf.namelist()}
    names = {n.removeprefix("layer-by-layer/") for n in texts}
    package = {n for n in names if n.startswith("_layers_check/")}
    assert names - package == {"layers.py", "README.md", "check.py", "CONTRACT.md"}
    assert {"_layers_check/student_check_driver.py", "_layers_check/judging.py"} <= package
    assert not {"_layers_check/hidden.py", "_layers_check/mistakes.py"} & package
    lines = solution_lines(A.solutions)
    hidden_py = (A.content / "hidden.py").read_text().splitlines()
    hidden = {ln.strip() for ln in hidden_py if "seed=" in ln}  # every hidden configuration
    assert len(lines) > 10
    for name, text in texts.items():
        assert not lines & {ln.strip() for ln in text.splitlines()}, name
        if not name.startswith("layer-by-layer/_layers_check/"):  # the framework's may say it
            assert "exercise1" not in text  # no other assignment
        assert "HIDDEN: dict" not in text, name  # no hidden case (hidden.py's table)
        assert not hidden & {ln.strip() for ln in text.splitlines()}, name
        for c in (c for configs in HIDDEN.values() for c in configs):
            assert f"{c['seed']:x}" not in text.lower() and str(c["seed"]) not in text, name
    folder = tmp_path / "student"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    check = folder / "layer-by-layer" / "check.py"
    run = subprocess.run([sys.executable, "-I", str(check)], capture_output=True, text=True)
    assert run.returncode == 0 and "0 of 8 items passed" in run.stdout, run.stderr
    (check.parent / "layers.py").write_text(SOLUTION)
    run = subprocess.run([sys.executable, "-I", str(check)], capture_output=True, text=True)
    assert "8 of 8 items passed" in run.stdout, run.stdout + run.stderr


def test_dbeta_summed_over_the_channels_is_told_which_dimensions_it_kept(grade):
    """`dbeta = dout.sum(-1)` returns a value per row where dbeta has one per channel: the
    shapes alone named nothing, 2-D or 3-D. The call's dout holds both shapes."""
    result = grade(mutated("    dbeta = dout.sum(dims)\n", "    dbeta = dout.sum(-1)\n"))
    said = {
        name: item(result, name)["cases"][0]["message"] for name in ("batchnorm_2d", "batchnorm_3d")
    }
    assert said == {
        "batchnorm_2d": "dbeta: wrong shape: returned (32,), expected (68,) "
        "(summed over dim 1 where this gradient sums over dim 0?)",
        "batchnorm_3d": "dbeta: wrong shape: returned (32, 4), expected (68,) "
        "(summed over dim 2 where this gradient sums over dims 0 and 1?)",
    }


def test_the_check_driver_uses_the_graders_judge_and_words():
    from grader import local_check, public_check, student_text
    from grader.layer_by_layer import judging
    from grader.layer_by_layer import student_check_driver as driver

    assert driver.judge_module is judging.judge_module
    assert public_check.render is student_text.render
    assert public_check.LocalSession is local_check.LocalSession


def test_the_public_check_says_what_the_grader_says_on_the_public_case(grade, tmp_path):
    """check.py was a judge of its own: it called a gradient with a NaN, a complex one or one
    computed with autograd "ok", a bias gradient of shape (1, C) wrong (the grader accepts it
    with a warning), an undeclared argument an ERROR (the grader: FORBIDDEN), all in other
    words. It now runs the grader's judge and words: each item's verdict and message match the
    grader's on the public case."""
    source = mutated(
        'grads["dbias"] = dout.reshape(-1, fan_out).sum(0)',
        'grads["dbias"] = dout.reshape(-1, fan_out).sum(0, keepdim=True)',
    )
    source = source.replace(
        'return {"dx": dout * (1 - out**2)}',
        'dx = dout * (1 - out**2)\n    dx[0, 0] = float("nan")\n    return {"dx": dx}',
    )
    source = source.replace(
        '{"dx": dout.reshape(x.shape)}', "dout.reshape(x.shape).to(torch.complex64)"
    )
    source = source.replace('    return {"dweight": dweight}', "    return dweight.long()")
    source = source.replace("def cross_entropy_backward(logits, targets):",
                            "def cross_entropy_backward(logits, targets, truth):")  # fmt: skip
    source = source.replace(
        '{"dx": dx, "dgamma": dgamma, "dbeta": dbeta}', '{"dx": dx, "dbeta": dbeta}'
    )
    with zipfile.ZipFile(write_student_bundle(tmp_path, A)) as zf:
        zf.extractall(tmp_path / "student")
    folder = tmp_path / "student" / "layer-by-layer"
    (folder / "layers.py").write_text(source)
    run = subprocess.run([sys.executable, "-I", str(folder / "check.py")], capture_output=True,
                         text=True)  # fmt: skip
    lines = run.stdout.splitlines()
    result = grade(source)
    mark = {"passed": "ok", "failed": "WRONG", "forbidden": "FORBIDDEN", "error": "ERROR"}
    for name in spec.BY_NAME:
        public = item(result, name)["cases"][0]
        row = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [name])
        assert lines[row].split()[1] == mark[public["status"]], (name, lines[row])
        if public["status"] != "passed":
            said = lines[row + 1].strip()
            if said == "-> as above":  # a reason the row above gave (student_text.SAID_ONCE)
                said = next(
                    ln.strip()
                    for ln in reversed(lines[:row])
                    if ln.strip() not in ("", said) and ln.strip().startswith("-> ")
                )
            assert said == "-> " + public["message"].splitlines()[0], name
    assert {n for n in spec.BY_NAME if item(result, n)["cases"][0]["status"] == "passed"} == {
        "linear",
        "linear_nobias",
    }


def test_each_gradescope_zip_carries_its_assignment_alone(tmp_path):
    mine = write_autograder_zip(tmp_path / "a", A)
    other = write_autograder_zip(tmp_path / "b", load("backprop-ninja"))
    with zipfile.ZipFile(mine) as zf:
        names = zf.namelist()
        course = zf.read("course.yaml").decode()
    assert mine.name == "layer-by-layer-autograder.zip"
    # Every zip is checked against every assignment's solution lines, this one's included.
    assert solution_lines(A.solutions) <= solution_lines(ROOT / "solutions")
    assert "grader/layer_by_layer/suites/test_layers.py" in names
    assert not any("backprop_ninja" in n for n in names)
    assert "grader/layer_by_layer/examples.py" not in names
    assert "default: layer-by-layer" in course and "grader.backprop_ninja" not in course
    assert sorted(n for n in names if n.startswith("selfcheck/")) == ["selfcheck/layers.py"]
    with zipfile.ZipFile(other) as zf:
        assert not any("layer_by_layer" in n for n in zf.namelist())
        assert "default: backprop-ninja" in zf.read("course.yaml").decode()


def test_the_gradescope_zip_grades_a_submission(tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(write_autograder_zip(tmp_path, A)) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "layers.py").write_text(SOLUTION)
    env = {**os.environ, "PYTHONPATH": str(root / "source")}
    subprocess.run([sys.executable, "-m", "grader.cli", "gradescope-run", "--root", str(root)],
                   cwd=root / "source", env=env, check=True, capture_output=True)  # fmt: skip
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 100.0
    assert {t["name"].split(": ")[-1] for t in results["tests"] if "max_score" in t} >= {
        "batchnorm_3d",
        "training",
    }


def test_the_example_class_grades_into_reports_and_a_summary(tmp_path):
    cli = [sys.executable, "-m", "grader.cli"]
    subprocess.run([*cli, "examples", "-a", "layer-by-layer", str(tmp_path / "ex")], check=True,
                   capture_output=True, cwd=ROOT)  # fmt: skip
    subprocess.run([*cli, "grade", "-a", "layer-by-layer", str(tmp_path / "ex"), "--out",
                    str(tmp_path / "r"), "--no-progress", "-j", "2"], check=True,
                   capture_output=True, cwd=ROOT)  # fmt: skip
    out = tmp_path / "r"
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "summary.html").is_file() and (out / "grades.csv").is_file()
    assert "layers" in (out / "grades.csv").read_text().splitlines()[0]
    for name in EXPECTED:
        assert (out / name / "report.html").is_file()
        result = json.loads((out / name / "result.json").read_text())
        assert failing(result) == EXPECTED[name][0], name
    assert json.dumps(summary)


def test_the_training_demo_trains_with_the_students_functions(tmp_path):
    cli = [sys.executable, "-m", "grader.cli", "train", "-a", "layer-by-layer"]
    run = subprocess.run([*cli, "--steps", "3", "--check-steps", "2"], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    assert out.count("differ from autograd's") == 2 and ": ok" in out and "val loss" in out
    run = subprocess.run([*cli, str(A.stubs / "layers.py"), "--steps", "3"], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "step 1: cross_entropy_backward: not implemented" in run.stderr


def test_the_training_demo_is_not_held_to_a_submissions_total_time_budget(monkeypatch):
    """`grader train -a layer-by-layer layers.py` (3,000 steps by default) ran under a graded
    submission's 300 s budget and stopped the reference solution at step 1305 on a loaded
    2-core machine. Here every call is charged 200 s: a budget would end the run at step 1."""
    from grader.layer_by_layer.demo import training_demo
    from grader.session import Session

    def charge(self, file, since, func=None):
        if file in self.spent:
            self.spent[file] += 200.0

    monkeypatch.setattr(Session, "_spend", charge)
    run = training_demo(A, None, steps=2, check_steps=0)
    assert len(run["losses"]) == 2


def test_the_public_check_runs_this_assignment_and_shows_no_hidden_case(tmp_path):
    (tmp_path / "layers.py").write_text(mutated("- n / (n - 1) * xhat", "- xhat"))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "batchnorm_3d" in run.stdout and mistakes.BESSEL in run.stdout
    assert "hidden-" not in run.stdout and "6 of 9 items passed" in run.stdout


def test_a_function_hanging_for_one_item_keeps_the_other_items_it_serves():
    """batchnorm_backward serves batchnorm_2d and batchnorm_3d: hanging on 3-D input costs
    batchnorm_3d and the run (whose WaveNet has 3-D batchnorms), not the 2-D item. Its
    timeout once skipped batchnorm_2d's hidden cases."""
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    source = mutated(
        "    dims = tuple(range(dout.dim() - 1))\n",
        "    while dout.dim() == 3:\n        pass\n    dims = tuple(range(dout.dim() - 1))\n",
    )
    g = Grader(assignment=A, limits=Limits(call_seconds=2))
    try:
        result = g.grade(Submission("hangs", {"layers": source.encode()})).to_json()
    finally:
        g.close()
    assert failing(result) == {"batchnorm_3d", "training"}
    assert item(result, "batchnorm_3d")["status"] == "timeout"
    assert item(result, "training")["status"] == "timeout"
    # On Gradescope the hidden cases, skipped after the public one timed out, say nothing of
    # their own: no detail test waits for publication, hiding the student's total meanwhile.
    from grader.gradescope.results import to_gradescope

    hidden = [c for c in item(result, "batchnorm_3d")["cases"] if not c["public"]]
    assert {c["message"] for c in hidden} == {
        "skipped: `batchnorm_backward` timed out on an earlier case"
    }
    out = to_gradescope(result, load_rubric(A.rubric, A.item_ids))
    assert [t["name"] for t in out["tests"] if t.get("visibility") != "visible"] == []


def test_prints_before_an_endless_loop_reach_the_report(tmp_path):
    """A print before an endless loop stayed in the killed process's buffer, and the TA's
    report said "The submission printed nothing" of code that printed. Each printed line now
    leaves at once; a line left without its end is lost with the process, and the page says
    so, and how to keep it."""
    from grader.pipeline import Grader
    from grader.report.html import render_report
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    loop = "    print('tanh sees', tuple(out.shape){})\n    while True:\n        pass\n"
    head = "def tanh_backward(dout, out):\n"
    g = Grader(assignment=A, limits=Limits(call_seconds=2))
    try:
        results = [
            g.grade(Submission(f"p{k}", {"layers": mutated(head, head + loop.format(f)).encode()}))
            for k, f in enumerate(("", ", end=''"))
        ]
    finally:
        g.close()
    line, unended = (r.to_json() for r in results)
    assert item(line, "tanh")["status"] == "timeout"
    assert "tanh sees (32, 4, 68)" in line["output"]["layers"]
    assert item(unended, "tanh")["status"] == "timeout" and not unended["output"]
    page = render_report(unended)
    assert "printed nothing" not in page and "Nothing it printed reached the grader" in page
    assert "flush=True" in page


def test_a_transposed_weight_gradient_is_named_as_such(grade):
    transposed = mutated(
        "dweight = x.reshape(-1, fan_in).T @ dout.reshape(-1, fan_out)",
        "dweight = dout.reshape(-1, fan_out).T @ x.reshape(-1, fan_in)",
    )
    linear = item(grade(transposed), "linear")
    assert linear["status"] == "failed"
    assert "dweight: wrong shape" in linear["message"] and "transposed?" in linear["message"]


def test_a_notebook_holding_the_layers_is_graded_like_layers_py(tmp_path):
    """A student who worked in Colab uploads only the .ipynb: its functions are layers.py's."""
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": SOLUTION.splitlines(keepends=True)}  # fmt: skip
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "Copy of layers.ipynb").write_text(json.dumps(notebook))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "9 of 9 items passed" in run.stdout, run.stdout


def test_a_grader_for_layers_reads_a_notebook_as_layers_whatever_is_selected(tmp_path):
    """`Grader(assignment=A)` in Python, the course's default selected: a notebook upload was
    read for the default's functions, found none of layers.py's ("no exercise files found"),
    and its student was sent to the default assignment's notebook."""
    from grader.assignment import load as selected
    from grader.submissions import read_submission

    assert selected().name != A.name  # the course's default is the other assignment
    for folder, source in (("work", SOLUTION), ("empty", "x = 1\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "hw.ipynb").write_text(_notebook_of(source))
    sub = read_submission(tmp_path / "work", "ada", A.files)
    assert sub.files["layers"] and b"def " in sub.files["layers"], sub.notes
    empty = read_submission(tmp_path / "empty", "bo", A.files)
    said = " ".join(empty.notes)
    assert not [d for d in A.derived if d.name.endswith(".ipynb")]  # layers.py's stubs only
    assert "Define one function per gradient, as the assignment's stubs do." in said, said
    assert ".ipynb (in the student bundle" not in said


def _judged(item_name: str, fn) -> list[tuple[str, str, float | None]]:
    """(case id, status, error as a multiple of the tolerance) of `fn` on every case of the item,
    judged in-process by the grader's own judge_module (no sandbox: the numbers are the same)."""
    from grader.layer_by_layer.judging import judge_module
    from grader.local_check import as_the_grader_sees
    from grader.records import Outcome

    it, rows = spec.BY_NAME[item_name], []
    for case in cases()[item_name]:
        declared = inspect.signature(fn).parameters
        try:
            value = fn(**{k: case.inputs[k] for k in declared})
            outcome = Outcome("ok", value=as_the_grader_sees(value))
        except Exception as e:  # noqa: BLE001 - a wrong answer's crash is its verdict
            outcome = Outcome("error", f"{type(e).__name__}: {e}")
        r = judge_module(it, case, outcome)
        rows.append((case.id, r.status, None if r.max_rel_err is None else r.max_rel_err / 2e-5))
    return rows


def _bn(dout, gamma, xhat, inv):
    dims = tuple(range(dout.dim() - 1))
    n = dout.numel() // dout.shape[-1]
    dxhat = dout * gamma
    dx = (inv / n) * (
        n * dxhat
        - dxhat.sum(dims, keepdim=True)
        - n / (n - 1) * xhat * (dxhat * xhat).sum(dims, keepdim=True)
    )
    return {"dx": dx, "dgamma": (dout * xhat).sum(dims), "dbeta": dout.sum(dims)}


@pytest.mark.parametrize("item_name", ["batchnorm_2d", "batchnorm_3d"])
def test_a_dropped_or_misplaced_epsilon_fails_every_batchnorm_case(item_name):
    """At a variance near 1 the epsilon 1e-5 moves the gradient by less than the tolerance (the
    public case missed it by 1.1x, hidden cases at that variance passed it): every input, the
    public one included (so check.py says so too), is shrunk so that it counts. Measured: 130x
    to 2900x the tolerance, correct code 75x below."""

    def dropped(dout, gamma, xhat, xvar):
        return _bn(dout, gamma, xhat, xvar**-0.5)

    def misplaced(dout, gamma, xhat, xvar):
        return _bn(dout, gamma, xhat, 1 / (xvar**0.5 + 1e-5))

    def right(dout, gamma, xhat, xvar):
        return _bn(dout, gamma, xhat, (xvar + 1e-5) ** -0.5)

    for wrong in (dropped, misplaced):
        for case_id, status, times in _judged(item_name, wrong):
            assert status == "failed" and times > 10, (wrong.__name__, case_id, times)
    for case_id, status, times in _judged(item_name, right):
        assert status == "passed" and times < 0.1, (case_id, times)


def test_a_gradient_sized_from_the_indices_fails_a_hidden_case():
    """`one_hot(ix)` without num_classes, or `ix.max() + 1` rows, is right only when the batch
    uses the last row (or class): every case once did, and such code scored full marks on the
    item while it failed the training run."""

    def embedding_sized_by_ix(dout, ix):
        C = dout.shape[-1]
        dw = torch.zeros(int(ix.max()) + 1, C)
        return dw.index_add_(0, ix.reshape(-1), dout.reshape(-1, C))

    def one_hot_without_classes(logits, targets):
        one_hot = torch.nn.functional.one_hot(targets).to(logits.dtype)
        return (torch.softmax(logits, 1) - one_hot) / logits.shape[0]

    for item_name, fn in (
        ("embedding", embedding_sized_by_ix),
        ("cross_entropy", one_hot_without_classes),
    ):
        statuses = [status for case_id, status, _ in _judged(item_name, fn)]
        assert "passed" in statuses and set(statuses) != {"passed"}, (item_name, statuses)
    unused = [c for c in cases()["embedding"] if c.inputs["ix"].max() < c.cfg["vocab_size"] - 1]
    absent = [
        c for c in cases()["cross_entropy"] if c.inputs["targets"].max() < c.cfg["vocab_size"] - 1
    ]
    assert unused and absent


def test_no_hint_gives_away_the_solutions_code():
    """A known mistake's words reach the student: they name the mistake, not the answer. The
    hints once said `dout.view(x.shape)`, `1 - out**2` and `(softmax(logits) - one_hot(targets))
    / n`, the flatten's, tanh's and the cross-entropy's whole solution."""
    code = "".join(ln.split("#")[0] for ln in sorted(solution_lines(A.solutions)))
    code = "".join(code.split())
    for label in (mistakes.BN_DIM0, mistakes.BESSEL, mistakes.REPEATED, mistakes.FLATTEN,
                  mistakes.TANH, mistakes.SOFTMAX,
                  mistakes.HARD_CODED_BATCH.format(size=32)):  # fmt: skip
        # Naming the scatter-add is the lecture's own advice (grader/hints.py says it too).
        words = "".join(label.replace("`", "").replace("index_add_", "").split())
        pieces = {words[i : i + 8] for i in range(len(words) - 7)}
        # A piece of a formula holds an operator; a name alone (`dweight`) gives nothing away.
        formula = {p for p in pieces if p in code and any(c in p for c in "()[]*/+-.")}
        assert not formula, (label, formula)


@pytest.fixture(scope="module")
def public_grade():
    """The grader as `grader check -a layer-by-layer` runs it: the public cases only."""
    from grader.check import _upload, _with_files_left_out
    from grader.pipeline import Grader

    g = Grader(assignment=A, public_only=True)

    def _grade(folder: Path) -> dict:
        return _with_files_left_out(g.grade(_upload(folder, A.files)).to_json())

    yield _grade
    g.close()


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(write_student_bundle(tmp, A)) as zf:
        zf.extractall(tmp / "student")
    return tmp / "student" / "layer-by-layer"


@pytest.mark.parametrize(
    ("name", "source"),
    [
        # Each of these once passed the bundle's check.py and cost points in the grader.
        ("layers.py", mutated('return {"dx": dout.reshape(x.shape)}',
                              'return {"dx": dout.reshape(x.shape) * float("nan")}')),
        ("layers.py", mutated("    n = logits.shape[0]\n",
                              "    n = logits.shape[0]\n    logits.requires_grad_()\n"
                              "    with torch.enable_grad():\n"
                              "        F.cross_entropy(logits, targets).backward()\n")),
        ("layers.py", mutated("import torch\n", "import torch\nSOURCE = open(__file__).read()\n")),
        ("layers.py", mutated("import torch\n", "import torch\nfrom pathlib import Path\n"
                              "NAMES = (Path(__file__).parent / 'names.txt').read_text()\n")),
        ("layers.py", mutated("def tanh_backward(", "def _debug(x):\n    return vars(x)\n\n\n"
                              "def tanh_backward(").replace("return {\"dx\": dout * (1 - out**2)}",
                              "_debug\n    return {\"dx\": dout * (1 - out**2)}")),
        # A sum over the channels for one over the batch: the call's dout names the dimensions.
        ("layers.py", mutated("    dbeta = dout.sum(dims)\n", "    dbeta = dout.sum(-1)\n")),
        # What the grader grades, the check checks: a browser's renamed copy.
        ("layers (1).py", SOLUTION),
    ],
)  # fmt: skip
def test_the_bundle_check_prints_the_graders_table(
    name, source, bundle_folder, public_grade, tmp_path
):
    """The bundle's check.py, run as a student runs it, prints what `grader check` prints for
    the same file: the grader's verdicts, numbers and words, row by row."""
    from grader.student_text import render

    for old in bundle_folder.glob("layers*.py"):
        old.unlink()
    (bundle_folder / name).write_text(source)
    done = subprocess.run([sys.executable, "check.py"], cwd=bundle_folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert done.returncode == 0 and not done.stderr, done.stderr
    result = public_grade(bundle_folder)
    result["items"] = [i for i in result["items"] if i["id"] != "layers.training"]
    expected = render(result, where=str(bundle_folder))
    assert (
        done.stdout.rstrip("\n")
        == expected + "\n(the WaveNet training item is judged by the grader only)"
    )


@pytest.mark.parametrize("name", ["layer.py", "my_layers.py", "layres.py"])
def test_a_misnamed_layers_file_is_named_as_likely_by_the_grader_and_both_checks(
    name, bundle_folder, tmp_path
):
    """`layer.py` for layers.py drew only "no exercise files found ...; the upload held:
    layer.py" (the guess by an exercise's number, `ex1.py` for exercise1.py, had nothing to go
    on in a file name without one): the grader, `grader check` and the bundle's check.py now
    name it as the likely file and say to rename it; a file of another name is still not."""
    import shutil

    from grader.submissions import read_submission

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    for old in folder.glob("layers*.py"):
        old.unlink()
    (folder / name).write_text(SOLUTION)
    (folder / "notes.py").write_text("x = 1\n")
    said = f"{name} may be layers.py: the grader reads only layers.py, so rename it"
    notes = read_submission(folder, "mine", A.files).notes
    assert any(said in n and "notes.py may be" not in n for n in notes), notes
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                             str(folder)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert said in graded.stdout, graded.stdout + graded.stderr
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert said in done.stdout, done.stdout


def _notebook_of(source: str) -> str:
    """A notebook whose one cell holds `source`, as a student working in Colab saves it."""
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": source.splitlines(keepends=True)}  # fmt: skip
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _rows(printed: str) -> list[str]:
    """The table's rows for the layers' items (the training run's and the known mistakes'
    hints, the grader's alone, left out): verdict, cases, difference, shape and reason."""
    table = printed.split("\n\nlayers ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    rows, training = [], False
    for row in table:
        training = row.startswith("  training") or (training and row.startswith("      -> "))
        rows += [] if training or row.startswith("      hint: ") else [row]
    return rows


def test_the_bundle_check_judges_the_notebook_the_grader_grades(bundle_folder, tmp_path):
    """A student who worked in a notebook beside the bundle's untouched layers.py ran `python
    check.py` and got `todo` on every row, 0 of 8, where the grader, given that folder, grades
    the notebook (`python check.py the.ipynb` sent them to check cells it does not have). The
    check now judges the functions the grader reads from the notebook, row for row as the
    grader does, in the folder and given the notebook itself."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    for old in folder.glob("layers*.py"):
        old.unlink()
    (folder / "layers.py").write_text(A.stubs.joinpath("layers.py").read_text())
    (folder / "hw.ipynb").write_text(_notebook_of(mutated("- n / (n - 1) * xhat", "- xhat")))
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                             str(folder)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert "graded the notebook hw.ipynb" in graded.stdout, graded.stdout + graded.stderr
    rows = _rows(graded.stdout)
    assert len(rows) > 8 and "WRONG" in "".join(rows) and "todo" not in "".join(rows)
    env = {**os.environ, "PYTHONPATH": ""}
    for given in ([], ["hw.ipynb"]):
        done = subprocess.run([sys.executable, "check.py", *given], cwd=folder,
                              capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
        assert done.returncode == 0 and not done.stderr, done.stderr
        assert "Note: graded the notebook hw.ipynb (layers: 6 functions from 1 cell)" in (
            done.stdout.splitlines()
        ), done.stdout
        assert _rows(done.stdout) == rows, done.stdout
        assert "6 of 8 items passed" in done.stdout and "check cells" not in done.stdout


def _version_3_notebook_of(source: str) -> str:
    """A notebook whose one code cell holds `source`, as Jupyter wrote nbformat 3 (before
    2015): its cells in a worksheet, the code in `input`, the execution count `prompt_number`,
    under a heading cell."""
    heading = {"cell_type": "heading", "level": 2, "metadata": {}, "source": ["Layers"]}
    cell = {"cell_type": "code", "collapsed": False, "input": source.splitlines(keepends=True),
            "language": "python", "metadata": {}, "outputs": [], "prompt_number": 3}  # fmt: skip
    sheet = {"cells": [heading, cell], "metadata": {}}
    return json.dumps({"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0,
                       "worksheets": [sheet]})  # fmt: skip


def _both_checks(folder: Path, notebook: str) -> tuple[str, str]:
    """What `grader check` and the bundle's check.py print for the notebook in `folder`."""
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                             str(folder / notebook)], capture_output=True, text=True,
                            cwd=ROOT)  # fmt: skip
    done = subprocess.run([sys.executable, "check.py", notebook], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert done.returncode == 0 and not done.stderr, done.stderr
    return graded.stdout, done.stdout


def test_the_bundle_check_reads_an_nbformat_3_notebook_as_the_grader_does(bundle_folder, tmp_path):
    """A notebook saved by an old Jupyter (nbformat 3) is upgraded and graded by the grader;
    the bundle's check, reading JSON without nbformat, found no `cells` in it and tabled it
    as "no notebook", `missing` on every row."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    source = mutated("- n / (n - 1) * xhat", "- xhat")
    (folder / "old.ipynb").write_text(_version_3_notebook_of(source))
    graded, done = _both_checks(folder, "old.ipynb")
    rows = _rows(graded)
    assert "graded the notebook old.ipynb" in graded and "WRONG" in "".join(rows), graded
    assert "Note: graded the notebook old.ipynb (layers: 6 functions from 1 cell)" in done
    assert _rows(done) == rows, done


def test_the_bundle_check_names_the_functions_a_notebook_lacks_in_the_grader_s_order(
    bundle_folder, tmp_path
):
    """A notebook defining none of the layers' functions: the grader's note names them in the
    assignment's order, `linear_backward` first; the bundle's check named them sorted,
    `batchnorm_backward` first, so the two notes on one notebook differed."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    (folder / "none.ipynb").write_text(_notebook_of("x = 1\n"))
    graded, done = _both_checks(folder, "none.ipynb")
    said = next(line for line in graded.splitlines() if "defines none of" in line)
    assert "(linear_backward, batchnorm_backward" in said, said
    assert said in done.splitlines(), done


def test_both_checks_say_where_to_define_functions_in_the_same_words(bundle_folder, tmp_path):
    """A notebook defining no function: the grader said to define one function per gradient "as
    the assignment's stubs do", the bundle's check "as the notebook's cells do", of an
    assignment that ships no notebook."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    (folder / "none.ipynb").write_text(_notebook_of("x = 1\n"))
    graded, done = _both_checks(folder, "none.ipynb")
    stubs = "Define one function per gradient, as the assignment's stubs do."
    assert stubs in graded and stubs in done, done
    assert "notebook's cells do" not in done


def test_the_bundle_check_refuses_a_too_long_number_in_the_graders_words(bundle_folder, tmp_path):
    """A notebook holding a 5,000-digit number is refused by the grader in words that name it
    and its line; the bundle's check said "could not be read as a notebook (no JSON with
    cells)", naming neither."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    text = _notebook_of(SOLUTION).replace(
        '"metadata": {}', '"metadata": {"n": ' + "7" * 5000 + "}", 1
    )
    (folder / "long.ipynb").write_text(text)
    graded, done = _both_checks(folder, "long.ipynb")
    said = next(line for line in graded.splitlines() if "5000 digits long" in line)
    assert said.startswith("Note: long.ipynb holds a number 5000 digits long on line 1"), graded
    assert said in done.splitlines(), done


def test_the_bundle_check_of_a_folder_says_why_the_grader_skips_its_notebook(
    bundle_folder, tmp_path
):
    """A folder whose layers.py is the untouched stub and whose only notebook holds a
    5,000-digit number: the grader refuses that notebook in words naming the number and its
    line, and grades the stub; the bundle's check, run in the folder, skipped the notebook
    without a word, its table of `todo` the student's only answer."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    text = _notebook_of(SOLUTION).replace(
        '"metadata": {}', '"metadata": {"n": ' + "7" * 5000 + "}", 1
    )
    (folder / "long.ipynb").write_text(text)
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                             str(folder)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    said = next(line for line in graded.stdout.splitlines() if "5000 digits long" in line)
    assert said.startswith("Note: long.ipynb holds a number 5000 digits long on line 1"), graded
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert said in done.stdout.splitlines(), done.stdout
    assert _rows(done.stdout) == _rows(graded.stdout), done.stdout


def test_the_lines_left_out_of_a_notebook_are_named_by_both_checks_as_by_the_report(
    bundle_folder, tmp_path
):
    """The report's table of a notebook names each line the grader left out (`!pip`,
    `%matplotlib`, a cell that is not Python), and neither `grader check` nor the bundle's
    check.py said a word of them: now both print the same note."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    source = "!pip install einops\n%matplotlib inline\n" + SOLUTION
    (folder / "hw.ipynb").write_text(_notebook_of(source))
    graded, done = _both_checks(folder, "hw.ipynb")
    said = [line for line in graded.splitlines() if line.startswith("Note: left out of")]
    assert len(said) == 1, graded
    assert 'cell 1 ("!pip install einops"): line 1: !pip install einops (an IPython' in said[0]
    assert "line 2: %matplotlib inline (an IPython command)" in said[0]
    assert said[0] in done.splitlines(), done


def test_what_a_notebook_printed_is_named_as_its_section_not_a_py_file(bundle_folder, tmp_path):
    """A notebook whose embedding_backward printed was checked, by `grader check` and the
    bundle's check.py alike, under "layers.py printed:", a file the student never had, where
    every message names a notebook's code as "layers of the notebook hw.ipynb"."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    zeros = "    dweight = torch.zeros_like(weight)\n"
    source = mutated(zeros, zeros + "    print('rows', ix.shape)\n")
    (folder / "hw.ipynb").write_text(_notebook_of(source))
    command = ["grader.cli", "check", "-a", "layer-by-layer", str(folder / "hw.ipynb")]
    graded = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True,
                            cwd=ROOT)  # fmt: skip
    done = subprocess.run([sys.executable, "check.py", "hw.ipynb"], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    for printed in (graded.stdout, done.stdout):
        assert "\nlayers of the notebook hw.ipynb printed:\nrows torch.Size(" in printed, printed
        assert "layers.py printed" not in printed


def test_the_bundle_check_names_a_notebook_left_out_beside_a_layers_py_with_work(
    bundle_folder, tmp_path
):
    """layers.py worked in and a notebook of other work beside it: the grader grades layers.py
    and says the notebook was not, and the bundle's check, judging the same layers.py, said
    nothing of the notebook."""
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundle_folder, folder)
    for old in folder.glob("layers*.py"):
        old.unlink()
    (folder / "layers.py").write_text(A.solutions.joinpath("layers.py").read_text())
    (folder / "hw.ipynb").write_text(_notebook_of(mutated("- n / (n - 1) * xhat", "- xhat")))
    note = (
        "Note: graded your .py files (layers.py), not the notebook hw.ipynb: when both are "
        "submitted, the .py files count. Submit only the one you want graded."
    )
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "layer-by-layer",
                             str(folder)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert note in graded.stdout.splitlines(), graded.stdout + graded.stderr
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert note in done.stdout.splitlines(), done.stdout


def test_a_passing_case_shows_its_worst_gradients_difference(grade):
    """Linear's dweight sums B*T products and differs most; the case showed dx's difference."""
    case = item(grade(SOLUTION), "linear")["cases"][0]
    inputs, truth = model.make_case("linear", spec.PUBLIC["linear"][0])
    answer = {k: v.double() for k, v in _solution_module().linear_backward(
        **{k: inputs[k] for k in ("dout", "x", "weight", "bias")}).items()}  # fmt: skip
    worst = max((answer[g] - truth[g]).abs().max().item() for g in answer)
    assert case["max_abs_err"] == pytest.approx(worst, rel=0.2)


def _solution_module():
    spec_ = importlib.util.spec_from_file_location("layers_solution", A.solutions / "layers.py")
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


def test_the_training_run_names_the_shape_of_a_wrong_sized_gradient(grade):
    """batchnorm over dim 0 alone on 3-D input returns a (T, C) dgamma: say so, not its size."""
    bn_dim0 = mutated("dims = tuple(range(dout.dim() - 1))", "dims = (0,)")
    training = item(grade(bn_dim0), "training")
    assert "batchnorm_backward's dgamma has shape (2, 16); expected (16,)" in training["message"]


def test_a_bias_left_unsummed_keeps_the_students_total_on_gradescope(grade):
    """The public Linear is 3-D, hidden ones 2-D: the same unsummed dbias says `returned (32, 4,
    68)` and `returned (7, 3)`. A shape's length is a size like any other: the hidden cases fail
    the same way, so no detail test waits for publication and hides the student's total."""
    from grader.gradescope.results import to_gradescope

    unsummed = mutated('grads["dbias"] = dout.reshape(-1, fan_out).sum(0)', 'grads["dbias"] = dout')
    out = to_gradescope(grade(unsummed), load_rubric(A.rubric, A.item_ids))
    assert [t["name"] for t in out["tests"] if t.get("visibility") != "visible"] == []
    linear = next(t for t in out["tests"] if t["name"] == "layers.py: linear")
    assert "0 of 4 passed. They fail the same way as the public case." in linear["output"]


def test_the_bundle_check_is_quiet_where_torch_has_no_numpy(bundle_folder, tmp_path):
    """pip install torch alone: torch warns at import that it found no numpy; check.py said so
    at every run."""
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("raise ModuleNotFoundError('no numpy here')\n")
    for old in bundle_folder.glob("layers*.py"):
        old.unlink()
    (bundle_folder / "layers.py").write_text(SOLUTION)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "check.py"], cwd=bundle_folder, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert done.returncode == 0 and "8 of 8 items passed" in done.stdout, done.stdout + done.stderr
    assert "NumPy" not in done.stdout + done.stderr


def test_the_training_run_refuses_a_gradient_of_the_right_size_and_the_wrong_shape(grade):
    """A flatten that hands dout back unreshaped failed its item and trained on: the run
    reshaped any answer of the right size (from the judging red team)."""
    unreshaped = mutated('return {"dx": dout.reshape(x.shape)}', 'return {"dx": dout}')
    training = item(grade(unreshaped), "training")
    assert training["status"] == "failed"
    assert "flatten_consecutive_backward's dx has shape" in training["message"]


def test_the_public_check_stops_an_endless_loop_with_the_graders_verdict(tmp_path, monkeypatch):
    """check.py ran layers.py with no time limit: a loop that never ends hung it with nothing
    on screen, where the grader says TIMEOUT after its limit (local_check's limits, lowered)."""
    from grader import local_check
    from grader.layer_by_layer import student_check_driver as driver

    # Short for a quick test, long enough that a right call on a loaded machine is never taken
    # for a loop (0.5 s once timed out a right call in the same test of the other assignment).
    monkeypatch.setattr(local_check, "CALL_SECONDS", 2.0)
    looping = mutated('    return {"dx": dout * (1 - out**2)}', "    while True:\n        pass")
    (tmp_path / "layers.py").write_text(looping)
    with never_hangs(60):  # without the limit: a failure, not a hung suite
        result = driver.check(tmp_path)
    status = {i["id"]: i["status"] for i in result["items"]}
    assert status["layers.tanh"] == "timeout" and status["layers.linear"] == "passed"


def test_a_file_that_fails_to_import_is_one_failure_of_the_file(grade):
    """The training run reports the import's failure as the items do, not as its step 1's
    (`step 1: cross_entropy_backward: importing layers.py failed`): one message for the
    whole file, which the class summary lists under "needs a look"."""
    from grader.report.html import file_failures

    result = grade(SOLUTION + "raise ValueError('boom')\n")
    assert {i["status"] for i in result["items"]} == {"error"}
    training = next(i for i in result["items"] if i["id"] == "layers.training")
    assert training["message"].startswith("importing layers.py failed"), training["message"]
    assert "ValueError: boom" in file_failures(result)["layers"]


def test_the_reports_heatmap_names_the_gradient_it_shows(grade):
    """A layer's backward returns several gradients; its heatmap (drawn from the first that
    failed) said "for batchnorm_2d" alone, and its rows and columns were of which one?"""
    from grader.report.html import render_report

    dgamma = "dgamma = (dout * xhat).sum(dims)"
    result = grade(mutated(dgamma, dgamma.replace("= (", "= 1.01 * (")))
    bn = item(result, "batchnorm_3d")
    failed = [c for c in bn["cases"] if c["status"] == "failed"]
    assert failed and {c["gradient"] for c in failed} == {"dgamma"}
    assert all(c["gradient"] == "dx" for c in item(result, "tanh")["cases"])
    page = render_report(result)
    assert "where <code>dgamma</code> of <code>batchnorm_3d</code> differs from autograd" in page
    assert 'aria-label="Heatmap of |yours − autograd| for dgamma of batchnorm_3d"' in page
    assert "The gradient dgamma: |yours − autograd|" in page


@pytest.mark.parametrize("unknown", ["garbage", "raise"])
def test_stored_answers_to_the_runs_inputs_do_not_score_the_run(grade, unknown):
    """The run's inputs are fixed and handed to student code: a layers.py computing linear,
    tanh, flatten and the embedding, with autograd's batchnorm and cross-entropy answers to the
    public cases and to the run stored in it, zeros (or an error) anywhere else, kept the run's
    20 points: 74.8 of 100 where its own code earns 44. The run counts only beside modules
    that pass their case at its sizes; the public cases keep their share (threat-model.md)."""
    result = grade(stored_layers(unknown))
    training = item(result, "training")
    assert training["score"] == 0, training
    assert training["status"] == ("failed" if unknown == "garbage" else "error"), training
    assert (
        "batchnorm_backward did not pass a hidden case at sizes this run hands it"
        in (training["message"])
    )
    assert [c["public"] for c in training["cases"]] == [False]  # it tells a hidden verdict
    assert failing(result) == {"batchnorm_2d", "batchnorm_3d", "cross_entropy", "training"}
    for name in ("batchnorm_2d", "batchnorm_3d", "cross_entropy"):
        passed = [c["passed"] for c in item(result, name)["cases"]]
        assert passed == [True] + [False] * (len(passed) - 1), (name, passed)
    assert result["score"] < 53


def test_a_dropped_epsilon_loses_the_run_as_every_other_batchnorm_mistake_does(grade):
    """At the run's variances (near 1) a dropped epsilon moves the parameters by less than the
    run's tolerance, so the run passed it. It fails batchnorm's case at the run's sizes, whose
    input is shrunk as every batchnorm case's is, and the run does not count: of the honest
    mistakes measured, the only one the run's tie charges (every other fails the run itself)."""
    dropped = mutated(
        "def batchnorm_backward(dout, gamma, xhat, xvar_inv):",
        "def batchnorm_backward(dout, gamma, xhat, xvar):\n    xvar_inv = xvar**-0.5",
    )
    result = grade(dropped)
    assert failing(result) == {"batchnorm_2d", "batchnorm_3d", "training"}
    training = item(result, "training")
    assert training["extra"]["per_param"] and max(training["extra"]["per_param"].values()) < (
        TRAIN_TOLERANCE
    )  # the run alone passed it
    assert training["message"].startswith(  # the run's own verdict first: it tracked
        "6 SGD steps of the WaveNet track autograd's run, but batchnorm_backward did not pass"
    )
    assert "its case at the run's sizes" in training["message"]


def test_every_size_the_run_hands_a_module_has_a_hidden_case():
    """The run's tie to the modules (training.counted) needs, for every size the run hands an
    item, a case at that size: a hidden one, so that no stored answer fits it. One case an item
    left the flatten's T = 4 and T = 2 untied (see the next test)."""
    every = [c for its in cases().values() for c in its]
    ids = run_sized(every)
    assert {name for name, _ in run_sizes()} == set(spec.BY_NAME)
    tied = {(c.item, sizes(c.inputs)) for c in every if c.id in ids}
    assert tied == set(run_sizes())
    assert not any(c.public for c in every if c.id in ids)


@pytest.mark.parametrize(
    "mistake, function",
    [
        ("flatten", "flatten_consecutive"),
        ("one_hot", "cross_entropy"),
        ("rows", "embedding"),
    ],
)
def test_stored_answers_where_a_module_is_wrong_in_the_run_do_not_count(grade, mistake, function):
    """Each mistake fails the run on its own but passed the cases the tie held (a hard-coded
    block size at T = 8; a one-hot or an embedding gradient sized from the indices, where the
    tied case drew the last class or row, which the run's batches mostly lack): with autograd's
    answers to that function's calls in the run stored, the run tracked and scored its 20 points
    (95 to 97.5 of 100, where the same code without them scored 75 to 77.5). The tie now holds
    a case at every size the run hands a module, the last class and row unused as in the run."""
    honest = grade(untied_layers(mistake, store=False))
    stored = grade(untied_layers(mistake, store=True))
    assert item(honest, "training")["score"] == 0
    assert item(honest, "training")["message"].startswith("step 1: ")
    training = item(stored, "training")
    assert training["score"] == 0, training
    name = spec.BY_NAME[function].function
    assert f"{name} did not pass a hidden case" in training["message"]
    assert [c["public"] for c in training["cases"]] == [False]
    assert failing(stored) == {function, "training"}
    assert stored["score"] == honest["score"]


def test_a_returned_tuple_is_named_as_the_student_may_have_written_it():
    """A tuple travels as a list: `return dx, dweight` was reported as "returned list"."""
    said = spec.split([(torch.zeros(2), "float32")] * 2, ("dx", "dweight"))
    assert said == "returned a list or tuple; expected a dict with the keys dx, dweight"
    assert spec.split(None, ("dx",)).startswith("returned None;")


def test_a_dict_without_the_gradient_says_which_keys_it_has():
    """`return {"dout": ...}` from tanh_backward was told "the returned dict has no dx (keys:
    dx)": the keys it must have, read as the ones it had."""
    said = spec.split({"dout": 1}, ("dx",))
    assert said == "the returned dict has no dx: its keys are 'dout', and it must have dx", said
    many = spec.split({f"k{i}": i for i in range(100)}, ("dx", "dweight"))
    assert "and 94 more" in many and len(many) < 200, many
    assert spec.split({}, ("dx",)).endswith("its keys are none, and it must have dx")


def test_a_gradient_keyed_as_backprop_ninja_names_it_is_hinted():
    """`return {"dx": ..., "dW": ..., "db": ...}`, after Backprop Ninja's dW1 and db1: a
    misspelt key had no hint either, and the keys listed alone left the student to spot it.
    Each key taken for a missing gradient is named, once; a key like none is not."""
    linear = ("dx", "dweight", "dbias")
    said = spec.split({"dx": 1, "dW": 2, "db": 3}, linear)
    assert said.endswith(": did you mean `dweight` for `dW` and `dbias` for `db`?"), said
    said = spec.split({"dX": 1, "dweigth": 2, "bias": 3}, linear)
    assert said.endswith("`dx` for `dX`, `dweight` for `dweigth` and `dbias` for `bias`?"), said
    assert spec.split({"dx": 1, "dw": 2}, linear).endswith("`dweight` for `dw`?")
    assert "did you mean" not in spec.split({"dx": 1, "grad_w": 2, "dbias": 3}, linear)
    assert "did you mean" not in spec.split({1: 2, "dx": 1}, linear)


def test_a_command_the_grader_suggests_grades_this_assignment(tmp_path):
    """`grader grade -a layer-by-layer alice/layers.py` was told to run `grader grade alice
    --one`, which graded the folder as the default assignment's upload: 0 of 100, "no exercise
    files found". The command suggested now names the assignment, and grades the solution 100;
    so does `grader check`'s for a folder that does not exist."""
    import re
    import shlex

    alice = tmp_path / "alice"
    alice.mkdir()
    (alice / "layers.py").write_text(SOLUTION)
    cli = [sys.executable, "-m", "grader.cli"]
    refused = subprocess.run([*cli, "grade", "-a", "layer-by-layer", str(alice / "layers.py"),
                              "--out", str(tmp_path / "r")], capture_output=True, text=True,
                             cwd=ROOT)  # fmt: skip
    assert refused.returncode != 0
    suggested = re.search(r"`grader (grade [^`]+)`", refused.stderr)
    assert suggested and "-a layer-by-layer" in suggested.group(1), refused.stderr
    done = subprocess.run([*cli, *shlex.split(suggested.group(1)), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / "alice" / "result.json").read_text())["score"] == 100
    missing = subprocess.run([*cli, "check", "-a", "layer-by-layer", str(tmp_path / "none")],
                             capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert "`grader check -a layer-by-layer .`" in missing.stderr, missing.stderr


@pytest.mark.parametrize(
    ("old", "new", "began"),
    [
        ('{"dlogits": dlogits / n}', '{"dlogits": dlogits / 32}', "cross_entropy_backward"),
        ("- n / (n - 1) * xhat", "- xhat", "batchnorm_backward"),
    ],
)
def test_a_drifted_run_names_the_call_where_the_error_began(grade, old, new, began):
    """`dlogits / 32` passes every public case and fails the run (batch 16) as "the last
    BatchNorm1d's gamma (gamma3) has drifted": `grader check` showed eight modules `ok` and a
    run blaming a right batchnorm_backward. The run names the first call whose answer was off
    autograd's on its own inputs."""
    message = item(grade(mutated(old, new)), "training")["message"]
    assert "has drifted" in message, message
    assert f"; it began at {began}, whose " in message, message


def test_the_student_readme_says_the_check_leaves_the_classic_slips_hints_out():
    """check.py never ships the known mistakes, so Bessel's n-1 got a hint in the grader's
    report and none in check.py, while the README said its rows carry the grader's words."""
    from grader.layer_by_layer.bundle import BUNDLE

    readme = " ".join(BUNDLE.readme.read_text(encoding="utf-8").split())
    assert "this table gives no hint for a few classic slips" in readme
