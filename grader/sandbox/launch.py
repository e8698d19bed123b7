"""Starting the zygote's process, torch-free, so that a command can start it before importing torch.

A cold `grader grade` or `grader check` used to import torch (~1.7 s), then start the zygote,
which imports torch again in its own process: two imports one after the other. `prestart()`
launches the zygote first, so that both imports run at once on two cores; the first `Zygote`
of the same process then adopts it (`take()`) instead of launching its own. Nothing else
changes: the zygote, its configuration and its layers are the ones `Zygote` would have started.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from .inside import confine
from .isolation import CLEAN_ENV, Isolation, detect, zygote_command, zygote_config


def protect_trusted_process() -> str:
    """Make the grader's process non-dumpable: no process of the same user (student code on a
    laptop without a separate uid) can read its memory, environment or file descriptors through
    /proc or ptrace. Inherited by processes it forks; idempotent."""
    try:
        confine.not_dumpable()
    except (OSError, AttributeError) as e:
        return f"could not be made non-dumpable: {e}"
    return "non-dumpable: its memory, environment and files are closed to other processes"


class _Launcher:
    """Starts the zygote from one thread that lives as long as the process.

    bubblewrap's --die-with-parent and the zygote's own parent-death signal fire when the
    *thread* that started them ends; a grader that starts its sandbox from a short-lived thread
    would otherwise see the sandbox die at once.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._guard = threading.Lock()

    def run(self, fn: Callable[[], Any]) -> Any:
        with self._guard:
            if self._pid != os.getpid():  # first use, or a forked copy of this process
                self._pid, self._jobs = os.getpid(), queue.Queue()
                threading.Thread(target=self._serve, args=(self._jobs,), daemon=True).start()
        box: queue.Queue = queue.Queue(maxsize=1)
        self._jobs.put((fn, box))
        ok, value = box.get()
        if not ok:
            raise value
        return value

    @staticmethod
    def _serve(jobs: queue.Queue) -> None:
        while True:
            fn, box = jobs.get()
            try:
                box.put((True, fn()))
            except BaseException as e:  # noqa: BLE001 - handed back to the caller's thread
                box.put((False, e))


_launch = _Launcher().run

Launched = tuple[Isolation, subprocess.Popen, socket.socket, str]


def start_zygote(iso: Isolation, layers: dict[str, bool]) -> Launched:
    """Launch the zygote's process; returns the isolation it runs under, the process, the
    control socket and what `protect_trusted_process` said. Waiting for it is the caller's."""
    trusted = protect_trusted_process()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    config = dict(zygote_config(iso), env=sorted(CLEAN_ENV), **layers)
    env = dict(
        CLEAN_ENV, NINJA_ZYGOTE_FD=str(theirs.fileno()), NINJA_ZYGOTE_CONFIG=json.dumps(config)
    )
    popen = dict(
        pass_fds=[theirs.fileno()],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    try:
        proc = _launch(lambda: subprocess.Popen(zygote_command(iso), **popen))
    finally:
        theirs.close()
    return iso, proc, ours, trusted


_early: tuple[int, Launched] | None = None


def prestart() -> None:
    """Launch a default zygote (every layer, detected isolation) for this process to adopt."""
    global _early
    if _early is None:
        _early = (os.getpid(), start_zygote(copy.deepcopy(detect()), {}))


def take() -> Launched | None:
    """The zygote `prestart` launched in this very process (never a forked copy), once."""
    global _early
    early, _early = _early, None
    if early is None or early[0] != os.getpid():
        return None
    return early[1]
