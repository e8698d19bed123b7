"""Files that compute no gradient: autograd's answers to every public input, stored in the file.

A training run's inputs are as public as the public cases: its start, its batches and its
update rule ship in the student bundle (training.py, model.py), so a student can run it at home
with autograd, store each step's answers, and hand them back to the grader's run. What such a
file may score is the public cases' share (docs/threat-model.md, "Known limits"); the run must
not count. These builders do at test time what that student does at home.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterable

import torch

from grader.backprop_ninja import model, spec, training
from grader.backprop_ninja.cases import build_case, cases
from grader.backprop_ninja.model import Config


def _key(Xb: torch.Tensor) -> str:
    """What the stored file looks its answers up by: the batch, which no answer changes."""
    return hashlib.sha256(Xb.contiguous().numpy().tobytes()).hexdigest()[:16]


def _flat(grads: dict[str, torch.Tensor]) -> bytes:
    return b"".join(grads[g].float().contiguous().numpy().tobytes() for g in spec.EXERCISE3_GRADS)


def stored_backward(guesses: Iterable[int] = (), hang: bool = False) -> str:
    """exercise3.py whose `backward` answers the public cases and each step of the training
    run from a table of autograd's gradients, and raises on any other input (a hidden case).
    `guesses`: seeds whose case at the lecture's sizes it stores too, as a student guessing the
    hidden seed at the run's sizes would (cases.py ships, so a seed is all a case needs).
    `hang`: loop for ever on any other input instead of raising, so that the timeout skips
    backward's later cases (judging.backward_calls still asks those at the run's sizes)."""
    table = {_key(case.Xb): _flat(case.compact_grads) for case in cases(public_only=True)}
    for seed in guesses:
        case = build_case(Config(seed=seed, quiet_unit=True), public=False)
        table[_key(case.Xb)] = _flat(case.compact_grads)
    cfg = training.TRAIN_CFG
    start, batches, _ = training.reference_run(cfg, training.TRAIN_STEPS)
    params = {k: t.double() for k, t in start.items()}
    for Xb, Yb in batches:  # the grader's run, step by step, driven by the stored answers
        current = {k: p.to(start[k].dtype) for k, p in params.items()}
        grads = model.autograd_grads(model.compact_forward, current, Xb, Yb)
        table[_key(Xb)] = _flat(grads)
        for k in model.PARAMS:
            params[k] = params[k] - training.TRAIN_LR * grads["d" + k].float().double()
    unknown = 'raise ValueError("no stored answer for this batch")'
    if hang:
        unknown = "while True:\n            pass"
    packed = {k: base64.b64encode(v).decode() for k, v in table.items()}
    data = base64.b64encode(zlib.compress(repr(packed).encode(), 9)).decode()
    return f'''import ast
import base64
import hashlib
import zlib

import torch

_TABLE = ast.literal_eval(zlib.decompress(base64.b64decode("{data}")).decode())
_NAMES = {spec.EXERCISE3_GRADS!r}


def backward(Xb, C, W1, b1, W2, b2, bngain, bnbias):
    key = hashlib.sha256(Xb.contiguous().numpy().tobytes()).hexdigest()[:16]
    if key not in _TABLE:
        {unknown}
    flat = torch.frombuffer(bytearray(base64.b64decode(_TABLE[key])), dtype=torch.float32)
    grads, at = {{}}, 0
    for name, p in zip(_NAMES, (C, W1, b1, W2, b2, bngain, bnbias)):
        grads[name] = flat[at : at + p.numel()].reshape(p.shape).clone()
        at += p.numel()
    return grads
'''
