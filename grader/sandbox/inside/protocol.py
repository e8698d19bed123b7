"""The wire between the grader and a student process: length-framed JSON plus raw tensor bytes.

No pickle, no objects: a tensor crosses as (dtype, shape, bytes) and is rebuilt on the other side
from a dtype whitelist, with every size checked before anything is allocated. This file runs on
both sides, so it imports nothing from the grader and needs only the standard library (torch is
imported lazily by the two functions that build tensors).
"""

from __future__ import annotations

import json
import math
import socket
import struct
import time

MAX_HEADER = 1 << 20  # a header is names and numbers; a megabyte is generous
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


class ProtocolError(Exception):
    """The other side sent something malformed, too large, or nothing in time."""


class Closed(ProtocolError):
    """The other side closed the connection (in the grader's eyes: the worker died)."""


def send(sock: socket.socket, header: dict, blobs: list[bytes] = ()) -> None:
    # One frame, one write: a call is a ping-pong of small messages, and syscalls are its cost.
    sock.sendall(frame(header, blobs))


def frame(header: dict, blobs: list[bytes] = ()) -> bytes:
    """One message as it goes on the wire: length, JSON header, then the blobs' raw bytes."""
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header, allow_nan=False).encode()
    return b"".join([_LEN.pack(len(data)), data, *blobs])


def recv(
    sock: socket.socket, *, max_bytes: int = 1 << 62, deadline: float | None = None
) -> tuple[dict, list[bytes]]:
    """One message; `max_bytes` caps the blobs' total, `deadline` is a time.monotonic() value."""
    (size,) = _LEN.unpack(_read(sock, _LEN.size, deadline))
    if size > MAX_HEADER:
        raise ProtocolError(f"header of {size} bytes exceeds {MAX_HEADER}")
    try:
        header = json.loads(_read(sock, size, deadline))
    except (ValueError, RecursionError) as e:  # deep nesting is a RecursionError, not bad JSON
        raise ProtocolError(f"header is not JSON: {str(e)[:200]}") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
        raise ProtocolError("header has no valid blob list")
    if sum(sizes) > max_bytes:
        raise ProtocolError(f"{sum(sizes)} bytes of data exceed the limit of {max_bytes}")
    data = memoryview(_read(sock, sum(sizes), deadline)) if sizes else memoryview(b"")
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    return header, [bytes(data[a:b]) for a, b in zip(offsets, offsets[1:], strict=False)]


def _read(sock: socket.socket, size: int, deadline: float | None) -> bytes:
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
    return bytes(buf)


def encode(value, blobs: list[bytes], depth: int = 0) -> dict:
    """A JSON-able description of `value`; tensors' bytes are appended to `blobs`."""
    import torch

    if isinstance(value, torch.Tensor):
        return {"tensor": _tensor_meta(value, blobs)}
    if value is None or isinstance(value, bool):
        return {"scalar": value}
    if isinstance(value, int):
        return {"scalar": value}
    if isinstance(value, float):
        return {"scalar": value if math.isfinite(value) else repr(value)}
    if depth == 0 and isinstance(value, dict):
        return {"dict": [[str(k), encode(v, blobs, 1)] for k, v in value.items()]}
    if depth == 0 and isinstance(value, (list, tuple)):
        return {"list": [encode(v, blobs, 1) for v in value]}
    return {"object": type(value).__name__}


def _tensor_meta(t, blobs: list[bytes]) -> dict:
    import torch

    t = torch.Tensor.as_subclass(t, torch.Tensor).detach().cpu()
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


def decode_tensor(meta: dict, blobs: list[bytes], max_numel: int = 1 << 28):
    """Rebuild a tensor from its description, trusting nothing in it."""
    import torch

    if not isinstance(meta, dict):
        raise ProtocolError("tensor description is not an object")
    sent_as, shape, index = meta.get("sent_as"), meta.get("shape"), meta.get("blob")
    if sent_as not in DTYPES:
        raise ProtocolError(f"unsupported dtype {meta.get('dtype')!r}")
    if not isinstance(shape, list) or len(shape) > 8:
        raise ProtocolError("bad shape")
    if not all(type(d) is int and 0 <= d <= max_numel for d in shape):
        raise ProtocolError("bad shape")
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
