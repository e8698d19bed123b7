"""Reading what students upload as hostile input: folders and zips listed, never unpacked.

An upload (a folder, or a zip, or zips inside either) becomes a tree of `Entry`s held in memory.
Nothing of it is ever written to disk under a name the student chose, so no name, however
crafted (`..`, `/`, `...zip`), can become a path the grader writes or deletes. Only regular
files are read: a symbolic link, FIFO, device or socket is listed as skipped, with a note naming
it, and never followed or opened (files are opened with O_NOFOLLOW | O_NONBLOCK and checked with
fstat before a byte is read). A zip inside the upload is copied into an anonymous temporary file
(gone the moment it is closed, or the moment the process dies) and listed like a folder.

A zip may list two entries at one path (a name written twice, `x` and `./x`, a file `x` and a
folder `x/`). An unzip tool keeps one of them only, and which one depends on the tool (most keep
the last), so the grader never takes one for the other: both are listed at that path, and
whatever reads it (an exercise file, a notebook, a zip inside) gets its bytes only if every copy
holds the same, each copy read and charged to the budget; otherwise nothing there is read, and
an exercise file there is `ambiguous: …`, with what to upload instead.

Every submission gets its own `Budget`: how many entries are listed, how many bytes are read or
decompressed, how deep folders and archives nest. Past a limit the rest is left unread, with a
note saying which limit and how to raise it. The limits are `UploadLimits`; docs/submissions.md
says what they are for.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import stat
import struct
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

KiB, MiB = 1 << 10, 1 << 20


def size_text(n: float) -> str:
    """A size as a person reads it: 262144 -> "256 KiB", 1000 -> "1000 bytes"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} bytes"


# Folders no student means as their work: skipped without a note.
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", "node_modules"}


def hidden(name: str) -> bool:
    """A name not looked at: a dot file (an editor's, the OS's) or one of IGNORED_DIRS."""
    return name.startswith(".") or name in IGNORED_DIRS


# A folder holding this file is a Python virtual environment (PEP 405 defines one by it), never a
# student's work, whatever it is called: `python -m venv venv` beside the exercise files is
# common, and its thousands of files drowned a check's notes and ate the upload's entry limit.
# Only a folder below the top is skipped: a student who made the environment in their work
# folder itself (`python -m venv .`) keeps their files beside it.
ENVIRONMENT_MARKER = "pyvenv.cfg"


def environment_note(path: str) -> str:
    return f"skipped {path}/: a Python virtual environment (it holds {ENVIRONMENT_MARKER})"


# A TA's export zip may be large; its listing is parsed once, so its entry count is capped.
MAX_EXPORT_ENTRIES = 200_000


@dataclass(frozen=True)
class UploadLimits:
    """What the grader reads of one submission before the sandbox (docs/submissions.md)."""

    # One exercise file. Python's parser takes ~750 MB for 1 MiB of `f()` lines (a node per
    # call, name and statement), in the grader's own process (the static scan, the notebook
    # reader), where no student limit holds: with 1 MiB a hostile file could get the grader
    # killed in a small container. The lecture's files are a few kB; this is 25x the largest.
    file_bytes: int = 256 * KiB
    bytes: int = 64 * MiB  # read or decompressed in all, zips inside the upload included
    entries: int = 5_000  # files and folders listed, zips inside included
    depth: int = 8  # folders and zips nested inside the submission, counted together

    @classmethod
    def parse(cls, settings: list[str] | tuple[str, ...]) -> UploadLimits:
        """`["bytes=128MiB", "entries=20000"]` -> limits (units: KiB, MiB, GiB; else a count)."""
        units = {"kib": 1 << 10, "mib": MiB, "gib": 1 << 30, "": 1}
        changes = {}
        for setting in settings:
            key, _, raw = setting.partition("=")
            m = re.fullmatch(r"\s*(\d+)\s*([kmg]ib)?\s*", raw, re.IGNORECASE)
            if key.strip() not in cls.__dataclass_fields__ or not m or int(m[1]) < 1:
                raise ValueError(
                    f"{setting!r}: give NAME=N with NAME one of "
                    f"{', '.join(cls.__dataclass_fields__)} and N a positive number "
                    "(bytes may end in KiB, MiB or GiB)"
                )
            changes[key.strip()] = int(m[1]) * units[(m[2] or "").lower()]
        return cls(**changes)


