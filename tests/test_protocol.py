"""The wire to student processes: raw tensor data in, checked against every lie, and never pickle.

What a student process sends is data: a JSON header and raw bytes. Every size is checked before
anything is allocated, a shape or dtype that does not match its bytes is refused, and no object
ever crosses, so a payload built to run code when unpickled is never unpickled.
"""

from __future__ import annotations

import ast
import contextlib
import json
import pickle
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import solution

from grader.sandbox import client
from grader.sandbox.client import NotATensor, decode_value
from grader.sandbox.inside import protocol
from grader.sandbox.inside.protocol import Closed, ProtocolError, decode_tensor, encode

GRADER = Path(__file__).resolve().parent.parent / "grader"


def roundtrip(value):
    """Encode as the student process does, decode as the grader does."""
    blobs: list[bytes] = []
    encoded = encode(value, blobs)
    return decode_value(json.loads(json.dumps(encoded)), blobs)


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


# Tensors cross as dtype, shape and bytes


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.float32, torch.float64, torch.int64, torch.int32, torch.bool]
)
def test_a_tensor_crosses_exactly(dtype):
    t = (torch.arange(24).reshape(2, 3, 4) % 5).to(dtype)
    got, name = roundtrip(t)
    assert name == str(dtype).removeprefix("torch.")
    assert got.dtype == dtype and torch.equal(got, t)


def test_bfloat16_travels_as_float32_and_keeps_its_name():
    t = torch.tensor([1.5, -2.25], dtype=torch.bfloat16)
    got, name = roundtrip(t)
    assert name == "bfloat16" and got.dtype == torch.float32 and torch.equal(got, t.float())


def test_a_non_contiguous_view_crosses_as_its_values():
    t = torch.arange(12.0).reshape(3, 4).T
    got, _ = roundtrip(t)
    assert torch.equal(got, t) and got.shape == (4, 3)


@pytest.mark.parametrize(
    "layout",
    [
        lambda t: t.to_sparse(),
        lambda t: t.to_sparse_csr(),
        lambda t: t.to_mkldnn(),
        lambda t: torch._neg_view(-t),
    ],
    ids=["sparse coo", "sparse csr", "mkldnn", "negative view"],
)
def test_a_tensor_holding_its_values_another_way_crosses_as_its_values(layout):
    """A right dC built with torch.sparse_coo_tensor was unreadable: the whole answer an
    error, every gradient of backward's list with it."""
    t = torch.arange(12.0).reshape(3, 4) - 5
    got, name = roundtrip(layout(t))
    assert name == "float32" and torch.equal(got, t) and got.layout == torch.strided


def test_a_tensor_without_values_costs_only_its_own_entry():
    """A meta or nested tensor has no values to judge: it fails as what it is, and the
    entries beside it in a list or dict still cross (the whole answer was unreadable)."""
    meta = torch.empty(2, 3, device="meta")
    nested = torch.nested.nested_tensor([torch.ones(2)])
    got = roundtrip([torch.ones(2), meta, nested])
    assert torch.equal(got[0][0], torch.ones(2))
    assert got[1] == NotATensor(f"{protocol.UNREADABLE} (NotImplementedError)")
    assert got[2].type_name.startswith(protocol.UNREADABLE)
    assert roundtrip({"dC": meta, "dW1": torch.ones(1)})["dW1"][0] == torch.ones(1)


def test_an_empty_tensor_crosses():
    got, _ = roundtrip(torch.zeros(0, 5))
    assert got.shape == (0, 5)


def test_containers_cross_one_level_deep_and_objects_only_by_type_name():
    value = {"dC": torch.ones(2), "n": 3, "nested": [torch.ones(1)], "obj": object()}
    got = roundtrip(value)
    assert torch.equal(got["dC"][0], torch.ones(2))
    assert got["n"] == NotATensor("int")
    assert got["nested"] == NotATensor("list")
    assert got["obj"] == NotATensor("object")
    assert roundtrip(None) is None
    assert roundtrip(True) == NotATensor("bool")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1.5])
