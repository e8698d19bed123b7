"""torch as a student process has it: the few torch functions that fail under the sandbox's
layers for no fault of the student's code, made to work, or to fail in words that say why.

Each one was honest code the grader scored as `forbidden` or as an error that blamed something
else: torch code that looks operators up by name, switches grad mode on for its own use, starts
threads or opens a file from C++, all of which a student process may not do (noautograd.py,
confine.py). The zygote applies them once, before its first fork (zygote.warm_up); an
assignment's public check refuses the same things in the same words.
Tests: tests/test_attacks.py (`ALLOWED`, and a file that checks itself with assert_close) and
tests/test_student_check.py (`SCENARIOS`: the refusals' words, in the grader and the check).
"""

from __future__ import annotations

import os


def adjust(torch) -> None:
    """Every adjustment below, in the zygote (trusted, before any student code exists)."""
    _assert_close_without_dtensor(torch)
    _one_thread_whatever_is_asked(torch)
    _lazy_properties_without_grad_mode()
    _deterministic_without_the_compiler(torch)
    _compile_refused_in_plain_words(torch)
    _script_refused_in_plain_words(torch)
    _save_to_a_file_refused_in_plain_words(torch)


def _assert_close_without_dtensor(torch) -> None:
    """`torch.testing.assert_close`, which students use to check themselves, imports
    torch.distributed.tensor at its first call only to tell DTensors apart; that import looks
    operators up by name, which no student process may do (noautograd.py), so a file calling it
    was refused whole as `forbidden`. No DTensor can exist in a student process (the same import
    fails there), so the check is dropped before the fork, and assert_close runs once here."""
    comparison = getattr(torch.testing, "_comparison", None)
    if getattr(comparison, "_HAS_DTENSOR", False):
        comparison._HAS_DTENSOR = False
    torch.testing.assert_close(torch.ones(2), torch.ones(2))


def _one_thread_whatever_is_asked(torch) -> None:
    """A student process may start no thread (confine.py), and libgomp aborts the process when
    it cannot: after a student's `torch.set_num_threads(4)` the first parallel kernel (a
    matmul) killed it, and every item of the file was an error that said nothing of threads.
    The request is checked as torch checks it, then one thread is kept: the values are the
    same. `set_num_interop_threads`, which torch refuses once any work has run (here, before
    the fork), is answered the same way."""
    set_num_threads = torch.set_num_threads

    def one_thread(n: int) -> None:
        set_num_threads(n)  # raises as torch does on a wrong argument; starts no thread yet
        set_num_threads(1)

    def one_interop_thread(n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise RuntimeError("set_num_interop_threads expects a positive integer")

    torch.set_num_threads = one_thread
    torch.set_num_interop_threads = one_interop_thread


def _lazy_properties_without_grad_mode() -> None:
    """torch.distributions computes a distribution's other parameters on first use (`logits`
    of a `Categorical(probs=...)`, read by `log_prob`; `probs` of one made from logits) inside
    `torch.enable_grad()`, so that they carry a graph where autograd exists. Switching grad
    mode on is refused in a student process (noautograd.py), so sampling names with
    `Categorical` cost the whole file as `forbidden`. Grad mode stays off there for good, so
    the value is the same computed without asking for it."""
    from torch.distributions import utils

    lazy = getattr(utils, "lazy_property", None)
    original = getattr(lazy, "__get__", None)
    if original is None:
        return

    def __get__(self, instance, obj_type=None):
        if instance is None:  # the class's attribute: nothing computed
            return original(self, instance, obj_type)
        value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value

    lazy.__get__ = __get__


def _deterministic_without_the_compiler(torch) -> None:
    """`torch.use_deterministic_algorithms(True)`, which students write for reproducible runs,
    also sets the flag in torch's compiler config, whose import brings in torch._dynamo, which
    looks operators up by name: refused in a student process (noautograd.py), so the whole file
    was `forbidden`. No code is compiled there, so only the eager flag is set, as torch sets it."""
    set_flag = torch._C._set_deterministic_algorithms

    def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
        set_flag(mode, warn_only=warn_only)

    use_deterministic_algorithms.__doc__ = torch.use_deterministic_algorithms.__doc__
    torch.use_deterministic_algorithms = use_deterministic_algorithms


def _compile_refused_in_plain_words(torch) -> None:
    """torch.compile cannot run in a student process: importing its compiler looks operators up
    by name (noautograd.py), so `@torch.compile` on a helper cost the file as `forbidden`, with
    an AttributeError about `aten.set_` under the autograd ban's words. It now raises at once,
    in the words the grader's messages recognise (student_text.COMPILE_REFUSED), and the public
    check raises the same, so the student learns it before submitting."""

    def compile(*args, **kwargs):  # noqa: A001 - torch's name, as the student calls it
        raise RuntimeError(
            "torch.compile is not available in the grader: remove it and call the function itself"
        )

    torch.compile = compile


def _script_refused_in_plain_words(torch) -> None:
    """TorchScript is switched off in a student process (a scripted function could switch grad
    mode on unseen: noautograd.py), so `@torch.jit.script` on a helper cost the file as
    `forbidden` under the autograd ban's words, naming `torch._C._jit_script_compile`. The two
    ways in a student writes now raise at once, in the words of student_text.SCRIPT_REFUSED, as
    the public check does; the refusal behind them stays."""

    def refused(*args, **kwargs):
        raise RuntimeError(
            "TorchScript (torch.jit.script, torch.jit.trace) is not available in the grader: "
            "remove it and call the function itself"
        )

    torch.jit.script = torch.jit.trace = refused


def _save_to_a_file_refused_in_plain_words(torch) -> None:
    """torch.save opens a named file from C++, which the kernel's layers refuse where the audit
    hook cannot see it (confine.py): the student read `[enforce fail at inline_container.cc]
    open file failed`. Saving to a file now raises what any other write raises, naming the file
    (student_text.WRITE_REFUSED); saving into a file object (BytesIO) works as before."""
    save = torch.save

    def refusing_files(obj, f, *args, **kwargs):
        if isinstance(f, str | bytes | os.PathLike):
            raise PermissionError(f"student code may not write files ({os.fsdecode(f)!r})")
        return save(obj, f, *args, **kwargs)

    refusing_files.__doc__ = save.__doc__
    torch.save = refusing_files
