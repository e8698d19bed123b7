"""A layers.py with one module wrong at some of the run's calls, storing the run's answers there.

The run's tie to the modules (training.counted) holds hidden cases at the run's sizes: a module
that passes them is taken to drive the run right. Two mistakes passed the cases the tie once held
and still failed the run on their own, so a file storing autograd's answers to that module's
calls in the run kept the run's 20 points:
- `flatten`: the lecture's block size hard-coded (`dout.view(B, 8, -1)`), right wherever T is 8.
  The run hands the flatten T = 8, 4 and 2; the tie held one case an item, the flatten's at T = 8.
- `one_hot`: cross-entropy's one-hot sized from the targets (`F.one_hot(targets)`), right where
  the last class is a target. The tied case drew it; no batch of the run does ('z' is rare).
- `rows`: the embedding's gradient sized from the indices (`ix.max() + 1` rows), right where the
  last row is used: in the tied case, and in two of the run's six batches.
`untied_layers` does at test time what that student does at home: the run's calls answered by
the solution, those of the mistaken function recorded by their input.
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
# mistake: (function, its input the answer is looked up by, the gradient, the input whose shape
# it has, the solution's line, the mistaken line)
MISTAKES = {
    "flatten": (
        "flatten_consecutive_backward",
        "x",
        "dx",
        "x",
        '    return {"dx": dout.reshape(x.shape)}\n',
        '    return {"dx": dout.view(dout.shape[0], 8, -1)}\n',
    ),
    "one_hot": (
        "cross_entropy_backward",
        "logits",
        "dlogits",
        "logits",
        "    dlogits = F.softmax(logits, 1)\n    dlogits[range(n), targets] -= 1\n",
        "    dlogits = F.softmax(logits, 1) - F.one_hot(targets)\n",
    ),
    "rows": (
        "embedding_backward",
        "ix",
        "dweight",
        "weight",
        "    dweight = torch.zeros_like(weight)\n",
        "    dweight = torch.zeros(int(ix.max()) + 1, weight.shape[1])\n",
    ),
}


def _key(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]


class _Recorder:
    """The run's calls answered at home by the solution; the mistaken function's recorded."""

    def __init__(self, func: str, key: str, grad: str, table: dict[str, str]):
        self.func, self.key, self.grad, self.table = func, key, grad, table
        self.solution: dict = {}
        exec(compile(SOLUTION.read_text(), str(SOLUTION), "exec"), self.solution)

    def call(self, file, func, available, allowed, public=True, scope=None) -> Outcome:
        fn = self.solution[func]
        names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        grads = fn(**{k: available[k] for k in names})
        if func == self.func:
            raw = grads[self.grad].float().contiguous().numpy().tobytes()
            self.table[_key(available[self.key])] = base64.b64encode(raw).decode()
        return Outcome("ok", value={g: (t, str(t.dtype)[6:]) for g, t in grads.items()})


def untied_layers(mistake: str, store: bool = True) -> str:
    """The solution with `mistake` made, and (`store`) autograd's answers to the mistaken
    function's calls in the run looked up by their input."""
    func, key, grad, like, right, wrong = MISTAKES[mistake]
    table: dict[str, str] = {}
    if store:
        training.sgd_run(_Recorder(func, key, grad, table))
    data = base64.b64encode(zlib.compress(repr(table).encode(), 9)).decode()
    source = SOLUTION.read_text()
    assert source.count(right) == 1
    signature = source[source.index(f"def {func}(") :].split("\n", 1)[0]
    lookup = (
        f"    found = _TABLE.get(_key({key}))\n"
        "    if found is not None:\n"
        "        raw = torch.frombuffer(bytearray(base64.b64decode(found)), dtype=torch.float32)\n"
        f'        return {{"{grad}": raw.reshape({like}.shape)}}\n'
    )
    source = source.replace(right, wrong).replace(signature + "\n", signature + "\n" + lookup, 1)
    head = (
        "import ast\nimport base64\nimport hashlib\nimport zlib\n\n"
        f'_TABLE = ast.literal_eval(zlib.decompress(base64.b64decode("{data}")).decode())\n\n\n'
        "def _key(t):\n"
        "    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]\n"
    )
    return head + source