def test_a_returned_float_is_named_a_float_whatever_its_value(value):
    """A float that is no number crosses as its repr (JSON has no NaN), and the grader told the
    student "returned a str, not a torch.Tensor" for `return float("nan")`, where the public
    check said "a float"."""
    from grader import local_check

    seen, sent = local_check.as_the_grader_sees(value), roundtrip(value)
    assert seen.type_name == sent.type_name == "float"


def test_an_unsupported_dtype_crosses_as_a_name_only():
    assert roundtrip(torch.ones(2, dtype=torch.complex64)) == NotATensor(
        "tensor of dtype complex64"
    )


# Lies in a tensor's description are refused


def described(t: torch.Tensor, **lie) -> tuple[dict, list[bytes]]:
    blobs: list[bytes] = []
    meta = encode(t, blobs)["tensor"]
    meta.update(lie)
    return meta, blobs


@pytest.mark.parametrize(
    "lie",
    [
        {"shape": [3, 3]},  # more numbers than bytes
        {"shape": [1]},  # fewer
        {"sent_as": "float64"},  # a wider dtype than the bytes hold
        {"sent_as": "object"},
        {"sent_as": "complex64"},
        {"sent_as": None},
        {"shape": [-2, -2]},
        {"shape": [True, 4]},
        {"shape": [1.0, 4]},
        {"shape": "4"},
        {"shape": [1] * 9},
        {"blob": 1},
        {"blob": -1},
        {"blob": "0"},
    ],
)
def test_a_description_that_does_not_match_its_bytes_is_refused(lie):
    meta, blobs = described(torch.ones(2, 2), **lie)
    with pytest.raises(ProtocolError):
        decode_tensor(meta, blobs)


def test_a_huge_shape_is_refused_before_anything_is_allocated():
    meta = {"sent_as": "float32", "shape": [1 << 20, 1 << 20], "blob": 0}
    with pytest.raises(ProtocolError, match="size"):
        decode_tensor(meta, [b"\0" * 16])


def test_a_shape_refused_says_why_in_words():
    """A 9-dimensional tensor, or one of shape (0, 10**9), was told only "bad shape"."""
    meta = {"sent_as": "float32", "shape": [1] * 9, "blob": 0}
    with pytest.raises(ProtocolError, match="^a tensor of 9 dimensions; at most 8 are read$"):
        decode_tensor(meta, [b"\0" * 4])
    meta = {"sent_as": "float32", "shape": [0, 10**9], "blob": 0}
    with pytest.raises(ProtocolError, match="dimension of size 1000000000; at most 268,435,456"):
        decode_tensor(meta, [b""])


def test_a_description_that_is_not_an_object_is_refused():
    with pytest.raises(ProtocolError):
        decode_tensor(["float32", [2]], [b"\0" * 8])


@pytest.mark.parametrize(
    "encoded", [[], {"tensor": {}, "scalar": 1}, {"pickle": "gASV"}, {"list": [{"list": []}]}]
)
def test_a_malformed_value_is_refused(encoded):
    with pytest.raises(ProtocolError):
        decode_value(encoded, [])


# Framing: sizes are checked before they are read


def test_a_message_crosses_a_socket(pair):
    a, b = pair
    protocol.send(a, {"op": "x"}, [b"abc", b""])
    header, blobs = protocol.recv(b, deadline=time.monotonic() + 5)
    assert header["op"] == "x" and blobs == [b"abc", b""]


def test_a_header_larger_than_the_limit_is_refused_unread(pair):
    a, b = pair
    a.sendall(struct.pack(">I", protocol.MAX_HEADER + 1))
    with pytest.raises(ProtocolError, match="exceeds"):
        protocol.recv(b, deadline=time.monotonic() + 5)


def test_data_beyond_the_limit_is_refused_before_it_is_read(pair):
    a, b = pair
    header = json.dumps({"blobs": [1 << 40]}).encode()
    a.sendall(struct.pack(">I", len(header)) + header)
    with pytest.raises(ProtocolError, match="exceed the limit"):
        protocol.recv(b, max_bytes=1 << 20, deadline=time.monotonic() + 5)


