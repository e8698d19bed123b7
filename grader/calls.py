"""A call by name: which arguments a student function gets, or why it cannot be called.

Shared by the grader's sandboxed session and the student bundle's in-process check, so that both
refuse the same signatures with the same words and pass the same arguments.
"""

from __future__ import annotations

from typing import Any

from .records import Outcome
from .student_text import did_you_mean, listing


def plan_call(
    func: str, sig: dict, available: dict[str, Any], allowed: frozenset[str]
) -> tuple[dict[str, Any], list[str], Outcome | None]:
    """(arguments by name, the positional-only ones among them, or the reason not to call).

    A parameter with a default value is filled when its name is allowed and the case has it,
    and otherwise keeps its default, as pytest treats a test's defaulted arguments: the lecture
    lets students hard-code BatchNorm's epsilon, and `eps=1e-5` in a signature is that."""
    defaulted = set(sig.get("defaulted", []))
    declared = list(available) if sig.get("varkw") else []
    declared = list(dict.fromkeys(sig["params"] + declared))
    not_allowed = [p for p in sig["params"] if p not in allowed and p not in defaulted]
    if not_allowed:
        return (
            {},
            [],
            Outcome("forbidden", _refusal(func, not_allowed, allowed, available)),
        )
    if sig.get("varargs"):
        return {}, [], Outcome("error", f"`{func}` takes *args; declare the arguments by name")
    args = {k: available[k] for k in declared if k in available and k in allowed}
    missing = [p for p in sig["params"] if p not in args and p not in defaulted]
    if missing:
        return (
            {},
            [],
            Outcome("error", f"`{func}` declares {_some(missing)}, which this case cannot supply"),
        )
    by_position = sig.get("positional_only", [])
    passed = [p for p in by_position if p in args]
    if passed != by_position[: len(passed)]:
        # Python cannot fill a positional-only parameter while an earlier one keeps its default.
        kept = next(p for p in by_position if p not in args)
        return (
            {},
            [],
            Outcome(
                "error",
                f"`{func}` takes {_some(passed)} by position after {_quoted(kept)}, which keeps "
                "its "
                "default; declare them by name (without the `/`)",
            ),
        )
    return args, passed, None


def _refusal(
    func: str, not_allowed: list[str], allowed: frozenset[str], available: dict[str, Any]
) -> str:
    """Why a signature is refused, with the allowed name a misspelt one is closest to: a
    parameter renamed `d_bnvar_inv` was told only "allowed are C, W1, W2, ... and 39 more". A
    name the case has (`dbnraw`, a gradient `dbngain` comes before) is no misspelling: `bnraw`
    would send the student to another tensor."""
    typo = next((p for p in not_allowed if p not in available), "")
    close = did_you_mean(typo, set(allowed)) if typo else ""
    close = f"{close} " if close else ""
    return (
        f"`{func}` declares {_some(not_allowed)}, which it may not use: "
        f"{close}allowed are {listing(allowed)}"
    )


def _some(names: list[str], limit: int = 12) -> str:
    """The first names, quoted, and how many more: a signature of thousands of made-up
    parameters once put each of them in every case's message (a 12 MB report)."""
    shown = ", ".join(map(_quoted, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


NAME_SHOWN = 40  # characters of a student's parameter name quoted in a message


def _quoted(name: str) -> str:
    """A parameter's name as a message quotes it: whole, or its start and its length. One
    parameter of 9,000 characters in each of 26 functions made result.json and report.html
    each more than twice the size of the upload, every case's message quoting it whole."""
    if len(name) <= NAME_SHOWN:
        return repr(name)
    return f"{name[:NAME_SHOWN]!r}... ({len(name):,} characters)"
