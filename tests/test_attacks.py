"""The attack corpus, graded for real: every attack fails and costs only the item it sits in.

Each attack of tests/attacks/corpus.py is hidden in otherwise correct solutions and graded by a
warm grader with short time limits. The test asserts that the attacked items end with the
expected status, that every other item still passes, and that nothing is left behind: no
student process, no folder, no file outside the sandbox, no connection, no leaked secret, and
the same zygote still serving. An attack that depends on a layer this platform lacks is not run;
instead the test asserts that the result reports the layer missing.

Below the corpus: controls (the leak-hunting attacks do find what they look for when run without
the sandbox, so their passing means something), and tests of the sandbox's own machinery.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from attacks.corpus import ATTACKS, SUCCEEDED, Attack
from attacks.runtime import RUNTIME_ATTACKS
from conftest import ROOT, solution

from grader.sandbox import client, isolation, launch
from grader.sandbox.client import Limits, Zygote
from grader.sandbox.inside import confine, protocol

SECRET_NAME = "NINJA_COURSE_API_TOKEN"
# Short limits keep the slow attacks quick: 2 s per call, 5 s per import, 256 MiB of headroom.
FAST = Limits(call_seconds=2, import_seconds=5, memory_bytes=256 << 20)
BY_NAME = {a.name: a for a in ATTACKS}
# Graded by the same tests: the run-time autograd ban's own corpus (tests/attacks/runtime.py).
EVERY_ATTACK = ATTACKS + RUNTIME_ATTACKS


class Lab:
    """What the attacks aim at, outside the sandbox: listeners, a canary folder, a secret."""

    def __init__(self) -> None:
        self.token = f"{random.randrange(10**9):09d}"
        self.secret = f"s3cret-{self.token}"
        self.dir = Path(tempfile.mkdtemp(prefix="ninja-attack-lab-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.canary = self.dir / "canary"  # world-writable: only the sandbox keeps students out
        self.canary.mkdir(mode=0o777)
        self.canary.chmod(0o777)
        # Someone else's files in a world-writable folder: only the sandbox keeps them as they are.
        self.victim = self.dir / "victim"
        (self.victim / "sub").mkdir(parents=True)
        for folder in (self.victim, self.victim / "sub"):
            folder.chmod(0o777)
        (self.victim / "notes.txt").write_text("the TA's notes")
        (self.victim / "notes.txt").chmod(0o666)
        self.victim_before = _tree(self.victim)
        self.marker = self.dir / "unpickled"
        self.sentinel = self.dir / "sentinel"  # seen only by code that sees the real folder
        self.sentinel.write_text("the machine's own /tmp")
        self.sentinel.chmod(0o644)
        self.tcp = _listener(socket.AF_INET, ("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.unix_path = str(self.dir / "listen.sock")
        self.unix = _listener(socket.AF_UNIX, self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.abstract_name = f"ninja-attack-{self.token}"
        self.abstract = _listener(socket.AF_UNIX, "\0" + self.abstract_name)
        names = ("result.json", "results.json", "grades.csv", "summary.json")
        self.tmp_before = {n: _stat(Path("/tmp") / n) for n in names}
        self.escapes = [
            Path(p) / f"escape-{self.token}"
            for p in (self.canary, "/tmp", "/dev/shm", ROOT, isolation.INSIDE, Path.home())
        ]

    def constants(self) -> dict:
        """The `_T` dict every attacked file gets: what a well-informed attacker knows."""
        return {
            "root": str(ROOT),
            "inside": str(isolation.INSIDE),
            "grader_pkg": str(isolation.GRADER_PACKAGE),
            "site": sysconfig.get_paths()["purelib"],
            "canary": str(self.canary),
            "victim": str(self.victim),
            "port": self.tcp.getsockname()[1],
            "udp_port": self.udp.getsockname()[1],
            "unix_path": self.unix_path,
            "abstract": self.abstract_name,
            "token": self.token,
            "daemon_arg": f"{4000 + random.randrange(1000)}.{self.token}",
            "secret_name": SECRET_NAME,
            "secret_value": self.secret,
            "marker": str(self.marker),
            "sentinel": str(self.sentinel),
        }

    def created(self) -> list[Path]:
        """Whatever an attack made beside the escape paths, under names that start like them
        (a FIFO, a node, a folder moved there), seen from outside the sandbox."""
        return sorted(p for e in self.escapes for p in e.parent.glob(f"{e.name}*"))

    def close(self) -> None:
        for s in (self.tcp, self.udp, self.unix, self.abstract):
            s.close()
        for path in self.created():
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        shutil.rmtree(self.dir, ignore_errors=True)


def _listener(family: int, address) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind(address)
    s.listen(8)
    s.setblocking(False)
    return s


@pytest.fixture(scope="module")
def lab():
    """The targets, and the secret in the grader's own environment before its sandbox starts."""
    lab = Lab()
    old = os.environ.get(SECRET_NAME)
    os.environ[SECRET_NAME] = lab.secret
    yield lab
    lab.close()
    if old is None:
        os.environ.pop(SECRET_NAME, None)
    else:
        os.environ[SECRET_NAME] = old


@pytest.fixture(scope="module")
def attack_grader(lab):
    """A grader with short limits, public cases only, started after the secret was set."""
    from grader.pipeline import Grader

    # The static scan would stop many attacks before they run (as forbidden): off here, so
    # that what is tested is the sandbox itself. test_the_static_scan_stops_... covers the scan.
    g = Grader(limits=FAST, public_only=True, static_scan=False)
    yield g
    g.close()


@pytest.fixture(scope="module")
def nested_grader(lab):
    """A grader whose zygote is one of a batch's nested zygotes (sandbox/inside/nest.py), its
    neighbour idle beside it, as another grader process's would be: the corpus must hold there
    too, and leave the neighbour as it found it."""
    from grader.pipeline import Grader

    if not isolation.can_nest(isolation.detect()):
        pytest.skip("nested zygotes need root and bubblewrap (CI runs as root with bubblewrap)")
    launch.prestart(2)
    g = Grader(limits=FAST, public_only=True, static_scan=False, zygote=Zygote(FAST))
    neighbour = Zygote(FAST)
    assert g.zygote._launched.nested and neighbour._launched.nested
    yield g
    assert neighbour.alive() and neighbour.generation == 1
    assert neighbour.status() == {"children": [], "folders": []}
    g.close()
    neighbour.close()


# Each layer alone must keep the promises the report says it keeps: the attacks that depend on
# a layer are graded again with one layer at a time.
ONE_LAYER_AT_A_TIME = {
    "without_bubblewrap": dict(allow_bubblewrap=False),
    "bubblewrap_alone": dict(landlock=False, seccomp=False),
    # A kernel before 5.13 (or with Landlock switched off), without bubblewrap: seccomp carries
    # what it can (the network, signals, creating files) and the rest is reported missing.
    "seccomp_without_landlock": dict(allow_bubblewrap=False, landlock=False),
    "nothing_but_rlimits_and_uids": dict(allow_bubblewrap=False, landlock=False, seccomp=False),
}


@pytest.fixture(scope="module", params=ONE_LAYER_AT_A_TIME, ids=list(ONE_LAYER_AT_A_TIME))
def weaker_grader(request, lab):
    """A grader whose sandbox lacks some layers (as on a laptop without bubblewrap)."""
    from grader.pipeline import Grader

    options = dict(ONE_LAYER_AT_A_TIME[request.param])
    iso = isolation.detect(allow_bubblewrap=options.pop("allow_bubblewrap", True))
    g = Grader(
        limits=FAST, public_only=True, zygote=Zygote(FAST, iso, **options), static_scan=False
    )
    yield g
    g.close()


def runtime_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(isolation.INSIDE.glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


RUNTIME_DIGEST = runtime_digest()


# --- building and grading an attack ---------------------------------------------------------


def build(attack: Attack, constants: dict) -> dict[str, bytes]:
    """The solutions with the attack's pieces put in place."""
    files = {n: solution(n) for n in ("exercise1", "exercise2", "exercise3")}
    whole: dict[str, bytes] = {}
    for target, code in attack.pieces:
        if target.endswith(":file"):
            name = target.removesuffix(":file")
            whole[name] = code if isinstance(code, bytes) else code.encode()
            continue
        name, _, func = target.partition(".")
        src = files[name]
        if "\n_T = " not in src:
            src = _at_module_level(src, f"_T = {constants!r}\n")
        if func:
            src = _in_function(src, func, code, attack.signature)
        else:
            src = _at_module_level(src, code)
        files[name] = src
    return {n: whole.get(n, src.encode()) for n, src in files.items()}


def _at_module_level(src: str, code: str) -> str:
    """After the solution's imports (its last top-level import line)."""
    anchor = "\nimport torch.nn.functional as F"
    start = src.index(anchor) + 1
    end = src.index("\n", start) + 1
    return src[:end] + "\n" + code + "\n" + src[end:]


def _in_function(src: str, func: str, code: str, signature: str) -> str:
    """As the first lines of `func`'s body (after its docstring, before the solution's code)."""
    start = src.index(f"\ndef {func}(") + 1
    if signature:
        close = src.index("):", start)
        src = src[:start] + f"def {func}({signature}" + src[close:]
    marker = "    # BEGIN SOLUTION\n"
    at = src.index(marker, start) + len(marker)
    body = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", "    ")
    return src[:at] + body + src[at:]


def grade(grader, files: dict[str, bytes], name: str = "attacker") -> dict:
    from grader.submissions import Submission

    return grader.grade(Submission(name, files)).to_json()


def expected_statuses(attack: Attack, item_id: str) -> tuple[str, ...]:
    """The statuses `item_id` may end with: the attack's, or "passed" for every other item."""
    if item_id in attack.expect:
        return attack.expect[item_id]
    file = item_id.partition(".")[0]
    return attack.expect.get(file, ("passed",))


# --- extra evidence -------------------------------------------------------------------------


def check_no_daemon(result, lab, constants, grader) -> None:
    assert not _processes_with(constants["daemon_arg"]), "a daemon outlived grading"


def check_output_capped(result, lab, constants, grader) -> None:
    out = result.get("output", {}).get("exercise2", "")
    assert len(out) <= grader.limits.output_bytes + 200, f"{len(out)} characters of output kept"
    assert "more bytes of output were cut" in out


def check_no_marker(result, lab, constants, grader) -> None:
    assert not lab.marker.exists(), "a returned object was unpickled"


def check_canary_untouched(result, lab, constants, grader) -> None:
    assert list(lab.canary.iterdir()) == []


def check_victim_untouched(result, lab, constants, grader) -> None:
    assert _tree(lab.victim) == lab.victim_before, "another user's files were changed"


def _tree(folder: Path) -> dict:
    """Every name under `folder` with what a change would alter: content, mode, owner, times."""
    found = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else b""
        xattrs = sorted(os.listxattr(path)) if hasattr(os, "listxattr") else []
        found[str(path)] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, data, xattrs)
    return found


def check_host_tmp_untouched(result, lab, constants, grader) -> None:
    names = ("result.json", "results.json", "grades.csv", "summary.json")
    now = {n: _stat(Path("/tmp") / n) for n in names}
    assert now == lab.tmp_before, "a results file appeared or changed in the machine's /tmp"


def _stat(path: Path) -> tuple | None:
    with contextlib.suppress(OSError):
        st = path.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    return None


def check_secret_absent(result, lab, constants, grader) -> None:
    assert lab.secret not in json.dumps(result)


def check_nothing_arrived(result, lab, constants, grader) -> None:
    for listener in (lab.tcp, lab.unix, lab.abstract):
        with pytest.raises(BlockingIOError):
            listener.accept()[0].close()
    with pytest.raises(BlockingIOError):
        lab.udp.recvfrom(64)


def check_no_escape_files(result, lab, constants, grader) -> None:
    assert [p for p in lab.escapes if p.exists()] == []


def check_nothing_created(result, lab, constants, grader) -> None:
    assert lab.created() == [], "a student process made a name that outlived grading"


def check_runtime_unchanged(result, lab, constants, grader) -> None:
    assert runtime_digest() == RUNTIME_DIGEST


CHECKS = {
    "no_daemon": check_no_daemon,
    "output_capped": check_output_capped,
    "no_marker": check_no_marker,
    "canary_untouched": check_canary_untouched,
    "victim_untouched": check_victim_untouched,
    "host_tmp_untouched": check_host_tmp_untouched,
    "secret_absent": check_secret_absent,
    "nothing_arrived": check_nothing_arrived,
    "no_escape_files": check_no_escape_files,
    "nothing_created": check_nothing_created,
    "runtime_unchanged": check_runtime_unchanged,
}