@pytest.mark.parametrize("header", [b"not json", b"[1, 2]", b'{"blobs": [-1]}', b'{"blobs": 3}'])
def test_a_malformed_header_is_refused(pair, header):
    a, b = pair
    a.sendall(struct.pack(">I", len(header)) + header)
    with pytest.raises(ProtocolError):
        protocol.recv(b, deadline=time.monotonic() + 5)


def test_silence_past_the_deadline_is_a_timeout(pair):
    _, b = pair
    with pytest.raises(TimeoutError):
        protocol.recv(b, deadline=time.monotonic() + 0.2)


def test_a_closed_connection_is_reported_as_closed(pair):
    a, b = pair
    a.sendall(struct.pack(">I", 100) + b"{")
    a.close()
    with pytest.raises(Closed):
        protocol.recv(b, deadline=time.monotonic() + 5)


# A channel: many frames over one socket, read through a buffer


def test_frames_that_arrive_together_are_read_one_by_one(pair):
    a, b = pair
    a.sendall(b"".join(protocol.frame({"n": n}, [bytes([n]) * n]) for n in range(1, 4)))
    channel = protocol.Channel(b)
    for n in range(1, 4):
        header, blobs = channel.recv(deadline=time.monotonic() + 5)
        assert header["n"] == n and blobs == [bytes([n]) * n]
    with pytest.raises(TimeoutError):
        channel.recv(deadline=time.monotonic() + 0.1)


def test_a_frame_that_arrives_in_pieces_is_whole(pair):
    a, b = pair
    data = protocol.frame({"op": "x"}, [b"a" * 300_000, b"", b"bc"])
    channel = protocol.Channel(b)
    pieces = [data[i : i + 777] for i in range(0, len(data), 777)]
    sender = threading.Thread(target=lambda: [a.sendall(piece) for piece in pieces])
    sender.start()
    header, blobs = channel.recv(deadline=time.monotonic() + 10)
    sender.join()
    assert header["op"] == "x" and blobs == [b"a" * 300_000, b"", b"bc"]


def test_a_channel_keeps_its_deadline_on_a_half_sent_frame(pair):
    a, b = pair
    a.sendall(protocol.frame({"op": "x"}, [b"abcd"])[:-2])
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        protocol.Channel(b).recv(deadline=start + 0.3)
    assert time.monotonic() - start < 5


def test_a_channel_keeps_its_deadline_while_frames_keep_coming(pair):
    """A student process can write frames of its own without end (answers to earlier requests,
    which the grader passes over): the wait for the real answer must still time out."""
    a, b = pair
    flood = protocol.frame({"id": "earlier"}) * 100_000  # megabytes per write: no pause
    stop = threading.Event()

    def write_forever():
        with contextlib.suppress(OSError):
            while not stop.is_set():
                a.sendall(flood)

    writer = threading.Thread(target=write_forever)
    writer.start()
    channel, start, timed_out = protocol.Channel(b), time.monotonic(), False
    try:
        while time.monotonic() < start + 20:  # the answer never comes: only earlier ids
            try:
                channel.recv(deadline=start + 0.5)
            except TimeoutError:
                timed_out = True
                break
    finally:
        stop.set()
        b.close()
        writer.join()
    assert timed_out and time.monotonic() - start < 5


def test_an_answer_waiting_when_a_late_grader_looks_is_read(pair):
    """The grader was not running when the deadline came (a busy or paused machine): what had
    arrived by its first look was sent in time, and once counted as a timeout."""
    a, b = pair
    a.sendall(protocol.frame({"id": "mine"}, [b"x" * 100_000]))
    header, blobs = protocol.Channel(b).recv(deadline=time.monotonic() - 1)
    assert header["id"] == "mine" and blobs == [b"x" * 100_000]


def test_what_comes_after_a_late_grader_looks_is_not_read(pair):
    a, b = pair
    data = protocol.frame({"id": "mine"}, [b"abcd"])
    a.sendall(data[:-2])
    channel, deadline = protocol.Channel(b), time.monotonic() - 1
    with pytest.raises(TimeoutError):
        channel.recv(deadline=deadline)
    a.sendall(data[-2:])  # the rest of the answer, after the look
    with pytest.raises(TimeoutError):
        channel.recv(deadline=deadline)


