"""Autograd switched off for good in every student process, and an audit hook that keeps it off.

The assignment is to backpropagate by hand, so no derivative may come out of torch in a student
process, whatever name, alias or saved reference student code uses. Recognising uses is a race
that student code can win (a reference saved at import and called from C, a profile hook
switched off by a RecursionError); here the capabilities themselves are taken away, in the
zygote, before any student byte exists in any process:

- grad mode is off and every switch that turns it on refuses (`torch._C._set_grad_enabled`,
  `_InferenceMode(False)`): no graph is ever recorded, so there is no `grad_fn` to call and
  nothing for an engine to walk;
- the engine's entry point (`_EngineBase.run_backward`, behind `backward()`, `autograd.grad`,
  `torch.func`, `autograd.functional`, checkpoint) is replaced in the C type's own dict, which is
  shared by every reference to it, saved or not;
- forward mode: forward grad is off, no dual level can be entered, `_make_dual` refuses;
  torch.func's grad and jvp levels refuse;
- TorchScript (which could enable grad and call the C++ engine itself) cannot be compiled,
  loaded or built from a graph, and new operators cannot be looked up by name (`torch.ops`);
- torch's backward kernels (`aten::*_backward*`: `nll_loss_backward`, `tanh_backward`, ...)
  are overridden in the dispatcher, so no route reaches their formulas, and the Python versions
  of those formulas (torch._decomp) are replaced where they are loaded.

No replacement keeps a reference to what it replaced, and copies that other modules bound at
their import are replaced too: there is nothing left to restore. A stub raises
`AutogradForbidden`, which the worker reports as `forbidden`.

Then `arm()`, in each student process after its kernel layers and before student code, installs
an audit hook (which no Python code can remove) refusing what could undo the above or smuggle
data out of the process: native code (ctypes) and object-graph walks (gc) are `forbidden`; exec
of another program, every file write, file lock, symlink, socket, and signal to another process
raise a plain PermissionError, like a kernel denial (and as seccomp does where it is in force).
"""

from __future__ import annotations

import gc
import os
import sys

from confine import FCNTL_COMMANDS, IOCTLS

MESSAGE = "autograd is switched off in the grader: compute this gradient by hand"


class AutogradForbidden(RuntimeError):
    """A student process tried to reach autograd, or to undo its removal."""


# Switches whose "on" position is refused; "off" is what is already in force, so it is a no-op.
_OFF_ONLY = ("_set_grad_enabled", "_set_fwd_grad_enabled")
# torch._C names that enter autograd or compile, load or run TorchScript (which could call the
# C++ engine itself), or look operators up by name.
_C_REFUSED = (
    "_enter_dual_level",
    "_jit_script_compile",
    "_jit_script_compile_overload",
    "_jit_script_class_compile",
    "_jit_script_interface_compile",
    "_create_function_from_graph",
    "_create_function_from_trace",
    "_create_function_from_trace_with_dict",
    "_jit_interpret_graph",
    "_jit_differentiate",
    "import_ir_module",
    "import_ir_module_from_buffer",
    "_import_ir_module_from_package",
    "_load_for_lite_interpreter",
    "_load_for_lite_interpreter_from_buffer",
    "_load_jit_module_from_bytes",
    "_load_jit_module_from_file",
    "_load_mobile_module_from_bytes",
    "_load_mobile_module_from_file",
    "_nn_module_to_mobile",
    "_jit_get_operation",
    "_get_operation_overload",
)
_FUNCTORCH_REFUSED = ("_grad_increment_nesting", "_jvp_increment_nesting", "_wrap_for_grad")
_DUAL = ("_make_dual", "_make_dual_copy")
# No TorchScript is compiled, and none runs: a scripted function could switch grad mode on and
# call the C++ engine without passing through anything Python can see.
_SCRIPT_METHODS = {
    "CompilationUnit": ("__init__", "define", "create_function"),
    "ScriptModule": ("_define", "_create_method_from_trace", "_create_method_from_trace_with_dict"),
    "ScriptFunction": ("__call__",),
    "ScriptMethod": ("__call__",),
    "ScriptClass": ("__call__",),
    "ConcreteModuleType": ("_create_methods_and_properties", "_create_hooks"),
}