def _processes_with(needle: str) -> list[int]:
    """Pids of every process on the machine whose command line contains `needle`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if needle.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


def _process_table() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) for every process on the machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                table[int(entry)] = (ppid, Path(f"/proc/{entry}/cmdline").read_bytes())
    return table


def student_processes(zygote: Zygote) -> list[int]:
    """Every process below this grader's zygote: student processes and anything they started.

    The zygote's own tree only (other graders may be running on the machine): bubblewrap, its
    init, the zygote (the first process running zygote.py), then whatever the zygote forked.
    """
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo, tree = [zygote.proc.pid], []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    python = [p for p in tree if _runs_zygote(table[p][1])]
    top = [p for p in python if table[p][0] not in python]
    assert len(top) == 1, f"cannot find the zygote in {tree}"
    zygotes = top
    if zygote._launched.nested:  # under the one that imported torch, one walling each off
        for _ in range(2):
            zygotes = [p for z in zygotes for p in children.get(z, [])]
        assert zygotes, f"cannot find the nested zygotes in {tree}"
    return [p for p in tree if p not in zygotes and any(_below(p, z, table) for z in zygotes)]


def _runs_zygote(cmdline: bytes) -> bool:
    """python ... zygote.py itself, not bubblewrap (whose arguments also name zygote.py)."""
    argv = cmdline.split(b"\0")
    return not argv[0].endswith(b"bwrap") and any(a.endswith(b"zygote.py") for a in argv)


def _below(pid: int, ancestor: int, table: dict) -> bool:
    while pid in table and pid > 1:
        pid = table[pid][0]
        if pid == ancestor:
            return True
    return False


def assert_left_clean(grader, zygote_pid: int) -> None:
    """Nothing of the submission survives its grading, and the zygote is the same one."""
    zygote = grader.zygote
    assert zygote.alive() and zygote.proc.pid == zygote_pid, "the zygote was killed or replaced"
    assert zygote.status() == {"children": [], "folders": []}
    assert student_processes(zygote) == []


def missing_layer_reported(iso: isolation.Isolation, layer: str) -> None:
    """Where a defence is absent, the result must say so in words a TA reads."""
    assert isolation.MISSING[layer] in iso.notes, (layer, iso.notes)
    assert isolation.MISSING[layer] in iso.to_json()["notes"]


# --- the corpus -----------------------------------------------------------------------------


def test_the_corpus_is_large_and_varied() -> None:
    assert len(ATTACKS) >= 30
    assert len(BY_NAME) == len(ATTACKS), "attack names must be unique"
    for required in (
        "loop_at_import", "loop_in_function", "sleep_ignoring_sigterm", "memory_bomb_at_once",
        "huge_returned_tensor", "os_exit", "sys_exit_in_function", "segfault", "recursion_bomb",
        "fork_bomb", "orphan_daemon", "output_flood_in_function", "patch_comparisons",
        "lying_tensor_subclass", "pickle_payload", "forged_result_files", "read_environment",
        "network", "write_outside", "import_grader", "binary_file", "empty_file",
        "non_utf8_file",
    ):  # fmt: skip
        assert required in BY_NAME, required


@pytest.mark.parametrize("attack", EVERY_ATTACK, ids=[a.name for a in EVERY_ATTACK])
def test_attack_fails_and_costs_only_its_item(attack: Attack, attack_grader, lab) -> None:
    run_attack(attack, attack_grader, lab)


LAYERED = [a for a in EVERY_ATTACK if a.layer]


@pytest.mark.parametrize("attack", EVERY_ATTACK, ids=[a.name for a in EVERY_ATTACK])
def test_attack_fails_in_a_nested_zygote_too(attack: Attack, nested_grader, lab) -> None:
    run_attack(attack, nested_grader, lab)


@pytest.mark.parametrize("attack", LAYERED, ids=[a.name for a in LAYERED])
def test_each_layer_alone_holds_or_is_reported_missing(attack, weaker_grader, lab) -> None:
    run_attack(attack, weaker_grader, lab)


def test_the_threat_model_counts_the_corpus_as_it_is() -> None:
    """docs/threat-model.md said 55 attacks in corpus.py when it held 57."""
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "threat-model.md").read_text()
    corpus = re.search(r"`tests/attacks/corpus.py` lists (\d+) hostile", doc)
    runtime = re.search(r"`tests/attacks/runtime.py` (\d+) more", doc)
    assert corpus and int(corpus.group(1)) == len(ATTACKS), corpus
    assert runtime and int(runtime.group(1)) == len(RUNTIME_ATTACKS), runtime


def run_attack(attack: Attack, grader, lab) -> None:
    """Grade the attack; assert its outcome, the other items, and that nothing is left over."""
    iso = grader.zygote.iso
    if attack.layer and not iso.protects(attack.layer):
        missing_layer_reported(iso, attack.layer)
        return
    constants = lab.constants()
    zygote_pid = grader.zygote.proc.pid
    result = grade(grader, build(attack, constants))
    wrong = {
        i["id"]: (i["status"], i["message"][:600])
        for i in result["items"]
        if i["status"] not in expected_statuses(attack, i["id"])
    }
    assert wrong == {}, f"{attack.name}: unexpected outcomes"
    for item in result["items"]:
        assert SUCCEEDED not in item["message"], item["message"]
    check_secret_absent(result, lab, constants, grader)
    for name in attack.checks:
        CHECKS[name](result, lab, constants, grader)
    assert_left_clean(grader, zygote_pid)


def test_a_clean_submission_still_scores_full_marks_beside_the_attacks(attack_grader) -> None:
    files = {n: solution(n).encode() for n in ("exercise1", "exercise2", "exercise3")}
    result = grade(attack_grader, files, "honest")
    assert result["score"] == result["max_score"]
    assert_left_clean(attack_grader, attack_grader.zygote.proc.pid)


# --- controls: without the sandbox, the leak hunters do find what they hunt -------------------

CONTROLS = ["read_environment", "network", "read_grader_files", "symlink_escape", "write_outside"]


@pytest.mark.parametrize("name", CONTROLS)
def test_attack_succeeds_without_the_sandbox(name: str, lab, tmp_path) -> None:
    """The same code run as a plain process finds the secret, the port, the files."""
    attack = BY_NAME[name]
    constants = lab.constants()
    # Never let a control write into the checkout or the canary the corpus checks.
    for folder, sentinel in (("canary", ""), ("root", "pyproject.toml"), ("inside", "worker.py")):
        (tmp_path / folder).mkdir()
        if sentinel:
            (tmp_path / folder / sentinel).touch()
    constants.update(canary=str(tmp_path / "canary"))
    if name == "write_outside":
        constants.update(root=str(tmp_path / "root"), inside=str(tmp_path / "inside"))
    (target, code), *_ = attack.pieces
    program = "\n".join(
        [
            "import os, torch",
            f"_T = {constants!r}",
            "def probe():",
            textwrap.indent(textwrap.dedent(code).strip("\n"), "    "),
            "os.chdir(os.environ['WORK'])",
            "probe()",
        ]
    )
    env = dict(os.environ, WORK=str(tmp_path), **{SECRET_NAME: lab.secret})
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert SUCCEEDED in run.stderr, run.stderr[-2000:]
    if name == "network":
        conn, _ = lab.tcp.accept()
        conn.close()
        for listener in (lab.unix, lab.abstract):
            listener.accept()[0].close()
        lab.udp.recvfrom(64)


def test_stealing_the_solution_works_without_the_sandbox() -> None:
    """`steal_solution` would pass if the checkout were readable: its failure is the sandbox."""
    import runpy

    ns = runpy.run_path(str(ROOT / "solutions" / "backprop-ninja" / "exercise2.py"))
    assert callable(ns["dhprebn"])


# --- the sandbox's own machinery ------------------------------------------------------------


def test_trusted_process_is_not_dumpable(attack_grader) -> None:
    assert attack_grader.zygote.iso.trusted_process.startswith("non-dumpable")
    assert confine._libc.prctl(confine.PR_GET_DUMPABLE, 0, 0, 0, 0) == 0


def test_isolation_report_matches_the_machine(attack_grader) -> None:
    """Each layer is reported in force exactly when this machine can provide it."""
    iso = attack_grader.zygote.iso
    report = json.loads(json.dumps(iso.to_json()))
    assert report["bubblewrap"] == isolation._bubblewrap_works()
    assert report["landlock"].startswith("in force") == (confine.landlock_abi() > 0)
    assert report["seccomp"].startswith("in force") == confine.seccomp_supported()
    assert report["user"].startswith("a fresh") == (os.getuid() == 0)
    assert report["trusted_process"].startswith("non-dumpable")
    assert SECRET_NAME not in report["environment"]
    assert report["autograd"].startswith("switched off before student code")
    assert iso.protects("autograd")
    if not report["bubblewrap"]:
        assert any("bubblewrap is not usable" in n for n in report["notes"])


def test_a_student_process_sees_only_its_own_empty_folder_and_a_clean_environment(
    attack_grader,
) -> None:
    process = attack_grader.zygote.spawn()
    try:
        source = textwrap.dedent(
            """
            import os
            import torch

            def where():
                try:
                    listed = len(os.listdir('.'))
                except PermissionError:  # entered, never listed: its access time stays
                    listed = -1
                return torch.tensor([os.getuid(), listed, len(os.environ)])

            def env():
                return {k: torch.zeros(1) for k in os.environ}
            """
        )
        assert process.load("probe", source).ok
        (values, _) = process.call("probe", "where", {}, []).value
        uid, entries, _ = values.tolist()
        assert entries == -1  # its code runs from memory, and nothing is read from its folder
        if os.getuid() == 0:
            assert confine.UID_BASE <= uid < confine.UID_BASE + confine.UID_SPAN
        names = set(process.call("probe", "env", {}, []).value)
        assert names <= set(isolation.CLEAN_ENV), names - set(isolation.CLEAN_ENV)
    finally:
        process.close()


def test_a_killed_zygote_is_restarted_for_the_next_submission(lab) -> None:
    """Whatever kills the zygote (the OOM killer, a stray signal), grading carries on."""
    from grader.pipeline import Grader

    g = Grader(limits=FAST, public_only=True)
    try:
        first = g.zygote.proc.pid
        os.kill(first, signal.SIGKILL)
        g.zygote.proc.wait()
        files = {n: solution(n).encode() for n in ("exercise1", "exercise2", "exercise3")}
        result = grade(g, files, "after-the-kill")
        assert result["score"] == result["max_score"]
        assert g.zygote.alive() and g.zygote.proc.pid != first
    finally:
        g.close()


def test_a_weaker_platform_is_reported_and_the_report_is_truthful(lab) -> None:
    """Without bubblewrap, Landlock and seccomp the result says so, and it is right to."""
    iso = isolation.detect(allow_bubblewrap=False)
    zygote = Zygote(FAST, iso, landlock=False, seccomp=False)
    try:
        report = zygote.iso
        assert report.bubblewrap is False
        assert report.landlock == "not in force: disabled by the grader"
        assert report.seccomp == "not in force: disabled by the grader"
        assert report.filesystem.startswith("SHARED")
        assert report.network.startswith("NOT isolated")
        assert not report.protects("files") and not report.protects("network")
        missing_layer_reported(report, "files")
        missing_layer_reported(report, "network")
        # As reported, the grader's files are now readable (world-readable files, any uid).
        process = zygote.spawn()
        try:
            path = ROOT / "grader" / "backprop_ninja" / "hidden.py"
            src = (
                f"import torch\ndef peek():\n    return torch.tensor(len(open('{path}').read()))\n"
            )
            assert process.load("probe", src).ok
            reply = process.call("probe", "peek", {}, [])
            assert reply.ok == (os.getuid() != 0 or _world_readable(path)), reply.message
        finally:
            process.close()
    finally:
        zygote.close()


def _world_readable(path: Path) -> bool:
    """Readable by a uid that is neither the owner nor in the group, all the way down."""
    dirs_ok = all(os.stat(p).st_mode & 0o001 for p in path.parents)
    return dirs_ok and bool(os.stat(path).st_mode & 0o004)


def test_the_sandbox_started_from_a_short_lived_thread_stays_up() -> None:
    """bubblewrap and the zygote die with the thread that started them: it must live on."""
    import threading

    box = {}
    t = threading.Thread(target=lambda: box.update(z=Zygote(FAST)))
    t.start()
    t.join()
    zygote = box["z"]
    pid = zygote.proc.pid
    try:
        process = zygote.spawn()
        assert process.load("m", "X = 1\n").ok
        process.close()
        assert zygote.alive() and zygote.proc.pid == pid, "the sandbox died with its thread"
    finally:
        zygote.close()


# --- forged answers are data, checked before use --------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        {"tensor": 5},
        {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [2, 2], "blob": 0}},
        {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [1 << 40], "blob": 0}},
        {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [-1], "blob": 0}},
        {"tensor": {"dtype": "bfloat16", "sent_as": "float64", "shape": [1], "blob": 0}},
        {"tensor": {"dtype": "float32", "sent_as": "complex64", "shape": [1], "blob": 0}},
        {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [1], "blob": 7}},
        {"list": [{"list": []}]},
        {
            "list": [
                {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [1], "blob": 0}}
            ]
            * 2
        },
        {
            "dict": [
                [
                    "a",
                    {"tensor": {"dtype": "float32", "sent_as": "float32", "shape": [1], "blob": 0}},
                ]
            ]
            * 2
        },
        {"pickle": "gASVAAAAAAAAAACMAm9zlC4="},
        {"a": 1, "b": 2},
    ],
)
def test_forged_values_are_refused(encoded) -> None:
    with pytest.raises(protocol.ProtocolError):
        client.decode_value(encoded, [b"\0" * 4])


def test_a_forged_dict_is_read_as_data() -> None:
    value = client.decode_value({"dict": [["a", {"scalar": 1}], "junk", [1, 2], ["b"]]}, [])
    assert set(value) == {"a"} and isinstance(value["a"], client.NotATensor)


def test_forged_signatures_are_reduced_to_names() -> None:
    raw = {
        "dW1": {
            "params": ["embcat", 5, "x y", "dhprebn"],
            "varkw": "yes",
            "positional_only": 3,
            "defaulted": ["embcat", 7, "no name"],
        },
        "not a name": {"params": []},
        "db1": "junk",
    }
    assert client._functions(raw) == {
        "dW1": {
            "params": ["embcat", "dhprebn"],
            "varkw": False,
            "varargs": False,
            "positional_only": [],
            "defaulted": ["embcat"],
        }
    }


# --- a grader installed among the packages student code needs stays hidden -----------------


def test_readable_without_leaves_out_exactly_the_protected_folder(tmp_path) -> None:
    prefix = tmp_path / "prefix"
    site = prefix / "lib" / "site-packages"
    (site / "grader" / "backprop_ninja").mkdir(parents=True)
    (site / "torch").mkdir()
    (site / "six.py").write_text("")
    (prefix / "bin").mkdir()
    got = isolation.readable_without(str(prefix), [site / "grader"])
    assert sorted(got) == sorted(str(p) for p in (prefix / "bin", site / "six.py", site / "torch"))
    assert isolation.readable_without(str(prefix), [tmp_path / "elsewhere"]) == [str(prefix)]
    assert isolation.readable_without(str(prefix), [prefix]) == []


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_grader_installed_into_site_packages_is_hidden(bubblewrap, monkeypatch) -> None:
    """As after a non-editable install (Gradescope): the package sits beside torch and numpy."""
    site = Path(sysconfig.get_paths()["purelib"])
    hidden = site / "_pytest"  # stands in for site-packages/grader
    monkeypatch.setattr(isolation, "protected_paths", lambda: [hidden])
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    zygote = Zygote(FAST, iso)
    try:
        if not zygote.iso.protects("files"):
            missing_layer_reported(zygote.iso, "files")
            return
        process = zygote.spawn()
        # numpy as the student process finds it (its own name for site-packages: the path may
        # go through a descriptor, see inside/reach.py), then the hidden package beside it, by
        # that name and by the real one.
        source = textwrap.dedent(
            f"""
            import os
            import numpy
            import torch

            def peek(which):
                site = os.path.dirname(os.path.dirname(numpy.__file__))
                paths = [os.path.join(site, "numpy", "__init__.py"),
                         os.path.join(site, {hidden.name!r}, "__init__.py"),
                         {str(hidden / "__init__.py")!r}]
                return torch.tensor(len(open(paths[which]).read()))
            """
        )
        assert process.load("probe", source).ok
        readable = process.call("probe", "peek", {"which": 0}, [])
        assert readable.ok, f"numpy must stay readable: {readable.message}"
        for which in (1, 2):
            reply = process.call("probe", "peek", {"which": which}, [])
            assert not reply.ok and ("Permission" in reply.message or "No such" in reply.message)
        process.close()
    finally:
        zygote.close()


# Where a course keeps its class when it made Python's environment in its folder (`python -m
# venv .`): beside Python in a folder of its own, or in that very folder (`grader grade .`).
CLASS_LAYOUTS = {"beside_python": "class", "in_python_s_folder": ""}


@pytest.mark.parametrize("layout", list(CLASS_LAYOUTS))
@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_classmate_s_upload_and_result_in_python_s_folder_stay_out_of_reach(
    bubblewrap, layout, monkeypatch
) -> None:
    """A virtual environment made in the course's folder holds the class's uploads and
    results: without bubblewrap, Landlock let a student's file read a classmate's upload and
    result.json there, and list the class's folder (who is in it, how many); where the class
    was graded in the environment's own folder, with bubblewrap too."""
    course = Path(tempfile.mkdtemp(prefix="ninja-course-", dir="/tmp"))
    uploads = course / CLASS_LAYOUTS[layout]
    try:
        classmate, result = uploads / "alice", course / "reports" / "alice"
        for folder in (classmate, result, course / "lib"):
            folder.mkdir(parents=True)
        (classmate / "exercise1.py").write_text("# Alice's own work\n")
        (result / "result.json").write_text('{"student": {"email": "alice@example.edu"}}\n')
        for path in sorted(course.rglob("*")) + [course]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        real = isolation._python_prefixes
        monkeypatch.setattr(isolation, "_python_prefixes", lambda: [*real(), str(course)])
        iso = isolation.detect(allow_bubblewrap=bubblewrap)
        zygote = Zygote(FAST, iso, keep_out=(uploads, course / "reports"))
        try:
            if not zygote.iso.protects("files"):
                missing_layer_reported(zygote.iso, "files")
                return
            process = zygote.spawn()
            source = textwrap.dedent(
                f"""
                import os
                import torch

                def peek(which):
                    paths = [{str(course / "lib")!r}, {str(classmate / "exercise1.py")!r},
                             {str(result / "result.json")!r}, {str(uploads)!r},
                             {str(course / "reports")!r}]
                    path = paths[int(which)]
                    seen = os.listdir(path) if os.path.isdir(path) else open(path).read()
                    if isinstance(seen, list):
                        return torch.tensor(int("alice" in seen))
                    return torch.tensor(len(seen))
                """
            )
            assert process.load("probe", source).ok
            if layout == "beside_python":
                assert process.call("probe", "peek", {"which": 0}, []).ok, "Python's own folder"
            for which in range(1, 5):
                reply = process.call("probe", "peek", {"which": which}, [])
                if reply.ok:  # bubblewrap's empty tmpfs over the folder: listed, it is empty
                    assert reply.value[0].item() == 0, which
                    continue
                assert "Permission" in reply.message or "No such" in reply.message, reply.message
            process.close()
        finally:
            zygote.close()
    finally:
        shutil.rmtree(course)


# A student file that looks for the grading's own paths (the class's folder of uploads, OUT)
# in what its process holds: its environment's block, the objects its frames reach (those of
# the worker and the zygote below it), gc's list of objects, and raw memory read through
# numpy's array interface (`/proc/self/maps`' regions where readable; else the pages around the
# objects it has, found by the kernel's EFAULT on a pipe) or `/proc/self/mem`. It reports
# whatever it found as its item's error, where the result, the report and the student would
# show it. Its own source
# names only the shared beginning of the paths (PRIVACY_PREFIX), never the random folder.
PRIVACY_PREFIX = "/tmp/ninja-privacy-class-"
_PRIVACY_PROBE = textwrap.dedent(
    """
    import errno
    import gc as _gc_module
    import os
    import sys as _sys

    import numpy as _np

    _PREFIX = __PREFIX__.encode()
    _PAGE = 4096


    def _paths_in(blob):
        found, at = set(), blob.find(_PREFIX)
        while at >= 0:
            end = at
            while end < len(blob) and 0x21 <= blob[end] < 0x7F and blob[end] not in b"\\"',]":
                end += 1
            found.add(blob[at:end].decode())
            at = blob.find(_PREFIX, at + 1)
        return found


    def _walk(roots, limit=300000):
        seen, stack, found = set(), list(roots), set()
        while stack and len(seen) < limit:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, str):
                found |= _paths_in(obj.encode("utf-8", "replace"))
            elif isinstance(obj, bytes):
                found |= _paths_in(obj)
            elif isinstance(obj, dict):
                stack += [*obj.keys(), *obj.values()]
            elif isinstance(obj, (list, tuple, set, frozenset)):
                stack += list(obj)
            elif type(obj).__name__ == "frame":
                stack += [obj.f_back, obj.f_locals]
            elif hasattr(obj, "__dict__") and not isinstance(obj, type):
                try:
                    stack.append(vars(obj))
                except TypeError:
                    pass
        return found


    class _Raw:
        def __init__(self, address, size):
            self.__array_interface__ = {
                "data": (address, True), "shape": (size,), "typestr": "|u1", "version": 3
            }


    def _read(lo, hi):
        found = set()
        for at in range(lo, hi, 1 << 22):
            found |= _paths_in(_np.asarray(_Raw(at, min(1 << 22, hi - at))).tobytes())
        return found


    def _environ():
        with open("/proc/self/environ", "rb") as f:
            return _paths_in(f.read())


    def _frames():
        return _walk([_sys._getframe()])


    def _gc():
        return _walk(_gc_module.get_objects())


    def _maps():
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
        found = set()
        for line in lines:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else ""
            if fields[1].startswith("r") and (not name or name in ("[heap]", "[stack]")):
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                found |= _read(lo, hi)
        return found


    def _mapped(address, counter):
        # An eventfd reads 8 bytes from the address it is written from (no pipe: seccomp
        # denies them); whatever it makes of them, only EFAULT says nothing is mapped there.
        try:
            os.write(counter, memoryview(_np.asarray(_Raw(address, 8))))
        except OSError as e:
            if e.errno == errno.EFAULT:
                return False
        try:
            os.eventfd_read(counter)  # back to 0, so that no later write finds it full
        except BlockingIOError:
            pass
        return True


    def _near(window=128 << 20):
        counter = os.eventfd(0, os.EFD_NONBLOCK)
        pages = set()
        # The planted string's own page among them: where the heap put it is the allocator's
        # choice (run as a user, not root, it lay beyond every other window).
        seeds = (id(_sys), id(os.environ), id(os), id(_PAGE), id(_np), id(torch), id(_PLANTED[0]))
        for seed in seeds:
            base = seed - seed % _PAGE
            pages |= {a for a in range(max(base - window, _PAGE), base + window, _PAGE)}
        found, run = set(), []
        for page in sorted(pages) + [None]:
            if page is not None and _mapped(page, counter) and (not run or page == run[-1] + _PAGE):
                run.append(page)
                continue
            if run:
                found |= _read(run[0], run[-1] + _PAGE)
            run = [page] if page is not None and _mapped(page, counter) else []
        return found


    def _mem(window=1 << 20):
        found = set()
        with open("/proc/self/mem", "rb", buffering=0) as mem:
            for seed in (id(_sys), id(os.environ), id(_PAGE), id(_hunt)):
                base = seed - seed % _PAGE
                for page in range(base - window, base + window, _PAGE):
                    try:
                        mem.seek(page)
                        found |= _paths_in(mem.read(_PAGE))
                    except OSError:
                        continue
        return found


    _PLANTED = [None]


    def _hunt():
        planted = (_PREFIX + b"planted").decode()  # made here: proves a route reads memory
        _PLANTED[:] = [planted]
        said = []
        for route in (_environ, _frames, _gc, _maps, _near, _mem):
            try:
                found = route()
            except BaseException as e:  # noqa: BLE001
                said.append(f"{route.__name__}: refused ({type(e).__name__})")
                continue
            seen = "planted seen" if planted in found else "planted not seen"
            said.append(f"{route.__name__}: {seen}; found {sorted(found - {planted})}")
        return "PRIVACY PROBE " + " | ".join(said)
    """
).replace("__PREFIX__", repr(PRIVACY_PREFIX))

