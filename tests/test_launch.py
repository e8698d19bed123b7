"""The zygote launched before torch is imported is the one the first default Zygote adopts."""

from __future__ import annotations

import os

from grader.sandbox import launch
from grader.sandbox.client import Limits, Zygote


def test_the_first_default_zygote_adopts_the_prestarted_one():
    launch.prestart()
    early_pid = launch._early[1][1].pid
    zygote = Zygote(Limits())
    try:
        assert zygote.proc.pid == early_pid
        assert launch.take() is None  # adopted once, never twice
        student = zygote.spawn()  # and it works like any other
        student.close()
    finally:
        zygote.close()


def test_a_zygote_with_layers_off_never_adopts_it():
    launch.prestart()
    early_pid = launch._early[1][1].pid
    zygote = Zygote(Limits(), seccomp=False)
    try:
        assert zygote.proc.pid != early_pid
    finally:
        zygote.close()
        launched = launch.take()
        assert launched is not None and launched[1].pid == early_pid
        launched[2].close()
        launched[1].kill()
        launched[1].wait()


def test_a_forked_copy_of_the_process_never_takes_it():
    launch.prestart()
    child = os.fork()
    if child == 0:
        os._exit(0 if launch.take() is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    launched = launch.take()
    assert launched is not None
    launched[2].close()
    launched[1].kill()
    launched[1].wait()
