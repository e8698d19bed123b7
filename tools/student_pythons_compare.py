"""Compare two runs of the student bundle (tools/student-pythons.sh): item by item, every line.

Each run is a folder of outputs, one file per command (check.py on a folder, train.py, a
notebook's check cells), made by the grader's Python and by a student's. They must match line
by line, but for two things a torch version computes differently: the numbers of the maxdiff
column (a correct answer's rounding; the verdicts beside them must match) and the names
train.py samples at its end (torch.multinomial draws differently across versions); where a
file holds a newer Python's syntax, the reasons under its rows (each Python words them). Prints one
line per file that differs, with its first differing lines; exits 1 if any does.

    python tools/student_pythons_compare.py REFERENCE_OUTPUTS OTHER_OUTPUTS
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

# A number in scientific notation: a maxdiff cell of the table, a difference in train.py's.
_NUMBER = re.compile(r"\d\.\d+e[-+]\d\d")


# Outputs whose reasons are worded by the Python that reads the file: a 3.12 f-string is "does
# not parse" in both, in the parser's words where it is older, in python_syntax's where newer.
WORDED_BY_PYTHON = ("fstring",)


def comparable(name: str, text: str) -> list[str]:
    """The lines that must match: numbers blanked, train.py's sampled names left out, and the
    reasons under the rows where the Python words them."""
    lines = text.splitlines()
    if "samples:" in lines:
        lines = lines[: lines.index("samples:")]
    if any(word in name for word in WORDED_BY_PYTHON):
        lines = [line for line in lines if not line.startswith("      -> ")]
    return [_NUMBER.sub("#", line) for line in lines]


def differences(reference: Path, other: Path) -> list[str]:
    """A line per output that differs or is missing, with its first differing lines."""
    found = []
    for ref in sorted(reference.iterdir()):
        mine = other / ref.name
        if not mine.exists():
            found.append(f"{ref.name}: missing")
            continue
        a, b = comparable(ref.name, ref.read_text()), comparable(ref.name, mine.read_text())
        if a != b:
            diff = list(difflib.unified_diff(a, b, lineterm="", n=0))[2:10]
            found.append(f"{ref.name}: differs\n    " + "\n    ".join(diff))
    return found


def main(argv: list[str]) -> int:
    reference, other = Path(argv[0]), Path(argv[1])
    found = differences(reference, other)
    total = len(list(reference.iterdir()))
    for line in found:
        print(line)
    print(f"{other.name}: {total - len(found)} of {total} outputs match {reference.name}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