# Each configuration the grader may run in: with bubblewrap, without it (a TA's laptop,
# Gradescope under Docker's default seccomp), and without Landlock or seccomp either.
PRIVACY_CONFIGURATIONS = {
    "bubblewrap": (True, {}),
    "without_bubblewrap": (False, {}),
    "without_bubblewrap_or_landlock": (False, dict(landlock=False)),
    # gc's list of objects, which the audit hook refuses: as if it were out of the way.
    "without_bubblewrap_or_audit_hook": (False, dict(audit_hook=False)),
    "nothing_but_rlimits_and_uids": (False, dict(landlock=False, seccomp=False)),
}


@pytest.mark.parametrize("configuration", list(PRIVACY_CONFIGURATIONS))
def test_no_path_of_the_grading_is_in_a_student_process_s_memory(configuration) -> None:
    """The class's folder of uploads and OUT, graded through the pipeline: without
    bubblewrap, a student's file found both absolute paths in its own process, through the
    frames of the zygote below it (its configuration, kept out of inside/reach.py's ways in)
    and through raw memory (the zygote's environment block, which carried that configuration,
    and its heap), and wrote them into its own report. The configuration now reaches the zygote
    over its control socket, and the kept-out folders as identities (device, inode): no name."""
    from grader.pipeline import Grader

    bubblewrap, layers = PRIVACY_CONFIGURATIONS[configuration]
    course = Path(tempfile.mkdtemp(prefix=PRIVACY_PREFIX.rpartition("/")[2], dir="/tmp"))
    uploads, out = course / "uploads", course / "out"
    for folder in (uploads / "alice", out):
        folder.mkdir(parents=True)
    course.chmod(0o755)
    limits = Limits(call_seconds=60, import_seconds=10, memory_bytes=512 << 20)
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    zygote = Zygote(limits, iso, keep_out=(uploads, out), **layers)
    grader = Grader(
        limits=limits, public_only=True, zygote=zygote, static_scan=False, keep_out=(uploads, out)
    )
    try:
        src = _at_module_level(solution("exercise2"), _PRIVACY_PROBE)
        src = _in_function(src, "dlogits", "raise RuntimeError(_hunt())", "")
        files = {n: solution(n).encode() for n in ("exercise1", "exercise3")}
        result = grade(grader, dict(files, exercise2=src.encode()), "alice")
    finally:
        grader.close()
        shutil.rmtree(course)
    probe = next(i["message"] for i in result["items"] if i["id"] == "exercise2.dlogits")
    assert "PRIVACY PROBE" in probe, probe[-2000:]
    # Each route the sandbox let run does read this process's memory: what the probe made
    # itself, it finds; the frames and the pages around its objects are never refused.
    routes = probe.partition("PRIVACY PROBE ")[2].split(" | ")
    assert len(routes) == 6, probe[-2000:]
    for route in routes:
        assert "refused" in route or "planted seen" in route, route
    assert "_frames: planted seen" in probe and "_near: planted seen" in probe, probe[-2000:]
    text = json.dumps(result)
    for path in (uploads, out, course):
        assert str(path) not in text, f"{configuration}: {probe[-2000:]}"


def test_the_base_python_s_packages_this_environment_does_not_use_are_listed() -> None:
    """A virtual environment without the system's packages imports nothing from the base
    Python's site-packages, nor from the system Pythons' dist-packages, which may hold anything
    ever installed there (a stale grader, a second torch with its own backward formulas)."""
    import glob
    import site

    used = [Path(p).resolve() for p in sys.path if p and Path(p).is_dir()]
    unused = isolation.unused_site_packages()
    for folder in unused:
        assert not any(isolation._within(u, folder) for u in used), folder
    candidates = [Path(d) for d in glob.glob("/usr/lib/python3*/*-packages")]
    if Path(sys.prefix).resolve() != Path(sys.base_prefix).resolve():
        candidates += [Path(d) for d in site.getsitepackages([sys.base_prefix])]
    expected = {
        c.resolve()
        for c in candidates
        if c.is_dir() and not any(isolation._within(u, c.resolve()) for u in used)
    }
    assert expected <= set(unused)
    assert not set(unused) & set(isolation.package_folders())


def test_bubblewrap_covers_the_base_python_s_unused_packages(monkeypatch) -> None:
    """A stale grader in the base Python's site-packages (`pip install .` once, outside the
    virtual environment) is readable where that Python is bound; bubblewrap covers it."""
    site = Path(sysconfig.get_paths()["purelib"])
    stale = site / "_pytest"  # stands in for the base's site-packages, with a grader in it
    monkeypatch.setattr(isolation, "unused_site_packages", lambda: [stale])
    iso = isolation.detect(allow_bubblewrap=True)
    if not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here (a known limit without it: threat-model.md)")
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        source = textwrap.dedent(
            f"""
            import torch

            def peek(which):
                return torch.tensor(len(open({str(stale / "__init__.py")!r}).read()))
            """
        )
        assert process.load("probe", source).ok
        reply = process.call("probe", "peek", {"which": 0}, [])
        assert not reply.ok and "No such" in reply.message, reply.message
        process.close()
    finally:
        zygote.close()


def test_other_environments_under_a_bound_python_are_covered(tmp_path, monkeypatch) -> None:
    """conda's base environment holds every other environment in its envs/ folder, and so does a
    pyenv Python with pyenv-virtualenv's: where the grading Python is such a folder (conda's
    base) or was made from one (a pyenv-virtualenv environment, whose base Python is bound),
    every sibling environment was bound and readable with it, Landlock in force. A TA's stale
    copy of the grader installed in one (`pip install .` in last term's environment) handed its
    hidden.py, the hidden cases' secret seeds, to student code, in its own report, not as root
    with bubblewrap (red team, thirty-fifth session). Each environment there that this Python
    does not import from is covered, as the base Python's own packages are; so is conda's cache
    of unpacked packages (pkgs/), which holds a second torch's backward formulas."""
    prefix = tmp_path / "miniconda3"  # stands in for a bound Python prefix
    stale = prefix / "envs" / "last-term" / "lib" / "python3.11" / "site-packages" / "grader"
    stale.mkdir(parents=True)
    (stale / "hidden.py").write_text("SEED = 'a secret of the grader'\n")
    # conda's cache of every package it unpacked: a second torch, its backward formulas in it
    cached = prefix / "pkgs" / "pytorch-2.5.1" / "lib" / "python3.11" / "site-packages" / "torch"
    (cached / "_decomp").mkdir(parents=True)
    (cached / "_decomp" / "decompositions.py").write_text("def tanh_backward(): ...\n")
    (prefix / "bin").mkdir()
    for folder in [
        *stale.relative_to(tmp_path).parents,
        stale,
        *cached.relative_to(tmp_path).parents,
    ]:
        (tmp_path / folder).chmod(0o755)
    for folder in (cached, cached / "_decomp"):
        folder.chmod(0o755)
    real = isolation._python_prefixes
    monkeypatch.setattr(isolation, "_python_prefixes", lambda: [*real(), str(prefix)])
    iso = isolation.detect(allow_bubblewrap=True)
    if not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here: the prefix would not be bound as Python is")
    paths = [str(stale / "hidden.py"), str(cached / "_decomp" / "decompositions.py")]
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        source = textwrap.dedent(
            f"""
            import torch

            PATHS = {paths!r}

            def peek(which):
                return torch.tensor(len(open(PATHS[which]).read()))
            """
        )
        assert process.load("probe", source).ok
        for which in range(len(paths)):
            reply = process.call("probe", "peek", {"which": which}, [])
            assert not reply.ok and "No such" in reply.message, reply.message
        process.close()
    finally:
        zygote.close()
    unused = isolation.unused_site_packages()
    assert prefix / "envs" / "last-term" in unused and prefix / "pkgs" in unused


def test_a_package_folder_is_opened_up_entry_by_entry(tmp_path) -> None:
    """Student processes may read only the packages the zygote imported (zygote._imported),
    which needs each entry of a package folder as a path of its own, whatever it holds."""
    prefix = tmp_path / "prefix"
    site = prefix / "lib" / "site-packages"
    (site / "sympy").mkdir(parents=True)
    (site / "torch").mkdir()
    (site / "six.py").write_text("")
    (prefix / "bin").mkdir()
    listed: list[str] = []
    got = isolation.readable_without(str(prefix), [], listed, split=[site])
    expected = (prefix / "bin", site / "six.py", site / "sympy", site / "torch")
    assert sorted(got) == sorted(str(p) for p in expected)
    assert str(site) in listed
    bin_folder = str(prefix / "bin")
    assert isolation.readable_without(bin_folder, [], split=[site]) == [bin_folder]


def test_readable_without_follows_links_and_survives_loops(tmp_path) -> None:
    site = tmp_path / "prefix" / "lib" / "site-packages"
    (site / "grader").mkdir(parents=True)
    (tmp_path / "prefix" / "lib64").symlink_to("lib")  # as in every venv
    (site / "loop").symlink_to("..")
    (site / "numpy").mkdir()
    (tmp_path / "prefix" / "bin").mkdir()
    got = isolation.readable_without(str(tmp_path / "prefix"), [site / "grader"])
    covers_grader = [p for p in got if isolation._within(site / "grader", Path(p).resolve())]
    assert covers_grader == []
    assert {Path(p).resolve() for p in got} == {site / "numpy", tmp_path / "prefix" / "bin"}


def test_the_static_scan_stops_introspective_attacks_before_they_run(lab) -> None:
    """With the scan on (as in real grading), an attack that reaches for introspection, ctypes
    or runpy is `forbidden` for its own function before it runs; every other item still passes."""
    from grader.pipeline import Grader
    from grader.staticscan import scan

    g = Grader(limits=FAST, public_only=True)
    stopped = []
    try:
        for attack in ATTACKS:
            target = attack.pieces[0][0]
            if target.endswith(":file") or "." not in target:
                continue
            file, _, func = target.partition(".")
            files = build(attack, lab.constants())
            if func not in scan(files[file].decode()).forbidden:
                continue
            result = grade(g, files)
            statuses = {i["id"]: i["status"] for i in result["items"]}
            assert statuses.pop(target) == "forbidden", attack.name
            assert {s for i, s in statuses.items() if i.startswith(file)} <= {"passed"}
            stopped.append(attack.name)
    finally:
        g.close()
    assert len(stopped) >= 3, stopped


# --- autograd is absent from every student process, not watched --------------------------

# Each route to a derivative, called plainly (the corpus adds the tricks): every one must run
# into the ban, whose message reaches the grader, with the static scan nowhere involved.
# (checkpoint is in the corpus: its first use imports torch._dynamo, seconds beyond FAST.)
ROUTES = {
    "backward": "x = torch.ones(3, requires_grad=True)\n(x * x).sum().backward()\nreturn x.grad",
    "autograd_grad": "x = torch.ones(3, requires_grad=True)\n"
    "return torch.autograd.grad((x * x).sum(), x)[0]",
    "engine_by_map": "from torch.autograd import Variable\n"
    "x = torch.ones(3, requires_grad=True)\n"
    "return list(map(Variable._execution_engine.run_backward, [(x,)], [(torch.ones(3),)],"
    " [False], [False], [(x,)], [True], [False]))[0][0]",
    "enable_grad": "with torch.enable_grad():\n    return torch.zeros(1)",
    "set_grad_enabled": "torch.set_grad_enabled(True)\nreturn torch.zeros(1)",
    "set_grad_enabled_in_C": "torch._C._set_grad_enabled(True)\nreturn torch.zeros(1)",
    "inference_mode_off": "with torch.inference_mode(False):\n    return torch.zeros(1)",
    "forward_ad": "import torch.autograd.forward_ad as fwAD\nwith fwAD.dual_level():\n"
    "    return fwAD.unpack_dual(fwAD.make_dual(torch.ones(2), torch.ones(2)) ** 2).tangent",
    "dual_level_in_C": "return torch.tensor(torch._C._enter_dual_level())",
    "make_dual": "return torch._make_dual(torch.ones(2), torch.ones(2), 0)",
    "func_grad": "return torch.func.grad(lambda x: (x * x).sum())(torch.ones(3))",
    "func_vjp": "return torch.func.vjp(lambda x: x * x, torch.ones(3))[1](torch.ones(3))[0]",
    "func_jvp": "return torch.func.jvp(lambda x: x * x, (torch.ones(3),), (torch.ones(3),))[1]",
    "func_jacrev": "return torch.func.jacrev(lambda x: x * x)(torch.ones(3))",
    "func_hessian": "return torch.func.hessian(lambda x: (x ** 3).sum())(torch.ones(3))",
    "functional_jacobian": "return torch.autograd.functional.jacobian(lambda x: x * x, "
    "torch.ones(3))",
    "jit_script": "return torch.jit.CompilationUnit('def f(x: int):\\n    return x\\n').f(1)",
    # Behind torch.jit.trace, which refuses in plain words first (student_torch.py).
    "jit_trace": "from torch.jit._trace import trace\n"
    "return trace(lambda x: x * 2, torch.ones(2))(torch.ones(2))",
    "ops_set_grad_enabled": "torch.ops.aten.set_grad_enabled(True)\nreturn torch.zeros(1)",
    "ops_backward_kernel": "return torch.ops.aten.tanh_backward(torch.ones(2), torch.ones(2))",
    "softmax_backward": "return torch._softmax_backward_data(torch.ones(2, 2), "
    "torch.ones(2, 2), 1, torch.float32)",
    "vmap_backward_kernel": "return torch.func.vmap(torch.ops.aten.nll_loss_backward, "
    "in_dims=(None, 0, None, None, None, None, None))(torch.tensor(1.0), torch.zeros(1, 2, 3), "
    "torch.tensor([0, 1]), None, 1, -100, torch.tensor(2.0))",
    "python_formula": "import torch._decomp.decompositions as d\n"
    "return d._log_softmax_backward_data(torch.ones(2, 3), torch.zeros(2, 3), 1, torch.float32)",
    "python_formula_table": "import torch._decomp as d\n"
    "return d.decomposition_table[torch.ops.aten.tanh_backward.default]"
    "(torch.ones(2), torch.ones(2))",
    "python_formula_source": "import os\n"
    "exec(open(os.path.join(os.path.dirname(torch.__file__), '_decomp', 'decompositions.py'))"
    ".read(), {})\nreturn torch.zeros(1)",
    "python_formula_source_spelt_otherwise": "import os\n"
    "exec(open(os.path.dirname(torch.__file__) + '/./_decomp//decompositions.py').read(), {})\n"
    "return torch.zeros(1)",
    "gc_referents": "import gc\nreturn torch.tensor(len(gc.get_referents(torch.Tensor.__dict__)))",
    "gc_objects": "import gc\nreturn torch.tensor(len(gc.get_objects()))",
    "ctypes": "import ctypes\nreturn torch.tensor(ctypes.CDLL(None).getpid())",
}


def _module_of(functions: dict[str, str]) -> str:
    parts = ["import torch", ""]
    for name, body in functions.items():
        parts += [f"def {name}():", textwrap.indent(body, "    "), ""]
    return "\n".join(parts)


def test_every_route_to_a_derivative_runs_into_the_ban(attack_grader) -> None:
    process = attack_grader.zygote.spawn()
    try:
        assert process.load("routes", _module_of(ROUTES)).ok
        got = {name: process.call("routes", name, {}, []) for name in ROUTES}
    finally:
        process.close()
    not_refused = {
        name: (reply.ok, reply.message[-300:])
        for name, reply in got.items()
        if not (reply.autograd and not reply.ok)
    }
    assert not_refused == {}
    assert all(
        "switched off in the grader" in r.message or "not allowed" in r.message
        for r in got.values()
    )


def test_an_import_that_reaches_for_autograd_costs_its_file_as_forbidden(attack_grader) -> None:
    files = {n: solution(n).encode() for n in ("exercise1", "exercise2", "exercise3")}
    files["exercise3"] = _at_module_level(
        solution("exercise3"), "torch.set_grad_enabled(True)\n"
    ).encode()
    result = grade(attack_grader, files)
    statuses = {i["id"]: i["status"] for i in result["items"]}
    assert {s for i, s in statuses.items() if i.startswith("exercise3")} == {"forbidden"}
    assert {s for i, s in statuses.items() if not i.startswith("exercise3")} == {"passed"}
    message = next(i["message"] for i in result["items"] if i["id"].startswith("exercise3"))
    assert "autograd ban" in message and "set_grad_enabled" in message


def test_a_file_that_checks_itself_with_assert_close_is_graded_as_written(attack_grader) -> None:
    """torch.testing.assert_close at import used to cost the whole file as `forbidden`: its
    first call imports torch.distributed.tensor, which looks operators up by name."""
    files = {n: solution(n).encode() for n in ("exercise1", "exercise2", "exercise3")}
    files["exercise1"] = _at_module_level(
        solution("exercise1"), "torch.testing.assert_close(torch.ones(2), torch.ones(2))\n"
    ).encode()
    result = grade(attack_grader, files)
    assert {i["status"] for i in result["items"]} == {"passed"}


