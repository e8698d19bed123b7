"""The wire between the grader and a student process: length-framed JSON plus raw tensor bytes.

No pickle, no objects: a tensor crosses as (dtype, shape, bytes) and is rebuilt on the other side
from a dtype whitelist, with every size checked before anything is allocated. This file runs on
both sides, so it imports nothing from the grader and needs only the standard library (torch is
imported lazily by the two functions that build tensors).
"""

from __future__ import annotations

import fcntl
import json
import math
import select
import socket
import struct
import termios
import time

MAX_HEADER = 1 << 20  # a header is names and numbers; a megabyte is generous
# The most digits of an int in a header: a size, a shape or a count (2**128 has 39 digits).
MAX_DIGITS = 40
_LEN = struct.Struct(">I")

# Tensors cross only in these dtypes; bfloat16 travels as float32 and says so.
DTYPES = {
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "bool": 1,
}

# What a returned tensor whose values cannot be read (a meta or nested one) crosses as: an
# object's name (local_check.UNREADABLE says the same; judge.py words the failure).
UNREADABLE = "tensor whose values cannot be read"


class ProtocolError(Exception):
    """The other side sent something malformed, too large, or nothing in time."""


class TooLarge(ProtocolError):
    """A frame's data is larger than the reader takes: from an honest answer, a tensor far
    larger than asked for (a broadcast gone wrong), not a malformed frame."""


class Closed(ProtocolError):
    """The other side closed the connection (in the grader's eyes: the worker died)."""


def send(sock: socket.socket, header: dict, blobs: list[bytes] = ()) -> None:
    # One frame, one write: a call is a ping-pong of small messages, and syscalls are its cost.
    sock.sendall(frame(header, blobs))


def frame(header: dict, blobs: list[bytes] = ()) -> bytes:
    """One message as it goes on the wire: length, JSON header, then the blobs' raw bytes."""
    header = dict(header, blobs=[len(b) for b in blobs])
    data = _ENCODER.encode(header).encode()
    return b"".join([_LEN.pack(len(data)), data, *blobs])


def frame_around_id(message: tuple[dict, list[bytes]], id_length: int) -> tuple[bytes, bytes]:
    """`frame(header, blobs)` cut where an "id" of `id_length` ASCII characters goes, for a
    message sent many times with a fresh id each time: head + id + tail is one frame."""
    header, blobs = message
    header = dict(header, blobs=[len(b) for b in blobs])
    if "id" in header:
        raise ValueError("the header's id is the one part left out")
    text = _ENCODER.encode(header).encode()
    head = text[:-1] + (b', "id": "' if header else b'"id": "')
    tail = b'"}'
    size = len(head) + id_length + len(tail)
    return _LEN.pack(size) + head, b"".join([tail, *blobs])


def recv(
    sock: socket.socket, *, max_bytes: int = 1 << 62, deadline: float | None = None
) -> tuple[dict, list[bytearray]]:
    """One message read straight off `sock` and nothing past it, for a socket that carries one
    message at a time (the zygote's control socket, a process's first words). `max_bytes` caps
    the blobs' total, `deadline` is a time.monotonic() value."""
    return _message(lambda size: _read(sock, size, deadline), max_bytes)


def _message(read, max_bytes: int) -> tuple[dict, list[bytearray]]:
    """A frame taken with `read(size)`: every size is checked before it is read."""
    (size,) = _LEN.unpack(read(_LEN.size))
    if size > MAX_HEADER:
        raise ProtocolError(f"header of {size} bytes exceeds {MAX_HEADER}")
    try:
        header = _loads(read(size))
    except (ValueError, RecursionError) as e:  # deep nesting is a RecursionError, not bad JSON
        raise ProtocolError(f"header is not JSON: {str(e)[:200]}") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
        raise ProtocolError("header has no valid blob list")
    total = sum(sizes)
    if total > max_bytes:
        raise TooLarge(f"{total} bytes of data exceed the limit of {max_bytes}")
    if len(sizes) <= 1:
        return header, [read(total)] if sizes else []
    data, blobs, start = memoryview(read(total)), [], 0
    for s in sizes:
        blobs.append(bytearray(data[start : start + s]))
        start += s
    return header, blobs


def _int(digits: str) -> int:
    """An int of a header, refused past MAX_DIGITS. Python reads a long one in quadratic time
    where its own limit of 4,300 digits is off (before 3.10.7, or PYTHONINTMAXSTRDIGITS=0): a
    header of one 1,000,000-digit number held the grader 4 s, after the answer's deadline."""
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(digits)} digits")
    return int(digits)


# Made once, not per frame: `json.dumps` and `json.loads` given any option build a new encoder
# or decoder (and its scanner) at every call, ~1.5 us each, and a call is two frames each way
# of being read or written.
_ENCODER = json.JSONEncoder(allow_nan=False)
_DECODER = json.JSONDecoder(parse_int=_int)


def _loads(data: bytes) -> object:
    """`json.loads(data, parse_int=_int)` with the decoder made once: the same text, the same
    errors (a frame's bytes in UTF-8, -16 or -32, as json.loads reads them)."""
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


