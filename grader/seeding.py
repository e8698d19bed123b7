"""A case's random generator: torch's own for a small seed, a whole state drawn from a secret.

`torch.Generator.manual_seed` keeps a seed's low 32 bits alone, so a case seeded that way is one
of 2**32, and the code that builds a case from its seed ships to students: student code that
spells out a few dozen bits of a hidden case's inputs (through the cases it chooses to pass) lets
a search of the 2**32 seeds find that case again, autograd's answers with it. A hidden case's
seed is therefore a secret of 128 bits (at or above SECRET_FLOOR) that fills the generator's
whole Mersenne Twister state, its 624 words, from SHA-256 of the secret and a counter: every
word, so every draw, depends on all of the secret's bits, and no search splits it into halves.
The draws keep torch's own distributions (randn, randint, rand), only their source changes.

A seed below 2**32 is torch's (`manual_seed`, as before): public cases are drawn on students'
machines and keep their numbers. A seed between the two is refused: torch would drop its high
bits, and it is too small to be a secret.

The state's layout is torch's, not a documented format: `_layout` finds the 624 words in
`get_state()` by matching MT19937's own seeding (init_genrand, written out below) against what
`manual_seed` leaves there, and checks that a state written there draws what MT19937 draws from
it. A torch build that lays its state out otherwise cannot draw a secret's case: it raises, it
never falls back to 32 bits. Nothing here is secret; the secrets live in each assignment's
hidden.py, which no bundle ships.
"""

from __future__ import annotations

import functools
import hashlib
import random
import secrets
import struct

import torch

TORCH_SEEDS = 2**32  # manual_seed tells apart only a seed's low 32 bits
SECRET_BITS = 128
SECRET_FLOOR = 2**SECRET_BITS  # a secret is 2**128 plus 128 random bits (draw_secret)
MT_WORDS = 624  # MT19937's state, in 32-bit words
_DOMAIN = b"grader case generator v1\0"
_PROBE_SEEDS = (5489, 2**32 - 1)  # MT19937's default seed, and one with every bit set


class GeneratorLayoutError(RuntimeError):
    """This torch keeps its generator's state in a layout the grader does not know."""


def draw_secret() -> int:
    """A new hidden case's seed: 128 random bits above SECRET_FLOOR's bit."""
    return SECRET_FLOOR + secrets.randbits(SECRET_BITS)


def is_secret(seed: int) -> bool:
    return seed >= SECRET_FLOOR


def generator(seed: int) -> torch.Generator:
    """The generator a case with this seed draws from (module docstring)."""
    if seed < 0:
        raise ValueError(f"a case's seed cannot be negative: {seed}")
    if seed < TORCH_SEEDS:
        return torch.Generator().manual_seed(seed)
    if not is_secret(seed):
        raise ValueError(
            f"a seed from 2**32 to 2**{SECRET_BITS} draws what its low 32 bits draw and is no "
            f"secret: use one below 2**32, or draw_secret() for a hidden case"
        )
    return from_words(secret_words(seed))


def label(seed: int) -> str:
    """How a case names its seed: a torch seed as it is, a secret by 8 hex digits of a hash of it
    (enough to tell cases apart in a TA's table, and nothing a search of the secret could use)."""
    if not is_secret(seed):
        return str(seed)
    return "k" + hashlib.sha256(b"label\0" + _secret_bytes(seed)).hexdigest()[:8]


def shown(seed: int) -> int | str:
    """What results say of a seed: a torch seed as it is, a secret by its label alone (the secret
    stays in hidden.py, out of every result, report and log)."""
    return label(seed) if is_secret(seed) else seed


