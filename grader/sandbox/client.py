"""The grader's handle on student processes: start them, load files, call functions, kill them.

Everything the student process says is data: a framed JSON header and raw tensor bytes, decoded
here against whitelists and size limits. A student process that dies, hangs past its time limit
or floods its output costs only the call it was making; `Sandbox` starts a fresh one for the next.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from .inside import protocol
from .isolation import CLEAN_ENV, Isolation, detect, zygote_command


@dataclass(frozen=True)
class Limits:
    """What one student process may use. Generous for gradients of a 32x64 MLP, fatal for bombs."""

    call_seconds: float = 10.0
    import_seconds: float = 20.0
    cpu_seconds: int = 300
    memory_bytes: int = 1 << 30  # above what torch already maps
    file_size: int = 1 << 20
    open_files: int = 64
    processes: int = 0  # no fork, no threads beyond its own: nothing can outlive grading
    output_bytes: int = 16_000
    result_bytes: int = 64 << 20

    def for_zygote(self, iso: Isolation) -> dict:
        return {
            "cpu_seconds": self.cpu_seconds,
            "address_space": self.memory_bytes,
            "file_size": self.file_size,
            "open_files": self.open_files,
            "processes": self.processes if (os.getuid() != 0 or iso.uid is not None) else None,
            "uid": iso.uid,
            "gid": iso.gid,
        }


@dataclass
class NotATensor:
    """What a student function returned when it was not a tensor (only its type name crosses)."""

    type_name: str


@dataclass
class Reply:
    """The outcome of one request: ok with a value, or a kind of failure with a message."""

    ok: bool
    kind: str = ""  # not_implemented | error | timeout | missing | crash
    message: str = ""
    value: Any = None
    autograd: bool = False
    seconds: float = 0.0
    functions: dict[str, dict] = field(default_factory=dict)


class Zygote:
    """One warm, clean process per grader process; forks student processes in milliseconds."""

    def __init__(self, limits: Limits, iso: Isolation | None = None) -> None:
        self.limits = limits
        self.iso = iso or detect()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(CLEAN_ENV, NINJA_ZYGOTE_FD=str(theirs.fileno()))
        self.proc = subprocess.Popen(
            zygote_command(self.iso),
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
        )
        theirs.close()
        self.ctl = ours
        self._lock = threading.Lock()
        try:
            protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 120)
        except protocol.ProtocolError as e:
            err = self.proc.stderr.read(4000).decode(errors="replace") if self.proc.stderr else ""
            self.close()
            raise RuntimeError(f"the sandbox could not start: {e}\n{err}") from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def spawn(self) -> StudentProcess:
        if not self.alive():
            self._start()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        request = json.dumps({"op": "spawn", "limits": self.limits.for_zygote(self.iso)}).encode()
        fds = array.array("i", [theirs.fileno(), out_w])
        with self._lock:
            self.ctl.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            header, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 30)
        theirs.close()
        os.close(out_w)
        return StudentProcess(self, header["pid"], ours, out_r, self.limits)

    def kill(self, pid: int) -> None:
        """Kill a student's whole session from inside the sandbox's own process namespace."""
        if not self.alive():
            return
        request = json.dumps({"op": "kill", "pid": pid}).encode()
        with self._lock:
            try:
                self.ctl.sendmsg([request])
                protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 10)
            except (OSError, protocol.ProtocolError, TimeoutError):
                self.close()

    def close(self) -> None:
        try:
            self.ctl.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()


class StudentProcess:
    """One student process, holding one student's exercise file."""

    def __init__(self, zygote: Zygote, pid: int, sock: socket.socket, out_fd: int, limits: Limits):
        self.zygote, self.pid, self.sock, self.limits = zygote, pid, sock, limits
        self.dead = False
        self._output = bytearray()
        self._dropped = 0
        self._drain = threading.Thread(target=self._read_output, args=(out_fd,), daemon=True)
        self._drain.start()

    def _read_output(self, fd: int) -> None:
        """Keep the first bytes of the student's prints, count the rest, never block the student."""
        with os.fdopen(fd, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                room = self.limits.output_bytes - len(self._output)
                self._output += chunk[: max(room, 0)]
                self._dropped += max(len(chunk) - max(room, 0), 0)

    def output(self) -> str:
        """What the student's code printed so far, cut to size (read after the process ended)."""
        text = self._output.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n... [{self._dropped} more bytes of output were cut]"
        return text

    def load(self, module: str, source: str) -> Reply:
        reply = self._request(
            {"op": "load", "module": module, "source": source}, [], self.limits.import_seconds
        )
        return reply

    def call(self, module: str, func: str, args: dict[str, Any], positional: list[str]) -> Reply:
        blobs: list[bytes] = []
        encoded = {k: protocol.encode(v, blobs, depth=1) for k, v in args.items()}
        header = {
            "op": "call",
            "module": module,
            "func": func,
            "args": encoded,
            "positional": positional,
        }
        return self._request(header, blobs, self.limits.call_seconds)

    def _request(self, header: dict, blobs: list[bytes], seconds: float) -> Reply:
        if self.dead:
            return Reply(False, "crash", "the process running your code had already ended")
        try:
            protocol.send(self.sock, header, blobs)
            answer, data = protocol.recv(
                self.sock, max_bytes=self.limits.result_bytes, deadline=time.monotonic() + seconds
            )
        except TimeoutError:
            self.kill()
            return Reply(False, "timeout", f"no answer within {seconds:g} s (an endless loop?)")
        except protocol.Closed:
            self.kill()
            return Reply(False, "crash", _CRASH)
        except (OSError, protocol.ProtocolError) as e:
            self.kill()
            return Reply(
                False, "error", f"the process running your code sent something invalid: {e}"
            )
        return _to_reply(answer, data)

    def kill(self) -> None:
        if not self.dead:
            self.dead = True
            self.zygote.kill(self.pid)
            self.sock.close()
            self._drain.join(timeout=2)

    def close(self) -> None:
        if not self.dead:
            with contextlib.suppress(OSError):
                protocol.send(self.sock, {"op": "exit"})
        self.kill()


_CRASH = (
    "the process running your code ended without answering (os._exit, sys.exit at import, "
    "a segmentation fault, or running out of memory or CPU time)"
)


def _to_reply(answer: dict, data: list[bytes]) -> Reply:
    if not isinstance(answer, dict):
        return Reply(False, "error", "the process running your code sent an invalid answer")
    autograd = answer.get("autograd") is True
    if answer.get("ok") is not True:
        kind = answer.get("kind")
        kind = kind if kind in ("not_implemented", "error", "missing") else "error"
        return Reply(False, kind, str(answer.get("message", ""))[:8000], autograd=autograd)
    if "functions" in answer:
        functions = answer["functions"] if isinstance(answer["functions"], dict) else {}
        return Reply(
            True, functions={str(k): v for k, v in functions.items() if isinstance(v, dict)}
        )
    try:
        value = decode_value(answer.get("result"), data)
    except protocol.ProtocolError as e:
        return Reply(False, "error", f"the returned value could not be read: {e}")
    seconds = answer.get("seconds")
    return Reply(
        True,
        value=value,
        autograd=autograd,
        seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0,
    )


def decode_value(encoded: Any, data: list[bytes], depth: int = 0) -> Any:
    """Tensors, scalars, one level of dict or list; anything else becomes a NotATensor."""
    if not isinstance(encoded, dict) or len(encoded) != 1:
        raise protocol.ProtocolError("malformed value")
    ((kind, body),) = encoded.items()
    if kind == "tensor":
        if body.get("blob") == -1:
            return NotATensor(f"tensor of dtype {str(body.get('dtype'))[:40]}")
        t = protocol.decode_tensor(body, data)
        return (t, str(body.get("dtype", t.dtype))[:40])
    if kind == "scalar":
        return NotATensor(type(body).__name__) if body is not None else None
    if kind == "object":
        return NotATensor(str(body)[:80])
    if depth == 0 and kind == "dict" and isinstance(body, list):
        return {str(k)[:80]: decode_value(v, data, 1) for k, v in body if isinstance(k, str)}
    if depth == 0 and kind == "list" and isinstance(body, list):
        return [decode_value(v, data, 1) for v in body]
    raise protocol.ProtocolError("malformed value")


def warm_torch() -> None:
    """One thread before any fork (a forked OpenMP pool can deadlock) and the same on every run."""
    torch.set_num_threads(1)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