def _read(sock: socket.socket, size: int, deadline: float | None) -> bytearray:
    buf = bytearray()
    while len(buf) < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(size - len(buf), 1 << 20))
        except TimeoutError:
            raise TimeoutError("no answer in time") from None
        except ConnectionResetError:  # it ended with requests of ours still unread
            raise Closed("connection reset") from None
        if not chunk:
            raise Closed("connection closed")
        buf += chunk
    return buf


TRICKLE, NAP = 4096, 0.002  # bytes of a frame's read that count as a trickle; seconds to wait


class Channel:
    """A socket that carries many messages, read through a buffer and never blocking past a
    deadline.

    A call is a few small frames each way, and requests sent ahead of their answers arrive
    together: one `recv` takes in whatever has come, and the frames are cut from the buffer
    (before, each frame cost three reads, each a timeout switch, a poll and a recv). With
    deadlines (the grader's side) the socket is made non-blocking and waited on with poll
    only when nothing is there; `blocking=True` (the student process's side, which waits
    without a deadline) leaves it as it is, so the socket looks to student code exactly as
    before. The buffer never holds more than the frame being read plus one read's worth, so
    a flood on the socket costs nothing until the frame that claims it is checked against
    its limits.
    """

    CHUNK = 1 << 16

    def __init__(self, sock: socket.socket, *, blocking: bool = False) -> None:
        if not blocking:
            sock.setblocking(False)
        self.sock = sock
        self._buf = bytearray()
        self._pos = 0
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._late_for: float | None = None  # the deadline found passed, and the bytes that
        self._late_left = 0  # had come by then and may still be read (`_read_late`)

    def recv(
        self, *, max_bytes: int = 1 << 62, deadline: float | None = None
    ) -> tuple[dict, list[bytearray]]:
        """The next message; `max_bytes` caps its blobs' total, `deadline` (time.monotonic())
        bounds the wait for all of it."""
        return _message(lambda size: self._take(size, deadline), max_bytes)

    def send(self, header: dict, blobs: list[bytes] = (), deadline: float | None = None) -> None:
        self.send_frame(frame(header, blobs), deadline)

    def send_frame(self, data: bytes, deadline: float | None = None) -> None:
        """Bytes already framed, all of them, or TimeoutError if the other side stops reading."""
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                _wait(self.sock, select.POLLOUT, deadline)

    def _take(self, size: int, deadline: float | None) -> bytearray:
        while len(self._buf) - self._pos < size:
            missing = size - (len(self._buf) - self._pos)
            # Before every read, not only when nothing has come: a process that writes without
            # end (old answers replayed) must still run out of time.
            if deadline is not None and time.monotonic() >= deadline:
                self._read_late(missing, deadline)
            else:
                self._fill(missing, deadline)
        start, self._pos = self._pos, self._pos + size
        chunk = self._buf[start : self._pos]
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos > self.CHUNK:
            del self._buf[: self._pos]
            self._pos = 0
        return chunk

    def _fill(self, missing: int, deadline: float | None) -> None:
        while True:
            try:
                chunk = self.sock.recv(min(max(missing, self.CHUNK), 1 << 20))
            except BlockingIOError:
                _wait(self.sock, select.POLLIN, deadline, self._poll)
                continue
            except ConnectionResetError:  # it ended with requests of ours still unread
                raise Closed("connection reset") from None
            if not chunk:
                raise Closed("connection closed")
            self._buf += chunk
            if deadline is not None and len(chunk) < TRICKLE < missing:
                # A frame coming a few bytes a write (student code may write its socket byte by
                # byte) woke the grader once per byte: ~0.45 s of its CPU a second. Gather a
                # moment instead; an honest frame comes whole, or in chunks far above this.
                time.sleep(max(0.0, min(NAP, deadline - time.monotonic())))
            return

    def _read_late(self, missing: int, deadline: float) -> None:
        """Past `deadline`, read only what had come when the grader found it passed.

        A grader that was not running when the deadline came (a busy or paused machine, memory
        being reclaimed) found an answer sent in time waiting in the socket, and called it a
        timeout. What had arrived by the grader's first look past the deadline was sent before
        that look, so it is read; nothing that comes later is, so a process writing without end
        still runs out of time, a socket's buffer later at most.
        """
        if self._late_for != deadline:
            self._late_for, self._late_left = deadline, _queued(self.sock)
        if self._late_left <= 0:
            raise TimeoutError("no answer in time")
        try:
            chunk = self.sock.recv(min(self._late_left, max(missing, self.CHUNK)))
        except BlockingIOError:
            raise TimeoutError("no answer in time") from None
        except ConnectionResetError:
            raise Closed("connection reset") from None
        if not chunk:
            raise Closed("connection closed")
        self._late_left -= len(chunk)
        self._buf += chunk