def _secret_bytes(seed: int) -> bytes:
    return seed.to_bytes((seed.bit_length() + 7) // 8, "big")


def secret_words(seed: int) -> list[int]:
    """MT19937's 624 state words, each from SHA-256 of the whole secret and a counter."""
    key = _DOMAIN + _secret_bytes(seed)
    blocks = -(-MT_WORDS * 4 // 32)  # 78 digests of 32 bytes
    stream = b"".join(hashlib.sha256(key + i.to_bytes(4, "big")).digest() for i in range(blocks))
    return list(struct.unpack(f"<{MT_WORDS}I", stream[: MT_WORDS * 4]))


def init_genrand(seed: int) -> list[int]:
    """MT19937's seeding of its state from one 32-bit seed, as its authors wrote it."""
    mt = [seed & 0xFFFFFFFF]
    for i in range(1, MT_WORDS):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xFFFFFFFF)
    return mt


def mt_outputs(words: list[int], count: int) -> list[int]:
    """The first 32-bit outputs of MT19937 from this state, next draw regenerating it: Python's
    own Mersenne Twister, which the standard library documents, set to these words."""
    r = random.Random()
    r.setstate((3, (*words, MT_WORDS), None))
    return [r.getrandbits(32) for _ in range(count)]


@functools.lru_cache(maxsize=1)
def _layout() -> tuple[bytes, int, int]:
    """(a fresh state, where its first word sits, how far apart words sit) in get_state()."""
    probes = [
        (_state_bytes(torch.Generator().manual_seed(s)), init_genrand(s)) for s in _PROBE_SEEDS
    ]
    fresh = probes[0][0]
    found = [
        (offset, stride)
        for stride in (4, 8)
        for offset in range(0, len(fresh) - MT_WORDS * stride + 1, 4)
        if all(_holds(state, offset, stride, words) for state, words in probes)
    ]
    if len(found) > 1:
        raise GeneratorLayoutError(f"torch {torch.__version__}: its state holds the words twice")
    if not found:
        raise GeneratorLayoutError(
            f"torch {torch.__version__} keeps its generator's state in a layout the grader does "
            f"not know (MT19937's words are not where manual_seed would put them): hidden cases "
            f"cannot be drawn from their secrets with this torch"
        )
    layout = (fresh, *found[0])
    _check_draws(layout)
    return layout


def _check_draws(layout: tuple[bytes, int, int]) -> None:
    """A state written where _layout found the words draws what MT19937 draws from it."""
    words = secret_words(SECRET_FLOOR)
    g = _write(layout, words)
    # randint over 2**16 values takes one 32-bit output a draw, modulo the range: its low 16 bits.
    got = torch.randint(0, 2**16, (16,), generator=g).tolist()
    want = [w & 0xFFFF for w in mt_outputs(words, 16)]
    if got != want:
        raise GeneratorLayoutError(
            f"torch {torch.__version__}: a state written into the generator does not draw what "
            f"MT19937 draws from it; hidden cases cannot be drawn from their secrets"
        )


def from_words(words: list[int]) -> torch.Generator:
    """A CPU generator whose Mersenne Twister state is these 624 words, nothing drawn yet."""
    if len(words) != MT_WORDS:
        raise ValueError(f"MT19937's state is {MT_WORDS} words, not {len(words)}")
    return _write(_layout(), words)


def _write(layout: tuple[bytes, int, int], words: list[int]) -> torch.Generator:
    fresh, offset, stride = layout
    state = bytearray(fresh)
    for i, w in enumerate(words):
        state[offset + i * stride : offset + (i + 1) * stride] = w.to_bytes(stride, "little")
    g = torch.Generator()
    g.set_state(torch.tensor(list(state), dtype=torch.uint8))
    return g


def _state_bytes(g: torch.Generator) -> bytes:
    return bytes(g.get_state().tolist())


def _holds(state: bytes, offset: int, stride: int, words: list[int]) -> bool:
    """Whether the state holds these words from offset on, stride bytes apart (little-endian)."""
    if offset + len(words) * stride > len(state):
        return False
    return all(
        int.from_bytes(state[offset + i * stride : offset + (i + 1) * stride], "little") == w
        for i, w in enumerate(words)
    )
