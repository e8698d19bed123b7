"""Removing what a student process left on disk, however it is shaped, without ever failing.

`shutil.rmtree` recurses once per level and builds full paths: a student folder 3,000 levels
deep raises RecursionError (which once ended the zygote, and with it the cleanup of every other
student process) or names longer than PATH_MAX. Here a tree is emptied from its top only, with
two descriptors at a time: files are unlinked, and each sub-folder's entries are moved up into
the top folder before the sub-folder is removed, so depth never grows past two. Links are never
followed. Whatever cannot be removed (a folder the zygote may not enter) is left, not raised.

Standard library only: this file runs inside the sandbox.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove(path: str) -> None:
    """Remove the file, link or folder at `path` with everything inside it; never raises."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
        top = _open_top(path)
    except OSError:
        return
    try:
        _empty(top)
    except OSError:
        pass
    finally:
        os.close(top)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _open_top(path: str) -> int:
    """`path`'s folder, opened up first where its owner may not read it (a student's own folder
    is entered, never listed: zygote.py; not as root, its owner is the zygote's uid)."""
    try:
        return os.open(path, _DIR_FLAGS)
    except PermissionError:
        parent = os.open(os.path.dirname(path) or ".", _DIR_FLAGS)
        try:
            return _open_folder(parent, os.path.basename(path))
        finally:
            os.close(parent)


def _empty(top: int) -> None:
    """Empty the folder open as `top`, round by round, until a round removes nothing more."""
    names = (f".rm-{n}" for n in itertools.count())
    while True:
        entries = os.listdir(top)
        if not entries:
            return
        progress = False
        for name in entries:
            progress |= _take_one(top, name, names)
        if not progress:
            return


def _take_one(top: int, name: str, names) -> bool:
    """Unlink one entry of `top`, or lift a folder's entries into `top` and remove the folder."""
    try:
        if not stat.S_ISDIR(os.lstat(name, dir_fd=top).st_mode):
            os.unlink(name, dir_fd=top)
            return True
        with contextlib.suppress(OSError):
            os.rmdir(name, dir_fd=top)
            return True
        sub = _open_folder(top, name)
    except OSError:
        return False
    try:
        for child in os.listdir(sub):
            _lift(sub, child, top, names)
    except OSError:
        return False
    finally:
        os.close(sub)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=top)
    return True


def _open_folder(top: int, name: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=top)
    except PermissionError:  # a folder its owner closed (mode 000): open it up to remove it
        _open_up(top, name)
        return os.open(name, _DIR_FLAGS, dir_fd=top)


def _open_up(top: int, name: str) -> None:
    """chmod 0700 the folder `name` of `top`, never what a link there points at: a process of
    the folder's uid still running (a non-root zygote's own) could swap the folder for a link
    between the lstat that found a folder and this chmod, which would otherwise open up a
    folder of its choosing. Where the C library cannot chmod without following (it needs
    /proc/self/fd), the folder is left, as the module's other refusals are."""
    try:
        os.chmod(name, 0o700, dir_fd=top, follow_symlinks=False)
    except (ValueError, NotImplementedError) as e:  # a link, or no way to refuse following
        raise PermissionError(f"{name}: not opened up ({e})") from e


def _lift(sub: int, child: str, top: int, names) -> None:
    """Move `child` of `sub` into `top` under a fresh name (a taken name is skipped)."""
    for _ in range(100):
        target = next(names)
        try:
            os.stat(target, dir_fd=top, follow_symlinks=False)
            continue
        except FileNotFoundError:
            pass
        os.rename(child, target, src_dir_fd=sub, dst_dir_fd=top)
        return
