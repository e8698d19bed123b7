"""Finding submissions: one folder or zip, a folder of them, or a Gradescope "Export Submissions".

Whatever the shape of the input, the result is a list of `Submission`s, each with the raw bytes of
the exercise files it holds (or None), the student's name and email where the export has them,
and notes on anything odd (a nested folder, a zip inside, a file too large). The bytes are never
run or imported here; the grader only reads them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from . import notebook_submissions

MAX_FILE_BYTES = 1 << 20
MAX_ZIP_BYTES = 200 << 20
MAX_ZIP_FILES = 100_000
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}
METADATA = "submission_metadata.yml"


class SubmissionError(Exception):
    """The input is not something the grader can grade; the message says what was expected."""


@dataclass
class Submission:
    name: str
    files: dict[str, bytes | None]
    student: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str = ""
    notebook: dict = field(default_factory=dict)  # what a notebook gave (grader/notebook.py)

    @property
    def slug(self) -> str:
        return slug(self.name)


def slug(name: str) -> str:
    """A folder name for a submission: unicode kept, path separators and control characters not."""
    name = unicodedata.normalize("NFC", name)
    cleaned = re.sub(r"[/\\\x00-\x1f\x7f:*?\"<>|]", "_", name).strip(" .")
    return cleaned[:120] or "submission"


def discover(path: Path, files: tuple[str, ...], workdir: Path) -> tuple[list[Submission], bool]:
    """Every submission under `path`, and whether it is a batch; `workdir` gets unpacked zips."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(
            f"{path} does not exist: give a submission folder or zip, a folder "
            "of submissions, or a Gradescope export zip"
        )
    if path.is_file():
        if path.suffix.lower() == ".ipynb":  # one notebook on its own
            folder = notebook_submissions.alone(path, workdir)
            return [read_submission(folder, path.stem, files, workdir)], False
        if not zipfile.is_zipfile(path):
            raise SubmissionError(
                f"{path} is a file but not a zip: give a submission folder or "
                "zip, a folder of submissions, or a Gradescope export zip"
            )
        root = unpack(path, workdir / slug(path.stem))
        return _from_folder(_single_top(root), files, workdir, default_name=path.stem)
    return _from_folder(path, files, workdir, default_name=path.resolve().name)


def _from_folder(root: Path, files, workdir: Path, default_name: str):
    if (root / METADATA).is_file():
        return _gradescope_export(root, files, workdir), True
    if _exercise_files(root, files, depth=0) or notebook_submissions.is_notebook_submission(
        root, files
    ):
        return [read_submission(root, default_name, files, workdir)], False
    entries = sorted(p for p in root.iterdir() if _is_candidate(p))
    subs = [read_submission(p, _name_of(p), files, workdir) for p in entries]
    if not subs:
        raise SubmissionError(
            f"{root} holds no exercise files ({', '.join(f + '.py' for f in files)}) and no "
            "submission folders or zips: give one submission, a folder of submissions, or a "
            "Gradescope export zip"
        )
    return subs, True


def _is_candidate(p: Path) -> bool:
    if p.name.startswith(".") or p.name in IGNORED_DIRS:
        return False
    return p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")


def _name_of(p: Path) -> str:
    return p.stem if p.is_file() else p.name