def _refuse(what: str):
    def refused(*args, **kwargs):
        raise AutogradForbidden(f"{what}: {MESSAGE}")

    refused.__name__ = refused.__qualname__ = what.rpartition(".")[2]
    return refused


def _off_only(what: str):
    def switch(mode=False, *args, **kwargs):
        if mode:
            raise AutogradForbidden(f"{what}(True): {MESSAGE}")

    switch.__name__ = switch.__qualname__ = what.rpartition(".")[2]
    return switch


class _InferenceMode:
    """Stands for torch._C._InferenceMode: inference mode on changes nothing (grad is off
    already); inference mode off would switch grad mode back on, so it is refused."""

    def __init__(self, mode: bool = True) -> None:
        if not mode:
            raise AutogradForbidden(f"inference_mode(False): {MESSAGE}")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def _type_dict(cls: type) -> dict:
    """The real dict of a C type (its __dict__ is a read-only proxy onto it). The type is
    kept, to be told of the change once the switch-off is done (`_tell_types`)."""
    _WRITTEN_TYPES.append(cls)
    return gc.get_referents(cls.__dict__)[0]


# The C types whose dicts this process's switch-off wrote into.
_WRITTEN_TYPES: list[type] = []


def _tell_types() -> None:
    """Tell CPython that the types written behind its back changed (PyType_Modified, which
    `setattr` on a type calls and a write into its dict skips). A call site that ran often
    enough before the switch-off is specialised to the type's version and holds the method it
    found there, unowned: without the new version it went on calling it (torch's engine,
    whose `run_backward` had been replaced) or, the original freed, crashed the process.
    Clearing the method cache (`sys._clear_type_cache`) reaches no such site."""
    import ctypes

    modified = ctypes.pythonapi.PyType_Modified
    modified.argtypes, modified.restype = [ctypes.py_object], None
    for cls in _WRITTEN_TYPES:
        modified(cls)
    _WRITTEN_TYPES.clear()


# (original, replacement) of this process's switch-off: copies bound elsewhere (a module that
# did `from torch._C._functorch import _grad_increment_nesting`) are replaced too, then forgotten
# (the originals are kept alive only until then, so no id is reused meanwhile).
_REPLACED: list[tuple[object, object]] = []


def _replace(owner_dict: dict, name: str, value, report: list[str], label: str) -> None:
    if name in owner_dict:
        original = owner_dict[name]
        owner_dict[name] = value
        _REPLACED.append((getattr(original, "__func__", original), value))
        report.append(label)


def _replace_copies() -> int:
    """Every module that bound a replaced original at its import (`from torch._C._functorch
    import _grad_increment_nesting`) now holds its replacement instead."""
    stubs = {id(original): stub for original, stub in _REPLACED}
    count = 0
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            stub = stubs.get(id(value))
            if stub is not None and value is not stub:
                namespace[key] = stub
                count += 1
    _REPLACED.clear()
    return count


def switch_off() -> list[str]:
    """Take autograd out of this process for good. Trusted code only (the zygote, before any
    fork): it uses gc, which student processes may not. Returns what was switched off."""
    import torch

    done: list[str] = []
    _load_vmap_rules(torch)
    torch._C._set_grad_enabled(False)
    torch._C._set_fwd_grad_enabled(False)
    c_dict = vars(torch._C)
    for name in _OFF_ONLY:
        _replace(c_dict, name, _off_only(f"torch._C.{name}"), done, name)
    _replace(c_dict, "_InferenceMode", _InferenceMode, done, "inference_mode(False)")
    for name in _C_REFUSED:
        _replace(c_dict, name, _refuse(f"torch._C.{name}"), done, name)
    engine = type(torch.autograd.Variable._execution_engine)
    _replace(_type_dict(engine), "run_backward", _refuse("run_backward"), done, "run_backward")
    functorch = vars(torch._C._functorch)
    for name in _FUNCTORCH_REFUSED:
        _replace(functorch, name, _refuse(f"torch.func ({name})"), done, name)
    variable_functions = _type_dict(type(torch._C._VariableFunctions))
    for name in [*_DUAL, *(n for n in list(variable_functions) if "backward" in n)]:
        stub = _refuse(f"torch.{name}")
        _replace(variable_functions, name, staticmethod(stub), done, name)
        _replace(vars(torch), name, stub, [], name)
    for cls_name, methods in _SCRIPT_METHODS.items():
        cls = getattr(torch._C, cls_name, None)
        if cls is not None:
            for name in methods:
                _replace(_type_dict(cls), name, _refuse(f"TorchScript ({name})"), done, name)
    done.append(_override_backward_kernels(torch))
    done.append(_strip_python_formulas(torch))
    _forget_cached_operators(torch)
    _tell_types()
    done.append(f"{_replace_copies()} copies bound elsewhere")
    sys._clear_type_cache()
    return done