ALLOWED = {
    "no_grad": "with torch.no_grad():\n    return torch.ones(2) * 2",
    "inference_mode": "with torch.inference_mode():\n    return torch.ones(2) * 2",
    "set_grad_off": "torch.set_grad_enabled(False)\nreturn torch.ones(2)",
    "requires_grad_flag": "return torch.ones(2, requires_grad=True).detach() * 3",
    "cross_entropy": "import torch.nn.functional as F\n"
    "return F.cross_entropy(torch.randn(4, 5), torch.tensor([0, 1, 2, 3])).reshape(1)",
    "vmap": "return torch.func.vmap(torch.dot)(torch.ones(3, 2), torch.ones(3, 2))",
    "imports": "import math, statistics, fractions, decimal, json, numpy\n"
    "return torch.tensor([statistics.mean([1.0, 3.0]), float(fractions.Fraction(1, 2)), "
    "math.tanh(0.0), float(decimal.Decimal('1.5')), float(numpy.float64(2.0))])",
    "repr_and_numpy": "t = torch.arange(6.0).reshape(2, 3)\nrepr(t)\n"
    "return torch.from_numpy(t.numpy() * 2)",
    "read_a_file": "import os\nreturn torch.tensor(len(open(torch.__file__).read(10)))",
    "assert_close": "torch.testing.assert_close(torch.ones(2), torch.ones(2))\n"
    "try:\n    torch.testing.assert_close(torch.ones(2), torch.zeros(2))\n"
    "except AssertionError as e:\n    return torch.tensor(float('not close' in str(e)))",
    # Saving into memory works; only a named file is refused (zygote.py words the refusal).
    "save_to_bytes": "import io\nb = io.BytesIO()\ntorch.save(torch.ones(2), b)\n"
    "return torch.tensor(float(len(b.getvalue()) > 0))",
    # No thread can start in a student process: a parallel kernel after this once killed it.
    "set_num_threads": "torch.set_num_threads(4)\nx = torch.randn(500, 500)\nreturn (x @ x)[0, :2]",
    "set_num_interop_threads": "torch.set_num_interop_threads(2)\nreturn torch.ones(1)",
    # Its lazy parameters (`logits` of probs, read by log_prob) asked for grad mode on.
    "categorical": "from torch.distributions import Categorical\n"
    "c = Categorical(probs=torch.ones(4) / 4)\nd = Categorical(logits=torch.zeros(4))\n"
    "return torch.cat([c.log_prob(c.sample((2,))), d.probs, c.entropy().reshape(1)])",
    # It imported torch's compiler (torch._dynamo) to set a flag of its own.
    "deterministic": "torch.use_deterministic_algorithms(True)\n"
    "on = torch.are_deterministic_algorithms_enabled()\ntorch.use_deterministic_algorithms(False)\n"
    "return torch.tensor([float(on), float(torch.are_deterministic_algorithms_enabled())])",
}


def test_what_student_code_needs_still_works_beside_the_ban(attack_grader) -> None:
    process = attack_grader.zygote.spawn()
    try:
        assert process.load("allowed", _module_of(ALLOWED)).ok
        failed = {}
        for name in ALLOWED:
            reply = process.call("allowed", name, {}, [])
            if not reply.ok or reply.autograd:
                failed[name] = reply.message[-400:]
    finally:
        process.close()
    assert failed == {}


# What two processes of one submission could share: every door is shut by the audit hook (all
# platforms) and, for locks, exec and memfd, by seccomp too.
CHANNELS = {
    "flock": "import fcntl\nfcntl.flock(os.open(torch.__file__, os.O_RDONLY), fcntl.LOCK_SH)",
    "lockf": "import fcntl\nfcntl.lockf(os.open(torch.__file__, os.O_RDONLY), fcntl.LOCK_SH)",
    "posix_lock": "import fcntl, struct\nfcntl.fcntl(os.open(torch.__file__, os.O_RDONLY), "
    "fcntl.F_SETLK, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 5, 1, 0))",
    "ofd_lock": "import fcntl, struct\nfcntl.fcntl(os.open(torch.__file__, os.O_RDONLY), 37, "
    "struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 5, 1, 0))",
    "write_own_folder": "open('note', 'w').write('x')",
    "write_dev_shm": "os.open('/dev/shm/note', os.O_WRONLY | os.O_CREAT)",
    "timestamps": "os.utime(torch.__file__)",
    "socket": "import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
    "signal_parent": "os.kill(os.getppid(), 0)",
    "exec": "os.execv('/bin/true', ['true'])",
    "symlink": "os.symlink('/tmp', 'link')",
    "mkdir_own_folder": "os.mkdir('d')",  # the /tmp's free files and bytes, seen by siblings
}


def test_no_channel_between_processes_of_one_submission(attack_grader) -> None:
    functions = {
        name: f"import os\ntry:\n{textwrap.indent(body, '    ')}\n"
        "except PermissionError:\n    return torch.zeros(1)\nreturn torch.ones(1)"
        for name, body in CHANNELS.items()
    }
    process = attack_grader.zygote.spawn()
    try:
        assert process.load("channels", _module_of(functions)).ok
        open_doors = {}
        for name in CHANNELS:
            reply = process.call("channels", name, {}, [])
            if not (reply.ok and reply.value[0].tolist() == [0.0]):
                open_doors[name] = (reply.ok, reply.message[-300:])
    finally:
        process.close()
    assert open_doors == {}


# A descriptor's status flags belong to its open file description, which a fork shares: one
# process sets them (F_SETFL, allowed on a process's own descriptors), the other reads them.
DESCRIPTOR_FLAGS = {
    "mark": """
import fcntl, os, stat
marked = 0
for fd in range(64):
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):  # its own socket: the worker's, kept blocking
            flags = fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND | os.O_NONBLOCK
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
            marked += 1
    except OSError:
        pass
return torch.tensor([float(marked)])
""",
    "marked": """
import fcntl, os
found = []
for fd in range(64):
    try:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & (os.O_APPEND | os.O_NONBLOCK):
            found.append(float(fd))
    except OSError:
        pass
return torch.tensor(found + [-1.0])
""",
}


def _marked_beside(writer_zygote: Zygote, reader_zygote: Zygote) -> dict[str, list[float]]:
    """The descriptors whose flags a reader finds set after a writer set every flag it could:
    a reader living beside the writer, and one started after the writer ended (the next
    submission's). -1 ends each list."""
    source = _module_of(DESCRIPTOR_FLAGS)
    writer, beside = writer_zygote.spawn(), reader_zygote.spawn()
    found = {}
    try:
        for process in (writer, beside):
            assert process.load("flags", source).ok
        assert writer.call("flags", "mark", {}, []).value[0].tolist()[0] > 0
        found["beside"] = beside.call("flags", "marked", {}, []).value[0].tolist()
        writer.close()
        after = reader_zygote.spawn()
        try:
            assert after.load("flags", source).ok
            found["after"] = after.call("flags", "marked", {}, []).value[0].tolist()
        finally:
            after.close()
    finally:
        writer.close()
        beside.close()
    return found


def test_no_descriptor_is_shared_between_student_processes(attack_grader) -> None:
    """Every process forked from the zygote held its stdin, one /dev/null: the flags exercise
    1's process set on it, exercise 2's read (runtime.py, stdin_flags_channel_between_exercises),
    and the next submission's found them still set. Each has a /dev/null of its own now."""
    zygote = attack_grader.zygote
    assert _marked_beside(zygote, zygote) == {"beside": [-1.0], "after": [-1.0]}


# Reading a folder sets its access time, which `stat` shows any process that knows the folder's
# name, past Landlock (which governs opens); and every student process knows the folders of the
# processes forked before it: the zygote's `children`, which the fork copied (reached here
# through the frames below the call, as raw memory would).
FOLDER_TIMES = {
    "list_own": """
import os
try:
    os.listdir(".")
except PermissionError:
    return torch.zeros(1)
return torch.ones(1)
""",
    "older_folders": """
import os, sys
frame = sys._getframe()
while not hasattr(frame.f_locals.get("self"), "children"):
    frame = frame.f_back
folders = frame.f_locals["self"].children.values()
return torch.tensor([float(os.stat(f).st_atime_ns) for f in folders], dtype=torch.float64)
""",
}


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "without_bubblewrap"])
def test_no_folder_s_access_time_carries_a_value_between_processes(bubblewrap) -> None:
    """Exercise 1's process listed its own folder at a moment of its choosing, and exercise 2's,
    forked after it, read that moment back from the folder's access time, every layer in force
    (red team, thirty-ninth session). A student process's folder is entered, never listed."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso)
    writer = zygote.spawn()
    reader = zygote.spawn()  # forked after the writer: it holds the writer's folder's name
    try:
        source = _module_of(FOLDER_TIMES)
        for process in (writer, reader):
            assert process.load("folders", source).ok
        before = reader.call("folders", "older_folders", {}, [])
        listed = writer.call("folders", "list_own", {}, [])
        after = reader.call("folders", "older_folders", {}, [])
    finally:
        writer.close()
        reader.close()
        zygote.close()
    assert before.ok and after.ok, (before.message, after.message)
    assert len(before.value[0]) == 1
    assert listed.ok and listed.value[0].tolist() == [0.0], "its own folder was listed"
    assert after.value[0].tolist() == before.value[0].tolist()


def test_no_descriptor_is_shared_between_nested_zygotes() -> None:
    """With `-j 2` as root, the zygotes of two grader processes are forked from one process in
    one bubblewrap: two students graded at once shared its stdin's flags."""
    if not isolation.can_nest(isolation.detect()):
        pytest.skip("nested zygotes need root and bubblewrap (CI runs as root with bubblewrap)")
    launch.prestart(2)
    first, second = Zygote(FAST), Zygote(FAST)
    try:
        assert first._launched.nested and second._launched.nested
        assert _marked_beside(first, second) == {"beside": [-1.0], "after": [-1.0]}
    finally:
        first.close()
        second.close()


CPU_COUNTERS = """
import os
readable = []
for path in ('/sys/devices/system/cpu/online', '/sys/devices/system/cpu/cpu0/cpuidle',
             '/sys/devices/system/cpu/cpu0/cpuidle/state0/time', '/proc/stat'):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path).close()
        readable.append(path)
    except OSError:
        pass
return {path: torch.zeros(1) for path in readable}
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_machine_wide_cpu_counter_is_readable(bubblewrap) -> None:
    """Each CPU's idle time and idle entries (/sys/devices/system/cpu/cpuN/cpuidle) count what
    every process on the machine does: one process busy on a CPU in a pattern, another reads
    the pattern back, a clean channel between two live processes (within a submission, and
    between two submissions graded at once) where timing one's own speed is a noisy one.
    Without bubblewrap, Landlock allowed the whole folder, though torch's CPU detection runs
    in the zygote, before any fork; bubblewrap's root never held it."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    if not confine.LINUX or confine.landlock_abi() <= 0 and not iso.bubblewrap:
        pytest.skip("without Landlock or bubblewrap, reads are not confined (reported missing)")
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        try:
            assert process.load("counters", _module_of({"counters": CPU_COUNTERS})).ok
            reply = process.call("counters", "counters", {}, [])
        finally:
            process.close()
    finally:
        zygote.close()
    assert reply.ok, reply.message
    assert reply.value == {}


# The machine's shared memory, in pages, as sysinfo tells any process (struct sysinfo's
# sharedram, in units of its mem_unit), or -1 where the call is refused.
SHARED_MEMORY = {
    "hold": """
import mmap
region = mmap.mmap(-1, 16384 * 4096)  # shared and anonymous: 64 MiB counted machine-wide
for page in range(16384):
    region[page * 4096] = 1
_HELD.append(region)
return torch.ones(1)
""",
    "release": "while _HELD:\n    _HELD.pop().close()\nreturn torch.ones(1)",
    "shared_pages": """
import ctypes
info = (ctypes.c_ulong * 16)()
if ctypes.CDLL(None, use_errno=True).sysinfo(info) != 0:
    return torch.tensor([-1.0], dtype=torch.float64)
return torch.tensor([info[6] * (info[13] & 0xFFFFFFFF) / 4096.0], dtype=torch.float64)
""",
}


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_count_of_the_machine_s_memory_carries_a_value_between_processes(bubblewrap) -> None:
    """sysinfo gives any process the machine's free and shared memory (and its count of threads),
    in no namespace and past Landlock, which closes /proc/meminfo: one process held a chosen
    number of shared pages (Python's own `mmap.mmap(-1, n)`) and another read that number back
    from the machine's shared memory, to within a few dozen pages, between two live student
    processes of different uids with every other layer in force, bubblewrap or not (red team;
    the free memory, which `os.sysconf('SC_AVPHYS_PAGES')` reads in pure Python, carried bits
    too, more noisily). With native code (the audit hook out of the way), as a student's could
    be ("Known limits"); seccomp denies the call."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    if not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    zygote = Zygote(FAST, iso, audit_hook=False)
    try:
        sender, reader = zygote.spawn(), zygote.spawn()
        source = "_HELD = []\n" + _module_of(SHARED_MEMORY)
        assert sender.load("memory", source).ok and reader.load("memory", source).ok

        def shared_pages() -> float:
            reply = reader.call("memory", "shared_pages", {}, [])
            assert reply.ok, reply.message
            return reply.value[0].item()

        moved = []
        for _ in range(3):
            before = shared_pages()
            assert sender.call("memory", "hold", {}, []).ok
            held = shared_pages() - before
            assert sender.call("memory", "release", {}, []).ok
            if held > 8192:  # 16384 pages held: the count followed them
                moved.append(held)
    finally:
        zygote.close()
    assert moved == []


# A file of the standard library that no student process, the zygote or torch reads: a writer
# leaves chosen pages of it in the machine's page cache, a reader asks which are there, by the
# major faults a touch of each page costs (getrusage) and by reads that refuse to wait for the
# disk (preadv2's RWF_NOWAIT), in pure Python.
PAGE_CACHE = {
    "leave": """
import os
path = os.path.join(os.path.dirname(os.__file__), 'pydoc_data', 'topics.py')
fd = os.open(path, os.O_RDONLY)
try:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    for page in _PAGES:
        os.pread(fd, 1, page * 4096)
finally:
    os.close(fd)
return torch.zeros(1)
""",
    "by_faults": """
import mmap, os, resource
path = os.path.join(os.path.dirname(os.__file__), 'pydoc_data', 'topics.py')
fd = os.open(path, os.O_RDONLY)
try:
    held = mmap.mmap(fd, 12 * 4096, prot=mmap.PROT_READ)
    held.madvise(mmap.MADV_RANDOM)
    cached = []
    for page in range(12):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
        held[page * 4096]
        cached.append(float(resource.getrusage(resource.RUSAGE_SELF).ru_majflt == before))
finally:
    os.close(fd)
return torch.tensor(cached)
""",
    "by_reads": """
import os
path = os.path.join(os.path.dirname(os.__file__), 'pydoc_data', 'topics.py')
fd = os.open(path, os.O_RDONLY)
cached = []
try:
    for page in reversed(range(12)):  # read-ahead goes forward: each page asked before it acts
        try:
            cached.append(float(os.preadv(fd, [bytearray(1)], page * 4096, os.RWF_NOWAIT) == 1))
        except BlockingIOError:
            cached.append(0.0)
finally:
    os.close(fd)
return torch.tensor(cached[::-1])
""",
}


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_student_process_reads_the_page_cache_s_residency_exactly(bubblewrap) -> None:
    """The page cache remembers which pages of a file were read; mincore and cachestat, which
    say so page by page, are denied, and timing reads ("Known limits") is noisy. But a touch of
    a page of a mapped file costs a major fault where the cache lacks it and a minor one where
    it holds it, and `resource.getrusage(...).ru_majflt` counts the first; and a read with
    RWF_NOWAIT fails with EAGAIN rather than wait for the disk. Each read, in pure Python and
    with every layer in force, which pages another student process (of another uid, as root)
    had read: four of twelve, and five of twelve, exactly, bubblewrap or not (red team,
    thirty-seventh session). seccomp denies getrusage and preadv2 with RWF_NOWAIT."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    if not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    zygote = Zygote(FAST, iso)
    read = {}
    try:
        writer, reader = zygote.spawn(), zygote.spawn()
        for route, pages in (("by_faults", (1, 3, 4, 8)), ("by_reads", (0, 2, 5, 6, 9))):
            source = f"_PAGES = {pages!r}\n" + _module_of(PAGE_CACHE)
            assert writer.load(route, source).ok and reader.load(route, source).ok
            assert writer.call(route, "leave", {}, []).ok
            reply = reader.call(route, route, {}, [])
            read[route] = reply.value[0].tolist() if reply.ok else reply.message
    finally:
        zygote.close()
    for route, said in read.items():
        assert isinstance(said, str) and "PermissionError" in said, f"{route}: {said}"


# The machine's count of pseudo inodes (get_next_ino: every pipe's inode number is drawn from it,
# each CPU taking it 1024 at a time), as a student process reads it: the batch its CPU takes
# next, or -1 where it cannot draw. A process moves it by drawing, `spendN` N batches. `_drawn`
# draws `count` numbers, yielding each inode as it comes.
def _inode_count_module(drawn: str) -> str:
    """The reader's and sender's functions around one way of drawing from the count."""
    functions = {
        "next_batch": """
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one CPU's batches
try:
    for inode in _drawn(2100):
        if (inode - 1) % 1024 == 0:  # the first inode of a batch just taken from the count
            return torch.tensor([float((inode - 1) // 1024)])
except OSError:
    pass
return torch.tensor([-1.0])
""",
        **{
            f"spend{batches}": f"""
os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
try:
    for _ in _drawn({batches} * 1024):
        pass
except OSError:
    pass
return torch.ones(1)
"""
            for batches in (3, 5, 6)
        },
    }
    return "import os\n" + drawn + _module_of(functions)


