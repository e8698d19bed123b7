"""Python's own files, reachable by a student uid that may not walk the path leading to them.

A student process graded as root runs as a fresh uid. When Python or the virtual environment
sits under a folder other users cannot enter (a pyenv Python in a /root of mode 0700, a checkout
in a `mktemp -d` folder) and bubblewrap is not there to bind them elsewhere, that uid cannot
import a module the zygote had not loaded yet (`import statistics` inside a function).

Opening up the user's folders (chmod, ACLs) would expose everything else in them. Instead the
zygote, as root, opens each such installation (and nothing above it) as an O_PATH descriptor
and points the import system and its module file names at `/proc/self/fd/N/...`, which the
kernel resolves from that descriptor, skipping the closed folders above it. Student processes
inherit the descriptor and the rerouted module table, and after dropping root reach the
installation the same way. Landlock rules are added through the same descriptors, so
Landlock's view is unchanged.

A descriptor on a folder is also a way out of it: `/proc/self/fd/N/..` climbs, and every folder
up to the closed one is open to walk. Where Landlock is not there to confine reads, a red team
read the hidden cases of a checkout under a closed folder through the descriptor of the
runtime (or of a `.venv` inside the checkout), files the closed folder alone kept from the
student uid. So without Landlock no descriptor is opened whose way out reaches what must be
kept out (`keep_out`: the grader's package and checkout, and the paths the grading reads and
writes: the batch's submissions and results, Gradescope's upload and results.json, the folder
`grader check` reads: a red team's student read another's upload beside the `.venv`). A lazy
import from an installation withheld that way fails: the zygote reports the installation
(`withheld`), the result's isolation notes name it and the fix, and the student's message does
not blame the student for it.

What must be kept out reaches this process as identities (device, inode: `Kept`), never as
paths: every student process is a fork of the zygote and can read its memory (frames,
numpy's array interface), and a student's file found the absolute paths of the class's
uploads and OUT there, which it wrote into its own report.

Standard library only: this file runs inside the sandbox beside student code.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

PROC_FD = "/proc/self/fd"


def walled_off(path: str) -> bool:
    """Whether a uid that owns nothing is stopped on the way to `path` (a folder above it lacks
    the "others may enter" bit). Only the folders above count: the installation's own modes are
    what they would be anywhere."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            if not os.stat(parent).st_mode & 0o001:
                return True
        except OSError:
            return False  # an absent path needs no way in
        if parent == os.path.dirname(parent):
            return False
        parent = os.path.dirname(parent)


def opened_up(path: str) -> str:
    """The folder whose tree a descriptor on `path` opens to a uid that owns nothing: `..`
    climbs from it as long as the folder above may be entered (and then walked down)."""
    here = os.path.realpath(path)
    while True:
        parent = os.path.dirname(here)
        try:
            if parent == here or not os.stat(parent).st_mode & 0o001:
                return here
        except OSError:
            return here
        here = parent


def overlap(a: str, b: str) -> bool:
    """Whether one of two paths holds the other (or they are the same), once resolved."""
    a, b = os.path.realpath(a), os.path.realpath(b)
    return (
        a == b or a.startswith(b.rstrip(os.sep) + os.sep) or b.startswith(a.rstrip(os.sep) + os.sep)
    )


Identity = tuple[int, int]  # a folder's (st_dev, st_ino)


class Kept(NamedTuple):
    """A folder to keep out, told by what it is, not by its name: its identity (None if it did
    not exist when the grader looked) and those of the folders above it."""

    itself: Identity | None
    above: frozenset[Identity]


def identity(path: str) -> Identity | None:
    """`path`'s (device, inode), links followed; None if it cannot be reached."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def kept(told: object) -> list[Kept]:
    """The grader's `keep_out` of the configuration ([{"is": [dev, ino] | None, "in":
    [[dev, ino], ...]}, ...]: isolation.kept_identities) as `Kept`, in its order; what is
    malformed is read as nothing, keeping each entry's place."""
    return [_kept_one(entry) for entry in told] if isinstance(told, list) else []