def _load_vmap_rules(torch) -> None:
    """torch.func.vmap (no derivative, allowed) looks some operators up by name on first use:
    done here, while looking up is still possible."""
    from torch._functorch import vmap

    loader = getattr(vmap, "lazy_load_decompositions", None)
    if loader is not None:
        loader()


def _override_backward_kernels(torch) -> str:
    """Every overload of every aten::*backward* operator raises, whichever dispatch key a
    tensor reaches it by and whichever route reaches the dispatcher (torch.ops, a
    decomposition table, a saved OpOverload).

    Each overload is an operator of its own in the dispatcher, and each of its kernels answers
    one dispatch key: overriding the default overload for the CPU key left the out= form on
    CPU (`tanh_backward.grad_input`) and the kernels for other kinds of tensor a student
    process can make (nested, mkldnn, sparse: `_softmax_backward_data` and `linear_backward`
    of a nested tensor gave dlogits, dh and dW2; red team). So the refusal goes to every key
    the dispatcher holds a kernel for, and to the keys a kernel would be looked for under."""
    import ctypes
    import warnings

    names = sorted(
        n.partition("::")[2]
        for n in torch._C._dispatch_get_all_op_names()
        if n.startswith("aten::") and "backward" in n
    )
    handle = torch._C._dispatch_library("IMPL", "aten", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            for key in _kernel_keys(torch, name):
                try:
                    handle.impl(name, key, _refuse(f"aten::{name}"), False)
                except RuntimeError:
                    continue
    # The registrations live as long as this handle. Nothing in Python refers to it (student
    # code could destroy it); one reference held outside Python keeps it for the process's life.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle))
    return f"{len(names)} backward kernels"


# Where a kernel is looked for when an operator has none of its own for a tensor's key: CPU
# tensors, the composite kernels, and vmap (which would otherwise run torch's Python formula).
_KERNEL_KEYS = ("CPU", "CompositeExplicitAutograd", "CompositeImplicitAutograd", "FuncTorchBatched")


def _kernel_keys(torch, name: str) -> list[str]:
    """The dispatch keys overload `name` ("tanh_backward.grad_input") has a kernel for, as
    the dispatcher lists them ("MkldnnCPU: registered at ...", "Autograd[alias]: ..."), and
    the keys of _KERNEL_KEYS."""
    keys = dict.fromkeys(_KERNEL_KEYS)
    for line in torch._C._dispatch_dump(f"aten::{name}").splitlines():
        key, sep, _ = line.partition(": registered at ")
        key = key.replace("[alias]", "").replace("(inactive)", "").strip()
        if sep and key and key != "debug":
            keys[key] = None
    return list(keys)


def _strip_python_formulas(torch) -> str:
    """torch keeps Python versions of its backward formulas (torch._decomp, loaded with torch):
    each one, in its module and in the decomposition tables, is replaced by a refusal. Reading
    their source again is refused by the audit hook."""
    count = 0
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("torch._decomp"):
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            if "backward" in name and callable(value) and not isinstance(value, type):
                namespace[name] = _refuse(f"{module_name}.{name}")
                count += 1
    decomp = sys.modules.get("torch._decomp")
    tables = list(getattr(decomp, "global_decomposition_table", {}).values())
    tables.append(getattr(decomp, "decomposition_table", {}))
    for table in tables:
        for op in [op for op in table if "backward" in str(op)]:
            table[op] = _refuse(f"the decomposition of {op}")
            count += 1
    count += _strip_operator_kernels(torch)
    return f"{count} Python backward formulas"


# Where an operator object (torch.ops.aten.tanh_backward.default) keeps Python kernels of its
# own, and the handlers it has looked up from them.
_OPERATOR_TABLES = ("py_kernels", "python_key_table", "functorch_table")


def _strip_operator_kernels(torch) -> int:
    """Each cached operator of a backward op keeps the Python formulas registered for it
    (`py_kernels`: torch._decomp's own functions, registered for the Meta key), which the
    replacements in their modules and tables left in place: called directly, with ordinary
    tensors, `tanh_backward.default.py_kernels[Meta]` gave dhpreact (red team). Each becomes a
    refusal, and what the operator cached of them is forgotten."""
    count = 0
    for op in _cached_overloads(torch):
        if "backward" not in str(op):
            continue
        for table in (getattr(op, name, None) for name in _OPERATOR_TABLES):
            if isinstance(table, dict):
                for key in list(table):
                    table[key] = _refuse(f"the Python kernel of {op}")
                    count += 1
        cache = getattr(op, "_dispatch_cache", None)
        if isinstance(cache, dict):
            cache.clear()
    return count


def _cached_overloads(torch) -> list:
    """Every operator overload torch.ops has looked up so far, in every namespace."""
    found = []
    for namespace in list(vars(torch.ops).values()):
        if not isinstance(namespace, torch._ops._OpNamespace):
            continue
        for packet in list(vars(namespace).values()):
            if isinstance(packet, torch._ops.OpOverloadPacket):
                found += [v for v in vars(packet).values() if isinstance(v, torch._ops.OpOverload)]
    return found


def _forget_cached_operators(torch) -> None:
    """torch.ops caches the operators it has looked up; those touching grad or dual state go
    (looking them up again is refused). Cached backward kernels stay: they raise (above)."""
    aten = vars(torch.ops.aten)
    for name in [n for n in aten if "grad" in n or "dual" in n]:
        del aten[name]


# --- the audit hook -----------------------------------------------------------------------

_TAMPER = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
    }
)
_DENIED = frozenset(
    {"os.exec", "os.posix_spawn", "os.fork", "os.forkpty", "os.system", "os.symlink", "os.link",
     "os.utime", "os.truncate", "socket.__new__", "pty.spawn", "fcntl.flock", "fcntl.lockf",
     "os.lockf", "os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod", "os.chown",
     "os.chflags", "os.setxattr", "os.removexattr", "socket.bind", "socket.connect",
     "socket.sendto"}
)  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def arm() -> None:
    """Install the audit hook in this (student) process. Call after the trusted set-up (it
    refuses ctypes, which confine.py needs) and before student code."""
    import torch

    formulas = os.path.join(os.path.dirname(torch.__file__), "_decomp")
    # As spelt and as resolved, once: the hook sees every open of the process.
    prefixes = (formulas + os.sep, os.path.realpath(formulas) + os.sep)
    sys.addaudithook(_hook_for(os.getpid(), prefixes))