def test_a_frame_trickled_a_byte_at_a_time_is_read_in_few_wakes(pair, monkeypatch):
    """Student code can write its socket a byte at a time under a header claiming a large
    frame: the grader woke once per byte (9 s of its CPU for two functions' 20 s of timeouts).
    It now gathers a moment after a small read while much of the frame is missing. The moment
    is stretched here to fifty times the shipped one, so that a writer slowed by a loaded
    machine (a byte every 2 ms instead of 0.5 ms: it failed so once) still puts several bytes
    in each. The writer hangs up after its last byte and the read ends there, not at a
    deadline: a deadline that came first left the writer blocked for good on a full socket
    (400 one-byte writes outgrow a socket's buffer unread), and the suite hung in the join."""
    monkeypatch.setattr(protocol, "NAP", 50 * protocol.NAP)
    a, b = pair
    head = struct.pack(">I", 1 << 19)  # a header of 512 KiB, to come
    reads = []

    class Counting:
        def __init__(self, sock):
            self.sock = sock

        def recv(self, n):
            data = self.sock.recv(n)
            reads.append(len(data))
            return data

        def __getattr__(self, name):
            return getattr(self.sock, name)

    def trickle():
        with contextlib.suppress(OSError):
            a.sendall(head)
            for _ in range(400):
                a.send(b" ")
                time.sleep(0.0005)
            a.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=trickle, daemon=True)
    writer.start()
    channel = protocol.Channel(b)
    channel.sock = Counting(b)
    try:
        with pytest.raises(Closed):  # the frame never came whole: the writer hung up
            channel.recv(deadline=time.monotonic() + 120)
    finally:
        b.shutdown(socket.SHUT_RDWR)  # a writer still blocked, had the read failed, ends here
        writer.join()
    assert sum(reads) == len(head) + 400, "the whole trickle was read"
    assert len(reads) < sum(reads) / 3, "several bytes a wake, not one"


def test_a_channel_checks_sizes_before_reading_them(pair):
    a, b = pair
    header = json.dumps({"blobs": [1 << 40]}).encode()
    a.sendall(struct.pack(">I", len(header)) + header + b"x" * 100_000)
    with pytest.raises(ProtocolError, match="exceed the limit"):
        protocol.Channel(b).recv(max_bytes=1 << 20, deadline=time.monotonic() + 5)


def test_the_student_side_of_a_channel_stays_blocking(pair):
    """Student code may write onto its socket (an attack test does); it must find it as it was,
    blocking, or a long write of its own would be cut short where it was not before."""
    a, b = pair
    protocol.Channel(a, blocking=True)
    protocol.Channel(b)
    assert a.getblocking() and not b.getblocking()


def test_a_channel_send_that_is_never_read_times_out(pair):
    a, _ = pair
    big = protocol.frame({"op": "x"}, [b"z" * 2_000_000])  # far beyond a socket's buffer
    with pytest.raises(TimeoutError):
        protocol.Channel(a).send_frame(big, deadline=time.monotonic() + 0.3)


def test_a_channel_sends_more_than_the_socket_holds_when_it_is_read(pair):
    a, b = pair
    big = protocol.frame({"op": "x"}, [b"z" * 2_000_000])
    sender = threading.Thread(
        target=protocol.Channel(a).send_frame, args=(big, time.monotonic() + 10)
    )
    sender.start()
    header, blobs = protocol.Channel(b, blocking=True).recv()
    sender.join()
    assert header["op"] == "x" and blobs == [b"z" * 2_000_000]


# No pickle anywhere


PICKLERS = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "copyreg"}
# Modules whose load/loads can rebuild objects from bytes (torch.load and numpy.load unpickle).
OBJECT_LOADERS = PICKLERS | {"torch", "np", "numpy", "joblib"}


def _imports_and_loads(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    imported, loads = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute) and node.attr in ("load", "loads", "Unpickler"):
            base = node.value
            if node.attr == "Unpickler" or (
                isinstance(base, ast.Name) and base.id in OBJECT_LOADERS
            ):
                loads.add(ast.unparse(node))
    return imported, loads