# Making and closing pipes.
PIPE_DRAWS = """
def _drawn(count):
    for _ in range(count):
        read, write = os.pipe()
        inode = os.fstat(read).st_ino
        os.close(read)
        os.close(write)
        yield inode
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_count_of_the_machine_s_inodes_carries_a_value_between_processes(bubblewrap) -> None:
    """Every pipe's inode number comes from one count for the whole machine (get_next_ino, in no
    namespace, which each CPU takes 1024 at a time), and `os.fstat` shows it: one student
    process made and closed a chosen number of batches of pipes and another, of another uid,
    read that number back exactly, in pure Python with every layer in force, bubblewrap or not
    (red team, thirty-third session: 12 values of 3 bits, 12 of 12). memfd_secret draws from
    the same count. No student process needs a pipe: seccomp denies pipe, pipe2 and
    memfd_secret."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    if not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine (exchange is reported missing)")
    moved, _ = _batches_moved(iso, _inode_count_module(PIPE_DRAWS))
    assert moved == []


def _batches_moved(iso: isolation.Isolation, source: str) -> tuple[list[float], Zygote]:
    """One student process spends 3, 5 and 6 of a CPU's batches of the machine's count of
    inodes (`source`'s spend3...) and another reads the batch its CPU takes next before and
    after (`next_batch`, -1 where it cannot): the moves at least as large as what was spent
    (the reader's own draws and their neighbours' add a few), and the zygote, closed, whose
    isolation says what was in force."""
    zygote = Zygote(FAST, iso)
    try:
        sender, reader = zygote.spawn(), zygote.spawn()
        assert sender.load("inodes", source).ok and reader.load("inodes", source).ok

        def next_batch() -> float:
            reply = reader.call("inodes", "next_batch", {}, [])
            assert reply.ok, reply.message
            return reply.value[0].item()

        moved = []
        for batches in (3, 5, 6):
            before = next_batch()
            assert sender.call("inodes", f"spend{batches}", {}, []).ok
            after = next_batch()
            if before >= 0 and after - before - 1 >= batches:  # the count followed the sender
                moved.append(after - before - 1)
    finally:
        zygote.close()
    return moved, zygote


# The same count read through /proc: each name looked up there for the first time (a descriptor's
# entry in /proc/self/fd, looked up again once the descriptor was closed and reopened) draws its
# inode number from it. OSError where the process has no /proc to look in.
PROC_DRAWS = """
def _drawn(count):
    for _ in range(0, count, 40):
        fds = [os.dup(0) for _ in range(40)]
        try:
            yield from [os.lstat(f"/proc/self/fd/{fd}").st_ino for fd in fds]
        finally:  # whether the reader stops early or not: 64 descriptors at most
            for fd in fds:
                os.close(fd)
            for fd in fds:  # a closed descriptor's entry is dropped, and made anew next time
                try:
                    os.stat(f"/proc/self/fd/{fd}")
                except OSError:
                    pass
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_name_looked_up_in_proc_carries_a_value_between_processes(bubblewrap) -> None:
    """The pipes' count is drawn from by /proc too: each name looked up there for the first time
    gets its inode number from it, and `stat` looks up past Landlock, which governs opens. As
    root under bubblewrap, whose /proc (hidepid=2) still shows a process its own entries, one
    student process looked up its descriptors' entries a chosen thousands of times and another
    read the count back from its own, in pure Python with every layer in force (thirty-third
    session). Every student process now has an empty /proc of its own
    (confine.hide_processes), where the machine allows the user namespace that makes it; where
    it refuses one, `exchange` is reported missing."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    moved, zygote = _batches_moved(iso, _inode_count_module(PROC_DRAWS))
    if zygote.iso.protects("exchange"):
        assert moved == []
    else:  # said: the machine refused the namespace, or a layer the channel needs is missing
        assert isolation.MISSING["exchange"] in zygote.iso.notes


# The same count drawn by an anonymous mapping of huge pages: each makes a hugetlbfs file whose
# inode number comes from it, mapped or refused (no huge page reserved on the machine) alike.
# A unit of draws on each CPU this process may use, so every CPU's batch (the zygote's, which
# makes the next process's descriptors) runs out; it stops at the first refusal.
HUGE_PAGE_UNIT = 32768
HUGE_PAGES = {
    "inode": """
import os
return torch.tensor([float(os.fstat(1).st_ino)], dtype=torch.float64)
""",
    **{
        f"spend{units}": f"""
import mmap, os
for cpu in sorted(os.sched_getaffinity(0)):
    os.sched_setaffinity(0, {{cpu}})
    for _ in range({units} * {HUGE_PAGE_UNIT}):
        try:  # MAP_HUGETLB | MAP_NORESERVE: the mapping needs no huge page to be made
            mmap.mmap(-1, 2 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x44000).close()
        except OSError:
            return torch.zeros(1)
return torch.ones(1)
"""
        for units in (1, 2, 3)
    },
}


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_huge_page_mapping_moves_the_machine_s_count_of_inodes(bubblewrap) -> None:
    """Pipes and /proc closed, the machine's one count of inodes (get_next_ino) still had a
    writer: every anonymous mapping of huge pages (`mmap.mmap(-1, n, flags=MAP_HUGETLB ...)`,
    pure Python) makes a hugetlbfs file that draws from it, whether the machine reserved huge
    pages or not. One student process drew a chosen number of tens of thousands and the next
    process started (a crash's restart; here a fresh process) found them in the inode numbers
    of its own descriptors, every layer in force (red team, thirty-third session). Where a
    machine reserves huge pages, their count is a second channel: what one process reserved,
    another could no longer. seccomp now refuses MAP_HUGETLB to mmap."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    if not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine (exchange is reported missing)")
    zygote = Zygote(Limits(call_seconds=20, import_seconds=10, memory_bytes=256 << 20), iso)
    source = _module_of(HUGE_PAGES)

    def fresh_inode() -> float:
        reader = zygote.spawn()
        try:
            assert reader.load("huge", source).ok
            reply = reader.call("huge", "inode", {}, [])
            assert reply.ok, reply.message
            return reply.value[0].item()
        finally:
            reader.close()

    try:
        sender = zygote.spawn()
        assert sender.load("huge", source).ok
        moved = []
        for units in (1, 2, 3):
            before = fresh_inode()
            reply = sender.call("huge", f"spend{units}", {}, [])
            assert reply.ok, reply.message
            after = fresh_inode()
            # Every mapping made (a refused one stops the sender: the machine's other processes
            # draw tens of thousands a second too), and the count moved by half a unit at
            # least: the CPUs' batches, each left where the sender's draws there ended, may
            # put the two readings a round's draws on one CPU apart.
            drew = reply.value[0].item() == 1
            if drew and after - before >= HUGE_PAGE_UNIT // 2:
                moved.append(units)
    finally:
        zygote.close()
    assert moved == []


# A student process's own address-space limit, and memory it holds (touched, so a memory cgroup
# counts it) until released.
HEADROOM = {
    "limit": """
import resource
return torch.tensor([float(resource.getrlimit(resource.RLIMIT_AS)[0])], dtype=torch.float64)
""",
    "hold": """
