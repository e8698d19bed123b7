"""A student function's signature, as a call by name needs it: its parameters and their kinds.

The sandbox's worker sends it with a loaded file's functions, and the bundle's check.py
(local_check) reads it with this same module, so both plan a call (calls.plan_call) from the
same facts. It runs beside student code: standard library only, nothing held.
"""

from __future__ import annotations

import inspect
from typing import Any


def signature_of(fn: Any) -> dict:
    """What a call needs to know of `fn`'s signature. Reading it runs the student's code (a
    `__signature__` property, a Signature subclass): whatever that raises leaves the signature
    unreadable, as a builtin's is. Raised out of a load, it ended the student process before
    it answered (every item of a file whose functions were right read as a crash) and the
    check in a traceback; SystemExit passed an `except Exception` all the same."""
    try:
        return _read(fn)
    except BaseException:  # noqa: BLE001 - the student's object raised, whatever it raised
        return {"params": [], "varkw": False, "varargs": False, "unreadable": True}


def _read(fn: Any) -> dict:
    params = list(inspect.signature(fn).parameters.values())
    kinds = inspect.Parameter
    return {
        "params": [
            p.name for p in params if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)
        ],
        "varkw": any(p.kind == kinds.VAR_KEYWORD for p in params),
        "varargs": any(p.kind == kinds.VAR_POSITIONAL for p in params),
        "positional_only": [p.name for p in params if p.kind == kinds.POSITIONAL_ONLY],
        "defaulted": [p.name for p in params if p.default is not p.empty],
    }
