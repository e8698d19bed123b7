"""The reference solutions are right: the yardstick for the stubs, the examples and the demo.

Every solution function matches autograd on the lecture's configuration and on odd ones (so no
size is hard-coded), returns exactly its variable's shape, and declares only arguments the SPEC
allows it. The solutions are trusted code, so they run in-process here.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from pathlib import Path

import pytest
import torch

from grader.backprop_ninja import model, spec
from grader.backprop_ninja.model import Config
from grader.judge import TOLERANCE

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "backprop-ninja"

CONFIGS = {
    "lecture": Config(),
    "odd": Config(n=5, n_hidden=7, vocab_size=11, block_size=2, n_embd=3),
    "one_char_context": Config(n=4, n_hidden=6, vocab_size=5, block_size=1, n_embd=2, seed=3),
    "large": Config(n=100, n_hidden=33, vocab_size=40, block_size=5, n_embd=4, seed=7),
}
# The mathematically zero gradients are judged against the gradient flowing into them.
SCALE_FROM = {"dlogit_maxes": "dnorm_logits", "db1": "dhprebn"}


@functools.cache
def solution(exercise: str):
    spec_ = importlib.util.spec_from_file_location(
        f"solution_{exercise}", SOLUTIONS / f"{exercise}.py"
    )
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


@functools.cache
def case(cfg: Config, compact: bool) -> tuple[dict, dict]:
    """What a function may be given (float32, upstream gradients from autograd) and the truth."""
    forward = model.compact_forward if compact else model.atomic_forward
    g = torch.Generator().manual_seed(cfg.seed)
    p = model.init_params(cfg, g)
    Xb, Yb = model.random_batch(cfg, g)
    truth = model.autograd_grads(forward, p, Xb, Yb)
    values = {**p, **forward(p, Xb, Yb), "Xb": Xb, "Yb": Yb, "n": cfg.n}
    values.update(cfg.sizes())
    values.update({k: t.float() for k, t in truth.items()})
    return values, truth


def call(fn, values: dict):
    names = inspect.signature(fn).parameters
    return fn(**{k: values[k].clone() if torch.is_tensor(values[k]) else values[k] for k in names})


def assert_matches(name: str, got: torch.Tensor, truth: dict) -> None:
    want = truth[name]
    assert isinstance(got, torch.Tensor), f"{name} returned {type(got).__name__}"
    assert got.shape == want.shape, (
        f"{name}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    )
    assert got.dtype == torch.float32, f"{name}: dtype {got.dtype}"
    scale = truth[SCALE_FROM[name]].abs().max().item() if name in SCALE_FROM else 0.0
    maxdiff = (got.double() - want).abs().max().item()
    bound = TOLERANCE[torch.float32] * max(want.abs().max().item(), scale)
    assert maxdiff <= bound, f"{name}: maxdiff {maxdiff:.2e}"


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("name", spec.EXERCISE1)
def test_exercise1_matches_autograd(name: str, cfg: Config) -> None:
    values, truth = case(cfg, compact=False)
    assert_matches(name, call(getattr(solution("exercise1"), name), values), truth)


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("name", spec.EXERCISE2)
def test_exercise2_matches_autograd(name: str, cfg: Config) -> None:
    values, truth = case(cfg, compact=False)
    assert_matches(name, call(getattr(solution("exercise2"), name), values), truth)


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_exercise3_backward_matches_autograd_for_every_parameter(cfg: Config) -> None:
    values, truth = case(cfg, compact=True)
    grads = call(solution("exercise3").backward, values)
    assert isinstance(grads, dict) and list(grads) == list(spec.EXERCISE3_GRADS)
    for name, got in grads.items():
        assert_matches(name, got, truth)


def test_exercise1_defines_the_26_functions_in_the_lecture_order() -> None:
    module = solution("exercise1")
    defined = [n for n, f in vars(module).items() if inspect.isfunction(f)]
    assert defined == list(spec.EXERCISE1)


@pytest.mark.parametrize("name", spec.EXERCISE1)
def test_exercise1_declares_only_allowed_arguments(name: str) -> None:
    declared = set(inspect.signature(getattr(solution("exercise1"), name)).parameters)
    assert declared <= spec.allowed_exercise1(name)


def test_exercise2_declares_the_spec_signatures() -> None:
    module = solution("exercise2")
    assert list(inspect.signature(module.dlogits).parameters) == ["logits", "Yb", "n"]
    assert list(inspect.signature(module.dhprebn).parameters) == [
        "dhpreact", "bngain", "bnvar_inv", "bnraw", "n",
    ]  # fmt: skip
    for name in spec.EXERCISE2:
        assert set(inspect.signature(getattr(module, name)).parameters) <= (
            spec.allowed_exercise2(name)
        )


def test_exercise3_declares_the_spec_signature() -> None:
    declared = list(inspect.signature(solution("exercise3").backward).parameters)
    assert declared == [
        "Xb", "Yb", "n", "C", "W1", "b1", "W2", "b2", "bngain", "bnbias",
        "emb", "embcat", "hprebn", "bnvar_inv", "bnraw", "h", "logits",
    ]  # fmt: skip
    assert set(declared) <= spec.ALLOWED_EXERCISE3


@pytest.mark.parametrize("exercise", ["exercise1", "exercise2", "exercise3"])
def test_solutions_import_only_torch(exercise: str) -> None:
    source = (SOLUTIONS / f"{exercise}.py").read_text()
    imports = [ln for ln in source.splitlines() if ln.startswith(("import ", "from "))]
    assert all(ln.split()[1].split(".")[0] == "torch" for ln in imports), imports