import mmap
region = mmap.mmap(-1, 96 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for page in range(0, 96 << 20, 4096):
    region[page] = 1
_HELD.append(region)
return torch.ones(1)
""",
}


def test_no_student_process_s_memory_moves_another_s_limit(monkeypatch) -> None:
    """In a container with a memory limit (Gradescope's 768 MB), each student process's
    address-space limit was what the container's cgroup had left when it started, and the
    cgroup counts the memory of every process in it: a student process that held a chosen
    number of megabytes moved the limit of the next process started, which reads its own with
    `resource.getrlimit`, in pure Python, every layer in force (red team, thirty-third session:
    a process restarted after a crash of its own, or the next submission of a batch, reads what
    a live one holds). The headroom is now taken once, before any student code runs. The
    cgroup here is one whose usage counts the holding process's resident memory, as the
    kernel's count does (the test machine may have no limit of its own): without the fix, the
    holder's 96 MiB and its own resident pages moved the next limit by 264 MiB."""
    from grader.sandbox import client
    from grader.sandbox.memory import Cgroup

    held: list[int] = []  # the pid whose memory the container counts

    def resident(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) << 10
        return 0

    def container() -> Cgroup:
        return Cgroup(768 << 20, (200 << 20) + sum(resident(pid) for pid in held))

    monkeypatch.setattr(client, "container_memory", container)
    limits = Limits(call_seconds=5, import_seconds=10, memory_bytes=1 << 30)
    zygote = Zygote(limits, isolation.detect(allow_bubblewrap=False))
    source = "_HELD = []\n" + _module_of(HEADROOM)
    processes = []
    try:

        def started_limit() -> float:
            process = zygote.spawn()
            processes.append(process)
            assert process.load("headroom", source).ok
            reply = process.call("headroom", "limit", {}, [])
            assert reply.ok, reply.message
            return reply.value[0].item()

        before = started_limit()
        sender = processes[0]
        held.append(sender.pid)
        assert sender.call("headroom", "hold", {}, []).ok
        after = started_limit()
    finally:
        for process in processes:
            process.close()
        zygote.close()
    assert after == before, f"a held {(before - after) / (1 << 20):.0f} MiB moved the limit"


def test_a_command_s_student_processes_share_the_memory_it_found_at_its_start() -> None:
    """A batch's grader processes start their sandboxes when each first grades, the last
    perhaps while another's students already hold memory: the first reading of the command's
    process (batch takes it before it forks them, once its sandboxes are started and torch is
    imported), inherited by every grader process it forks, is what they all use."""
    from grader.sandbox.memory import Cgroup

    at_start, later = Cgroup(768 << 20, 200 << 20), Cgroup(768 << 20, 500 << 20)
    saved = list(launch._memory_at_start)
    try:
        launch._memory_at_start[:] = []
        assert launch.memory_at_start(lambda: at_start) == at_start  # none yet: taken now
        assert launch.memory_at_start(lambda: later) == at_start  # and kept
    finally:
        launch._memory_at_start[:] = saved


# A memory cgroup of the test's own, as a container is: (folder, the file its limit goes in,
# the file counting its OOM kills), or the reason none can be made here.
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _make_memory_cgroup(limit: int) -> tuple[Path, str] | str:
    """A child of this process's memory cgroup (v2, else v1), limited to `limit` bytes."""
    if os.getuid() != 0:
        return "making a memory cgroup needs root"
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError as e:
        return f"no /proc/self/cgroup: {e}"
    v1 = [line.split(":", 2)[2] for line in lines if "memory" in line.split(":")[1].split(",")]
    v2 = [line[3:] for line in lines if line.startswith("0::")]
    if v1 and (CGROUP_ROOT / "memory").is_dir():
        parent, own = CGROUP_ROOT / "memory", v1[0]
        limit_file, events = "memory.limit_in_bytes", "memory.oom_control"
    elif v2 and (CGROUP_ROOT / "cgroup.controllers").is_file():
        parent, own = CGROUP_ROOT, v2[0]
        limit_file, events = "memory.max", "memory.events"
    else:
        return "no memory cgroup controller is mounted at /sys/fs/cgroup"
    folder = parent / own.strip("/") / f"ninja-oom-{os.getpid()}"
    try:
        folder.mkdir()
    except OSError as e:
        return f"cannot make a cgroup under {folder.parent}: {e}"
    try:
        (folder / limit_file).write_text(str(limit))
    except OSError as e:
        folder.rmdir()
        return f"cannot limit the memory of {folder} (no memory controller there?): {e}"
    return folder, events


def _oom_kills(folder: Path, events: str) -> int:
    """The OOM kills the cgroup has seen (`oom_kill N` in memory.events or memory.oom_control)."""
    for line in (folder / events).read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    raise AssertionError(f"no oom_kill count in {folder / events}")


def _remove_cgroup(folder: Path) -> None:
    """Removed once every process the test put in it has ended (killed after 10 s)."""
    deadline = time.monotonic() + 10
    while (pids := (folder / "cgroup.procs").read_text().split()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:  # only the grading this test started, and what it started
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    for _ in range(50):
        with contextlib.suppress(OSError):
            folder.rmdir()
            return
        time.sleep(0.2)


# Every file of the attacker holds, at import, 140 MiB, or the most its address-space limit
# allows (in steps of 8 MiB, 16 MiB short), and keeps it 8 s (under the 20 s import limit),
# while the honest student's files are imported beside it; its functions are the solution's.
HOARD = """
import time as _time
_want = 140 << 20
try:
    _HELD = bytearray(_want)
except MemoryError:
    _HELD = bytearray()
    for _size in range(_want - (16 << 20), 0, -(8 << 20)):
        try:
            _HELD = bytearray(_size)
            break
        except MemoryError:
            continue
for _page in range(0, len(_HELD), 4096):
    _HELD[_page] = 1
_time.sleep(8)
"""
# An honest file that needs 150 MiB (a table it builds at import): more than its share.
HUNGRY = (
    "_TABLE = bytearray(150 << 20)\nfor _p in range(0, len(_TABLE), 4096):\n    _TABLE[_p] = 1\n"
)


def test_no_student_s_processes_get_another_s_killed_by_the_oom_killer(tmp_path) -> None:
    """In a container (a 768 MiB memory cgroup, Gradescope's default), every student process
    was given all that the container had left at the start, and a batch keeps several alive:
    `-j 2` grades two submissions at once, each with a process per exercise file. One student's
    three files each held 140 MiB at import; the honest student graded beside them, whose
    exercise 3 held 150 MiB of its own (within what it was given), had that process taken by
    the OOM killer, which ends the largest student process: its items "ended without
    answering", 18.86 points lost to another student's code. What was left is now split
    between the processes alive at once: the attacker's 140 MiB, and the honest 150 MiB alike,
    are each their own file's out-of-memory error, and no process is killed."""
    made = _make_memory_cgroup(768 << 20)
    if isinstance(made, str):
        pytest.skip(made)
    folder, events = made
    honest, attacker = tmp_path / "class" / "ada", tmp_path / "class" / "mallory"
    for student in (honest, attacker):
        student.mkdir(parents=True)
    for name in ("exercise1", "exercise2", "exercise3"):
        (attacker / f"{name}.py").write_text(HOARD + solution(name))
        held = HUNGRY if name == "exercise3" else ""
        (honest / f"{name}.py").write_text(held + solution(name))
    out = tmp_path / "out"
    into = str(folder / "cgroup.procs")

    def join_cgroup() -> None:
        Path(into).write_text(str(os.getpid()))

    try:
        run = subprocess.run(
            [sys.executable, "-m", "grader.cli", "grade", str(tmp_path / "class"),
             "--out", str(out), "-j", "2", "--no-progress"],
            capture_output=True, text=True, timeout=600, cwd=ROOT, preexec_fn=join_cgroup,
        )  # fmt: skip
        kills = _oom_kills(folder, events)
    finally:
        _remove_cgroup(folder)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((out / "ada" / "result.json").read_text())
    killed = [i["id"] for i in result["items"] if "ended without answering" in i["message"]]
    assert killed == [] and kills == 0, (killed, kills)
    own = [i["status"] for i in result["items"] if not i["id"].startswith("exercise3.")]
    assert set(own) == {"passed"}, own


# The mount table as listmount and statmount give it (Linux 6.8), past Landlock, which closes
# /proc/self/mountinfo: each mount's point, or the errno of the refusal.
MOUNT_TABLE = """
import ctypes, errno, re, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
LISTMOUNT, STATMOUNT, ROOT, MOUNT_POINT = 458, 457, 0xFFFFFFFFFFFFFFFF, 0x10
ids = (ctypes.c_uint64 * 512)()
listed = struct.pack('=IIQQQ', 32, 0, ROOT, 0, 0)
count = libc.syscall(LISTMOUNT, ctypes.c_char_p(listed), ids, 512, 0)
if count < 0:
    raise OSError(ctypes.get_errno(), 'listmount')
points = []
for mount in ids[:count]:
    buf = ctypes.create_string_buffer(1 << 16)
    asked = struct.pack('=IIQQQ', 32, 0, mount, MOUNT_POINT, 0)
    if libc.syscall(STATMOUNT, ctypes.c_char_p(asked), buf, 1 << 16, 0) == 0:
        points += [s.decode() for s in re.findall(rb'/[\\x21-\\x7e]*', buf.raw[:4096])]
raise RuntimeError('MOUNTS ' + ' '.join(points))
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_student_process_lists_the_mounts(bubblewrap) -> None:
    """listmount and statmount (Linux 6.8) give any process its mount namespace's table, each
    mount's point by path, asking no permission and past Landlock, which closes
    /proc/self/mountinfo: with native code (the audit hook out of the way, as a student's could
    be: "Known limits"), a student process listed bubblewrap's empty tmpfs over each folder it
    covers by path (the grading's own paths where a virtual environment made in the course's
    folder binds them), and without bubblewrap the machine's whole table (red team,
    thirty-third session: 27 mounts and 21). No student process has a use for them: seccomp
    denies both."""
    if platform.machine() not in ("x86_64", "aarch64") or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso, audit_hook=False)
    try:
        process = zygote.spawn()
        try:
            assert process.load("mounts", _module_of({"mounts": MOUNT_TABLE})).ok
            reply = process.call("mounts", "mounts", {}, [])
        finally:
            process.close()
    finally:
        zygote.close()
    assert not reply.ok and "MOUNTS" not in reply.message, reply.message[-1000:]
    # EPERM, the filter's; ENOSYS (38) where the kernel predates the calls
    assert "[Errno 1] listmount" in reply.message or "[Errno 38] listmount" in reply.message


PROC_VIEW = """
import os
seen = {}
for name in os.listdir('/proc'):
    if name.isdigit() and int(name) != os.getpid():
        try:
            with open(f'/proc/{name}/stat') as f:
                seen[name] = torch.tensor([float(f.read().rsplit(')', 1)[1].split()[7])])
        except OSError:
            pass
return seen
"""


@contextlib.contextmanager
def _two_processes_without_landlock():
    """Two student processes of one zygote in bubblewrap without Landlock, as on a kernel
    before 5.13 (root: a uid of its own each, /proc mounted hidepid=2)."""
    iso = isolation.detect()
    if not (iso.bubblewrap and os.getuid() == 0):
        pytest.skip("a uid per student process and bubblewrap's /proc need root and bubblewrap")
    zygote = Zygote(FAST, iso, landlock=False)
    writer, reader = zygote.spawn(), zygote.spawn()
    try:
        yield zygote, writer, reader
    finally:
        writer.close()
        reader.close()
        zygote.close()


def test_without_landlock_a_student_process_sees_no_other_in_proc() -> None:
    """A kernel before 5.13 has no Landlock, which closes /proc: bubblewrap's /proc listed the
    zygote and every process of the submission, and any uid reads another's page faults
    (/proc/PID/stat), so exercise 2's process read how many pages exercise 1's had touched
    (runtime.py, proc_counters_channel_between_exercises). As root, /proc is mounted
    hidepid=2 and each student has a uid of its own: each sees itself alone."""
    with _two_processes_without_landlock() as (_, writer, reader):
        source = _module_of({"view": PROC_VIEW, "touch": "_P.append(bytearray(25000 * 4096))"})
        for process in (writer, reader):
            assert process.load("proc", "_P = []\n" + source).ok
        assert writer.call("proc", "touch", {}, []).kind != "crash"
        seen = reader.call("proc", "view", {}, [])
    assert seen.ok, seen.message
    assert seen.value == {}


MEMINFO = {
    "hold": SHARED_MEMORY["hold"],
    "release": SHARED_MEMORY["release"],
    "shared_pages": """
with open('/proc/meminfo') as f:
    kib = [int(line.split()[1]) for line in f if line.startswith('Shmem:')]
return torch.tensor([kib[0] / 4.0], dtype=torch.float64)
""",
}


def test_without_landlock_the_machine_s_memory_in_proc_is_out_of_reach() -> None:
    """bubblewrap's /proc, hidepid=2 and a uid per student process hide every other process,
    but not the machine's own counters: exercise 1's process held 16,384 shared pages (Python's
    own mmap) and exercise 2's read 16,368 more in /proc/meminfo's Shmem, in pure Python, with
    seccomp and the audit hook in force (red team, twenty-eighth session), where the result said
    that no two processes of a submission could pass data. Landlock closes /proc; without it,
    every student process now has an empty /proc of its own (confine.hide_processes, since the
    names looked up in bubblewrap's drew from the machine's count of inodes), and where the
    machine refuses the namespace that makes it, the count comes through; `exchange` is
    reported missing without Landlock either way."""
    with _two_processes_without_landlock() as (zygote, writer, reader):
        source = "_HELD = []\n" + _module_of(MEMINFO)
        for process in (writer, reader):
            assert process.load("memory", source).ok
        held, unread = [], []
        for _ in range(3):  # other processes of the machine move the count too: one try in three
            before = reader.call("memory", "shared_pages", {}, [])
            assert writer.call("memory", "hold", {}, []).ok
            after = reader.call("memory", "shared_pages", {}, [])
            assert writer.call("memory", "release", {}, []).ok
            if before.ok and after.ok:
                held.append(after.value[0].item() - before.value[0].item())
            else:
                unread.append(before.message)
    if zygote.iso.proc_empty:
        assert held == [] and all("/proc/meminfo" in m for m in unread), (held, unread)
    else:
        assert max(held) > 8192  # 16384 pages held: the count followed them
    assert not zygote.iso.protects("exchange")


OPEN_FILES_HELD = 20
OPEN_FILES = {
    "pid": "import os\nreturn torch.tensor([float(os.getpid())])",
    "hold": f"""
import os
while len(_HELD) < {OPEN_FILES_HELD}:
    _HELD.append(os.open('/dev/null', os.O_RDONLY))
return torch.zeros(1)
""",
}
OPEN_FILES_SEEN = """
import os
try:
    return torch.tensor([float(os.stat('/proc/{pid}/fd').st_size)])
except OSError:
    return torch.tensor([-1.0])
"""


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "without_bubblewrap"])
def test_a_count_of_open_files_in_proc_is_hidden_or_said_to_be_seen(
    bubblewrap: bool,
) -> None:
    """The size of /proc/PID/fd is PID's count of open files (Linux >= 6.2), and `stat`
    reads it with no permission asked and past Landlock, which governs opens, not stat: not
    as root, exercise 1's process held a chosen count (/dev/null opened again and again, up
    to its 64) and exercise 2's read it back, in pure Python, every layer in force, and
    without bubblewrap so did a student graded at the same time by `grader grade -j 2` (red
    team, twenty-ninth session), where the result said that no two processes could pass
    data. Bubblewrap as root mounts /proc hidepid=2; elsewhere each student process covers
    /proc with an empty tmpfs in a user and mount namespace of its own, and where the machine
    refuses one, `exchange` is reported missing."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso)
    writer, reader = zygote.spawn(), zygote.spawn()
    try:
        assert writer.load("held", "_HELD = []\n" + _module_of(OPEN_FILES)).ok
        pid = writer.call("held", "pid", {}, [])
        assert pid.ok, pid.message
        seen = _module_of({"seen": OPEN_FILES_SEEN.format(pid=int(pid.value[0].item()))})
        assert reader.load("seen", seen).ok
        before = reader.call("seen", "seen", {}, [])
        assert writer.call("held", "hold", {}, []).ok
        after = reader.call("seen", "seen", {}, [])
    finally:
        writer.close()
        reader.close()
        zygote.close()
    assert before.ok and after.ok, (before.message, after.message)
    before_count, after_count = before.value[0].item(), after.value[0].item()
    root = os.getuid() == 0
    # As root, bubblewrap mounts /proc hidepid=2; not as root, each student process empties
    # its own (confine.hide_processes) where the machine allows a user namespace. As root
    # without bubblewrap, a Python behind a closed folder is reached through /proc/self/fd
    # (inside/reach.py), which stays: hidden or said, either way.
    must_hide = zygote.iso.bubblewrap and root or not root and _user_namespaces_allowed()
    if must_hide or zygote.iso.others_hidden:
        assert before_count == after_count == -1
        assert zygote.iso.others_hidden
    else:  # the count comes through, and the result says so
        assert after_count - before_count == OPEN_FILES_HELD
        assert not zygote.iso.protects("exchange")
        assert isolation.MISSING["exchange"] in zygote.iso.notes


HIDING_WITHOUT_MOUNTS = """
import ctypes, errno, os
from grader.sandbox.inside import confine

class NoMounts:  # a machine whose new user namespaces may not mount (Ubuntu's AppArmor)
    def __getattr__(self, name):
        return getattr(confine.ctypes.CDLL(None, use_errno=True), name)

    def mount(self, *args):
        ctypes.set_errno(errno.EPERM)
        return -1

confine._libc = NoMounts()
try:
    confine.hide_processes(os.getppid())
except OSError as e:
    print("refused:", e)
status = open("/proc/self/status").read()
print([line for line in status.splitlines() if line.startswith("CapEff")][0])
"""


def test_a_user_namespace_that_may_not_mount_leaves_no_capability_behind() -> None:
    """Where the namespace that empties /proc is made but may not mount, the process ran on
    with every capability of that namespace (its own mounts, files its uid maps); they go
    whatever the mounts gave, and a process that cannot drop them refuses to run student code."""
    if not _user_namespaces_allowed():
        pytest.skip("this machine refuses unprivileged user namespaces: nothing to drop")
    done = subprocess.run(
        [sys.executable, "-c", HIDING_WITHOUT_MOUNTS],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert "refused: [Errno 1] mount --make-rprivate /" in done.stdout, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].split() == ["CapEff:", "0000000000000000"], done.stdout


def _user_namespaces_allowed() -> bool:
    """Whether an unprivileged process may make a user and mount namespace here."""
    code = (
        "import ctypes, os, sys; os.setgid(65534) if os.getuid() == 0 else None; "
        "os.setuid(65534) if os.getuid() == 0 else None; "
        "sys.exit(ctypes.CDLL(None).unshare(0x10000000 | 0x00020000) != 0)"
    )
    return subprocess.run([sys.executable, "-I", "-c", code], check=False).returncode == 0


UNIX_SOCKET_CALL = """
import socket
s = socket.socket(socket.AF_UNIX)
s.connect({path!r})
s.sendall(b'from a student process')
s.close()
return torch.zeros(1)
"""


def test_without_seccomp_a_unix_socket_of_the_machine_is_reached_and_said_so() -> None:
    """Landlock covers TCP and abstract Unix sockets (ABI >= 6), not a Unix socket with a path:
    without seccomp and bubblewrap, native code (the audit hook switched off here, as raw
    memory switches it off: docs/threat-model.md, "Known limits") connected to a socket the
    grading user served, as an ssh-agent or the session's D-Bus (which starts programs as that
    user) would be (red team, twenty-ninth session). The note said only "can open connections";
    it now names the grading user's own Unix sockets."""
    import threading

    folder = Path(tempfile.mkdtemp(prefix="ninja-rt-socket-"))
    server = socket.socket(socket.AF_UNIX)
    zygote = None
    try:
        folder.chmod(0o711)  # as root, the student's fresh uid reaches it as a user's socket
        path = folder / "agent.sock"
        server.bind(str(path))
        path.chmod(0o777)
        server.listen(1)
        # Long enough for a loaded machine: the thread starts once the student's file is loaded,
        # and a timeout of 5 s from before the zygote's start ran out under a full suite.
        server.settimeout(60)
        heard: list[bytes] = []

        def serve() -> None:
            with contextlib.suppress(OSError):
                connection, _ = server.accept()
                with connection:
                    heard.append(connection.recv(100))

        thread = threading.Thread(target=serve, daemon=True)
        iso = isolation.detect(allow_bubblewrap=False)
        zygote = Zygote(FAST, iso, seccomp=False, audit_hook=False)
        process = zygote.spawn()
        try:
            source = _module_of({"connect": UNIX_SOCKET_CALL.format(path=str(path))})
            assert process.load("unix_socket", source).ok
            thread.start()
            reply = process.call("unix_socket", "connect", {}, [])
        finally:
            process.close()
        thread.join(60)
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
        if zygote is not None:
            zygote.close()
    assert reply.ok, reply.message
    assert heard == [b"from a student process"]
    assert not zygote.iso.protects("network")
    assert isolation.MISSING["network"] in zygote.iso.notes
    assert "the grading user's own" in isolation.MISSING["network"]


def _unread_file(folder: Path) -> Path | None:
    """A file under `folder` whose next read updates its access time (relatime: not read since
    it was last changed, or for a day), or None."""
    day = 24 * 3600 * 10**9
    for path in sorted(folder.rglob("*.h"))[:5000]:
        st = path.stat()
        if st.st_atime_ns <= st.st_mtime_ns or st.st_atime_ns < time.time_ns() - day:
            return path
    return None


def test_a_read_under_bubblewrap_leaves_access_times_as_they_were() -> None:
    """Reading a file not read for a day sets its access time, which any process sees: one bit
    a file, left on the machine's disk for the next process, the next submission, the next
    batch (docs/threat-model.md, "Access times"). bubblewrap binds the installation read-only,
    where a read changes no time: a student process reads such a file, and its time stays."""
    import torch

    iso = isolation.detect()
    if not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    path = _unread_file(Path(torch.__file__).parent / "include")
    if path is None:
        pytest.skip("every header of torch was read within the day")
    before = path.stat().st_atime_ns
    body = f"with open({str(path)!r}, 'rb') as f:\n    f.read(1)\nreturn torch.zeros(1)"
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        try:
            assert process.load("reader", _module_of({"read": body})).ok
            reply = process.call("reader", "read", {}, [])
        finally:
            process.close()
    finally:
        zygote.close()
    assert reply.ok, reply.message
    assert path.stat().st_atime_ns == before


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
@pytest.mark.parametrize("pid", [1, 2, 41, 59, 4242, 0x7FFF0001, 2**22])
def test_the_filter_made_in_the_zygote_is_the_one_made_for_the_pid(pid) -> None:
    """The zygote assembles the seccomp program once and each child writes its pid into it:
    the result is, instruction for instruction, the program assembled for that pid, whatever
    the pid (one that equals a system call's number, socket=41 or execve=59, included)."""
    table = confine._SYSCALLS[platform.machine()]
    made_here = b"".join(struct.pack("=HBBI", *i) for i in confine._program(table, pid))
    assert confine.Filter().for_pid(pid) == made_here


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_seccomp_alone_keeps_the_scheduling_of_other_processes_out_of_reach() -> None:
    """Where student code runs as the grader's own user (no root), only seccomp stands between
    a student process and the scheduling of the grader, its zygote and the next students: the
    kernel lets a process lower the priority of any process of its uid (for good: an ordinary
    user cannot raise it back), or of all of them at once, and pin any of them to one CPU. The
    filter alone (no audit hook, run here as any user) refuses every such change aimed at
    another process, a process group or a user, and still lets a process change its own."""
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    program = textwrap.dedent(
        f"""
        import ctypes, os, platform, sys, threading, time
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        ioprio_nr = {{"x86_64": 251, "aarch64": 30}}[platform.machine()]
        libc = ctypes.CDLL(None, use_errno=True)

        def ioprio_set(which, who, value):
            if libc.syscall(ioprio_nr, which, who, value) != 0:
                raise OSError(ctypes.get_errno(), "ioprio_set")

        def ioprio_get(which, who):
            if libc.syscall(ioprio_nr + 1, which, who) < 0:  # ioprio_get follows ioprio_set
                raise OSError(ctypes.get_errno(), "ioprio_get")

        victim, cpus = {victim.pid}, sorted(os.sched_getaffinity(0))
        confine.seccomp(os.getpid())
        tries = {{
            'nice_process': lambda: os.setpriority(os.PRIO_PROCESS, victim, 19),
            'nice_group': lambda: os.setpriority(os.PRIO_PGRP, victim, 19),
            'nice_user': lambda: os.setpriority(os.PRIO_USER, 0x7FFFFFF0, 19),
            'affinity': lambda: os.sched_setaffinity(victim, cpus[:1]),
            'scheduler': lambda: os.sched_setscheduler(victim, os.SCHED_IDLE, os.sched_param(0)),
            'param': lambda: os.sched_setparam(victim, os.sched_param(0)),
            'io_priority': lambda: ioprio_set(1, victim, 3 << 13),
            'io_priority_user': lambda: ioprio_set(3, 0x7FFFFFF0, 3 << 13),
            'own_nice': lambda: os.setpriority(os.PRIO_PROCESS, 0, 1),
            'own_nice_by_pid': lambda: os.setpriority(os.PRIO_PROCESS, os.getpid(), 2),
            'own_affinity': lambda: os.sched_setaffinity(0, cpus),
            'own_affinity_by_pid': lambda: os.sched_setaffinity(os.getpid(), cpus),
            'own_io_priority': lambda: ioprio_set(1, 0, (2 << 13) | 4),
            # what another process sets on itself, read back, is a channel between two
            'read_nice': lambda: os.getpriority(os.PRIO_PROCESS, victim),
            'read_nice_user': lambda: os.getpriority(os.PRIO_USER, 0x7FFFFFF0),
            'read_affinity': lambda: os.sched_getaffinity(victim),
            'read_scheduler': lambda: os.sched_getscheduler(victim),
            'read_param': lambda: os.sched_getparam(victim),
            'read_interval': lambda: os.sched_rr_get_interval(victim),
            'read_io_priority': lambda: ioprio_get(1, victim),
            'own_read_nice': lambda: os.getpriority(os.PRIO_PROCESS, 0),
            'own_read_affinity': lambda: os.sched_getaffinity(0),
            'own_read_affinity_by_pid': lambda: os.sched_getaffinity(os.getpid()),
            'own_read_io_priority': lambda: ioprio_get(1, 0),
            'read_cpu_clock': lambda: time.clock_gettime(((~victim) << 3) | 2),
            'read_thread_clock': lambda: time.clock_gettime(((~victim) << 3) | 6),
            'own_cpu_clock': lambda: time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID),
            'own_cpu_clock_by_pid': lambda: time.clock_gettime(((~os.getpid()) << 3) | 2),
            'own_cpu_clock_by_zero': lambda: time.clock_gettime(((~0) << 3) | 2),
            'own_thread_clock': lambda: time.clock_gettime(time.pthread_getcpuclockid(
                threading.get_ident())),
            'monotonic': lambda: time.clock_gettime(time.CLOCK_MONOTONIC_RAW),
        }}
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'allowed')
            except OSError as e:
                print(name, 'denied' if e.errno == 1 else e)
        """
    )
    try:
        run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
        untouched = os.getpriority(os.PRIO_PROCESS, victim.pid) == 0
        affinity = os.sched_getaffinity(victim.pid) == os.sched_getaffinity(0)
    finally:
        victim.kill()
        victim.wait()
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    others = ("nice_process", "nice_group", "nice_user", "affinity", "scheduler", "param")
    reads = ("read_nice", "read_nice_user", "read_affinity", "read_scheduler", "read_param")
    own_reads = ("own_read_nice", "own_read_affinity", "own_read_affinity_by_pid")
    assert lines == {
        **dict.fromkeys([*others, "io_priority", "io_priority_user"], "denied"),
        **dict.fromkeys([*reads, "read_interval", "read_io_priority"], "denied"),
        **dict.fromkeys(["own_nice", "own_nice_by_pid", "own_affinity"], "allowed"),
        **dict.fromkeys(["own_affinity_by_pid", "own_io_priority"], "allowed"),
        **dict.fromkeys([*own_reads, "own_read_io_priority"], "allowed"),
        **dict.fromkeys(["read_cpu_clock", "read_thread_clock"], "denied"),
        **dict.fromkeys(["own_cpu_clock", "own_cpu_clock_by_pid"], "allowed"),
        **dict.fromkeys(["own_cpu_clock_by_zero", "own_thread_clock", "monotonic"], "allowed"),
    }
    assert untouched and affinity


def test_seccomp_alone_denies_locks_exec_and_memfd(tmp_path) -> None:
    """The kernel layer on its own (no audit hook): a plain process under the filter. A futex
    shared through a page of a file every process maps passed a value between two student
    processes (runtime.py, futex_channel_between_exercises): only private ones are allowed. So
    did the machine's count of AIO events (aio_count_channel_between_exercises): no AIO. And
    the count pipes' and memfd_secret's inodes are drawn from: neither is made."""
    program = textwrap.dedent(
        f"""
        import ctypes, errno, fcntl, os, platform, struct, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        # PROT_READ, MAP_SHARED: a page of a file every student process may read
        shared = libc.mmap(None, 4096, 1, 1, os.open(os.__file__, os.O_RDONLY), 0)
        nr = {{'x86_64': 202, 'aarch64': 98}}[platform.machine()]
        io_setup = {{'x86_64': 206, 'aarch64': 0}}[platform.machine()]
        aio = ctypes.c_ulong(0)

        def call(*args):
            if libc.syscall(*map(ctypes.c_long, args)) < 0:
                raise OSError(ctypes.get_errno(), 'futex')
            return 0

        def futex(op):  # a wait does not wait: the value it expects is not the page's
            return call(nr, shared, op, ctypes.c_uint32(0xFFFFFFFF).value, 0, 0, 0)

        confine.seccomp(os.getpid())
        fd = os.open({str(tmp_path)!r}, os.O_RDONLY)
        tries = {{
            'flock': lambda: fcntl.flock(fd, fcntl.LOCK_SH),
            'posix_lock': lambda: fcntl.fcntl(fd, fcntl.F_SETLK,
                                              struct.pack('hhqqi4x', 0, 0, 5, 1, 0)),
            'ofd_lock': lambda: fcntl.fcntl(fd, 37, struct.pack('hhqqi4x', 0, 0, 5, 1, 0)),
            'memfd': lambda: os.memfd_create('x'),
            # Pipes' and memfd_secret's inode numbers: one count for the whole machine
            'pipe': os.pipe,
            'memfd_secret': lambda: call(447, 0),
            'exec': lambda: os.execv('/bin/true', ['true']),
            # A futex on a page every process may map: shared, it would wake another process
            'shared_futex': lambda: futex(0),  # FUTEX_WAIT
            'shared_futex_wake': lambda: futex(1),  # FUTEX_WAKE
            'futex_waitv': lambda: call(449, 0, 0, 0, 0, 0),
            'futex_wake2_shared': lambda: call(454, shared, 1, 1, 2),  # FUTEX2_SIZE_U32
            # Native AIO: every context's events count into one number for the whole machine
            'aio_context': lambda: call(io_setup, 1, ctypes.addressof(aio)),
        }}
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'ALLOWED')
            except OSError as e:
                print(name, 'denied' if e.errno == errno.EPERM else errno.errorcode[e.errno])
        print('getfl', fcntl.fcntl(fd, fcntl.F_GETFL) >= 0)
        print('private_futex', futex(1 | 128) == 0)  # FUTEX_WAKE_PRIVATE: no one waits
        """
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    if not confine.seccomp_supported():
        assert run.returncode != 0 and "seccomp" in run.stderr
        return
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    assert lines == {
        "flock": "denied",
        "posix_lock": "denied",
        "ofd_lock": "denied",
        "memfd": "denied",
        "pipe": "denied",
        "memfd_secret": "denied",
        "exec": "denied",
        "shared_futex": "denied",
        "shared_futex_wake": "denied",
        "futex_waitv": "ENOSYS",  # its flags sit in structs the filter cannot read
        "futex_wake2_shared": "denied",
        "aio_context": "denied",
        "getfl": "True",  # fcntl itself still works: only the lock commands are refused
        "private_futex": "True",  # every lock of a single process: glibc's, Python's, libgomp's
    }


def test_seccomp_alone_lets_nothing_be_created_or_changed(tmp_path) -> None:
    """Where Landlock is missing, seccomp is what keeps a student process from making names in
    the machine's /tmp (they outlive grading, and its siblings see them): no file, folder, FIFO,
    node or link, by any call, and no rename; an open that would create (O_CREAT, O_TMPFILE) is
    refused, openat2 (whose flags it cannot read) looks absent. Nor is anything there changed
    (run as the grading user, student code could otherwise empty or delete its other files):
    no removal, truncation, open for writing, mode, owner, times or xattrs. The filter alone,
    no audit hook: reading and listing still work."""
    program = textwrap.dedent(
        f"""
        import ctypes, errno, os, platform, stat, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        here = {str(tmp_path)!r}
        def at(name):
            return os.path.join(here, name)
        for name in ('file', 'spare'):
            with open(at(name), 'w') as f:
                f.write('kept')
        os.mkdir(at('folder'))
        try:
            os.setxattr(at('file'), 'user.kept', b'1')
            xattrs = True
        except OSError:  # a file system without user xattrs: the two calls are not tried
            xattrs = False
        reading = os.open(at('file'), os.O_RDONLY)
        libc = ctypes.CDLL(None, use_errno=True)

        def syscall(nr, *args):
            if libc.syscall(nr, *args) < 0:
                raise OSError(ctypes.get_errno(), 'syscall')

        def openat2(path):
            how = (ctypes.c_uint64 * 3)(os.O_RDONLY | os.O_CREAT, 0o600, 0)
            syscall(437, -100, path.encode(), how, ctypes.c_size_t(24))

        creat = {{'x86_64': 85}}.get(platform.machine())
        confine.seccomp(os.getpid())
        tries = {{
            'mkfifo': lambda: os.mkfifo(at('new-fifo')),
            'mknod': lambda: os.mknod(at('new-node'), stat.S_IFREG | 0o600),
            'mknod_socket': lambda: os.mknod(at('new-socket'), stat.S_IFSOCK | 0o600),
            'mkdir': lambda: os.mkdir(at('new-folder')),
            'symlink': lambda: os.symlink(here, at('new-symlink')),
            'link': lambda: os.link(at('file'), at('new-link')),
            'rename': lambda: os.rename(at('spare'), at('new-name')),
            'replace_existing': lambda: os.replace(at('spare'), at('file')),
            'creat': lambda: creat and syscall(creat, at('new-creat').encode(), 0o600),
            'o_creat': lambda: os.open(at('new-open'), os.O_RDONLY | os.O_CREAT),
            'o_creat_existing': lambda: os.open(at('file'), os.O_WRONLY | os.O_CREAT),
            'o_tmpfile': lambda: os.open(here, os.O_TMPFILE | os.O_RDWR),
            'openat2': lambda: openat2(at('new-openat2')),
            'unlink': lambda: os.unlink(at('file')),
            'rmdir': lambda: os.rmdir(at('folder')),
            'truncate': lambda: os.truncate(at('file'), 0),
            'ftruncate': lambda: os.ftruncate(reading, 0),
            'fallocate': lambda: os.posix_fallocate(reading, 0, 1),
            'chmod': lambda: os.chmod(at('file'), 0o600),
            'fchmod': lambda: os.fchmod(reading, 0o600),
            'chown': lambda: os.chown(at('file'), os.getuid(), os.getgid()),
            'fchown': lambda: os.fchown(reading, os.getuid(), os.getgid()),
            'utime': lambda: os.utime(at('file'), (0, 0)),
            'o_wronly': lambda: os.open(at('file'), os.O_WRONLY),
            'o_rdwr': lambda: os.open(at('file'), os.O_RDWR),
            'o_trunc': lambda: os.open(at('file'), os.O_RDONLY | os.O_TRUNC),
        }}
        if xattrs:
            tries['setxattr'] = lambda: os.setxattr(at('file'), 'user.ninja', b'x')
            tries['removexattr'] = lambda: os.removexattr(at('file'), 'user.kept')
        print('xattrs', xattrs)
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'ALLOWED')
            except OSError as e:
                print(name, errno.errorcode.get(e.errno, e.errno))
        with open(at('file')) as f:
            print('read', repr(f.read()))
        os.close(os.open(here, os.O_RDONLY | os.O_DIRECTORY))
        print('listed', sorted(os.listdir(here)))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    if not confine.seccomp_supported():
        assert run.returncode != 0 and "seccomp" in run.stderr
        return
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    made = ("mkfifo", "mknod", "mknod_socket", "mkdir", "symlink", "link", "rename")
    changed = ("unlink", "rmdir", "truncate", "ftruncate", "fallocate", "chmod", "fchmod")
    changed += ("chown", "fchown", "utime")
    if lines.pop("xattrs") == "True":
        changed += ("setxattr", "removexattr")
    assert lines == {
        **dict.fromkeys([*made, "replace_existing", "creat"], "EPERM"),
        **dict.fromkeys(["o_creat", "o_creat_existing", "o_tmpfile"], "EPERM"),
        "openat2": "ENOSYS",  # as on a kernel without it: callers fall back to openat
        **dict.fromkeys(changed, "EPERM"),
        **dict.fromkeys(["o_wronly", "o_rdwr", "o_trunc"], "EPERM"),
        "read": "'kept'",
        "listed": "['file', 'folder', 'spare']",
    }


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_seccomp_alone_lets_no_ioctl_change_a_file_or_terminal(tmp_path) -> None:
    """Many ioctls change what lies outside the process through a descriptor opened only for
    reading: a file's attributes (no-dump, no-atime, synchronous writes; FS_IOC_FSSETXATTR is
    the ioctl twin of file_setattr, which the filter denies) need only the owner's uid, which
    student code has wherever it runs as the grading user; a terminal's settings need nothing;
    FIOSETOWN aims SIGIO at any process of the uid.
    The filter alone (no audit hook) lets through only the commands that read a descriptor's
    state or set its own flags, which the worker and Python use; the rest get ENOTTY."""
    program = textwrap.dedent(
        f"""
        import errno, fcntl, os, socket, struct, sys, termios
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_NODUMP_FL = 0x80086601, 0x40086602, 0x40
        FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR, FS_XFLAG_NOATIME = 0x801C581F, 0x401C5820, 0x40
        path = os.path.join({str(tmp_path)!r}, 'file')
        with open(path, 'w') as f:
            f.write('kept')
        reading = os.open(path, os.O_RDONLY)
        try:  # what the file system supports, asked before the filter
            flags = struct.unpack('l', fcntl.ioctl(reading, FS_IOC_GETFLAGS, bytes(8)))[0]
            fsx = fcntl.ioctl(reading, FS_IOC_FSGETXATTR, bytes(28))
        except OSError:
            flags = fsx = None
        print('supported', flags is not None)
        leader, follower = os.openpty()
        settings = termios.tcgetattr(follower)
        ours, theirs = socket.socketpair()
        theirs.send(b'abc')
        confine.seccomp(os.getpid())
        tries = {{
            'setflags': lambda: fcntl.ioctl(reading, FS_IOC_SETFLAGS,
                                            struct.pack('l', flags | FS_NODUMP_FL)),
            'fssetxattr': lambda: fcntl.ioctl(reading, FS_IOC_FSSETXATTR,
                struct.pack('I', struct.unpack_from('I', fsx)[0] | FS_XFLAG_NOATIME) + fsx[4:]),
            'terminal': lambda: termios.tcsetattr(follower, termios.TCSANOW, settings),
            # SIGIO aimed at another process of the uid (its parent here): fcntl's F_SETOWN twin
            'sigio_owner': lambda: fcntl.ioctl(ours.fileno(), 0x8901,
                                               struct.pack('i', os.getppid())),
            'isatty': lambda: os.isatty(follower),
            'fionread': lambda: fcntl.ioctl(ours.fileno(), termios.FIONREAD, bytes(4)),
            'nonblocking': lambda: ours.setblocking(False),
            'inheritable': lambda: os.set_inheritable(reading, True),
        }}
        if flags is None:
            del tries['setflags'], tries['fssetxattr']
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'allowed')
            except (OSError, termios.error) as e:
                print(name, errno.errorcode.get(e.args[0], e.args[0]))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    files = ("setflags", "fssetxattr") if lines.pop("supported") == "True" else ()
    assert lines == {
        **dict.fromkeys([*files, "terminal", "sigio_owner"], "ENOTTY"),
        **dict.fromkeys(["isatty", "fionread", "nonblocking", "inheritable"], "allowed"),
    }


def test_the_audit_hook_refuses_ioctls_beyond_a_descriptors_own() -> None:
    """The second layer, where seccomp is missing (an architecture without a filter): Python's
    fcntl.ioctl raises an audit event, and the hook refuses every command seccomp would, by the
    low half the kernel reads, so the file-attribute, generation and SIGIO-owner commands fail
    there too; those Python itself makes (isatty, blocking, close-on-exec) still work."""
    tries = {
        "setflags": 0x40086602, "fssetxattr": 0x401C5820, "setversion": 0x40087602,
        "sigio_owner": 0x8901, "high_half": (1 << 32) | 0x40086602, "tcgets": 0x5401,
        "fionbio": 0x5421, "fioclex": 0x5451,
    }  # fmt: skip
    verdicts = hook_verdicts("fcntl.ioctl", {k: (0, v, b"") for k, v in tries.items()})
    refused = ("setflags", "fssetxattr", "setversion", "sigio_owner", "high_half")
    assert verdicts == {
        **dict.fromkeys(refused, "refused"),
        **dict.fromkeys(["tcgets", "fionbio", "fioclex"], "allowed"),
    }


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_seccomp_alone_lets_no_descriptor_signal_another_process() -> None:
    """A descriptor's owner gets SIGIO, or any signal F_SETSIG names (SIGKILL included), each
    time it has input: a student process that names another process of its uid as the owner of
    a pipe and writes into it signals that process past the filter's rule on kill (as the
    grading user, with no Landlock scope: the grader, its zygote, the TA's shell). The filter
    alone (no audit hook) refuses to set an owner or a signal, and fcntl's own-descriptor
    commands still work."""
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    program = textwrap.dedent(
        f"""
        import errno, fcntl, os, signal, struct, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        victim = {victim.pid}
        r, w = os.pipe()  # made before the filter, as a student process's output pipe is
        confine.seccomp(os.getpid())
        F_SETSIG, F_SETOWN_EX, F_OWNER_PID = 10, 15, 1
        tries = {{
            'setown': lambda: fcntl.fcntl(r, fcntl.F_SETOWN, victim),
            'setown_ex': lambda: fcntl.fcntl(r, F_SETOWN_EX,
                                             struct.pack('ii', F_OWNER_PID, victim)),
            'setsig': lambda: fcntl.fcntl(r, F_SETSIG, signal.SIGTERM),
            'async': lambda: fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK),
            'write': lambda: os.write(w, b'x'),
            'getfl': lambda: fcntl.fcntl(r, fcntl.F_GETFL),
            'getown': lambda: fcntl.fcntl(r, fcntl.F_GETOWN),
            'dup': lambda: os.close(os.dup(r)),
            'cloexec': lambda: fcntl.fcntl(r, fcntl.F_SETFD, fcntl.FD_CLOEXEC),
        }}
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'allowed')
            except OSError as e:
                print(name, errno.errorcode.get(e.errno, e.errno))
        """
    )
    try:
        run = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
        )
        alive = victim.poll() is None
    finally:
        victim.kill()
        victim.wait()
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    assert lines == {
        **dict.fromkeys(["setown", "setown_ex", "setsig"], "EPERM"),
        **dict.fromkeys(["async", "write", "getfl", "getown", "dup", "cloexec"], "allowed"),
    }
    assert alive


