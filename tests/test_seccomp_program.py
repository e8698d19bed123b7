"""The seccomp program's assembler (grader/sandbox/inside/confine.py, `_assemble`): any length.

A conditional jump of classic BPF reaches 255 instructions ahead at most, and the program was
245 long, its longest jump 242 (thirty-eighth session): a few more denied calls and no sandbox
could start. Far branches now go through an unconditional `ja`. These tests run the assembled
programs in a small interpreter of the classic BPF the assembler emits and compare each answer
with what the labelled listing means, then install a long program in a real process.
"""

from __future__ import annotations

import copy
import platform
import random
import struct
import subprocess
import sys
import textwrap

import pytest

from grader.sandbox import isolation
from grader.sandbox.inside import confine

# linux/filter.h: the instructions the assembler emits, written out here, not taken from confine.
LD_W_ABS, JEQ_K, JGE_K, JSET_K, JA, RET_K = 0x20, 0x15, 0x35, 0x45, 0x05, 0x06
MADE_UP = range(600, 900)  # 300 numbers no architecture of the table calls anything
PIDS = (1, 41, 4242, 0x7FFF0001)


def seccomp_data(nr: int, arch: int, args: tuple[int, ...]) -> bytes:
    """struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]."""
    return struct.pack("=iIQ6Q", nr, arch, 0, *args)


def run_code(program: list[tuple[int, int, int, int]], data: bytes) -> int:
    """What the kernel's classic-BPF interpreter returns for `data` (the subset emitted)."""
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        assert 0 <= jt <= 255 and 0 <= jf <= 255, "jt and jf are one byte each"
        if code == LD_W_ABS:
            acc, pc = struct.unpack_from("=I", data, k)[0], pc + 1
        elif code == RET_K:
            return k
        elif code == JA:
            pc += 1 + k
        else:
            hit = {JEQ_K: acc == k, JGE_K: acc >= k, JSET_K: acc & k != 0}[code]
            pc += 1 + (jt if hit else jf)


def label_positions(asm: list) -> dict[str, int]:
    """Each label's place: the index, among the listing's instructions, of the one after it."""
    labels, seen = {}, 0
    for op in asm:
        if op[0] == "label":
            labels[op[1]] = seen
        else:
            seen += 1
    return labels


def run_listing(asm: list, data: bytes) -> int:
    """What the labelled listing means for `data`: each jump goes to its label (None: on)."""
    ops = [op for op in asm if op[0] != "label"]
    labels = label_positions(asm)
    pc, acc = 0, 0
    while True:
        op = ops[pc]
        if op[0] == "ld":
            acc, pc = struct.unpack_from("=I", data, op[1])[0], pc + 1
        elif op[0] == "ret":
            return op[1]
        else:
            hit = {"jeq": acc == op[1], "jge": acc >= op[1], "jset": acc & op[1] != 0}[op[0]]
            label = op[2] if hit else op[3]
            pc = pc + 1 if label is None else labels[label]


def direct(asm: list) -> list[tuple[int, int, int, int]]:
    """Every jump resolved to its relative offset as it stands, with no `ja`: what the program
    was before far branches existed (and must stay while none is needed)."""
    labels = label_positions(asm)
    out: list[tuple[int, int, int, int]] = []
    for op in (op for op in asm if op[0] != "label"):
        here = len(out)
        if op[0] in ("ld", "ret"):
            out.append((LD_W_ABS if op[0] == "ld" else RET_K, 0, 0, op[1]))
        else:
            jt, jf = (labels[lab] - here - 1 if lab else 0 for lab in op[2:])
            out.append(({"jeq": JEQ_K, "jge": JGE_K, "jset": JSET_K}[op[0]], jt, jf, op[1]))
    return out


def longer(table: dict, numbers) -> dict:
    """The architecture's table with `numbers` denied besides."""
    table = copy.deepcopy(table)
    table["deny"].update({f"made_up_{nr}": nr for nr in numbers})
    return table


def arguments(pid: int) -> list[tuple[int, ...]]:
    """Argument vectors that take each rule of the program both ways: zero, the pid, its
    group, its CPU clocks, the flags and commands the rules read, and bits they refuse."""
    values = [0, 1, 4, pid, -pid & 0xFFFFFFFF, confine.cpu_clock(pid, 2), confine.cpu_clock(7, 2)]
    values += [confine.O_CREAT, confine.FUTEX_PRIVATE_FLAG, 0x5401, 0x5402, 0xFFFFFFFF]
    return [(v,) * 6 for v in values] + [(0, v, 0, v, 0, v) for v in (1, 2, 0x80, 0x8)]


