"""The model's two forward passes are one function: same loss, same logits, same parameter grads.

Exercises 1-2 are judged against the atomic forward and exercise 3 against the compact one; if
they disagreed, a student's exercise-3 answer built from exercise 1's pieces could not pass.
"""

from __future__ import annotations

import pytest
import torch

from grader.backprop_ninja import model
from grader.backprop_ninja.model import PARAMS, Config

CONFIGS = {
    "lecture": Config(),
    "odd": Config(vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5, seed=1),
    "large": Config(vocab_size=31, block_size=5, n_embd=4, n_hidden=33, n=100, seed=4),
    "float64": Config(n=17, seed=9, dtype="float64"),
}


def setup(cfg: Config):
    g = torch.Generator().manual_seed(cfg.seed)
    params = model.init_params(cfg, g)
    Xb, Yb = model.random_batch(cfg, g)
    return params, Xb, Yb


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_two_forwards_give_the_same_loss_and_logits(cfg):
    params, Xb, Yb = setup(cfg)
    with torch.no_grad():
        atomic = model.atomic_forward(params, Xb, Yb)
        compact = model.compact_forward(params, Xb, Yb)
    tol = 1e-5 if cfg.dtype == "float32" else 1e-12
    assert atomic["logits"].dtype == cfg.torch_dtype
    torch.testing.assert_close(atomic["logits"], compact["logits"], rtol=tol, atol=tol)
    torch.testing.assert_close(atomic["loss"], compact["loss"], rtol=tol, atol=tol)
    for name in ("emb", "embcat", "hprebn", "bnvar", "bnvar_inv", "bnraw", "hpreact", "h"):
        torch.testing.assert_close(atomic[name], compact[name], rtol=tol, atol=tol)


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_autograds_parameter_gradients_agree_between_the_two_forwards(cfg):
    params, Xb, Yb = setup(cfg)
    atomic = model.autograd_grads(model.atomic_forward, params, Xb, Yb)
    compact = model.autograd_grads(model.compact_forward, params, Xb, Yb)
    for p in PARAMS:
        grad = "d" + p
        assert atomic[grad].dtype == torch.float64  # the truth is float64 whatever the inputs
        scale = float(compact["dhprebn"].abs().max()) if p == "b1" else 0.0
        err = float((atomic[grad] - compact[grad]).abs().max())
        assert err <= 1e-12 * max(float(compact[grad].abs().max()), scale), grad


def test_the_loss_is_the_cross_entropy_of_the_logits():
    params, Xb, Yb = setup(Config())
    with torch.no_grad():
        atomic = model.atomic_forward(params, Xb, Yb)
    expected = torch.nn.functional.cross_entropy(atomic["logits"], Yb)
    torch.testing.assert_close(atomic["loss"], expected)


def test_the_atomic_variables_have_the_specs_shapes():
    cfg = Config(vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5)
    params, Xb, Yb = setup(cfg)
    with torch.no_grad():
        v = model.atomic_forward(params, Xb, Yb)
    shapes = {
        "emb": (5, 2, 3),
        "embcat": (5, 6),
        "hprebn": (5, 7),
        "bnmeani": (1, 7),
        "bnvar_inv": (1, 7),
        "logits": (5, 11),
        "logit_maxes": (5, 1),
        "counts_sum_inv": (5, 1),
        "loss": (),
    }
    assert {k: tuple(v[k].shape) for k in shapes} == shapes
