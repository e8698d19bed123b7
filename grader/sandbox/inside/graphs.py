"""Whether a student's answer hangs on autograd's graph: the autograd ban's last look at a result.

The sandbox's worker asks it of every call's result, and the bundle's check.py (local_check)
of every answer with this same module, so an answer is judged `forbidden` in both or in
neither. It runs beside student code: it reads the answer through torch's and the containers'
own accessors (a subclass's `grad_fn` property or `__iter__` is not asked), imports torch only
when asked, and holds nothing.
"""

from __future__ import annotations

from typing import Any


def holds_graph(answer: Any) -> bool:
    """Whether `answer`, or a value of the dict, list or tuple it is, is a tensor with a
    `grad_fn`. Whatever cannot be asked holds no graph (grad mode is off for good where
    student code runs): a tensor subclass whose `grad_fn` raised, or an object whose
    `__class__` did, ended the grader's student process before it answered (the call read as
    a crash) and the check in a traceback; reading the answer next says what it is."""
    import torch

    grad_fn = torch.Tensor.grad_fn.__get__  # torch's own: a subclass's property is not asked
    try:
        if isinstance(answer, dict):
            values = list(dict.values(answer))
        elif isinstance(answer, list):
            values = list(list.__iter__(answer))
        elif isinstance(answer, tuple):
            values = list(tuple.__iter__(answer))
        else:
            values = [answer]
        return any(isinstance(v, torch.Tensor) and grad_fn(v) is not None for v in values)
    except BaseException:  # noqa: BLE001 - the student's object raised, whatever it raised
        return False