@pytest.mark.parametrize(
    "path",
    sorted((GRADER / "sandbox").rglob("*.py"))
    + [GRADER / "session.py", GRADER / "judge.py", GRADER / "runner.py"],
    ids=lambda p: str(p.relative_to(GRADER)),
)
def test_the_sandbox_and_the_judge_never_import_a_pickler_nor_load_objects(path):
    imported, loads = _imports_and_loads(path)
    assert not imported & PICKLERS
    # json.loads is the only loader on the wire: no torch.load, numpy.load or pickle.loads.
    assert loads == set(), loads


PAYLOAD = """
class Payload:
    def __reduce__(self):
        import pathlib
        return (pathlib.Path.write_text, (pathlib.Path({marker!r}), "unpickled!"))


def dprobs(probs, dlogprobs):
    return Payload()


def dcounts_sum_inv(counts, dprobs):
    return {{"value": Payload(), "tensor": (counts * dprobs).sum(1, keepdim=True)}}
"""


def test_a_pickle_payload_returned_by_student_code_is_never_unpickled(grade, tmp_path, monkeypatch):
    """The payload would write a marker file if anything on the grader's side unpickled it."""
    marker = tmp_path / "marker"
    unpickled = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: unpickled.append(a))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: unpickled.append(a))
    source = solution("exercise1") + PAYLOAD.format(marker=str(marker))
    result = grade({"exercise1": source})
    items = {i["id"]: i for i in result["items"]}
    assert items["exercise1.dprobs"]["status"] == "failed"
    assert "returned a Payload, not a torch.Tensor" in items["exercise1.dprobs"]["message"]
    assert items["exercise1.dcounts_sum_inv"]["status"] == "failed"
    assert "returned a dict" in items["exercise1.dcounts_sum_inv"]["message"]
    assert items["exercise1.dcounts_sum"]["status"] == "passed"  # the file is still graded
    assert not marker.exists() and unpickled == []


def test_the_client_module_has_no_pickle_in_its_namespace():
    assert not {"pickle", "_pickle", "marshal"} & set(vars(client))
    assert not {"pickle", "_pickle", "marshal"} & set(vars(protocol))


def test_a_list_of_more_entries_than_a_gradient_has_is_named_not_built():
    """A list of 10,000 empty tensors fills a 1 MiB header; built, each answer cost the grader
    10 MB and a file's public answers are held until judged (red team: 360 MB a process)."""
    value = roundtrip([torch.zeros(0) for _ in range(client.MAX_ENTRIES + 1)])
    assert isinstance(value, NotATensor)
    assert value.type_name == f"list or tuple of {client.MAX_ENTRIES + 1} entries"


def test_a_dict_of_more_entries_than_a_gradient_has_is_named_not_built():
    value = roundtrip({f"k{i}": torch.zeros(1) for i in range(5_500)})
    assert isinstance(value, NotATensor) and value.type_name == "dict of 5500 entries"


def test_a_list_of_a_tensor_per_row_is_still_built():
    """An honest mistake, a gradient per row at the hidden n = 100, is judged as a list."""
    value = roundtrip([torch.zeros(3) for _ in range(100)])
    assert isinstance(value, list) and len(value) == 100


def test_the_judge_names_a_list_too_long_to_build():
    from grader.judge import _not_a_tensor

    value = roundtrip([torch.zeros(0) for _ in range(10_000)])
    message = _not_a_tensor(value, torch.float32)
    assert message == "returned a list or tuple of 10000 entries, not a torch.Tensor"


def test_the_public_check_names_a_long_list_as_the_grader_does():
    from grader import local_check

    assert local_check.MAX_ENTRIES == client.MAX_ENTRIES
    for value in ([torch.zeros(0)] * 300, {f"k{i}": torch.zeros(1) for i in range(300)}):
        seen, sent = local_check.as_the_grader_sees(value), roundtrip(value)
        assert (
            seen.type_name
            == sent.type_name
            == f"{'dict' if isinstance(value, dict) else 'list or tuple'} of 300 entries"
        )