def _hook_for(me: int, formulas: tuple[str, str]):
    tamper, denied, write_flags, forbidden = _TAMPER, _DENIED, _WRITE_FLAGS, AutogradForbidden
    ioctls, fcntls = frozenset(IOCTLS), frozenset(FCNTL_COMMANDS)

    def hook(event: str, args: tuple) -> None:
        if event in tamper or event.startswith("ctypes."):
            raise forbidden(
                f"{event} is not allowed in the grader (it could undo the autograd ban)"
            )
        if event == "open" and _names_formulas(args[0], formulas):
            raise forbidden(f"torch's backward formulas ({args[0]!r}): {MESSAGE}")
        if event in denied:
            raise PermissionError(f"{event} is not allowed in the grader")
        if event == "open" and _writes(args, write_flags):
            raise PermissionError(f"student code may not write files ({args[0]!r})")
        if event == "socket.sendmsg" and args[1] is not None:
            # _socket.socketpair makes sockets without socket.__new__: no address for them
            raise PermissionError("socket.sendmsg to an address is not allowed in the grader")
        if event == "fcntl.fcntl" and args[1] not in fcntls:
            raise PermissionError(f"fcntl command {args[1]} is not allowed in the grader")
        if event == "fcntl.ioctl" and args[1] & 0xFFFFFFFF not in ioctls:
            # The kernel reads the command's low half; seccomp refuses the rest too, and this
            # covers a platform without it, for Python's calls (native ones raise no event).
            raise PermissionError(f"ioctl {args[1]:#x} is not allowed in the grader")
        if event in ("os.kill", "os.killpg") and args[0] not in (0, me):
            raise PermissionError(f"{event}: a student process may signal only itself")

    return hook