class UploadError(Exception):
    """This upload (or part of it) cannot be read; the message says why, for the student."""


class TooManyEntries(UploadError):
    """A zip declares more entries than are read: it is not listed at all."""


class Encrypted(UploadError):
    """A zip entry made with a password: `_read_one` says so naming the entry's path in the
    upload (the zip's own name for it left out the zips it sits in)."""


class UnreadableMethod(UploadError):
    """A zip entry compressed with a method zipfile cannot undo (Deflate64, PPMd, ...): its
    message is the method's name, and `_read_one` says what to do, naming the entry's path."""


def method_name(method: int) -> str:
    """A zip compression method as its tools name it: 9 -> "deflate64", 77 -> "method 77"."""
    names = getattr(zipfile, "compressor_names", {})  # zipfile's own table, not documented
    return names.get(method) or f"method {method}"


class AmbiguousEntry(UploadError):
    """One path of a zip holds different entries: none is read, as none is surely the one meant."""


@dataclass
class Entry:
    """One file or folder of an upload. `kind` is "dir", "file" or the kind of a skipped entry."""

    name: str
    path: str  # where it sits in the upload, for notes: "src/exercise1.py"
    kind: str
    depth: int = 0
    size: int = 0
    children: list[Entry] = field(default_factory=list)
    reader: Callable[[int], bytes] | None = field(default=None, repr=False)
    opened: bool = False  # a zip file whose entries are now its children
    # A zip listed here that holds no file at all (made from an empty folder, or of nothing):
    # "the upload held: empty.zip" told neither the TA nor the student why nothing was found.
    empty_zip: bool = False
    # Other entries of the same zip at this very path (a name listed twice, `./x`, a folder
    # `x/`): an unzip tool keeps one of them only, and which one depends on the tool, so none
    # stands for the others unseen. `read_capped` reads this entry only if they are identical.
    copies: list[Entry] = field(default_factory=list, repr=False)
    # A zip that could not be opened, and why (`open_inner_zip`): said to the TA as a zip
    # left shut is (submissions.py), where only the student's note said it.
    unreadable: str = ""

    def walk(self) -> Iterator[Entry]:
        """Every entry below this one, shallowest first."""
        queue = deque(self.children)
        while queue:
            e = queue.popleft()
            yield e
            queue.extend(e.children)

    def child(self, name: str) -> Entry | None:
        return next((c for c in self.children if c.name == name), None)


@dataclass
class Budget:
    """What one submission may still cost; notes say what was left unread and why."""

    limits: UploadLimits
    entries: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)
    full: bool = False

    def take_entry(self, where: str) -> bool:
        if self.entries >= self.limits.entries:
            self.stop(where)
            return False
        self.entries += 1
        return True

    def stop(self, where: str) -> None:
        """No more entries: say so once. A folder is listed in the file system's order, only as
        far as the limit (a million files cost the limit, not a million), so `where` is one
        entry left out, not where the left-out ones begin: "the rest (from exercise3.py)" was
        said of an upload whose exercise1.py, listed later, was never seen."""
        if not self.full:
            self.full = True
            self.notes.append(
                f"the upload holds more than {self.limits.entries} files and folders; the "
                f"first {self.limits.entries} it lists were looked at and the rest ({where} "
                "among them) not: upload only your exercise files"
            )

    def take_bytes(self, n: int, what: str) -> None:
        if self.bytes + n > self.limits.bytes:
            raise UploadError(
                f"{what} was not read: {UPLOAD_TOO_LARGE} {size_text(self.limits.bytes)} "
                "unpacked (upload only your exercise files)"
            )
        self.bytes += n


