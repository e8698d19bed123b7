"""What a student's exception says, read without trusting it and cut to a report's size.

The sandbox's worker writes a failing import or call with this module, and the student bundle's
check.py (local_check) with the same module, so the check shows the words the grader's report
will. It runs in the student's process beside student code: it holds nothing and imports only
the standard library (the sandbox imports nothing of the grader's; the bundle ships it
flattened). Everything is read as the interpreter keeps it (`traceback_of`, `cause_of`, ...),
never through a student class's own properties, and whatever a student's `__repr__`, `__str__`
or `__notes__` raises leaves the type's name instead of ending the process unanswered.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable

# A traceback as a report keeps it: at most TRACEBACK_CHARS, the exception's own words at most
# EXCEPTION_CHARS of them (their start, which names the type, and the end of their last line),
# frames past the rest dropped from the oldest. Its last TRACEBACK_CHARS alone kept neither
# the heading, nor a frame, nor the type where the words ran long (`assert ok, (dx, x)`, whose
# two (32, 27) tensors print in 26,000 characters: the report showed a tensor's tail alone).
# A chain (`raise ValueError(...) from e`, an error raised while handling another) is shown
# as Python shows it, the cause first, within the same bound: the latest is cut as it is
# alone, or to half the bound where it would take more, and the exceptions before it share
# the rest, the nearest first (the oldest are dropped, a mark says so); a halved latest then
# takes back what they leave. The latest exception alone was shown: the student lost the
# cause.
TRACEBACK_CHARS = 4000
EXCEPTION_CHARS = 2000
CHAIN_BLOCK_CHARS = 400
CAUSE_SENTENCE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT_SENTENCE = "\nDuring handling of the above exception, another exception occurred:\n\n"
CHAIN_CUT = "  [... earlier exceptions of the chain cut ...]\n"
# An exception's frames and words, as `bounded_chain` asks them.
Reader = Callable[[BaseException], tuple[list[str], str]]


def bounded_traceback(frames: list[str], words: str, limit: int = TRACEBACK_CHARS) -> str:
    """The heading, the latest frames that fit whole (else the latest one's end), and the
    exception's words, cut, in at most `limit` characters (at least CHAIN_BLOCK_CHARS)."""
    most = min(EXCEPTION_CHARS, limit // 2)
    if len(words) > most:
        end = words.rstrip("\n").rpartition("\n")[2][-(most // 4) :] + "\n"
        start = most - len(end) - 60  # room for the mark
        words = f"{words[:start]} [... {len(words) - start - len(end)} characters cut ...]\n{end}"
    heading = "Traceback (most recent call last):\n"
    room = limit - len(heading) - len(words)
    kept = len(frames)
    while kept and len(frames[kept - 1]) <= room:  # whole frames, the latest first
        kept -= 1
        room -= len(frames[kept])
    latest = frames[kept - 1][-room:] if kept == len(frames) and frames and room else ""
    return heading + latest + "".join(frames[kept:]) + words


def bounded_chain(
    chain: list[tuple[BaseException, str]], read: Reader, limit: int = TRACEBACK_CHARS
) -> str:
    """A chain's tracebacks, the cause first, in at most `limit` characters. `chain`: each
    exception with the sentence that led from the one before it, the latest first
    (`exception_chain`); `read` gives an exception's frames and words, asked only of those
    given room (the latest always, cut as it would be alone or less; some 30 at most before
    it). All 50 the chain holds were read before the cut, each one's words reading all the
    exceptions behind it: a chain of 10,000 cost seconds."""
    frames, words = read(chain[0][0])
    latest = bounded_traceback(frames, words, limit)
    halved = len(chain) > 1 and len(latest) > limit // 2
    if halved:  # the causes get half at least; the latest, what they leave of the rest
        latest = bounded_traceback(frames, words, limit // 2)
    room, blocks = limit - len(latest), []
    for (older, _), (_, sentence) in zip(chain[1:], chain[:-1], strict=True):
        most = room - len(sentence) - len(CHAIN_CUT)
        if most < CHAIN_BLOCK_CHARS:
            break
        blocks.append(bounded_traceback(*read(older), most) + sentence)
        room -= len(blocks[-1])
    if blocks and len(blocks) < len(chain) - 1:  # the oldest shown was caused by another
        blocks[-1] = blocks[-1].replace("\n", "\n" + CHAIN_CUT, 1)
    if halved:
        latest = bounded_traceback(frames, words, limit - sum(map(len, blocks)))
    return "".join(reversed(blocks)) + latest


def refusal_noted(chain: list[tuple[BaseException, str]], read: Reader, refusal: str | None) -> str:
    """The chain's tracebacks and, where they do not show it, the autograd ban's refusal that
    the student's code caught and replaced (`except RuntimeError: raise ValueError(...) from
    None`, or cut with the oldest of a long chain), after them: all in TRACEBACK_CHARS. The
    refusal was added past the bound, and again where the chain already showed it."""
    trace = bounded_chain(chain, read)
    if refusal is None or refusal in trace:
        return trace
    note = f"\n(while handling: {refusal[:CHAIN_BLOCK_CHARS]})"
    return bounded_chain(chain, read, TRACEBACK_CHARS - len(note)) + note


def exception_chain(e: BaseException) -> list[tuple[BaseException, str]]:
    """`e` and the exceptions it was raised from or while handling, the latest first, each with
    the sentence Python writes between it and the one before it ("" for the oldest). Read as
    the interpreter keeps them, not through a student class's properties; a cycle ends it."""
    chain, seen = [], set()
    while e is not None and id(e) not in seen and len(chain) < 50:
        seen.add(id(e))
        cause, context = cause_of(e), context_of(e)
        if cause is not None:
            chain.append((e, CAUSE_SENTENCE))
            e = cause
        elif context is not None and not suppresses_context(e):
            chain.append((e, CONTEXT_SENTENCE))
            e = context
        else:
            chain.append((e, ""))
            e = None
    return chain


# Read as the interpreter keeps them, not through a student class's own properties.
traceback_of = BaseException.__dict__["__traceback__"].__get__
cause_of = BaseException.__dict__["__cause__"].__get__
context_of = BaseException.__dict__["__context__"].__get__
suppresses_context = BaseException.__dict__["__suppress_context__"].__get__
qualname_of = type.__dict__["__qualname__"].__get__


def student_traceback(
    e: BaseException, in_student_file: Callable[[str], bool], refusal: str | None = None
) -> str:
    """The traceback of the frames in the student's files alone (`in_student_file` tells them
    by their file name): torch's frames named the grading machine's paths to its packages.
    A chain's every exception is written so, the cause first (`bounded_chain`), and a
    `refusal` of the autograd ban that it does not show is named after it (`refusal_noted`)."""

    def read(x: BaseException) -> tuple[list[str], str]:
        frames = [f for f in traceback.extract_tb(traceback_of(x)) if in_student_file(f.filename)]
        return traceback.format_list(frames), "".join(exception_lines(x))

    return refusal_noted(exception_chain(e), read, refusal)


def described(e: BaseException) -> str:
    """`repr(e)`, or its type's name where the student's `__repr__` raises: raised out of a
    call's reply, it ended the student process unanswered (the check, in a traceback)."""
    try:
        return repr(e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return f"{qualname_of(type(e))} (its message could not be read)"


def exception_lines(e: BaseException) -> list[str]:
    """`Type: message`; only the type's name where reading the message or its notes runs a
    property of the student's that raises (it ended the process unanswered, and the check in
    a traceback). SystemExit and KeyboardInterrupt included: a `__str__` or `__notes__` that
    raised them passed an `except Exception` and ended the process all the same."""
    try:
        return _exception_only(e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return [f"{qualname_of(type(e))} (its message could not be read)\n"]


# Whether this Python's TracebackException takes `_seen` (3.10 to 3.14 do).
_ALONE = "_seen" in inspect.signature(traceback.TracebackException).parameters


def _exception_only(e: BaseException) -> list[str]:
    """format_exception_only's lines, reading `e` alone. That function first builds a
    TracebackException of every exception `e` was raised from or while handling, each one's
    frames looked up, which it never shows: the words of each exception of a chain of 10,000
    (a student's loop) read the rest of it. `_seen`, the standard library's own mark of an
    exception read within a chain, keeps the reading to `e`, and the chain it did not read is
    set empty (3.13's format_exception_only asks for the group's exceptions). A Python
    without `_seen` reads as format_exception_only does."""
    if not _ALONE:
        return traceback.format_exception_only(type(e), e)
    alone = traceback.TracebackException(type(e), e, None, compact=True, _seen=set())
    alone.__cause__ = alone.__context__ = alone.exceptions = None
    return list(alone.format_exception_only())