@pytest.mark.parametrize("arch", sorted(confine._SYSCALLS))
def test_todays_program_needs_no_far_branch_and_is_the_program_it_was(arch) -> None:
    """The program as it stands reaches every target directly: no `ja`, and instruction for
    instruction what resolving each label to its offset gives (so the filter installed today
    is byte for byte the one before far branches existed)."""
    for pid in PIDS:
        asm = confine._listing(confine._SYSCALLS[arch], pid)
        program = confine._program(confine._SYSCALLS[arch], pid)
        assert all(code != JA for code, *_ in program)
        assert program == direct(asm)


@pytest.mark.parametrize("arch", sorted(confine._SYSCALLS))
def test_a_program_past_a_jumps_reach_means_what_its_listing_says(arch) -> None:
    """The real table plus 300 denied numbers: the deny list's jumps to the end reach past 255,
    go through `ja`, and for every system call number 0..1023 (and the foreign ABIs) with
    arguments that take each rule both ways, the program answers what the listing means."""
    table = longer(confine._SYSCALLS[arch], MADE_UP)
    pid = 4242
    asm = confine._listing(table, pid)
    program = confine._program(table, pid)
    assert sum(code == JA for code, *_ in program) > 200
    assert len(program) > 255
    calls = [(nr, table["arch"]) for nr in range(1024)]
    calls += [(0x40000000 | 39, table["arch"]), (39, 0x40000003)]  # x32, i386
    answers, ruled = set(), numbers_with_rules(table)
    for nr, audit in calls:
        for args in arguments(pid) if nr in ruled else arguments(pid)[:2]:
            data = seccomp_data(nr, audit, args)
            answers.add(run_code(program, data))
            assert run_code(program, data) == run_listing(asm, data), (nr, args)
    assert answers == {confine._ALLOW, confine._DENY, confine._NOSYS, confine._NOTTY}
    deny = seccomp_data(MADE_UP[0], table["arch"], (0,) * 6)
    assert run_code(program, deny) == confine._DENY


def numbers_with_rules(table: dict) -> set[int]:
    """System call numbers whose answer depends on their arguments."""
    numbers = {*table["self_pid"].values(), *table["self_or_zero"].values()}
    numbers |= {*table["clocks"].values(), *table["opens"], *confine.FUTEX2_FLAGS.values()}
    numbers |= {table[k] for k in ("kill", "prlimit64", "setpriority", "ioprio_set", "fcntl")}
    numbers |= {table[k] for k in ("getpriority", "ioprio_get", "ioctl", "prctl", "madvise")}
    return numbers | {table[k] for k in ("mmap", "preadv2", "futex")}


def test_a_branch_pushed_out_of_reach_by_another_s_ja_gets_one_too() -> None:
    """Expansion repeats: the first jump reaches its target at exactly 255, until the `ja` the
    second jump needs lands between them; both then go through one. A jump with both branches
    far gets two, and a fall-through stays the next instruction."""
    asm = [("ld", 0), ("jeq", 1, "edge", None), ("jeq", 2, "far", None)]
    asm += [("ret", 100 + n) for n in range(254)]
    asm += [("label", "edge"), ("ld", 16), ("jset", 4, "far", "farther")]
    asm += [("ret", 500 + n) for n in range(300)]
    asm += [("label", "far"), ("ret", 2), ("label", "farther"), ("ret", 3)]
    assert direct(asm)[1][1] == 255  # reachable as it stands
    program = confine._assemble(asm)
    two_jumps = [(JEQ_K, 0, 1), (JA, 0, 0), (JEQ_K, 0, 1), (JA, 0, 0)]
    assert [ins[:3] for ins in program[1:5]] == two_jumps
    assert [ins[:3] for ins in program[260:263]] == [(JSET_K, 0, 1), (JA, 0, 0), (JA, 0, 0)]
    answers = set()
    for nr in range(8):
        for arg in (0, 4, 5):
            data = seccomp_data(nr, 0, (arg,) * 6)
            answers.add(run_code(program, data))
            assert run_code(program, data) == run_listing(asm, data)
    assert answers == {2, 3, 100}


def test_random_listings_with_far_and_near_targets_mean_what_they_say() -> None:
    """Seeded random listings of 300 to 1,500 instructions, each jump to a label a few or many
    hundred instructions ahead, loads of the number or an argument: the assembled program
    answers as the listing does, for 1,024 numbers and several arguments."""
    rng = random.Random(38)
    for size in (300, 700, 1500):
        asm: list = []
        for at in range(size):
            asm.append(("label", f"L{at}"))
            roll = rng.random()
            if roll < 0.1 or at == size - 1:
                asm.append(("ret", at))
            elif roll < 0.25:
                asm.append(("ld", rng.choice((0, 16, 24))))
            else:
                ahead = rng.choice((1, 2, rng.randrange(1, 40), rng.randrange(200, 900)))
                targets = [f"L{min(at + ahead, size - 1)}", None, f"L{size - 1}"]
                op = rng.choice(("jeq", "jge", "jset"))
                k = rng.randrange(1024) if op != "jset" else 1 << rng.randrange(10)
                asm.append((op, k, rng.choice(targets), rng.choice(targets)))
        program = confine._assemble(asm)
        assert len(program) <= confine.BPF_MAXINSNS
        for nr in range(1024):
            data = seccomp_data(nr, 0, (nr ^ 0x155, 1023 - nr, 0, 0, 0, 0))
            assert run_code(program, data) == run_listing(asm, data), (size, nr)


