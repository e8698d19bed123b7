"""Hostile submissions against the judgement: code the static scan once could not see, and
answers whose dtype once loosened the comparison (issue 9).

Each attack is exercise 2 of the solutions with `dlogits` smuggled past the rules (the other
files and exercise 2's `dhprebn` stay correct), graded through the real pipeline with the scan
on, as in real grading. `expect` maps an item id, or a file for all of its items, to the status
and the words of the message the *scan* (or the decoder, or the judge) gives; every other item
must pass, so an attack costs what the documented rule says and nothing else. A status from the
run-time tripwires instead ("used autograd while running") is not the scan's verdict: the test
asserts the scan's own words, so each attack fails without the scan's fix even where a run-time
layer happens to catch it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from variants import SOLUTIONS

# Autograd's answer to exercise2.dlogits, the way a determined student would get it.
AUTOGRAD_DLOGITS = """
def _by_autograd(logits, Yb, n):
    with torch.enable_grad():
        x = logits.detach().clone().requires_grad_()
        F.cross_entropy(x, Yb).backward()
    return x.grad
"""


@dataclass(frozen=True)
class ScanAttack:
    name: str
    what: str
    exercise2: str | bytes  # the whole file
    expect: dict[str, tuple[str, str]]  # item id or file -> (status, words of the message)


def solution(name: str) -> str:
    return (SOLUTIONS / f"{name}.py").read_text()


def without_dlogits(code: str) -> str:
    """Exercise 2's solution with `def dlogits` replaced by `code`."""
    src = solution("exercise2")
    start, end = src.index("def dlogits("), src.index("def dhprebn(")
    return src[:start] + code.strip("\n") + "\n\n\n" + src[end:]


def in_dlogits(code: str) -> str:
    """Exercise 2's solution with `code` as the first lines of dlogits."""
    src = solution("exercise2")
    marker = "    # BEGIN SOLUTION\n"
    at = src.index(marker, src.index("def dlogits(")) + len(marker)
    body = "".join("    " + line + "\n" for line in code.strip("\n").splitlines())
    return src[:at] + body + src[at:]


def _recoded(codec: str, hidden: str) -> bytes:
    """A file that shows a stub to UTF-8 readers; Python, obeying the coding line, decodes the
    comment into `hidden` lines of code (each `\n` written the codec's way)."""
    newline = {"utf-7": "+AAo-", "unicode_escape": "\\n"}[codec]
    smuggled = newline.join(["# TODO", *hidden.strip("\n").splitlines()])
    stub = "def dlogits(logits, Yb, n):\n    SMUGGLED\n    raise NotImplementedError\n"
    src = f"# -*- coding: {codec} -*-\n" + without_dlogits(stub)
    if codec == "utf-7":
        src = src.replace("+", "+-")  # UTF-7's own spelling of a plus sign
    return src.replace("SMUGGLED", smuggled).encode("utf-8")


# The autograd lines hidden by a codec: no `+` (UTF-7 would read it) and no backslash.
HIDDEN = """
    with torch.enable_grad():
        x = logits.detach().clone().requires_grad_()
        F.cross_entropy(x, Yb).backward()
    return x.grad
"""

_FORBIDDEN = "forbidden"
_FILE_REFUSED = ("error", "Python reads other code than the UTF-8 text the grader checks")

SCAN_ATTACKS = [
    ScanAttack(
        "factory",
        "dlogits made by a factory called at import",
        without_dlogits(
            """
def _make():
    def made(logits, Yb, n):
        with torch.enable_grad():
            x = logits.detach().clone().requires_grad_()
            F.cross_entropy(x, Yb).backward()
        return x.grad
    return made


dlogits = _make()
"""
        ),
        # The rule: import-time code that reaches autograd forbids the whole file.
        {"exercise2": (_FORBIDDEN, "module-level code reaches `_make`, which calls backward()")},
    ),
    ScanAttack(
        "lambda",
        "dlogits bound to a lambda that calls torch.func",
        without_dlogits(
            "dlogits = lambda logits, Yb, n: "
            "torch.func.grad(lambda L: F.cross_entropy(L, Yb))(logits)\n"
        ),
        {"exercise2.dlogits": (_FORBIDDEN, "`dlogits` uses torch.func")},
    ),
    ScanAttack(
        "globals_assignment",
        "dlogits bound through globals() under a computed name",
        without_dlogits(AUTOGRAD_DLOGITS + '\nglobals()["dlog" + "its"] = _by_autograd\n'),
        {"exercise2": (_FORBIDDEN, "module-level code uses globals()")},
    ),
    ScanAttack(
        "code_module",
        "autograd run from a string by the standard library's interactive interpreter",
        in_dlogits(
            """
import code
ns = {"torch": torch, "F": F, "logits": logits, "Yb": Yb}
code.InteractiveInterpreter(ns).runsource(
    "x = logits.detach().clone().requires_grad_()\\n"
    "with torch.enable_grad():\\n    F.cross_entropy(x, Yb).back" + "ward()\\n"
    "out = x.gr" + "ad", "<s>", "exec")
return ns["out"]
"""
        ),
        {"exercise2.dlogits": (_FORBIDDEN, "`dlogits` imports code")},
    ),
    ScanAttack(
        "getattr_alias",
        "torch.autograd reached through an alias of getattr and a computed name",
        in_dlogits(
            """
look = getattr
engine = look(torch, "auto" + "gr" + "ad")
grad_of = look(engine, "gr" + "ad")
with torch.enable_grad():
    x = logits.detach().clone().requires_grad_()
    return grad_of(F.cross_entropy(x, Yb), x)[0]
"""
        ),
        {"exercise2.dlogits": (_FORBIDDEN, "uses getattr with a computed name")},
    ),
    ScanAttack(
        "main_block_after_setting_name",
        "dlogits defined under `if __name__ == '__main__'` after the file sets __name__",
        without_dlogits(
            """
__name__ = "__main__"

if __name__ == "__main__":

    def dlogits(logits, Yb, n):
        with torch.enable_grad():
            x = logits.detach().clone().requires_grad_()
            F.cross_entropy(x, Yb).backward()
        return x.grad
"""
        ),
        {"exercise2.dlogits": (_FORBIDDEN, "`dlogits` calls backward()")},
    ),
    ScanAttack(
        "utf7",
        "a utf-7 coding line turns a comment of the stub into autograd code",
        _recoded("utf-7", HIDDEN),
        {"exercise2": _FILE_REFUSED},
    ),
    ScanAttack(
        "unicode_escape",
        "a unicode_escape coding line turns `\\n` in a comment into new lines of code",
        _recoded("unicode_escape", HIDDEN),
        {"exercise2": _FILE_REFUSED},
    ),
    ScanAttack(
        "deep_expression",
        "a 100,000-deep expression that crashes a recursive reader",
        solution("exercise2") + "\n_deep = " + "1+" * 100_000 + "1\n",
        {"exercise2": ("error", "nested too deeply for the grader to read")},
    ),
]

# The answer's dtype: Bessel's fused mistake (exercise2.dhprebn) returned in a coarser dtype
# must fail every case it fails in float32 (it once passed the n = 100 case as float16).
BESSEL_FUSED = ("n / (n - 1) * bnraw", "bnraw")
COARSER = ("half", "bfloat16")
