"""Requests framed once for an assignment's constants: the student process gets what it got.

A request whose every tensor was declared constant is framed the first time and reused with a
fresh id; it must read exactly as a freshly framed one, follow a declared tensor changed in
place, and never stand in for anything that was not declared (a student's own gradient fed
back, a scalar of another type).
"""

from __future__ import annotations

import pytest
import torch

from grader.sandbox import framing
from grader.sandbox.client import decode_value
from grader.sandbox.inside import protocol


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(framing, "_CONSTANTS", {})
    monkeypatch.setattr(framing, "_FRAMED", {})
    monkeypatch.setattr(framing, "_framed_bytes", 0)


def read(data: bytes) -> tuple[dict, list]:
    """A request as the student process reads it off the wire."""
    view = memoryview(data)
    pos = 0

    def take(size: int) -> bytearray:
        nonlocal pos
        pos += size
        return bytearray(view[pos - size : pos])

    header, blobs = protocol._message(take, 1 << 30)
    assert pos == len(data), "one frame, nothing after it"
    return header, blobs


def argument(header: dict, blobs: list, name: str):
    value = decode_value(header["args"][name], blobs, depth=1)
    return value[0] if isinstance(value, tuple) else value


def fresh(module: str, func: str, args: dict, positional: list[str]) -> bytes:
    """The request as it was framed before any cache: everything encoded for this call."""
    blobs: list[bytes] = []
    encoded = {k: protocol.encode(v, blobs, depth=1) for k, v in args.items()}
    header = {"op": "call", "module": module, "func": func, "args": encoded}
    return protocol.frame(dict(header, positional=positional, id="0" * 32), blobs)


def test_a_request_from_the_cache_reads_as_a_freshly_framed_one():
    logits, W2 = torch.randn(5, 7), torch.randn(3, 7, dtype=torch.float64)
    framing.constant_arguments([logits, W2, 5])
    args = {"logits": logits, "W2": W2, "n": 5}
    first_id, first = framing.call_request("exercise1", "dh", args, ["logits"])
    again_id, again = framing.call_request("exercise1", "dh", args, ["logits"])
    assert len(framing._FRAMED) == 1, "the second request came from the cache"
    want_header, want_blobs = read(fresh("exercise1", "dh", args, ["logits"]))
    del want_header["id"]
    for request_id, data in ((first_id, first), (again_id, again)):
        header, blobs = read(data)
        assert header.pop("id") == request_id
        assert header == want_header and blobs == want_blobs
    assert first_id != again_id and len(first_id) == framing.ID_LENGTH


def test_a_declared_tensor_changed_in_place_is_sent_as_it_is_now():
    dlogits = torch.zeros(4, 3)
    framing.constant_arguments([dlogits])
    framing.call_request("exercise1", "db2", {"dlogits": dlogits}, [])
    dlogits.add_(2.5)  # moves its version counter
    header, blobs = read(framing.call_request("exercise1", "db2", {"dlogits": dlogits}, [])[1])
    assert torch.equal(argument(header, blobs, "dlogits"), torch.full((4, 3), 2.5))


def test_a_tensor_that_was_not_declared_is_framed_afresh_every_time():
    # A student's own gradient, fed back in the chain: changed behind torch's version counter
    # (through numpy) it must still be sent as it is, so nothing undeclared is ever cached.
    dh = torch.zeros(2, 2)
    framing.call_request("exercise1", "dhpreact", {"dh": dh}, [])
    dh.numpy()[:] = 7.0
    header, blobs = read(framing.call_request("exercise1", "dhpreact", {"dh": dh}, [])[1])
    assert torch.equal(argument(header, blobs, "dh"), torch.full((2, 2), 7.0))
    assert framing._FRAMED == {}


@pytest.mark.parametrize("first, then", [(1, True), (1, 1.0), (0, False), (1.0, True)])
def test_scalars_equal_in_python_but_of_another_type_are_not_confused(first, then):
    # 1 == 1.0 == True, and they hash alike: the cache key must keep their types apart.
    framing.call_request("exercise1", "dlogprobs", {"n": first}, [])
    header, blobs = read(framing.call_request("exercise1", "dlogprobs", {"n": then}, [])[1])
    got = header["args"]["n"]["scalar"]
    assert type(got) is type(then) and got == then


def test_a_tensor_without_a_version_counter_is_never_taken_for_a_constant():
    with torch.inference_mode():
        logits = torch.ones(2, 3)  # no version counter: an in-place change would go unseen
    framing.constant_arguments([logits])
    framing.call_request("exercise1", "dlogits", {"logits": logits}, [])
    assert framing._FRAMED == {}


def test_the_cache_stops_growing_at_its_limit(monkeypatch):
    monkeypatch.setattr(framing, "MAX_FRAMED", 2)
    tensors = [torch.full((2,), float(k)) for k in range(4)]
    framing.constant_arguments(tensors)
    for t in tensors:
        framing.call_request("exercise1", "db2", {"dlogits": t}, [])
    assert len(framing._FRAMED) == 2
    header, blobs = read(framing.call_request("exercise1", "db2", {"dlogits": tensors[3]}, [])[1])
    assert torch.equal(argument(header, blobs, "dlogits"), tensors[3])


def test_the_cache_keeps_no_more_bytes_than_its_budget(monkeypatch):
    # Each set of arguments a student declares is a key of its own: without a budget in bytes,
    # a class of inventive signatures would keep a frame per student and function.
    monkeypatch.setattr(framing, "MAX_FRAMED_BYTES", 10_000)
    h = torch.zeros(32, 64)  # 8 KB: one frame fits, a second would not
    framing.constant_arguments([h])
    framing.call_request("exercise1", "dhpreact", {"h": h}, [])
    framing.call_request("exercise1", "dhpreact", {"h": h, "n": 32}, [])
    assert len(framing._FRAMED) == 1
    assert 8192 < framing._framed_bytes <= 10_000
    header, blobs = read(framing.call_request("exercise1", "dhpreact", {"h": h, "n": 32}, [])[1])
    assert torch.equal(argument(header, blobs, "h"), h) and header["args"]["n"]["scalar"] == 32


def test_a_frame_cut_around_its_id_takes_exactly_an_id_of_that_length():
    head, tail = protocol.frame_around_id(({"op": "call"}, [b"abc"]), 4)
    header, blobs = read(head + b"wxyz" + tail)
    assert header == {"op": "call", "blobs": [3], "id": "wxyz"} and blobs == [b"abc"]
    head, tail = protocol.frame_around_id(({}, []), 2)
    assert read(head + b"ab" + tail) == ({"blobs": [], "id": "ab"}, [])
    with pytest.raises(ValueError):
        protocol.frame_around_id(({"id": "x"}, []), 1)


def test_the_assignment_declares_its_cases_inputs_constant():
    from grader.backprop_ninja import _warm
    from grader.backprop_ninja.cases import cases

    _warm(True)
    for case in cases(True):
        for value in [*case.atomic_inputs.values(), *case.compact_inputs.values()]:
            if isinstance(value, torch.Tensor):
                assert framing._CONSTANTS[id(value)] is value


def test_the_second_assignment_declares_its_cases_inputs_constant():
    from grader.layer_by_layer import _warm
    from grader.layer_by_layer.cases import cases

    _warm(True)
    tensors = [
        v
        for group in cases(True).values()
        for case in group
        for v in case.inputs.values()
        if isinstance(v, torch.Tensor)
    ]
    assert tensors and all(framing._CONSTANTS[id(t)] is t for t in tensors)
