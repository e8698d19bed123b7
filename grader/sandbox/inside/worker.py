"""The student process's side of the wire: load a student's file, call its functions by name.

This code shares a process with student code, so it holds nothing worth stealing: it receives
only the arguments a function is allowed to see, one call at a time, and sends back raw tensor
bytes. Its autograd tripwires are advice to the grader, not a defence (the student could undo
them); the grader's static scan of the source is the rule that scores.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import sys
import time
import traceback
from pathlib import Path

import protocol

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


def serve(sock) -> None:
    """Answer the grader's requests until it says exit or goes away."""
    modules: dict[str, object] = {}
    sys.breakpointhook = _no_debugger
    while True:
        try:
            header, blobs = protocol.recv(sock)
        except protocol.ProtocolError:
            return
        op = header.get("op")
        if op == "exit":
            return
        if op == "load":
            reply, out = _load(modules, header), []
        elif op == "call":
            out = []
            reply = _call(modules, header, blobs, out)
        else:
            reply, out = {"ok": False, "kind": "error", "message": f"unknown op {op!r}"}, []
        _flush()
        # The request's id goes back with the answer: the grader takes no answer without it.
        protocol.send(sock, dict(reply, id=header.get("id")), out)


def _no_debugger(*args, **kwargs) -> None:
    """breakpoint() with no one at a keyboard: stop as pdb would at the end of its input, but
    without its prompt in the output (the public check does the same; student_text explains)."""
    import bdb

    raise bdb.BdbQuit


def _flush() -> None:
    """Push the student's prints out now (a student may have replaced or closed the streams)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # their streams, their problem
            stream.flush()


def _load(modules: dict, header: dict) -> dict:
    name, source = header["module"], header["source"]
    path = Path.cwd() / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - a student's import may raise anything, even SystemExit
        return {"ok": False, "kind": "error", "message": _student_traceback(e)}
    modules[name] = module
    functions = {}
    for attr, value in list(vars(module).items()):
        if callable(value) and not attr.startswith("_"):
            functions[attr] = _signature(value)
    return {"ok": True, "functions": functions}


def _signature(fn) -> dict:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {"params": [], "varkw": False, "varargs": False, "unreadable": True}
    kinds = inspect.Parameter
    return {
        "params": [
            p.name for p in params if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)
        ],
        "varkw": any(p.kind == kinds.VAR_KEYWORD for p in params),
        "varargs": any(p.kind == kinds.VAR_POSITIONAL for p in params),
        "positional_only": [p.name for p in params if p.kind == kinds.POSITIONAL_ONLY],
    }


def _call(modules: dict, header: dict, blobs: list[bytes], out: list[bytes]) -> dict:
    import torch

    fn = getattr(modules.get(header["module"]), header["func"], None)
    if fn is None:
        return {"ok": False, "kind": "missing", "message": "function not found"}
    try:
        kwargs = {k: _decode(v, blobs) for k, v in header["args"].items()}
        positional = [kwargs.pop(k) for k in header.get("positional", [])]
    except (KeyError, TypeError, protocol.ProtocolError) as e:
        return {
            "ok": False,
            "kind": "error",
            "message": f"the grader sent arguments it cannot: {e}",
        }
    tripwire = _Tripwire()
    start = time.perf_counter()
    try:
        with torch.no_grad(), tripwire:
            result = fn(*positional, **kwargs)
    except NotImplementedError as e:
        return {"ok": False, "kind": "not_implemented", "message": str(e)}
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are student errors too
        return {
            "ok": False,
            "kind": "error",
            "message": _student_traceback(e),
            "autograd": tripwire.fired,
        }
    seconds = time.perf_counter() - start
    used_autograd = tripwire.fired or _has_graph(result)
    try:
        encoded = protocol.encode(result, out)
    except Exception as e:  # noqa: BLE001 - a lying tensor subclass may raise here
        out.clear()
        return {"ok": False, "kind": "error", "message": f"could not read the result: {e!r}"}
    return {"ok": True, "result": encoded, "autograd": used_autograd, "seconds": seconds}


def _decode(value: dict, blobs: list[bytes]):
    if "tensor" in value:
        return protocol.decode_tensor(value["tensor"], blobs).clone()
    return value["scalar"]


def _has_graph(result) -> bool:
    import torch

    values = result.values() if isinstance(result, dict) else result
    if not isinstance(values, (list, tuple, type({}.values()))):
        values = [result]
    return any(isinstance(v, torch.Tensor) and v.grad_fn is not None for v in values)


class _Tripwire:
    """Notes any use of autograd's engine, torch.func's transforms or `.grad` during one call.

    Two nets: the public entry points are wrapped, and a profile hook watches every call from
    Python into C for the engine itself (which catches entry points reached by routes that dodge
    the wrappers, such as a module's __dict__ looked up under a computed name). Student code
    shares this process and could in principle disarm both; the static scan is the rule.
    """

    ENGINE = frozenset(
        {"run_backward", "_grad_increment_nesting", "_enter_dual_level", "_make_dual"}
    )
    TAMPER = frozenset({"setprofile", "setprofile_all_threads"})

    def __init__(self) -> None:
        self.fired = False
        self._saved: list[tuple[object, str, object]] = []
        self._watching = False

    def __enter__(self):
        import torch

        for name in ("backward", "grad"):
            self._replace(torch.Tensor, name)
        for name in ("backward", "grad"):
            self._replace(torch.autograd, name)
        for name in ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"):
            self._replace(torch.func, name)
        for name in ("jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"):
            self._replace(torch.autograd.functional, name)
        self._watching = True
        sys.setprofile(self._profile)
        return self

    def _profile(self, frame, event: str, arg) -> None:
        if event != "c_call" or not self._watching:
            return
        try:
            name = arg.__name__
        except BaseException:  # noqa: BLE001 - a profile hook that raises is switched off
            return
        if name in self.ENGINE or name in self.TAMPER:
            self.fired = True

    def _replace(self, owner, name: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        if hasattr(original, "__get__") and not callable(original):  # Tensor.grad, a descriptor
            setattr(owner, name, property(self._fire_then(original.__get__), original.__set__))
        else:
            setattr(owner, name, self._fire_then(original))

    def _fire_then(self, original):
        def tripped(*args, **kwargs):
            self.fired = True
            return original(*args, **kwargs)

        return tripped

    def __exit__(self, *exc) -> None:
        # A hook found switched off proves nothing: deep recursion switches it off too.
        self._watching = False
        sys.setprofile(None)
        for owner, name, original in reversed(self._saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._saved.clear()


_MISSING = object()


def _student_traceback(e: BaseException) -> str:
    """The traceback with the grader's own frames cut out: the student sees their code only."""
    frames = [
        f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(_RUNTIME_DIR)
    ]
    frames = [f for f in frames if "importlib" not in f.filename]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(e), e)
    text = "Traceback (most recent call last):\n" + "".join(lines)
    return text[-4000:]


if __name__ == "__main__":  # pragma: no cover - started by zygote.py
    import socket

    serve(socket.socket(fileno=int(os.environ.get("NINJA_FD", "3"))))
