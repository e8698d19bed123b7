"""The Pythons the grader supports: 3.10 (Gradescope's Ubuntu 22.04), 3.11 (CI's, Debian 12's)
and 3.12 (Ubuntu 24.04). CI runs one of them; these tests show, on whichever runs them, the
differences that broke another (docs/gradescope.md, "Base images and Pythons")."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from grader.gradescope.package import requirements

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.10", "3.11", "3.12")


def pins() -> list[Requirement]:
    """constraints.txt's pins, markers and all."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [Requirement(line) for line in map(str.strip, lines) if line and line[0] != "#"]


def applies(pin: Requirement, python: str) -> bool:
    if pin.marker is None:
        return True
    return pin.marker.evaluate(dict(default_environment(), python_version=python))


def installed_requires_python(pin: Requirement) -> str | None:
    """The Requires-Python of the pinned release when it is the one installed here (its
    metadata is then at hand, no index asked), else None."""
    try:
        meta = importlib.metadata.metadata(pin.name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if not pin.specifier.contains(meta["Version"], prereleases=True):
        return None
    return meta.get("Requires-Python")


def test_every_pin_installs_on_every_supported_python() -> None:
    """`make` installs with `-c constraints.txt`: a pin whose release needs a newer Python stops
    the install there (ipykernel 7.4.0 needs 3.11: `make` failed on 3.10). Each pin that applies
    to a supported Python, and whose release is the one installed, must admit that Python."""
    checked, refused = 0, []
    for pin in pins():
        needs = installed_requires_python(pin)
        if needs is None:
            continue
        for python in SUPPORTED:
            if applies(pin, python):
                checked += 1
                if not SpecifierSet(needs).contains(f"{python}.0"):
                    refused.append(f"{pin} on Python {python} (it needs {needs})")
    assert checked >= len(SUPPORTED), "no pin's release is installed: this proved nothing"
    assert not refused, refused


def test_the_zip_builds_on_python_3_10(monkeypatch) -> None:
    """Python 3.10 has no tomllib: `grader gradescope-zip` reads pyproject with its backport,
    tomli, which pyproject requires there (the build refused 3.10 outright). Shown on any
    Python by hiding tomllib and standing the TOML reader at hand in for tomli."""
    reader = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    monkeypatch.setitem(sys.modules, "tomllib", None)  # import tomllib: ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "tomli", reader)
    lines = requirements(ROOT / "pyproject.toml").splitlines()
    assert "torch>=2.1" in lines
    assert "tomli>=1.1; python_version < '3.11'" in lines, "setup.sh installs it on 3.10"


def test_a_zip_inside_the_upload_is_read_on_python_3_10(tmp_path, monkeypatch) -> None:
    """Python 3.10's SpooledTemporaryFile has no seekable(), which zipfile calls: every zip
    inside an upload was unreadable there (on Gradescope's Ubuntu 22.04, a student's zip scored
    0: `'SpooledTemporaryFile' object has no attribute 'seekable'`). 3.10 is made here by
    taking the method away (3.11's comes from io.IOBase)."""
    import tempfile
    import zipfile

    from grader.submissions import read_submission

    def absent(self):
        raise AttributeError("'SpooledTemporaryFile' object has no attribute 'seekable'")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "seekable", property(absent), raising=False)
    upload = tmp_path / "upload"
    upload.mkdir()
    with zipfile.ZipFile(upload / "hw.zip", "w") as zf:
        zf.writestr("hw/exercise1.py", "def dlogprobs(logprobs):\n    return logprobs\n")
    sub = read_submission(upload, "submission", ("exercise1", "exercise2"))  # as on Gradescope
    assert b"def dlogprobs" in (sub.files["exercise1"] or b""), sub.absent


def test_the_docs_name_the_torch_version_constraints_txt_pins() -> None:
    """The README's "Choosing a torch build" and docs/gradescope.md quote the pin
    (`torch==2.13.0`), and the README's command to pre-create .venv installs it: `make` then
    keeps that torch only when it is the pinned version (another is replaced under the pin), so a
    quote left behind when the pin moves tells a user to install a torch that will not stay."""
    import re

    (torch,) = [p for p in pins() if p.name == "torch"]
    quoted = {
        (name, version)
        for name in ("README.md", "docs/gradescope.md")
        for version in re.findall(r"torch==([0-9][^\s`)]*)", (ROOT / name).read_text())
    }
    assert {name for name, _ in quoted} == {"README.md", "docs/gradescope.md"}
    assert {v for _, v in quoted} == {str(torch.specifier).removeprefix("==")}, quoted