def test_the_audit_hook_refuses_fcntl_beyond_a_descriptors_own() -> None:
    """The second layer for Python's fcntl.fcntl: a signal owner (F_SETOWN, F_SETOWN_EX,
    F_SETSIG) and a lock are refused, whatever the kernel layers; the commands Python itself
    makes (flags, close-on-exec, duplicating) still work."""
    tries = {"setown": 8, "setsig": 10, "setown_ex": 15, "setlk": 6, "setpipe_sz": 1031,
             "getfl": 3, "setfl": 4, "setfd": 2, "dupfd_cloexec": 1030}  # fmt: skip
    verdicts = hook_verdicts("fcntl.fcntl", {k: (0, v, 0) for k, v in tries.items()})
    assert verdicts == {
        **dict.fromkeys(["setown", "setsig", "setown_ex", "setlk", "setpipe_sz"], "refused"),
        **dict.fromkeys(["getfl", "setfl", "setfd", "dupfd_cloexec"], "allowed"),
    }


def test_a_call_site_warmed_before_the_switch_off_reaches_the_refusal() -> None:
    """CPython 3.11 specialises a call site that ran often enough to the type's version and
    keeps the method it found there. The switch-off writes into C types' dicts behind
    CPython's back: torch's engine's `run_backward`, called from one site before it and again
    after, must give the refusal there too, not torch's own engine (nor, the original freed,
    a crash: what it did without telling CPython the type changed)."""
    program = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import torch
        import noautograd
        engine = torch.autograd.Variable._execution_engine

        def backward():
            return engine.run_backward((), (), False)  # torch's own: missing arguments

        for _ in range(50):
            try:
                backward()
            except TypeError:
                pass
        noautograd.switch_off()
        try:
            backward()
        except noautograd.AutogradForbidden:
            print("refused")
        except TypeError:
            print("torch's engine")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert (run.returncode, run.stdout.strip()) == (0, "refused"), run.stderr[-2000:]