def test_an_impossible_program_is_refused_with_its_reason() -> None:
    """More than the kernel's 4,096 instructions, a jump backwards, or to no label: a clear
    ValueError, never a program the kernel would refuse (every sandbox would fail to start)."""
    too_long = [("ld", 0)] + [("jeq", n, "end", None) for n in range(4095)]
    too_long += [("ret", 0), ("label", "end"), ("ret", 1)]
    with pytest.raises(ValueError, match="4096 at most"):
        confine._assemble(too_long)
    with pytest.raises(ValueError, match="backwards"):
        confine._assemble([("label", "top"), ("ld", 0), ("jeq", 1, "top", None), ("ret", 0)])
    with pytest.raises(ValueError, match="no label"):
        confine._assemble([("ld", 0), ("jeq", 1, "nowhere", None), ("ret", 0)])


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_the_pid_slots_of_a_program_with_far_branches_are_found(monkeypatch) -> None:
    """Which branches go through `ja` depends on the listing's shape, not on the pid: the
    zygote's Filter, filled in for any pid, is the program assembled for that pid."""
    machine = platform.machine()
    monkeypatch.setitem(confine._SYSCALLS, machine, longer(confine._SYSCALLS[machine], MADE_UP))
    ready = confine.Filter()
    assert ready.length > 255 and len(ready.slots) == 11
    for pid in (*PIDS, 59, 2**22):
        made_here = confine._program(confine._SYSCALLS[machine], pid)
        assert any(code == JA for code, *_ in made_here)
        assert ready.for_pid(pid) == b"".join(struct.pack("=HBBI", *i) for i in made_here)


@pytest.mark.skipif(not confine.seccomp_supported(), reason="no seccomp filter for this machine")
def test_a_process_under_a_program_with_far_branches_is_filtered_as_listed() -> None:
    """A real process installs the filter with 301 made-up numbers denied besides (900-1200,
    no call on either architecture), which needs `ja`: getrusage and the made-up numbers are
    denied, getpid, getppid (listed nowhere) and a number past the list are as without it, and
    the argument rules after the long list still hold (an open for writing, a signal to another
    process)."""
    program = textwrap.dedent(
        f"""
        import ctypes, errno, os, platform, resource, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import confine
        table = confine._SYSCALLS[platform.machine()]
        table["deny"] = {{**table["deny"], **{{f"made_up_{{n}}": n for n in range(900, 1201)}}}}
        ready = confine.Filter()
        assert ready.length > 255, ready.length
        libc = ctypes.CDLL(None, use_errno=True)

        def outcome(call):
            try:
                call()
            except OSError as error:
                return errno.errorcode[error.errno]
            return 'ALLOWED'

        def raw(nr):
            if libc.syscall(nr, 0, 0, 0) < 0:
                raise OSError(ctypes.get_errno(), str(nr))

        parent, pid = os.getppid(), os.getpid()
        confine.seccomp(pid, ready)
        print('getrusage', outcome(lambda: resource.getrusage(resource.RUSAGE_SELF)))
        print('getpid', 'ALLOWED' if os.getpid() == pid else 'WRONG')
        print('getppid', 'ALLOWED' if os.getppid() == parent else 'WRONG')
        print('made_up_900', outcome(lambda: raw(900)))
        print('made_up_1200', outcome(lambda: raw(1200)))
        print('unlisted_1300', outcome(lambda: raw(1300)))
        print('open_for_writing', outcome(lambda: open('/dev/null', 'w')))
        print('signal_to_parent', outcome(lambda: os.kill(parent, 0)))
        print('signal_to_itself', outcome(lambda: os.kill(pid, 0)))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    seen = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert seen == {
        "getrusage": "EPERM",
        "getpid": "ALLOWED",
        "getppid": "ALLOWED",
        "made_up_900": "EPERM",
        "made_up_1200": "EPERM",
        "unlisted_1300": "ENOSYS",
        "open_for_writing": "EPERM",
        "signal_to_parent": "EPERM",
        "signal_to_itself": "ALLOWED",
    }