# Every dtype the wire carries, one it turns into another, ones it names, and a tensor with no
# values: local_check keeps its own copy of the wire's dtypes (WIRE_DTYPES) and of its word for
# an unreadable tensor, since the bundle ships no sandbox module.
CHECKED_ALIKE = [
    *protocol.DTYPES,
    "bfloat16",
    "complex64",
    *(n for n in ("uint16", "float8_e4m3fn") if hasattr(torch, n)),
    "meta",
]


@pytest.mark.parametrize("kind", CHECKED_ALIKE)
def test_the_public_check_sees_each_dtype_as_the_grader_does(kind):
    from grader import local_check

    if kind == "meta":
        value = torch.empty(2, 3, device="meta")
    else:
        value = torch.zeros(3).to(getattr(torch, kind))
    seen, sent = local_check.as_the_grader_sees(value), roundtrip(value)
    if isinstance(sent, NotATensor):
        assert seen.type_name == sent.type_name
    else:
        assert seen[1] == sent[1] and seen[0].dtype == sent[0].dtype, (seen, sent)
        assert torch.equal(seen[0], sent[0])


def test_a_header_number_longer_than_any_size_is_refused_unparsed(pair):
    """Where Python's own 4,300-digit limit is off, a million digits took the grader 4 s."""
    a, b = pair
    text = b'{"blobs": [], "n": ' + b"7" * (protocol.MAX_DIGITS + 1) + b"}"
    a.sendall(struct.pack(">I", len(text)) + text)
    with pytest.raises(ProtocolError, match="a number of 41 digits"):
        protocol.recv(b, deadline=time.monotonic() + 5)


def test_a_header_number_as_long_as_a_secret_is_read(pair):
    a, b = pair
    protocol.send(a, {"n": 2**128, "m": -(2**128)})
    header, _ = protocol.recv(b, deadline=time.monotonic() + 5)
    assert header["n"] == 2**128 and header["m"] == -(2**128)


@pytest.mark.parametrize("value", [10**50, -(10**50), 2**4000 * 3])
def test_a_returned_int_too_long_for_a_header_is_named_as_an_int(pair, value):
    """`return 10**50` from a gradient function was refused as an invalid header (the digit
    cap of the grader's reader) and its item said the process sent something invalid, where
    `return 3` is told it returned an int."""
    a, b = pair
    blobs: list[bytes] = []
    protocol.send(a, {"value": encode(value, blobs)}, blobs)
    header, data = protocol.recv(b, deadline=time.monotonic() + 5)
    assert decode_value(header["value"], data) == roundtrip(3) == NotATensor("int")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_a_header_is_read_as_json_loads_reads_it(encoding):
    """The frame's decoder, made once, reads what `json.loads` with the digit cap reads, in every
    encoding json.loads takes, and refuses what it refuses with the same error."""
    text = '{"blobs": [3], "n": -12, "x": 1.5e3, "s": "é\\u00e9", "k": [true, null]}'
    data = bytearray(text.encode(encoding))
    assert protocol._loads(data) == json.loads(data, parse_int=protocol._int)
    for bad in (b'{"n": ' + b"9" * (protocol.MAX_DIGITS + 1) + b"}", b'{"n": NaN', b"\xff{}"):
        with pytest.raises(ValueError) as ours:
            protocol._loads(bytearray(bad))
        with pytest.raises(ValueError) as theirs:
            json.loads(bytearray(bad), parse_int=protocol._int)
        assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_frames_are_read_and_written_without_a_json_coder_made_for_each(pair, monkeypatch):
    """`json.loads` and `json.dumps` given an option build a decoder or an encoder (and its
    scanner) at every call: ~1.5 us each, and a call into a student process reads and writes
    two frames (docs/performance.md, twenty-ninth session). The frame's coders are made once."""
    made = []
    for cls in (json.JSONDecoder, json.JSONEncoder):
        init = cls.__init__
        monkeypatch.setattr(
            cls, "__init__", lambda self, *a, _i=init, **k: made.append(1) or _i(self, *a, **k)
        )
    a, b = pair
    for n in range(3):
        protocol.send(a, {"op": "call", "n": n}, [b"abc"])
        header, blobs = protocol.recv(b, deadline=time.monotonic() + 5)
        assert header["n"] == n and blobs == [bytearray(b"abc")]
    assert made == []
