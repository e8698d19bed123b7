"""What one call into a student process costs, on one CPU, and where it goes.

A forked process serves the solution's exercise1.py with the sandbox's own worker (no
sandbox around it: the walls cost nothing per call), and the grader's side sends it exercise
1's 26 functions on the public and hidden cases as `call_each` does: a function's requests
at once, then its answers one by one. Prints the CPU time a call costs each side, and the
student side's steps timed in-process (docs/performance.md, ninth session, keeps the figures).

`--held` runs, beside it, a worker that holds its answers while more requests wait in its
buffer: an experiment only, kept to show what per-call wake-ups cost (why the grader does not
do it: docs/performance.md).

    taskset -c 0 .venv/bin/python bench/call_cost.py [--held]
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "grader" / "sandbox" / "inside"))

import protocol  # noqa: E402
import worker  # noqa: E402

from grader.backprop_ninja import spec  # noqa: E402
from grader.backprop_ninja.cases import cases  # noqa: E402
from grader.calls import plan_call  # noqa: E402
from grader.sandbox import framing  # noqa: E402

SOURCE = (ROOT / "solutions" / "backprop-ninja" / "exercise1.py").read_text()
ROUNDS = 15


def serve_held(sock: socket.socket) -> None:
    """worker.serve, but answers go out together once no request is left waiting."""
    modules: dict = {}
    channel = protocol.Channel(sock, blocking=True)
    held: list[bytes] = []
    while True:
        header, blobs = channel.recv()
        if header.get("op") == "exit":
            return
        out: list[bytes] = []
        if header.get("op") == "load":
            reply = worker._load(modules, header)
        else:
            reply = worker._call(modules, header, blobs, out)
        held.append(protocol.frame(dict(reply, id=header.get("id")), out))
        if len(channel._buf) == channel._pos:
            channel.send_frame(b"".join(held))
            held.clear()


def requests_by_function(signatures: dict) -> list[list[bytes]]:
    """Each exercise-1 function's requests over every case, framed as the grader frames them."""
    every = cases()
    return [
        [
            framing.call_request("exercise1", grad, args, positional)[1]
            for args, positional, _ in (
                plan_call(grad, signatures[grad], case.atomic_inputs, spec.allowed_exercise1(grad))
                for case in every
            )
        ]
        for grad in spec.EXERCISE1
    ]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_call(serve) -> tuple[float, float]:
    """(student side, grader side) CPU microseconds a call."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        ours.close()
        serve(theirs)
        os._exit(0)
    theirs.close()
    channel = protocol.Channel(ours)
    channel.send({"op": "load", "module": "exercise1", "id": "load"}, [SOURCE.encode()])
    loaded, _ = channel.recv(deadline=time.monotonic() + 30)
    functions = requests_by_function(loaded["functions"])
    child, grader, calls = cpu_seconds(pid), time.process_time(), 0
    for _ in range(ROUNDS):
        for requests in functions:
            channel.send_frame(b"".join(requests))
            for _ in requests:
                channel.recv(deadline=time.monotonic() + 30)
                calls += 1
    child, grader = cpu_seconds(pid) - child, time.process_time() - grader
    channel.send({"op": "exit"})
    os.waitpid(pid, 0)
    return child / calls * 1e6, grader / calls * 1e6


def student_steps() -> dict[str, float]:
    """The student side's Python per call, in-process: microseconds per step."""
    modules: dict = {}
    loaded = worker._load(modules, {"module": "exercise1"}, [SOURCE.encode()])
    frames = [f for requests in requests_by_function(loaded["functions"]) for f in requests]
    messages = [protocol._message(_reader(f), 1 << 62) for f in frames]
    arguments = [
        {k: worker._decode(v, blobs) for k, v in h["args"].items()} for h, blobs in messages
    ]
    calls = [
        (getattr(modules["exercise1"], h["func"]), a)
        for (h, _), a in zip(messages, arguments, strict=True)
    ]

    def call(fn_args) -> object:
        fn, args = fn_args
        with torch.no_grad():
            return fn(**args)

    def reply(value) -> bytes:
        out: list[bytes] = []
        encoded = protocol.encode(value, out)
        return protocol.frame({"ok": True, "result": encoded, "seconds": 1e-5, "id": "0" * 16}, out)

    outputs = [call(c) for c in calls]
    return {
        "read the frame": _timed(lambda f: protocol._message(_reader(f), 1 << 62), frames),
        "rebuild and copy the arguments": _timed(
            lambda m: {k: worker._decode(v, m[1]) for k, v in m[0]["args"].items()}, messages
        ),
        "the lecture's function": _timed(call, calls),
        "encode and frame the reply": _timed(reply, outputs),
        "the whole call (worker._call)": _timed(
            lambda m: worker._call(modules, m[0], m[1], []), messages
        ),
    }


def _reader(data: bytes):
    at = [0]

    def read(size: int) -> bytearray:
        at[0] += size
        return bytearray(data[at[0] - size : at[0]])

    return read


def _timed(step, items: list) -> float:
    start = time.process_time()
    for _ in range(ROUNDS):
        for item in items:
            step(item)
    return (time.process_time() - start) / ROUNDS / len(items) * 1e6


def main() -> None:
    torch.set_num_threads(1)
    held = "--held" in sys.argv
    for _ in range(4):
        child, grader = per_call(worker.serve)
        line = f"per call: student {child:6.1f} us, grader {grader:5.1f} us"
        if held:
            child, grader = per_call(serve_held)
            line += f"   held answers: student {child:6.1f} us, grader {grader:5.1f} us"
        print(line)
    for step, micros in student_steps().items():
        print(f"  student side, {step}: {micros:.1f} us")


if __name__ == "__main__":
    main()