def read_submission(path: Path, name: str, files, workdir: Path) -> Submission:
    """One submission from a folder or zip; exercise files may sit in a nested folder or zip."""
    notes: list[str] = []
    if path.is_file():
        try:
            path = _single_top(unpack(path, workdir / slug(name)))
        except SubmissionError as e:
            return Submission(name, dict.fromkeys(files), notes=[str(e)], source=str(path))
    root = path  # where the files were found: the folder, or a zip unpacked from inside it
    found = _exercise_files(path, files, depth=3)
    if not found:
        for inner in sorted(path.rglob("*.zip"))[:5]:
            try:
                root = unpack(inner, workdir / slug(name) / inner.stem)
            except SubmissionError as e:
                notes.append(str(e))
                continue
            found = _exercise_files(root, files, 3)
            if found:
                notes.append(f"read the exercise files from the zip {inner.name}")
                break
    contents: dict[str, bytes | None] = {}
    for f in files:
        p = found.get(f)
        if p is None:
            contents[f] = None
        elif p.stat().st_size > MAX_FILE_BYTES:
            contents[f] = None
            notes.append(f"{p.name} is larger than {MAX_FILE_BYTES} bytes and was not graded")
        else:
            contents[f] = p.read_bytes()
            if p.parent != root:
                notes.append(f"found {p.name} in {p.parent.relative_to(root)}/")
    notebook = notebook_submissions.use_notebook([path, root], files, contents, notes)
    if not any(v is not None for v in contents.values()):
        notes.append(
            "no exercise files found (expected " + ", ".join(f + ".py" for f in files) + ")"
        )
    return Submission(name, contents, notes=notes, source=str(path), notebook=notebook)


def _exercise_files(root: Path, files, depth: int) -> dict[str, Path]:
    """The shallowest file named like each exercise (case-insensitive), ignoring junk folders."""
    found: dict[str, Path] = {}
    wanted = {f + ".py": f for f in files}
    frontier = [root]
    for _ in range(depth + 1):
        nxt = []
        for d in frontier:
            for p in sorted(d.iterdir()) if d.is_dir() else []:
                if p.name in IGNORED_DIRS or p.name.startswith("."):
                    continue
                key = wanted.get(p.name.lower())
                if key and p.is_file() and key not in found:
                    found[key] = p
                elif p.is_dir() and not p.is_symlink():
                    nxt.append(p)
        frontier = nxt
    return found


def _gradescope_export(root: Path, files, workdir: Path) -> list[Submission]:
    try:
        meta = yaml.safe_load((root / METADATA).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise SubmissionError(f"cannot read {root / METADATA}: {e}") from None
    if not isinstance(meta, dict):
        raise SubmissionError(f"{root / METADATA} is not a mapping of submission folders")
    subs = []
    for folder, info in sorted(meta.items()):
        path = root / str(folder)
        student = _submitters(info)
        name = str(folder)
        if not path.exists():
            subs.append(
                Submission(
                    name,
                    dict.fromkeys(files),
                    student,
                    [f"the export lists {folder} but has no such folder"],
                )
            )
            continue
        sub = read_submission(path, name, files, workdir)
        sub.student = student
        subs.append(sub)
    return subs


def _submitters(info: object) -> dict[str, str]:
    """Names, emails and ids from one entry (Gradescope writes Ruby-style `:name` keys)."""
    if not isinstance(info, dict):
        return {}
    info = {str(k).lstrip(":"): v for k, v in info.items()}
    people = info.get("submitters") or []
    people = [{str(k).lstrip(":"): v for k, v in p.items()} for p in people if isinstance(p, dict)]
    join = lambda key: "; ".join(str(p[key]) for p in people if p.get(key))  # noqa: E731
    return {
        k: v
        for k, v in {"name": join("name"), "email": join("email"), "sid": join("sid")}.items()
        if v
    }  # noqa: E501


def _single_top(root: Path) -> Path:
    """A zip of one folder is that folder."""
    entries = [
        p for p in root.iterdir() if p.name not in IGNORED_DIRS and not p.name.startswith(".")
    ]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root


def unpack(zip_path: Path, dest: Path) -> Path:
    """Extract a zip safely: no absolute paths or `..`, no links, bounded size and count."""
    try:
        with zipfile.ZipFile(zip_path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_FILES or sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
                raise SubmissionError(f"{zip_path.name} is too large to unpack")
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for info in infos:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if info.filename.startswith("/") or ".." in parts or not parts:
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a symlink
                    continue
                target = dest.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as e:
        raise SubmissionError(f"{zip_path.name} is not a readable zip: {e}") from None
    return dest


def temporary_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="grader-")