def _kept_one(entry: object) -> Kept:
    if not isinstance(entry, dict):
        return Kept(None, frozenset())
    above = entry.get("in")
    pairs = [_pair(p) for p in above] if isinstance(above, list) else []
    return Kept(_pair(entry.get("is")), frozenset(p for p in pairs if p is not None))


def _pair(value: object) -> Identity | None:
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return value[0], value[1]
    return None


def _up_from(path: str) -> set[Identity]:
    """The identities of `path` and of every folder above it, once resolved."""
    here, found = os.path.realpath(path), set()
    while True:
        ident = identity(here)
        if ident is not None:
            found.add(ident)
        if here == os.path.dirname(here):
            return found
        here = os.path.dirname(here)


def reaches(region: str, keep: Kept) -> bool:
    """Whether the tree of `region` and a kept-out folder meet: one holds the other, or they
    are the same (`overlap`, by identity)."""
    ident = identity(region)
    holds_it = ident is not None and ident in keep.above
    return holds_it or (keep.itself is not None and keep.itself in _up_from(region))


def _needs_a_way_in(root: object) -> bool:
    return isinstance(root, str) and os.path.isdir(root) and walled_off(root)


def withheld(roots: list[str], keep_out: list[Kept] = ()) -> dict[str, int]:
    """The roots that get no descriptor, each with the place in `keep_out` of the folder its
    way out (`opened_up`) would reach (the grader knows its name)."""
    found: dict[str, int] = {}
    for root in filter(_needs_a_way_in, roots):
        region = opened_up(root)
        reached = [i for i, keep in enumerate(keep_out) if reaches(region, keep)]
        if reached:
            found[root] = reached[0]
    return found


def open_walled_off(roots: list[str], keep_out: list[Kept] = ()) -> dict[str, int]:
    """As root, before dropping privileges: a descriptor for each root a student uid could not
    reach by its name, keyed by that name and by its resolved name; none for a root `withheld`
    names."""
    fds: dict[str, int] = {}
    kept = withheld(roots, keep_out)
    for root in filter(_needs_a_way_in, roots):
        if root in kept:
            continue
        fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        for name in (os.path.abspath(root), os.path.realpath(root)):
            fds.setdefault(name, fd)
    return fds


def alias(path: str, fds: dict[str, int]) -> str:
    """`path` as this process can reach it: through the descriptor of the root it lies in."""
    if not fds or not isinstance(path, str):
        return path
    for root in sorted(fds, key=len, reverse=True):
        if path == root or path.startswith(root + os.sep):
            return f"{PROC_FD}/{fds[root]}{path[len(root) :]}"
    return path


def reroute(fds: dict[str, int]) -> None:
    """Point the import system, and the file names of the modules already loaded, at the
    reachable aliases, so that later imports and tracebacks find their files."""
    if not fds:
        return
    sys.path[:] = [alias(p, fds) for p in sys.path]
    sys.path_importer_cache.clear()
    for name in ("prefix", "base_prefix", "exec_prefix", "base_exec_prefix"):
        setattr(sys, name, alias(getattr(sys, name), fds))
    for module in list(sys.modules.values()):
        try:
            _reroute_module(vars(module), fds)
        except Exception:  # noqa: BLE001, S112 - an odd module object keeps its old names
            continue


def _reroute_module(namespace: dict, fds: dict[str, int]) -> None:
    if isinstance(namespace.get("__file__"), str):
        namespace["__file__"] = alias(namespace["__file__"], fds)
    search = namespace.get("__path__")
    if isinstance(search, list):
        search[:] = [alias(p, fds) for p in search]
    elif isinstance(getattr(search, "_path", None), list):  # a namespace package
        search._path[:] = [alias(p, fds) for p in search._path]
    spec = namespace.get("__spec__")
    if isinstance(getattr(spec, "origin", None), str):
        spec.origin = alias(spec.origin, fds)
    loader = namespace.get("__loader__")
    if isinstance(getattr(loader, "path", None), str):  # read by tracebacks for source lines
        loader.path = alias(loader.path, fds)
