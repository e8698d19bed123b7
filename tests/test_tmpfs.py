"""The zygote's capped /tmp (inside/tmpfs.py) keeps what bubblewrap bound below /tmp.

A checkout made by `mktemp -d` puts Python and its packages under /tmp: bubblewrap binds them
inside its own /tmp, and the capped tmpfs mounted over /tmp hid them, so the cap could not be
applied there (and batches lost their nested zygotes). They are bound back, as they were:
read-only, with the tmpfs that hides the grader's files inside them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from grader.sandbox import isolation

pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or not isolation.detect().bubblewrap,
    reason="the capped /tmp is mounted only as root inside bubblewrap",
)

CHECKOUT = "/tmp/ninja-checkout/.venv"  # where a `mktemp -d` checkout's environment lies


def test_what_bubblewrap_bound_below_tmp_is_still_there_after_the_capped_tmp(tmp_path):
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "module.py").write_text("ANSWER = 42\n")
    (venv / "grader").mkdir()
    (venv / "grader" / "hidden.py").write_text("SECRET = 1\n")
    for path in (tmp_path, venv, venv / "lib", venv / "grader"):
        path.chmod(0o755)
    program = textwrap.dedent(
        f"""
        import errno, json, os
        seen = {{"files": os.statvfs("/tmp").f_files}}
        with open("{CHECKOUT}/lib/module.py") as f:
            seen["module"] = f.read()
        seen["grader"] = os.listdir("{CHECKOUT}/grader")
        try:
            open("{CHECKOUT}/lib/new.py", "x").close()
            seen["write"] = "written"
        except OSError as e:
            seen["write"] = errno.errorcode[e.errno]
        print(json.dumps(seen))
        """
    )
    exe = shutil.which("bwrap")
    command = [
        *isolation._bwrap_args(exe, admin=True),
        *("--ro-bind", str(venv), CHECKOUT, "--tmpfs", f"{CHECKOUT}/grader"),
        "--",
        *isolation._tmpfs_launcher(),
        sys.executable,
        "-I",
        "-c",
        program,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["files"] == isolation.TMPFS_INODES  # the capped tmpfs is /tmp
    assert seen["module"] == "ANSWER = 42\n"  # bound back
    assert seen["grader"] == []  # still hidden: the tmpfs inside came back with it
    assert seen["write"] == "EROFS"  # still read-only


def test_a_path_that_is_not_utf8_keeps_the_capped_tmp(tmp_path):
    """mountinfo was read as UTF-8 text (by tmpfs.py and by the probe behind the launcher): a
    checkout or environment whose path is not UTF-8 (Latin-1 `zoë`) stopped the launcher, and
    the grader fell back to an uncapped /tmp, saying bubblewrap could not keep CAP_SYS_ADMIN."""
    venv = tmp_path / os.fsdecode(b"zo\xeb") / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "module.py").write_text("ANSWER = 42\n")
    for path in (tmp_path, venv.parent, venv, venv / "lib"):
        path.chmod(0o755)
    checkout = os.fsdecode(b"/tmp/zo\xeb/.venv")
    exe = shutil.which("bwrap")
    bwrap = [*isolation._bwrap_args(exe, admin=True), "--ro-bind", str(venv), checkout, "--"]
    probe = subprocess.run(
        [*bwrap, *isolation._tmpfs_launcher(), *isolation._NO_ADMIN_LEFT],
        capture_output=True,
        text=True,
        timeout=60,
        env=isolation.CLEAN_ENV,
    )
    assert probe.returncode == 0, probe.stderr
    read = "import os, sys; print(os.statvfs('/tmp').f_files, open(sys.argv[1]).read())"
    run = subprocess.run(
        [
            *bwrap,
            *isolation._tmpfs_launcher(),
            sys.executable,
            "-I",
            "-c",
            read,
            f"{checkout}/lib/module.py",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=isolation.CLEAN_ENV,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(isolation.TMPFS_INODES), "ANSWER", "=", "42"]
