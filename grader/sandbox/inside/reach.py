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

Standard library only: this file runs inside the sandbox beside student code.
"""

from __future__ import annotations

import os
import sys

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


def _needs_a_way_in(root: object) -> bool:
    return isinstance(root, str) and os.path.isdir(root) and walled_off(root)


def withheld(roots: list[str], keep_out: list[str] = ()) -> dict[str, str]:
    """The roots that get no descriptor, each with the path of `keep_out` that its way out
    (`opened_up`) would reach."""
    found: dict[str, str] = {}
    for root in filter(_needs_a_way_in, roots):
        region = opened_up(root)
        reached = [k for k in keep_out if isinstance(k, str) and overlap(region, k)]
        if reached:
            found[root] = reached[0]
    return found


def open_walled_off(roots: list[str], keep_out: list[str] = ()) -> dict[str, int]:
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