def _queued(sock: socket.socket) -> int:
    """The bytes waiting in `sock`'s receive queue (FIONREAD: SIOCINQ on a socket)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def _wait(sock: socket.socket, event: int, deadline: float | None, poll=None) -> None:
    """Sleep until `sock` is ready for `event`, or raise TimeoutError at `deadline`."""
    if poll is None:
        poll = select.poll()
        poll.register(sock, event)
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
        raise TimeoutError("no answer in time")
    poll.poll(None if left is None else max(1, math.ceil(left * 1000)))


def encode(value, blobs: list[bytes], depth: int = 0) -> dict:
    """A JSON-able description of `value`; tensors' bytes are appended to `blobs`."""
    import torch

    if isinstance(value, torch.Tensor):
        return _tensor(value, blobs)
    if value is None or isinstance(value, bool):
        return {"scalar": value}
    if isinstance(value, int):
        # An int past what a header may hold (MAX_DIGITS) travels by its type name, all the
        # grader reads of a returned scalar: `return 10**50` was refused as an invalid header
        # ("the process running your code sent something invalid") where `return 3` is told
        # it returned an int.
        return {"scalar": value} if value.bit_length() <= 128 else {"object": "int"}
    if isinstance(value, float):
        return {"scalar": value if math.isfinite(value) else repr(value)}
    if depth == 0 and isinstance(value, dict):
        return {"dict": [[str(k), encode(v, blobs, 1)] for k, v in value.items()]}
    if depth == 0 and isinstance(value, (list, tuple)):
        return {"list": [encode(v, blobs, 1) for v in value]}
    return {"object": type(value).__name__}


def _tensor(t, blobs: list[bytes]) -> dict:
    """A tensor's description, or, for one whose values cannot be read (a meta or nested
    tensor), an object that says so: it fails as the answer it is. It once made the whole
    result unreadable, so one such entry of backward's list cost the six gradients beside it."""
    try:
        t = plain(t)
    except MemoryError:
        raise  # too large to read at all: the whole answer is an error, as it always was
    except Exception as e:  # noqa: BLE001 - whatever the tensor (or a lying subclass) raises
        return {"object": f"{UNREADABLE} ({type(e).__name__})"}
    return {"tensor": _tensor_meta(t, blobs)}


def _tensor_meta(t, blobs: list[bytes]) -> dict:
    import torch

    name = sent_as = str(t.dtype).removeprefix("torch.")
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: it travels as float32, named as it was
        t, sent_as = t.float(), "float32"
    if sent_as not in DTYPES:
        return {"dtype": name, "shape": list(t.shape), "blob": -1}
    blobs.append(t.contiguous().numpy().tobytes())
    return {
        "dtype": name,
        "sent_as": sent_as,
        "shape": list(t.shape),
        "blob": len(blobs) - 1,
    }


def plain(t):
    """A returned tensor's values as an ordinary dense CPU tensor, which has bytes to send.

    A sparse or MKL-DNN tensor, or a lazily negated view, holds its values another way: a
    right dC built with torch.sparse_coo_tensor (the embedding's own sparse gradient) could
    not be read and cost every gradient backward returned beside it. The grader's judgement
    is of values, whatever layout holds them (local_check.as_the_grader_sees does the same)."""
    import torch

    if t.layout != torch.strided:  # asked before as_subclass, which needs a strided tensor
        t = t.to_dense()
    t = torch.Tensor.as_subclass(t, torch.Tensor).detach().cpu()
    t = t.resolve_conj().resolve_neg()
    t.shape  # noqa: B018 - a nested tensor has no shape: it raises here
    return t


MAX_DIMS = 8  # dimensions of a tensor read; a gradient here has at most 3


def decode_tensor(meta: dict, blobs: list[bytes], max_numel: int = 1 << 28):
    """Rebuild a tensor from its description, trusting nothing in it."""
    import torch

    if not isinstance(meta, dict):
        raise ProtocolError("tensor description is not an object")
    sent_as, shape, index = meta.get("sent_as"), meta.get("shape"), meta.get("blob")
    if sent_as not in DTYPES:
        raise ProtocolError(f"unsupported dtype {meta.get('dtype')!r}")
    if not isinstance(shape, list) or not all(type(d) is int for d in shape):
        raise ProtocolError("bad shape")
    # Said in words: a student's 9-dimensional or (0, 10**9) tensor was told only "bad shape".
    if len(shape) > MAX_DIMS:
        raise ProtocolError(f"a tensor of {len(shape)} dimensions; at most {MAX_DIMS} are read")
    if not all(0 <= d <= max_numel for d in shape):
        largest = max(shape)
        raise ProtocolError(
            f"a tensor with a dimension of size {largest}; at most {max_numel:,} are read"
            if largest > max_numel
            else "bad shape"
        )
    if type(index) is not int or not 0 <= index < len(blobs):
        raise ProtocolError("bad blob index")
    numel = math.prod(shape)
    data = blobs[index]
    if numel > max_numel or numel * DTYPES[sent_as] != len(data):
        raise ProtocolError("tensor size does not match its bytes")
    dtype = getattr(torch, sent_as)
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