def hook_verdicts(event: str, tries: dict[str, tuple]) -> dict[str, str]:
    """What a student process's audit hook says to each of `tries` (the event's arguments),
    the hook alone: "allowed" or "refused" (a PermissionError)."""
    program = textwrap.dedent(
        f"""
        import json, os, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import noautograd
        hook = noautograd._hook_for(os.getpid(), ('/nowhere/', '/nowhere/'))
        verdicts = {{}}
        for name, args in {tries!r}.items():
            try:
                hook({event!r}, args)
                verdicts[name] = 'allowed'
            except PermissionError:
                verdicts[name] = 'refused'
        print(json.dumps(verdicts))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_seccomp_alone_reaches_no_ipc_object_it_did_not_make() -> None:
    """SysV segments, queues and semaphore sets are named by small ids that /proc/sysvipc lists,
    POSIX queues by a name: without bubblewrap's IPC namespace, a process that cannot make one
    (shmget, msgget, semget and mq_open are denied) could still attach, write, read or remove
    another's by its id. The filter alone (no audit hook) refuses every call on an existing
    one; the objects (made here, by this process) are as they were."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    ipc_private, ipc_creat, ipc_rmid = 0, 0o1000, 0
    shm = libc.shmget(ipc_private, 4096, ipc_creat | 0o600)
    msq = libc.msgget(ipc_private, ipc_creat | 0o600)
    sem = libc.semget(ipc_private, 1, ipc_creat | 0o600)
    queue = f"/ninja-test-{os.getpid()}"
    mqd = libc.mq_open(queue.encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    program = textwrap.dedent(
        f"""
        import ctypes, errno, os, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        shm, msq, sem, queue = {shm}, {msq}, {sem}, {queue!r}
        confine.seccomp(os.getpid())
        message = (ctypes.c_long * 3)(1, 0x6B636F6C6C6F63, 0)
        tries = {{
            'shmat': lambda: libc.shmat(shm, None, 0) != ctypes.c_void_p(-1).value,
            'shmctl': lambda: libc.shmctl(shm, 0, None) == 0,  # IPC_RMID
            'msgsnd': lambda: libc.msgsnd(msq, message, 8, 0o4000) == 0,  # IPC_NOWAIT
            'msgrcv': lambda: libc.msgrcv(msq, message, 8, 0, 0o4000) >= 0,
            'msgctl': lambda: libc.msgctl(msq, 0, None) == 0,
            'semctl': lambda: libc.semctl(sem, 0, 16, 7) == 0,  # SETVAL
            'semop': lambda: libc.semop(sem, (ctypes.c_short * 3)(0, 1, 0o4000), 1) == 0,
            'mq_unlink': lambda: libc.mq_unlink(queue.encode()) == 0,
        }}
        for name, attempt in tries.items():
            ok = attempt()
            print(name, 'ALLOWED' if ok else errno.errorcode.get(ctypes.get_errno(), '?'))
        """
    )
    try:
        assert min(shm, msq, sem, mqd) >= 0, "could not make the IPC objects"
        run = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
        )
        assert libc.semctl(sem, 0, 12) == 0  # GETVAL: no one set it
    finally:
        removed = [
            remove() if ok else None
            for ok, remove in (
                (shm >= 0, lambda: libc.shmctl(shm, ipc_rmid, None)),
                (msq >= 0, lambda: libc.msgctl(msq, ipc_rmid, None)),
                (sem >= 0, lambda: libc.semctl(sem, 0, ipc_rmid)),
                (mqd >= 0, lambda: libc.mq_close(mqd) + libc.mq_unlink(queue.encode())),
            )
        ]
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    calls = ("shmat", "shmctl", "msgsnd", "msgrcv", "msgctl", "semctl", "semop", "mq_unlink")
    # glibc's mq_unlink turns the kernel's EPERM into EACCES (what the old interface said)
    assert lines == {**dict.fromkeys(calls, "EPERM"), "mq_unlink": "EACCES"}
    assert removed == [0, 0, 0, 0], "an IPC object was removed from under its maker"


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_seccomp_alone_makes_no_unix_socket_and_binds_no_name(tmp_path) -> None:
    """socketpair makes Unix sockets past socket()'s denial: bound to a path, one made a socket
    file that outlived grading (wherever the user may write: the machine's /tmp), bound to an
    abstract name or sending datagrams, it reached the machine's Unix sockets and the other
    processes of its submission. The filter alone (no audit hook) refuses socketpair, and
    bind, connect and listen on the socket a process already holds (the grader's, connected:
    talking on it still works)."""
    program = textwrap.dedent(
        f"""
        import errno, os, socket, sys, _socket
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        here = {str(tmp_path)!r}
        held, grader = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        confine.seccomp(os.getpid())
        def talk():
            held.sendall(b'ok')
            assert grader.recv(2) == b'ok'
        tries = {{
            'socketpair': lambda: _socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM),
            'bind_path': lambda: held.bind(os.path.join(here, 'bound')),
            'bind_abstract': lambda: held.bind('\\0ninja-test-' + str(os.getpid())),
            'connect': lambda: held.connect(os.path.join(here, 'nowhere')),
            'listen': lambda: held.listen(1),
            'talk': talk,
        }}
        for name, attempt in tries.items():
            try:
                attempt()
                print(name, 'allowed')
            except OSError as e:
                print(name, errno.errorcode.get(e.errno, e.errno))
        print('listed', os.listdir(here))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    made = ("socketpair", "bind_path", "bind_abstract", "connect", "listen")
    assert lines == {**dict.fromkeys(made, "EPERM"), "talk": "allowed", "listed": "[]"}


def test_the_audit_hook_lets_no_socket_bind_connect_or_address() -> None:
    """_socket.socketpair makes sockets without the socket.__new__ event the hook refuses, so
    the hook refuses what such a socket could reach beyond its pair (where seccomp is missing):
    a name bound, a connection, a datagram to an address. Sending on a connected socket, as
    the worker does, stays allowed."""
    program = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import noautograd
        hook = noautograd._hook_for(os.getpid(), ('/nowhere/', '/nowhere/'))
        tries = {{
            'bind': ('socket.bind', (None, '/tmp/x')),
            'connect': ('socket.connect', (None, '/dev/log')),
            'sendto': ('socket.sendto', (None, '/dev/log')),
            'sendmsg_to': ('socket.sendmsg', (None, '\\0name')),
            'sendmsg': ('socket.sendmsg', (None, None)),
        }}
        for name, (event, args) in tries.items():
            try:
                hook(event, args)
                print(name, 'allowed')
            except PermissionError:
                print(name, 'refused')
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)
    refused = ("bind", "connect", "sendto", "sendmsg_to")
    assert lines == {**dict.fromkeys(refused, "refused"), "sendmsg": "allowed"}


def _errnos_around_seccomp(calls: dict[str, tuple[int, ...]]) -> dict[str, tuple[str, str]]:
    """Each raw system call (number and arguments) made by a plain process before and after it
    puts the filter on itself: {name: (errno after, errno before)}, "ALLOWED" for success."""
    program = textwrap.dedent(
        f"""
        import ctypes, errno, os, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        libc = ctypes.CDLL(None, use_errno=True)
        def call(args):
            failed = libc.syscall(*args) < 0
            return errno.errorcode.get(ctypes.get_errno(), '?') if failed else 'ALLOWED'
        before = {{name: call(args) for name, args in {calls!r}.items()}}
        confine.seccomp(os.getpid())
        for name, args in {calls!r}.items():
            print(name, call(args), before[name])
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return {line.split()[0]: tuple(line.split()[1:]) for line in run.stdout.splitlines()}


def test_seccomp_alone_watches_no_file_or_folder() -> None:
    """inotify and fanotify reach any file or folder the uid may read, past Landlock (which
    covers opens, not watches): the names of files made in a watched folder and every open of a
    watched file, the grader's included. Called with a bad descriptor where one is needed, so
    that EPERM can only be the filter's."""
    calls = {
        "x86_64": {"inotify_init": (253,), "inotify_init1": (294, 0),
                   "inotify_add_watch": (254, -1, 0, 0xFFF), "inotify_rm_watch": (255, -1, 1),
                   "fanotify_init": (300, 0x200, 0), "fanotify_mark": (301, -1, 0, 0, 0, 0)},
        "aarch64": {"inotify_init1": (26, 0), "inotify_add_watch": (27, -1, 0, 0xFFF),
                    "inotify_rm_watch": (28, -1, 1), "fanotify_init": (262, 0x200, 0),
                    "fanotify_mark": (263, -1, 0, 0, 0, 0)},
    }.get(platform.machine())  # fmt: skip
    if calls is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    seen = _errnos_around_seccomp(calls)
    assert {name: after for name, (after, _) in seen.items()} == dict.fromkeys(calls, "EPERM")


def test_seccomp_alone_keeps_the_kernel_log_out_of_reach() -> None:
    """Where kernel.dmesg_restrict is 0 any process reads the kernel's log, and a segfault
    leaves a line there with its faulting address, which the crashing process chooses: a channel
    from one student process to the next, past every other layer. Asked for the log's size,
    which root may always read, so that as root EPERM can only be the filter's (where the
    sysctl is 0, a plain user's call succeeds before the filter and fails after it)."""
    number = {"x86_64": 103, "aarch64": 116}.get(platform.machine())
    if number is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    size_buffer = 10  # SYSLOG_ACTION_SIZE_BUFFER
    seen = _errnos_around_seccomp({"syslog": (number, size_buffer, 0, 0)})
    after, before = seen["syslog"]
    assert after == "EPERM"
    if os.getuid() == 0:
        assert before == "ALLOWED"


def test_seccomp_alone_keeps_the_machine_s_memory_counts_out_of_reach() -> None:
    """sysinfo tells any process the machine's free and shared memory, which another process
    moves at will by holding pages (test_no_count_of_the_machine_s_memory_carries_a_value_
    between_processes). Called with no buffer, so that EPERM can only be the filter's (the
    kernel answers EFAULT)."""
    number = {"x86_64": 99, "aarch64": 179}.get(platform.machine())
    if number is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    assert _errnos_around_seccomp({"sysinfo": (number, 0)}) == {"sysinfo": ("EPERM", "EFAULT")}


def test_seccomp_alone_keeps_the_page_cache_s_residency_out_of_reach() -> None:
    """mincore and cachestat tell, page by page and without noise, which pages of a file the
    machine's page cache holds: what one student process read, a later one read back exactly
    (the page cache's channel, "Known limits", narrowed to timing); so do getrusage's count of
    major faults and preadv2's RWF_NOWAIT (test_no_student_process_reads_the_page_cache_s_
    residency_exactly). Called on no mapping, no buffer and no descriptor, so that EPERM can
    only be the filter's (the kernel answers ENOMEM, EFAULT, EBADF); preadv2 without the flag
    stays allowed (EBADF)."""
    numbers = {"x86_64": (27, 451, 98, 327), "aarch64": (232, 451, 165, 286)}.get(
        platform.machine()
    )
    if numbers is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    mincore, cachestat, getrusage, preadv2 = numbers
    seen = _errnos_around_seccomp(
        {
            "mincore": (mincore, 0, 4096, 0),
            "cachestat": (cachestat, -1, 0, 0, 0),
            "getrusage": (getrusage, 0, 0),
            "preadv2_nowait": (preadv2, -1, 0, 0, 0, 0, 8),  # RWF_NOWAIT
            "preadv2": (preadv2, -1, 0, 0, 0, 0, 0),
        }
    )
    assert {name: after for name, (after, _) in seen.items()} == {
        "mincore": "EPERM",
        "cachestat": "EPERM",
        "getrusage": "EPERM",
        "preadv2_nowait": "EPERM",
        "preadv2": "EBADF",
    }
    assert "EPERM" not in {before for _, before in seen.values()}


def test_seccomp_alone_keeps_the_machine_s_writeback_out_of_reach() -> None:
    """sync and syncfs write back every dirty page of the machine (or of a file system) and hold
    their caller where no signal reaches it until the disk is done, so a call's deadline kills
    nothing meanwhile; a student process, which writes no file, has nothing to flush. syncfs is
    given a bad descriptor, so that EPERM can only be the filter's (the kernel answers EBADF)."""
    numbers = {"x86_64": (162, 306), "aarch64": (81, 267)}.get(platform.machine())
    if numbers is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    sync, syncfs = numbers
    seen = _errnos_around_seccomp({"sync": (sync,), "syncfs": (syncfs, -1)})
    assert seen == {"sync": ("EPERM", "ALLOWED"), "syncfs": ("EPERM", "EBADF")}


def test_seccomp_alone_merges_no_memory_with_another_process() -> None:
    """Where a machine runs KSM, pages offered for merging are merged with any other process's
    identical pages, and a write to a merged page takes a copy-on-write fault slow enough to
    time: one student process learns whether another holds a page of bytes it chose. An empty
    range is offered (which the kernel accepts where it has KSM at all), and the whole process;
    MADV_UNMERGEABLE, which gives nothing away, stays allowed."""
    numbers = {"x86_64": (28, 157, 440), "aarch64": (233, 167, 440)}.get(platform.machine())
    if numbers is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    madvise, prctl, process_madvise = numbers
    seen = _errnos_around_seccomp(
        {
            "mergeable": (madvise, 0, 0, 12),  # MADV_MERGEABLE
            "unmergeable": (madvise, 0, 0, 13),
            "memory_merge": (prctl, 67, 0, 0, 0, 0),  # PR_SET_MEMORY_MERGE
            "process_madvise": (process_madvise, -1, 0, 0, 12, 0),
        }
    )
    after = {name: errors[0] for name, errors in seen.items()}
    assert after == {
        "mergeable": "EPERM",
        "unmergeable": seen["unmergeable"][1],  # as it was before the filter
        "memory_merge": "EPERM",
        "process_madvise": "EPERM",
    }
    if os.getuid() == 0 and os.path.isdir("/sys/kernel/mm/ksm"):
        assert seen["mergeable"][1] == seen["memory_merge"][1] == "ALLOWED"  # only the filter


def test_seccomp_alone_denies_calls_that_need_a_privilege_or_move_anothers_pages() -> None:
    """Calls a student process has no use for, denied even where a privilege it lacks would
    refuse them anyway: an open by file handle (its flags are out of the filter's sight), the
    rest of the new mount API, and the NUMA calls that move another process's pages. Called
    with arguments the kernel would refuse for other reasons (a bad descriptor, no pages), so
    that as root EPERM can only be the filter's."""
    numbers = {
        "x86_64": {"open_by_handle_at": 304, "fspick": 433, "fsconfig": 431,
                   "mount_setattr": 442, "migrate_pages": 256, "move_pages": 279},
        "aarch64": {"open_by_handle_at": 265, "fspick": 433, "fsconfig": 431,
                    "mount_setattr": 442, "migrate_pages": 238, "move_pages": 239},
    }.get(platform.machine())  # fmt: skip
    if numbers is None or not confine.seccomp_supported():
        pytest.skip("no seccomp filter for this machine")
    seen = _errnos_around_seccomp({name: (nr, -1, 0, 0, 0, 0, 0) for name, nr in numbers.items()})
    assert set(seen) == set(numbers)
    for name, (after, before) in seen.items():
        assert after == "EPERM", (name, before, after)
        # As root, nothing but the filter says EPERM (not root, fspick's own check does too).
        assert before != "EPERM" or os.getuid() != 0, (name, before)


# Two processes of one uid, each under the filter and each holding one connected Unix socket (as
# a student process holds the grader's). The sender puts `held` descriptors in flight on its
# socket (SCM_RIGHTS, never read by the other end, as the grader does not read a process's
# socket between calls); the reader counts how many it may put in flight before the kernel
# says ETOOMANYREFS. Prints "sender R" and "reader R": R a count, or the errno's name.
_IN_FLIGHT = """
import array, errno, os, resource, socket, sys
sys.path.insert(0, {inside!r})
import confine
if os.getuid() == 0:  # root may put any number in flight: be one uid, as a TA's grading is
    os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, {uid})
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))  # a student process's limit
held = {held}

def send_fds(sock, n):
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0] * n))]
    sock.sendmsg([b"x"], rights)

def put_in_flight(sock, count):
    sent = 0
    try:
        while sent < count:
            send_fds(sock, min(200, count - sent))
            sent += min(200, count - sent)
    except OSError as e:
        return errno.errorcode[e.errno]
    return sent

def room(sock):
    sent = 0
    while sent < 1000:
        try:
            send_fds(sock, 1)
        except OSError as e:
            return sent if e.errno == errno.ETOOMANYREFS else errno.errorcode[e.errno]
        sent += 1
    return sent

mine, grader_end = socket.socketpair()
theirs, their_grader_end = socket.socketpair()
ready_r, ready_w = os.pipe()
done_r, done_w = os.pipe()
child = os.fork()
if child == 0:
    if {filtered}:
        confine.seccomp(os.getpid())
    print("sender", put_in_flight(theirs, held), flush=True)
    os.write(ready_w, b"1")
    os.read(done_r, 1)  # hold them until the reader has counted
    os._exit(0)
if {filtered}:
    confine.seccomp(os.getpid())
os.read(ready_r, 1)
print("reader", room(mine), flush=True)
os.write(done_w, b"1")
os.waitpid(child, 0)
"""


def _in_flight(held: int, filtered: bool) -> dict[str, str]:
    """What `_IN_FLIGHT`'s two processes print, the sender holding `held` descriptors."""
    program = _IN_FLIGHT.format(
        inside=str(isolation.INSIDE), uid=confine.UID_BASE + 12346, held=held, filtered=filtered
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert run.returncode == 0, run.stderr
    return dict(line.split(" ", 1) for line in run.stdout.split("\n") if line)


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_no_count_of_descriptors_in_flight_carries_a_value_between_processes() -> None:
    """The kernel counts the descriptors a user has in flight in Unix sockets' messages
    (SCM_RIGHTS, sent and not yet received) and refuses more (ETOOMANYREFS) past the sender's
    limit on open files: one count per uid, in no namespace. Not as root, every student process
    is the grader's user, and each holds a connected Unix socket, the grader's, which the grader
    does not read between calls: exercise 1's process put a chosen number of descriptors in
    flight there (from a timer's signal handler, after its answer) and exercise 2's read it back
    exactly, as how many it could send before the refusal (65 less the number held, 0 to 64,
    rewritten at will), with bubblewrap and every other layer in force, native code (the audit
    hook out of the way, "Known limits"; the hook allows sendmsg without an address), and two
    students graded at once share the count too (red team, thirty-fifth session). Seccomp
    denies sendmsg and sendmmsg: a student process sends its answers with send (sendto) and
    passes no descriptor. As root the two processes here are one student uid, as a TA's are."""
    control = [_in_flight(held, filtered=False) for held in (5, 40)]
    assert [c["sender"] for c in control] == ["5", "40"]
    assert int(control[0]["reader"]) - int(control[1]["reader"]) == 35  # the count came through
    assert _in_flight(40, filtered=True) == {"sender": "EPERM", "reader": "EPERM"}