# ---- folders -----------------------------------------------------------------------------------


def kind_of(mode: int) -> str:
    """A file type in words, for a note."""
    for test, word in (
        (stat.S_ISDIR, "dir"),
        (stat.S_ISREG, "file"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return word
    return "not a regular file"


def open_beneath(root: Path, parts: tuple[str, ...], directory: bool) -> int:
    """An fd for root/parts, refusing a symbolic link at every step after `root` (the TA's path).

    A FIFO is opened non-blocking (so it cannot hang the grader) and then refused by fstat.
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            if directory or not last:
                flags |= os.O_DIRECTORY
            nxt = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = nxt
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)):
            raise UploadError(f"{'/'.join(parts)} is {kind_of(mode)}: skipped")
        return fd
    except BaseException:
        os.close(fd)
        raise


def file_reader(root: Path, parts: tuple[str, ...]) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        fd = open_beneath(root, parts, directory=False)
        with os.fdopen(fd, "rb") as f:
            return f.read(limit)

    return read


def _problem(e: OSError) -> str:
    return e.strerror or str(e)


def _list(fd: int, cap: int) -> list[tuple[str, os.stat_result | OSError]]:
    """A folder's first `cap` entries with their lstat, sorted by name (the fd stays the caller's).

    A folder of a million files costs `cap` of them, not a million.
    """
    out: list[tuple[str, os.stat_result | OSError]] = []
    with os.scandir(fd) as it:
        for de in itertools.islice(it, cap):
            try:
                out.append((de.name, de.stat(follow_symlinks=False)))
            except OSError as e:
                out.append((de.name, e))
    return sorted(out, key=lambda x: x[0])


def _environment(listing: list[tuple[str, os.stat_result | OSError]]) -> bool:
    return any(
        name == ENVIRONMENT_MARKER and not isinstance(st, OSError) and stat.S_ISREG(st.st_mode)
        for name, st in listing
    )


def scan_folder(root: Path, parts: tuple[str, ...], budget: Budget) -> Entry:
    """The tree of folder root/parts, shallowest first, within the budget; nothing followed."""
    top = Entry(parts[-1] if parts else root.name, "", "dir")
    queue = deque([(top, parts)])
    while queue:
        node, where = queue.popleft()
        try:
            fd = open_beneath(root, where, directory=True)
        except (OSError, UploadError) as e:
            msg = e.strerror if isinstance(e, OSError) else str(e)
            budget.notes.append(f"could not read the folder {node.path or '.'}: {msg}")
            continue
        try:
            listing = _list(fd, budget.limits.entries - budget.entries + 1)
        except OSError as e:
            budget.notes.append(f"could not list the folder {node.path or '.'}: {_problem(e)}")
            continue
        finally:
            os.close(fd)
        if node is not top and _environment(listing):
            budget.notes.append(environment_note(node.path))
            continue
        for name, st in listing:
            if hidden(name):
                continue
            path = f"{node.path}/{name}" if node.path else name
            if not budget.take_entry(path):
                return top
            if isinstance(st, OSError):
                budget.notes.append(f"skipped {path}: {_problem(st)}")
                continue
            kind = kind_of(st.st_mode)
            child = Entry(name, path, kind, node.depth + 1, st.st_size)
            node.children.append(child)
            if kind == "file":
                child.reader = file_reader(root, (*where, name))
            elif kind == "dir":
                if child.depth < budget.limits.depth:
                    queue.append((child, (*where, name)))
                else:
                    budget.notes.append(
                        f"did not look inside {path}/: nested more than {budget.limits.depth} "
                        "levels deep"
                    )
            else:
                budget.notes.append(f"skipped {path}: {kind}, not a regular file")
    return top


# ---- zips --------------------------------------------------------------------------------------


UPLOAD_TOO_LARGE = "the upload would exceed"  # how the byte budget's refusal reads
NOT_A_ZIP = "not a readable zip"  # how an UploadError about a zip's own bytes begins
# Python's zipfile refuses a whole zip whose listing marks a name as UTF-8 that is not (a zip
# tool's mistake with a name in another alphabet, or a forged one); unzip reads it anyway.
NAME_NOT_UTF8 = (
    "its listing marks a file name as UTF-8 text that is not, so none of its names can be "
    "trusted; zip the files again (Windows: Send to > Compressed folder; macOS: Compress), "
    "or upload the exercise files themselves"
)


def zip_listing_size(f: BinaryIO) -> tuple[int, int]:
    """The entry count and listing bytes a zip declares, read before its listing is parsed.

    A zip64 archive declares 0xFFFF entries and 0xFFFFFFFF bytes here: "at least that many".
    """
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - (1 << 16) - 22))
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise UploadError(f"{NOT_A_ZIP}: it has no end record, as when a download is cut short")
    count, listing = struct.unpack("<HI", tail[at + 10 : at + 16])
    return count, listing


def listed_entries(f: BinaryIO, most: int) -> int | None:
    """How many entries a zip's listing holds, counted up to `most + 1` by walking its headers
    (never past that many), before zipfile parses it; None where the end records cannot be read
    (zipfile then refuses the zip in its own words).

    zipfile reads the listing by its size in bytes, whatever count the end record declares, and
    builds an object for each entry (about 400 bytes and 9 microseconds): a zip given as PATH
    (one student's upload graded on its own) declaring one entry and listing a million
    one-letter names in 47 MB cost the grader 15 s and 630 MB before the entry limit refused it,
    and the listing bytes allowed there (a KiB for each of the 200,000 entries) hold four
    million. The walk reads the zip's own records as zipfile finds them; where it meets
    anything else it stops, and zipfile, which would stop there too, says why."""
    try:
        end = zipfile._EndRecData(f)  # type: ignore[attr-defined]  # zipfile's own reading
        if end is None:
            return None
        size = end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
        start = end[zipfile._ECD_LOCATION] - size  # type: ignore[attr-defined]
        if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
        if start < 0:
            return None
        f.seek(start)
        count = 0
        while size >= _ENTRY_HEAD.size and count <= most:
            head = f.read(_ENTRY_HEAD.size)
            if len(head) < _ENTRY_HEAD.size or head[:4] != b"PK\x01\x02":
                break
            name, extra, comment = _ENTRY_HEAD.unpack(head)[10:13]
            step = _ENTRY_HEAD.size + name + extra + comment
            f.seek(step - _ENTRY_HEAD.size, os.SEEK_CUR)
            size -= step
            count += 1
        return count
    except (AttributeError, OSError, struct.error, zipfile.BadZipFile):
        return None  # a Python whose zipfile reads otherwise: its own checks stand alone


# The fixed part of an entry of a zip's listing (its central directory header, 46 bytes); its
# 11th to 13th fields are the lengths of the name, extra field and comment that follow it.
_ENTRY_HEAD = struct.Struct("<4s6H3L5H2L")


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if info.create_system == 3 and stat.S_IFMT(mode):  # made on Unix: the mode is real
        return kind_of(mode)
    return "file"


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path of a zip entry as parts, or None for an absolute path or one that climbs."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if any(p == ".." or "\0" in p for p in parts):
        return None
    return parts


def _member_reader(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[int], bytes]:
    def read(limit: int) -> bytes:
        if info.flag_bits & 0x1:  # zipfile's own words name its ZipInfo and ask for a password
            raise Encrypted(info.filename)
        try:
            member = z.open(info)
        except NotImplementedError:
            # zipfile's "That compression method is not supported" (Deflate64, PPMd, ...): it
            # names neither the method nor what to do. Asked of zipfile itself, so a method
            # a later Python reads (Zstandard in 3.14) is read there.
            raise UnreadableMethod(method_name(info.compress_type)) from None
        with member as f:
            return f.read(limit)

    return read


def scan_zip(
    f: BinaryIO,
    label: str,
    under: Entry,
    budget: Budget,
    max_entries: int | None = None,
    keep_hidden: Callable[[tuple[str, ...], zipfile.ZipInfo], bool] | None = None,
    per_upload: int | None = None,
    cut: set[str] | None = None,
) -> zipfile.ZipFile:
    """List the zip `f` as children of `under` (a folder, or the zip file's own entry).

    Paths with a `hidden` part are left out, but those `keep_hidden` keeps (the top of a class
    download, where a student's name comes first and may start with a dot), given each such
    path and its member. `per_upload`: the
    zip is a class's, and each upload in it is listed up to that many entries (`_per_upload`);
    the paths of those cut short are added to `cut`."""
    cap = budget.limits.entries if max_entries is None else max_entries
    count, listing = zip_listing_size(f)
    # The count can lie (zipfile reads the listing by its size): a KiB per entry bounds both.
    if count > cap:
        raise TooManyEntries(
            f"{label} holds {count} entries, more than the {cap} the grader reads: "
            "upload only your exercise files"
        )
    if listing > cap * 1024:
        # Said apart: a zip of 115 entries with names of 60,000 characters was said to hold
        # "115 entries, more than the 5000 the grader reads", which is false and says no cure.
        raise TooManyEntries(
            f"{label} lists its {count} entries in {size_text(listing)}, more than the "
            f"{size_text(cap * 1024)} the grader reads (names that long are no exercise's): "
            "zip only your exercise files, under their own names"
        )
    walked = listed_entries(f, cap)
    if walked is not None and walked > cap:
        # The end record declared fewer (or the listing's bytes allowed them): never parsed.
        raise TooManyEntries(
            f"{label} holds more than {cap} entries, more than the {cap} the grader reads: "
            "upload only your exercise files"
        )
    try:
        z = zipfile.ZipFile(f)
    except UnicodeDecodeError:  # a ValueError: it was quoted as "'utf-8' codec can't decode..."
        raise UploadError(f"{NOT_A_ZIP}: {NAME_NOT_UTF8}") from None
    if len(z.infolist()) > cap:
        raise TooManyEntries(
            f"{label} holds {len(z.infolist())} entries, more than the {cap} the grader reads: "
            "upload only your exercise files"
        )
    under.empty_zip = per_upload is None and all(i.is_dir() for i in z.infolist())
    listed: list[tuple[tuple[str, ...], str, zipfile.ZipInfo]] = []
    for info in z.infolist():
        parts = _safe_parts(info.filename)
        if parts is None:
            budget.notes.append(f"skipped {label}: {info.filename!r} (a path outside the zip)")
            continue
        if not parts or (
            any(map(hidden, parts)) and not (keep_hidden and keep_hidden(parts, info))
        ):
            continue
        listed.append((parts, _zip_kind(info), info))
    # A class's zip: each upload's top is never an environment to skip, as a folder's is not.
    level = 0 if per_upload is None else _upload_level(listed)
    listed = _without_environments(listed, under, budget, level)
    listed = _within_depth(listed, label, under, budget)
    if per_upload is not None:
        listed = _per_upload(listed, per_upload, level, cut if cut is not None else set())
    # Every path the zip needs as a folder: those it lists as folders and those entries sit in.
    # A file at one of them is a second entry at that path (an unzip tool makes one of the two).
    folders = {p[:i] for p, kind, _ in listed for i in range(1, len(p) + (kind == "dir"))}
    dirs: dict[tuple[str, ...], Entry] = {(): under}
    placed: dict[tuple[str, ...], Entry] = {}  # the first entry at each path that is no folder
    for parts, kind, info in listed:
        if kind == "dir":
            if _zip_dirs(dirs, parts, under, label, budget) is None:
                return z
            continue
        parent = _zip_dirs(dirs, parts[:-1], under, label, budget)
        if parent is None:
            return z
        path = "/".join(filter(None, (under.path, *parts)))
        if not budget.take_entry(path):
            return z
        entry = Entry(parts[-1], path, kind, under.depth + len(parts), info.file_size)
        if kind == "file":
            entry.reader = _member_reader(z, info)
        first = placed.setdefault(parts, entry)
        if first is not entry:
            # Kept apart, never one over the other: read_capped compares the two when read.
            first.copies.append(entry)
            continue
        parent.children.append(entry)
        if parts in folders:
            first.copies.append(Entry(parts[-1], path, "dir", entry.depth))
        if kind != "file":
            budget.notes.append(f"skipped {path}: {kind} in a zip, not a regular file")
    return z


def _upload_level(listed: list) -> int:
    """How many parts of a path in a class's zip name its upload: 1, or 2 when everything sits
    in one top folder (an export's own folder, as `submissions._single_top` reads it)."""
    tops = {p[0] for p, _, _ in listed}
    return 2 if len(tops) == 1 and any(len(p) > 1 for p, _, _ in listed) else 1


def _per_upload(listed: list, cap: int, level: int, cut: set[str]) -> list:
    """`listed` with at most `cap` entries under each upload of a class's zip, the folders its
    entries sit in counted as `_zip_dirs` makes them (a zip need not list a folder).

    The class's listing has one limit for all (MAX_EXPORT_ENTRIES), and one student's upload
    of 4,000 files, each in 55 folders of its own, took all of it: every upload listed after
    it was missing, and its student's row said "no such folder", 0 points. An upload is what
    sits under each name at the top, or under each name in the one top folder (an export's own
    folder). Shallowest first, as an upload's own listing is read (`Entry.walk`): a file at an
    upload's top is never left out for deeper ones listed before it. The path of each upload
    cut short goes into `cut`, for its report's note."""
    counts: dict[tuple[str, ...], int] = {}
    seen: set[tuple[str, ...]] = set()
    kept = []
    for item in sorted(listed, key=lambda x: len(x[0])):  # stable: a zip's order within a depth
        parts, kind = item[0], item[1]
        upload = parts[:level]
        if len(parts) <= level:
            kept.append(item)
            continue
        new = {parts[:i] for i in range(level + 1, len(parts) + (kind == "dir"))} - seen
        cost = len(new) + (kind != "dir")
        if counts.get(upload, 0) + cost > cap:
            counts[upload] = cap  # full: nothing more of this upload, however small
            cut.add("/".join(upload))
            continue
        counts[upload] = counts.get(upload, 0) + cost
        seen |= new
        kept.append(item)
    return kept


def _within_depth(listed: list, label: str, under: Entry, budget: Budget) -> list:
    kept = []
    for parts, kind, info in listed:
        if len(parts) + under.depth > budget.limits.depth:
            budget.notes.append(
                f"skipped {label}/{'/'.join(parts)}: nested more than {budget.limits.depth} "
                "levels deep"
            )
            continue
        kept.append((parts, kind, info))
    return kept


def _without_environments(listed: list, under: Entry, budget: Budget, level: int = 0) -> list:
    """`listed` without what lies in a virtual environment's folder below the zip's top.

    A class's zip (`level` > 0) keeps each folder that may be an upload's top (`level` parts
    deep) and those above it: a student's work kept in a folder made an environment itself
    (`python -m venv .`) was skipped whole there, their row "no such folder", where the same
    export unzipped was read. Read as one submission after all, such a folder below its top is
    skipped then (`skip_environments`)."""
    envs = {
        p[:-1]
        for p, kind, _ in listed
        if len(p) > level + 1 and p[-1] == ENVIRONMENT_MARKER and kind == "file"
    }
    outer = sorted(e for e in envs if not any(e[:i] in envs for i in range(1, len(e))))
    for e in outer:
        budget.notes.append(environment_note("/".join(filter(None, (under.path, *e)))))
    return [x for x in listed if not any(x[0][: len(e)] == e for e in outer)] if outer else listed


def skip_environments(top: Entry, budget: Budget) -> None:
    """Leave out the folders at `top` that are virtual environments, with the note for each:
    what a class's listing kept as an upload's possible top (`_without_environments`), when
    the zip is read as one submission, whose top is `top`."""
    kept = []
    for e in top.children:
        if e.kind == "dir" and any(
            c.name == ENVIRONMENT_MARKER and c.kind == "file" for c in e.children
        ):
            budget.notes.append(environment_note(e.path))
        else:
            kept.append(e)
    top.children = kept


def single_top(
    top: Entry, hidden_here: Callable[[Entry], bool] = lambda e: hidden(e.name)
) -> Entry:
    """A zip of one folder is that folder: the one entry at `top` that `hidden_here` passes,
    when it is a folder; else `top` itself."""
    entries = [e for e in top.children if not hidden_here(e)]
    return entries[0] if len(entries) == 1 and entries[0].kind == "dir" else top


def rebased(e: Entry) -> Entry:
    """A subtree of a listed zip as a submission of its own: paths and depths from its top."""
    top = Entry(e.name, "", "dir", 0, children=e.children)
    shift, cut = e.depth, len(e.path) + 1
    for d in top.walk():
        d.depth -= shift
        d.path = d.path[cut:]
    return top


def upload_tree(top: Entry, root: Entry, budget: Budget) -> Entry:
    """A listed zip read as one student's upload from `root` (its top, or the one folder there:
    `single_top`): paths from `root`, nothing hidden at its top, virtual environments left out
    with a note. The grader reads a student's zip so, and so does a student's check of one
    (`check.py hw.zip`), which listed the zip's one folder as a folder inside the upload and
    noted "found exercise1.py in <that folder>/" of each file, where the grader said nothing."""
    tree = rebased(root) if root is not top else root
    tree.children = [e for e in tree.children if not hidden(e.name)]
    skip_environments(tree, budget)  # kept in the listing as a class's upload might be one
    return tree


def _zip_dirs(dirs, parts, under: Entry, label: str, budget: Budget) -> Entry | None:
    """The folder entry for `parts`, made (and counted) if the zip did not list it."""
    for i in range(1, len(parts) + 1):
        key = parts[:i]
        if key in dirs:
            continue
        parent = dirs[key[:-1]]
        existing = parent.child(key[-1])
        if existing is not None and existing.kind == "dir":
            dirs[key] = existing
            continue
        path = "/".join(filter(None, (under.path, *key)))
        if not budget.take_entry(path):
            return None
        entry = Entry(key[-1], path, "dir", under.depth + i)
        parent.children.append(entry)
        dirs[key] = entry
    return dirs[parts]


def read_capped(entry: Entry, limit: int, budget: Budget) -> bytes:
    """At most `limit` + 1 bytes of a file entry (one more tells "too large"), charged.

    An entry that shares its path with others of its zip (`Entry.copies`) is read only if every
    copy holds the same bytes, each copy read and charged the same way; otherwise it raises
    `AmbiguousEntry`, whatever reads it (an exercise file, a notebook, a zip inside)."""
    n = len(entry.copies) + 1
    differ = AmbiguousEntry(
        f"{entry.path} was not read: the upload holds {n} entries at that path and they differ "
        "(an unzip tool keeps one of them only, so which one is meant cannot be told); upload a "
        f"zip with one copy of {entry.name}"
    )
    # A folder at the path, or a size the zip declares otherwise, differs without a byte read.
    if any(c.kind != "file" or c.size != entry.size for c in entry.copies):
        raise differ
    data = _read_one(entry, entry.path, limit, budget)
    if not entry.copies:
        return data
    for copy in entry.copies:
        if _read_one(copy, entry.path, limit, budget) != data:
            raise differ
    note = f"the upload holds {entry.path} {n} times, all identical: read once"
    if note not in budget.notes:
        budget.notes.append(note)
    return data


def _read_one(entry: Entry, path: str, limit: int, budget: Budget) -> bytes:
    """At most `limit` + 1 bytes of one entry, charged; errors name `path`."""
    if entry.reader is None:
        raise UploadError(f"{path} is not a regular file")
    try:
        data = entry.reader(limit + 1)
    except Encrypted:
        raise Encrypted(
            f"{path} is encrypted (its zip was made with a password), so it could not be read: "
            "upload a zip made without a password"
        ) from None
    except UnreadableMethod as e:
        raise UploadError(
            f"{path} is compressed with {e}, which the grader cannot read: make the zip again "
            "with ordinary (Deflate) compression, most zip tools' default, or upload the file "
            "itself"
        ) from None
    except UploadError:
        raise
    except Exception as e:  # noqa: BLE001 - see below
        # A hostile archive's stream fails in the decompressor's own words: zlib.error,
        # lzma.LZMAError (not an OSError), BadZipFile, NotImplementedError for an unknown
        # method, struct.error... Each is this entry's problem, never the batch's.
        raise UploadError(f"could not read {path}: {e}") from None
    budget.take_bytes(len(data), path)
    return data


def open_inner_zip(entry: Entry, stack: contextlib.ExitStack, budget: Budget) -> None:
    """List a zip found inside the upload as the children of its entry; one that cannot be is
    marked so (`Entry.unreadable`, why) as the error is raised.

    Its bytes go to an anonymous temporary file (never a named one), charged to the budget.
    """
    entry.opened = True
    try:
        _open_inner_zip(entry, stack, budget)
    except UploadError as e:
        entry.unreadable = str(e)
        raise


def _open_inner_zip(entry: Entry, stack: contextlib.ExitStack, budget: Budget) -> None:
    if entry.depth >= budget.limits.depth:
        raise UploadError(
            f"did not open {entry.path}: nested more than {budget.limits.depth} levels deep"
        )
    left = budget.limits.bytes - budget.bytes
    if entry.size > left:
        raise UploadError(
            f"did not open {entry.path}: it would take the upload past "
            f"{size_text(budget.limits.bytes)} unpacked"
        )
    spool = _spool(read_capped(entry, left, budget), stack)  # at most `left` + 1 bytes
    try:
        scan_zip(spool, entry.path, entry, budget)
    except UploadError as e:
        if str(e).startswith(NOT_A_ZIP):  # about its bytes, in words that name no zip
            raise UploadError(f"{entry.path} is {e}") from None
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile and whatever else a forged listing raises
        raise UploadError(f"{entry.path} is not a readable zip: {e}") from None


SPOOL_BYTES = 8 * MiB  # an inner zip up to this size is read from memory


def _spool(data: bytes, stack: contextlib.ExitStack) -> BinaryIO:
    """An inner zip's bytes, in memory up to SPOOL_BYTES, else in an anonymous temporary file.
    Not tempfile.SpooledTemporaryFile: before Python 3.11 it has no seekable(), which zipfile
    calls, and every zip inside an upload was unreadable on Python 3.10 (Ubuntu 22.04's).
    Either is closed with `stack`, its memory or its file let go then: the tree of an export's
    zip kept every inner zip held in memory to the end of the class (`submissions.one_upload`)."""
    if len(data) <= SPOOL_BYTES:
        return stack.enter_context(io.BytesIO(data))
    spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
    spool.write(data)
    return spool


def open_zip_file(root: Path, parts: tuple[str, ...], stack: contextlib.ExitStack) -> BinaryIO:
    """root/parts, a real zip file, opened without following a link or blocking on a FIFO."""
    try:
        fd = open_beneath(root, parts, directory=False)
    except OSError as e:
        raise UploadError(f"could not open {'/'.join(parts)}: {_problem(e)}") from None
    return stack.enter_context(os.fdopen(fd, "rb"))