def _names_formulas(path: object, formulas: tuple[str, str]) -> bool:
    """Whether an opened path is in torch/_decomp, however it is spelt ("/./", "//", "..", a
    link). A second layer: Landlock refuses those files to student processes by any path, a
    descriptor-relative open included (isolation.backward_formulas)."""
    if not isinstance(path, str | bytes):
        return False
    path = os.fsdecode(path)
    spelt, resolved = formulas
    return path.startswith(spelt) or os.path.realpath(path).startswith(resolved)


def _writes(args: tuple, write_flags: int) -> bool:
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if isinstance(path, int):
        return False  # an fd already open: its mode was checked when it was opened
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & write_flags)


# An exception's chain as the interpreter keeps it: a student's exception class may define
# `__cause__` or `__context__` as properties of its own, which raised here (and could hide a
# refusal), and `isinstance` asks an object's own `__class__`.
_CAUSE = BaseException.__dict__["__cause__"].__get__
_CONTEXT = BaseException.__dict__["__context__"].__get__


def refusal_behind(error: BaseException) -> AutogradForbidden | None:
    """The refusal of this module that `error` is, or was raised while handling (student code,
    or torch, that catches the refusal and raises something else is still caught)."""
    seen = 0
    while error is not None and seen < 50:
        if issubclass(type(error), AutogradForbidden):
            return error
        cause = _CAUSE(error)
        error, seen = (cause if cause is not None else _CONTEXT(error)), seen + 1
    return None


def caused_by_ban(error: BaseException) -> bool:
    return refusal_behind(error) is not None


def _tanh_backward_out() -> None:
    """tanh's backward kernel by its out= overload, a dispatcher operator of its own."""
    import torch

    out = torch.empty(1)
    torch.ops.aten.tanh_backward.grad_input(torch.ones(1), torch.ones(1), grad_input=out)


def prove() -> str:
    """Check, in this process, that autograd is off; returns what a result reports."""
    import torch

    problems = []
    if torch.is_grad_enabled():
        problems.append("grad mode is on")
    for name, attempt in (
        ("enable_grad", lambda: torch.enable_grad().__enter__()),
        ("inference_mode(False)", lambda: torch.inference_mode(False).__enter__()),
        ("backward", lambda: torch.zeros(1, requires_grad=True).sum().backward()),
        ("dual level", lambda: torch._C._enter_dual_level()),
        ("torch.ops", lambda: torch.ops.aten.set_grad_enabled),
        ("backward kernel", lambda: torch.ops.aten.tanh_backward(torch.ones(1), torch.ones(1))),
        ("backward kernel, out= form", _tanh_backward_out),
        ("TorchScript", lambda: torch._C.CompilationUnit("def f(x: int):\n    return x\n")),
    ):
        try:
            attempt()
            problems.append(f"{name} worked")
        except Exception as e:  # noqa: BLE001 - any other failure is not the ban: say so
            if not caused_by_ban(e):
                problems.append(f"{name}: {type(e).__name__}")
    if torch.is_grad_enabled():
        problems.append("grad mode is on")
    if problems:
        raise RuntimeError("autograd is not switched off: " + "; ".join(problems))
    return (
        "switched off before student code: grad mode off for good, no backward engine, "
        "no forward-mode AD, no torch.func grad or jvp, no TorchScript, no backward kernels"
    )
