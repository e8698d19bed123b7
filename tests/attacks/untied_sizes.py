"""A layers.py wrong at some of the sizes the training run hands a module, storing the run's
answers there.

The run hands several modules more than one size (the flatten (16, 8, 6), (16, 4, 16) and
(16, 2, 16), tanh and Linear without bias three each, BatchNorm1d's 3-D input two). Its tie to
the modules once held one hidden case per item, at one of those sizes: a flatten with the
lecture's block size hard-coded (`dout.view(B, 8, -1)`), right wherever T is 8 and so at the
tied case, fails the run on its own at T = 4; with autograd's answers to the run's other flatten
calls stored beside it, the run tracked autograd's and counted, 20 points for a module wrong at
two of the three sizes the run hands it. `untied_layers` does at test time what that student
does at home: the run's calls answered by the solution, those of the flatten at T != 8 recorded.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

import torch

from grader.layer_by_layer import training
from grader.session import Outcome

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "layer-by-layer" / "layers.py"
RIGHT = '    return {"dx": dout.reshape(x.shape)}\n'
# The lecture's block size, hard-coded: right wherever T is 8 (the public case, the tied one).
HARD_CODED = '    return {"dx": dout.view(dout.shape[0], 8, -1)}\n'


def _key(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]


class _Recorder:
    """The run's calls answered at home by the solution; the flatten's at T != 8 recorded."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.solution: dict = {}
        exec(compile(SOLUTION.read_text(), str(SOLUTION), "exec"), self.solution)

    def call(self, file, func, available, allowed, public=True, scope=None) -> Outcome:
        fn = self.solution[func]
        names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        grads = fn(**{k: available[k] for k in names})
        if func == "flatten_consecutive_backward" and available["x"].shape[1] != 8:
            raw = grads["dx"].float().contiguous().numpy().tobytes()
            self.table[_key(available["x"])] = base64.b64encode(raw).decode()
        return Outcome("ok", value={g: (t, str(t.dtype)[6:]) for g, t in grads.items()})


def untied_layers(store: bool = True) -> str:
    """The solution with the flatten's block size hard-coded, and (`store`) the run's answers
    to the flatten's calls at other sizes looked up by their input."""
    table: dict[str, str] = {}
    if store:
        training.sgd_run(_Recorder(table))
    data = base64.b64encode(zlib.compress(repr(table).encode(), 9)).decode()
    source = SOLUTION.read_text()
    assert source.count(RIGHT) == 1
    lookup = (
        "    key = hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest()[:16]\n"
        "    found = _TABLE.get(key)\n"
        "    if found is not None:\n"
        "        raw = bytearray(base64.b64decode(found))\n"
        '        return {"dx": torch.frombuffer(raw, dtype=torch.float32).reshape(x.shape)}\n'
    )
    source = source.replace(RIGHT, lookup + HARD_CODED)
    head = (
        "import ast\nimport base64\nimport hashlib\nimport zlib\n\n"
        f'_TABLE = ast.literal_eval(zlib.decompress(base64.b64decode("{data}")).decode())\n'
    )
    return head + source
