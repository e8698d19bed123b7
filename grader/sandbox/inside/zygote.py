"""A clean, pre-warmed process that forks one student process per exercise file on request.

Importing torch costs seconds; forking a process that already has it costs milliseconds. The
zygote is started fresh (never forked from the grader), so what its children inherit is torch
and this folder, nothing of the grader's references. It runs inside the outer sandbox (bubblewrap
where available); every child then closes the door further behind itself before student code
runs: its own session, its own empty folder, a uid of its own where the zygote is root, resource
limits, Landlock and seccomp (see confine.py), then the audit hook that keeps autograd out (the
zygote itself switched autograd off before its first fork: see noautograd.py). A child that
cannot put in force a layer the zygote's start-up probe found working refuses to run student
code at all.

Several control sockets in NINJA_ZYGOTE_FD (comma-separated) and a "nest" in its configuration:
this process imports torch once and forks one zygote per socket, each walled off in namespaces
of its own (nest.py); each then speaks as below.

Protocol on the control socket (fd in NINJA_ZYGOTE_FD), one JSON message per datagram-sized send:
- the grader first sends {"config": {...}} (isolation.zygote_config), on the first socket only;
- the zygote then says {"ready": true, "pid": ..., "layers": {...}} (what its probe child could
  put in force);
- {"op": "spawn", "limits": {...}} with two file descriptors attached (the child's socket and
  the write end of its output pipe) -> {"pid": ...}; the child then says {"hello": true,
  "layers": {...}} (or {"hello": false, "error": ...}) on its own socket;
- {"op": "kill", "pid": ...} -> {"killed": true}: its whole process group is killed and reaped;
  its folder is removed right after the answer, before the next request is read;
- {"op": "status"} -> {"children": [...], "folders": [...]}: what is still there (for tests).
"""

from __future__ import annotations

import array
import contextlib
import functools
import gc
import json
import os
import resource
import secrets
import select
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cleanup  # noqa: E402
import confine  # noqa: E402
import nest  # noqa: E402
import noautograd  # noqa: E402
import protocol  # noqa: E402
import reach  # noqa: E402
import student_torch  # noqa: E402
import worker  # noqa: E402


def warm_up() -> None:
    """Import what student code may import and touch the kernels once, so children start hot."""
    import math  # noqa: F401
    import sysconfig

    import numpy  # noqa: F401
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # before any fork: a forked OpenMP pool can deadlock
    torch.set_num_interop_threads(1)
    x = torch.randn(8, 8, dtype=torch.float64)
    y = (x @ x.T).tanh().exp().log1p().sum(0, keepdim=True) ** -0.5
    F.cross_entropy(x, torch.zeros(8, dtype=torch.long))
    F.one_hot(torch.arange(3), 3).float() @ y[:, :3].T.float()
    torch.zeros(3, 2).index_add_(0, torch.tensor([0, 0]), torch.ones(2, 2))
    student_torch.adjust(torch)
    # The build's configuration, which numpy.testing reads as it is imported, is a standard
    # module whose name depends on the platform (_sysconfigdata__linux_x86_64-linux-gnu), so
    # sys.stdlib_module_names misses it and PromisedImports would refuse it: loaded here, every
    # child finds it in sys.modules (np.testing.assert_allclose was a ModuleNotFoundError).
    sysconfig.get_config_vars()


ROOT_PREFIX = "ninja-sandbox-"


def _sweep_stale_roots() -> None:
    """Remove the folders of zygotes that ended without cleaning up: ours (by uid), named with
    a pid no process has. A pid taken again by another process leaves its folder for later;
    under bubblewrap the /tmp is the sandbox's own, and this finds nothing."""
    tmp = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(ROOT_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(ROOT_PREFIX) :].partition("-")[0]
        path = os.path.join(tmp, name)
        try:
            if not pid.isdigit() or os.lstat(path).st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            cleanup.remove(path)
        except (OSError, OverflowError):  # alive, another user's, gone already, no pid
            continue


class Zygote:
    """The zygote's state: its control socket, its folder, and the children it has forked."""

    def __init__(self, ctl: socket.socket, config: dict) -> None:
        self.ctl = ctl
        self.config = config
        _sweep_stale_roots()
        # The zygote's pid in the name: a zygote killed outright (with its grader process, by
        # the OOM killer) cleans nothing up, and the next one removes what it left.
        self.root = tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-")
        # Traversable but not listable: a student process cannot find its siblings' folders.
        os.chmod(self.root, 0o711)
        self.children: dict[int, str] = {}
        self.layers: dict = {}
        # As root, the zygote opens the way to a Python its children's fresh uids could not
        # reach by name, and points its module table there, once: every child inherits both.
        # (Each child doing it itself touched every loaded module: ~20 ms of CPU per process.)
        roots, keep_out = config.get("reach", []), _keep_out(config)
        root = os.getuid() == 0
        self.ways_in = reach.open_walled_off(roots, keep_out) if root else {}
        # ... and the installations left without one, which student code cannot import from:
        # the grader tells the TA why, and spares the student the blame (client.Zygote).
        self.withheld = _report(reach.withheld(roots, keep_out)) if root else []
        # What the ways in open to a student uid beyond the installation (`..`), where no
        # Landlock confines its reads: the grader checks it against the paths it keeps out,
        # which a zygote launched before they were known was not told (launch.prestart).
        self.exposed = [] if _landlock_confines(config) else _regions(self.ways_in)
        # The installed packages student processes may read, found by the names the modules
        # were loaded under, before the module table is pointed at the ways in.
        config["imported"] = sorted(_imported_entries(_package_folders(config)))
        reach.reroute(self.ways_in)
        self.rules = _landlock_rules(config, self.ways_in)
        if "packages" in config:
            _promised(tuple(config["packages"]))
        self.filter = _seccomp_filter(config)

    def serve(self) -> None:
        self.layers = self._probe()
        _freeze_heap()
        protocol.send(
            self.ctl,
            {
                "ready": True,
                "pid": os.getpid(),
                "layers": self.layers,
                "reach": {"exposed": self.exposed, "withheld": self.withheld},
            },
        )
        try:
            while True:
                msg, fds = _recv_with_fds(self.ctl)
                if msg is None:
                    return
                if msg.get("op") == "kill":
                    folder = self.kill(msg.get("pid"))
                    # Confirmed before the removal, which takes what the disk takes (3,000
                    # nested folders: 6 s on an ext4 here, past the grader's 10 s for the
                    # answer under load, and the grader then killed the zygote as hung).
                    protocol.send(self.ctl, {"killed": True})
                    self.clear(folder)
                elif msg.get("op") == "status":
                    protocol.send(self.ctl, self.status())
                elif msg.get("op") == "heap":
                    protocol.send(self.ctl, {**_heap_pages(), "frozen": gc.get_freeze_count()})
                elif msg.get("op") == "spawn" and len(fds) == 2:
                    protocol.send(self.ctl, self.spawn(msg.get("limits", {}), fds))
                else:
                    _close_all(fds)
                    protocol.send(self.ctl, {"error": "unknown request"})
        finally:
            for pid in list(self.children):
                self.clear(self.kill(pid))
            cleanup.remove(self.root)

    def spawn(self, limits: dict, fds: list[int]) -> dict:
        """Fork a student process. A child that ends is not reaped until the grader kills it:
        its pid stays taken, so a kill can never hit a newer process that reused the number."""
        try:
            folder = tempfile.mkdtemp(prefix="student-", dir=self.root)
            pid = os.fork()
        except OSError as e:
            _close_all(fds)
            return {"error": f"could not start a process: {e}"}
        if pid == 0:
            self._become_worker(limits, fds, folder)  # never returns
        _close_all(fds)
        self.children[pid] = folder
        return {"pid": pid}

    def kill(self, pid) -> str | None:
        """SIGKILL the child's process group and wait for it; returns its folder, which `clear`
        removes (None for a pid that is not a child)."""
        if type(pid) is not int or pid not in self.children:
            return None
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _wait(pid, seconds=5.0)
        return self.children.pop(pid)

    def clear(self, folder: str | None) -> None:
        """Remove everything a killed child wrote: its folder and whatever it left beside it."""
        if folder is not None:
            cleanup.remove(folder)
            self._sweep()

    def _sweep(self) -> None:
        """Remove whatever students left beside their folders (possible where they share the
        zygote's uid), so nothing carries over to the next submission."""
        live = {os.path.basename(f) for f in self.children.values()}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.root):
                if entry.name not in live:
                    cleanup.remove(entry.path)
        if self.config.get("private_tmp"):  # bubblewrap's /tmp is the sandbox's own
            with contextlib.suppress(OSError):
                for entry in os.scandir("/tmp"):
                    if entry.path != self.root:
                        cleanup.remove(entry.path)

    def status(self) -> dict:
        """What is left of past students: children not yet killed, folders not yet removed."""
        return {"children": sorted(self.children), "folders": sorted(os.listdir(self.root))}

    def _probe(self) -> dict:
        """Fork a child that puts every layer in force and reports; its answer is the baseline."""
        ours, theirs = socket.socketpair()
        folder = tempfile.mkdtemp(prefix="probe-", dir=self.root)
        pid = os.fork()
        if pid == 0:
            ours.close()
            code = 0
            try:
                layers = _confine(self.config, folder, {}, self.ways_in, self.rules, self.filter)
                protocol.send(theirs, {"layers": layers})
            except BaseException:  # noqa: BLE001 - the probe must never return into the loop
                code = 1
            os._exit(code)
        theirs.close()
        try:
            answer, _ = protocol.recv(ours, max_bytes=0, deadline=time.monotonic() + 30)
            layers = answer.get("layers", {})
        except (protocol.ProtocolError, TimeoutError) as e:
            layers = {"error": f"the probe process failed: {e}"}
        ours.close()
        _wait(pid, seconds=5.0)
        cleanup.remove(folder)
        return layers

    def _become_worker(self, limits: dict, fds: list[int], folder: str) -> None:
        code = 0
        try:
            sock_fd, out_fd = fds
            self.ctl.close()
            with contextlib.suppress(OSError):  # only ever a cost saved (launch.HUGE_HEAP)
                confine.prctl(confine.PR_SET_THP_DISABLE, 1)
            os.setsid()  # its own session and process group: the grader kills the group as a whole
            _block_stop_signals()
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            _own_stdin()
            rules = self.rules.fds if self.rules else []
            _close_fds_except({0, 1, 2, sock_fd, *self.ways_in.values(), *rules})
            sock = socket.socket(fileno=sock_fd)
            try:
                config = dict(self.config, **limits)
                layers = _confine(
                    config, folder, self.layers, self.ways_in, self.rules, self.filter
                )
            except Exception as e:  # noqa: BLE001 - say why, then refuse to run student code
                protocol.send(sock, {"hello": False, "error": f"{type(e).__name__}: {e}"})
                raise
            protocol.send(sock, {"hello": True, "layers": layers})
            worker.serve(sock, config.get("packages"))
        except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
            code = 1
        finally:
            os._exit(code)


# Ctrl-C's and SIGTERM's signals, which a student process holds blocked whoever started the
# grader: `grader grade` launches its sandbox with them blocked (batch._start_grader) and the
# process inherited that, `grader check` and the Python API did not, so `os.kill(os.getpid(),
# SIGTERM)` was nothing in a graded batch and a crash in `grader check` (the public check, which
# runs student code in-process, makes them nothing too: check_process._BLOCKED_THERE).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _block_stop_signals() -> None:
    """The same signal mask in every student process, whatever the grader's own."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def _heap_pages() -> dict:
    """Whether this process's heap is marked for huge pages (launch.HUGE_HEAP) and how much of
    its memory sits on them: what its forks cost depends on it."""
    marked, in_flags, huge_kb = False, False, 0
    with contextlib.suppress(OSError), open("/proc/self/smaps") as smaps:
        for line in smaps:
            if line.endswith("[heap]\n"):
                in_flags = True
            elif line.startswith("AnonHugePages:"):
                huge_kb += int(line.split()[1])
            elif line.startswith("VmFlags:") and in_flags:
                marked, in_flags = marked or "hg" in line.split()[1:], False
    return {"marked_huge": marked, "huge_kb": huge_kb}


def _landlock_confines(config: dict) -> bool:
    """Whether Landlock will confine every read of the children to the paths they may read."""
    return bool(confine.LINUX and config.get("landlock", True) and confine.landlock_abi() > 0)


def _keep_out(config: dict) -> list[reach.Kept]:
    """What a descriptor of reach.py must not open the way to: nothing where Landlock confines
    every read of the children, else the grader's package and checkout and the paths the
    grading reads and writes (reach.py says why), by identity: no name of them is here."""
    if _landlock_confines(config):
        return []
    return reach.kept(config.get("keep_out", []))


def _regions(ways_in: dict[str, int]) -> list[str]:
    """The folders whose trees the ways in open to a student uid (reach.opened_up)."""
    return sorted({reach.opened_up(root) for root in ways_in})


def _report(withheld: dict[str, int]) -> list[dict]:
    """Each root left without a way in: the closed folder above it, the place in the grader's
    `keep_out` of the folder a way in would have led to (the grader names it), and the
    folders of this process's import path in it (where the grader looks for a module a
    student process failed to import)."""
    return [
        {
            "root": root,
            "closed": os.path.dirname(reach.opened_up(root)),
            "reaches": reached,
            "paths": [p for p in sys.path if isinstance(p, str) and _within(p, root)],
        }
        for root, reached in sorted(withheld.items())
    ]


def _within(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _landlock_rules(config: dict, ways_in: dict[str, int]) -> confine.Rules | None:
    """The Landlock rules every child shares (Python, torch, the system), made ready once; None
    where Landlock is off or missing (each child then tries, and reports, on its own)."""
    if not (confine.LINUX and config.get("landlock", True)):
        return None
    try:
        return confine.Rules(*_readable(config, ways_in))
    except OSError:
        return None


def _readable(config: dict, ways_in: dict[str, int]) -> tuple[list[str], list[str]]:
    """The paths student processes may read, and the folders they may only list, as this
    process reaches them (through `ways_in` where a closed folder is in the way)."""
    folders = _package_folders(config)
    imported = {tuple(e) for e in config.get("imported", ())} or _imported_entries(folders)
    read = [
        reach.alias(p, ways_in)
        for p in config.get("read_paths", [])
        if isinstance(p, str) and _imported(p, folders, imported)
    ]
    listed = [reach.alias(p, ways_in) for p in config.get("list_paths", []) if isinstance(p, str)]
    return read, listed


def _package_folders(config: dict) -> set[str]:
    return {p for p in config.get("package_folders", []) if isinstance(p, str)}


def _loaded_packages() -> set[str]:
    """The top-level modules this process has imported (torch, numpy and what they load)."""
    return {name.partition(".")[0] for name in list(sys.modules)}


def _entry_key(path: str) -> str:
    """What a package folder's entry belongs to: `torch` for `torch/`,
    `torch-2.13.0.dist-info/` and `torch.libs/`; `typing_extensions` for its `.py`."""
    return os.path.basename(path).partition(".")[0].partition("-")[0]


def _imported_entries(folders: set[str]) -> set[tuple[str, str]]:
    """(folder, key) of every package folder's entry a loaded top-level module came from: the
    very folder it was imported from, so a second torch in the base Python's site-packages,
    which this process never imported, is not one of them."""
    found = set()
    for name, module in list(sys.modules.items()):
        if "." in name:
            continue
        places = list(getattr(module, "__path__", None) or ()) or [getattr(module, "__file__", 0)]
        for place in places:
            if isinstance(place, str) and place:
                real = os.path.realpath(place)
                if os.path.dirname(real) in folders:
                    found.add((os.path.dirname(real), _entry_key(real)))
    return found


def _imported(path: str, folders: set[str], imported: set[tuple[str, str]]) -> bool:
    """Whether student processes may read `path`: anything outside the package folders
    (isolation.package_folders), and in them only what belongs to a package this process
    imported from that folder before its first fork (`torch/`, `numpy.libs/`,
    `torch-2.13.0.dist-info/`, `typing_extensions.py`), never another installed package's."""
    folder = os.path.dirname(path)
    return folder not in folders or (folder, _entry_key(path)) in imported


class PromisedImports:
    """An import finder, first on `sys.meta_path` in every student process, that refuses a
    top-level import beyond the standard library and the packages the contract promises (and
    what the zygote imported, which is found in `sys.modules` before any finder is asked: the
    worker refuses those from the student's files, worker._promised_only).

    A second layer, for the message: Landlock already keeps every other installed package's
    files unreadable (`_imported`), where the import fails with a PermissionError on a file a
    student never named. This makes it the ModuleNotFoundError of a machine without the
    package, which the grader explains as it does on the student's own machine."""

    def __init__(self, packages: list[str]) -> None:
        self.allowed = frozenset(packages) | sys.stdlib_module_names | _loaded_packages()

    def find_spec(self, name: str, path=None, target=None):
        if path is None and name not in self.allowed:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None  # the usual finders find it, or not

    def invalidate_caches(self) -> None:
        pass


@functools.lru_cache(maxsize=1)
def _promised(packages: tuple[str, ...]) -> PromisedImports:
    """The finder every child puts first, made once in the zygote (Zygote.__init__): its set of
    names walks the ~1,100 modules loaded, which each child would otherwise walk again."""
    return PromisedImports(list(packages))


def _freeze_heap() -> None:
    """Every object the zygote holds now (torch's, the cases' modules', the sandbox's) moved out
    of the collector's reach for good, before the first fork.

    Whether a student process ran a full collection was an accident of the counters it
    inherited: a few more objects in the zygote (a longer seccomp program's tables) tipped each
    child into one, which walked torch's ~10^5 objects and wrote to each one's header, copying
    nearly every page of the zygote's heap: a batch's CPU per submission went from ~185 ms to
    ~330 ms (docs/performance.md, twenty-fifth session). Frozen, a child's collections see only
    what it made itself, whatever the counters say."""
    gc.freeze()


def _seccomp_filter(config: dict) -> confine.Filter | None:
    """The seccomp program every child installs, assembled once; None where seccomp is off or
    has no filter for this machine (each child then tries, and reports, on its own)."""
    if not (config.get("seccomp", True) and confine.seccomp_supported()):
        return None
    return confine.Filter()


def _confine(
    config: dict,
    folder: str,
    required: dict,
    ways_in: dict[str, int],
    rules: confine.Rules | None = None,
    seccomp: confine.Filter | None = None,
) -> dict:
    """Every layer this process can put in force, in order; `required` ones must not fail.
    `ways_in`: the zygote's descriptors for a Python behind closed folders (inside/reach.py);
    `rules`: the zygote's Landlock rules for the paths in `config` (its descriptors are closed
    here, before any student code); `seccomp`: the zygote's assembled seccomp program."""
    for name in set(os.environ) - set(config.get("env", ())):
        del os.environ[name]  # bubblewrap adds PWD; the zygote's own settings go too
    uid = _fresh_uid() if os.getuid() == 0 else None
    # Its folder is one it may enter (its working folder) but neither list nor write, and as
    # root not its own (so not its to chmod back): reading a folder sets its access time, which
    # `stat` shows any process that knows the folder's name, and every student process knows
    # those of the processes forked before it (this zygote's `children`, copied by the fork):
    # exercise 1's process listed its own folder at a moment of its choosing and exercise 2's
    # read that moment back, every layer in force (red team, thirty-ninth session). A student
    # process has nothing to list there: it creates nothing.
    os.chmod(folder, 0o111)
    os.chdir(folder)
    oom_first = _first_for_the_oom_killer()  # while /proc/self is still its own to write
    _drop_privileges(uid)
    mapped = _address_space_now()  # read from /proc, which Landlock then closes
    hiding = _hide_others(ways_in)
    if confine.LINUX:
        zygote = os.getppid()
        # Dies with the zygote. Set after the uid change, which clears it.
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != zygote:
            raise RuntimeError("the zygote ended during set-up")
        confine.not_dumpable()
        confine.no_inheritable_capabilities()  # after the uid change, which leaves them
    layers = {
        "uid": os.getuid(),
        "dropped_to_fresh_uid": uid is not None,
        "oom_killer_first": oom_first,
        "others_hidden": _others_hidden(),  # before Landlock, which would hide them all
        "proc_empty": not os.path.exists("/proc/self"),
    }
    if hiding:
        layers["proc_error"] = hiding
    try:
        _put_in_force(
            layers, "landlock", config, required, lambda: _landlock(config, folder, ways_in, rules)
        )
    finally:
        if rules is not None:
            rules.close()
    # After Landlock: its ruleset needs a descriptor below the open-files limit, and the
    # zygote's rules held ~270 descriptors until just now.
    _set_limits(config, mapped)
    _put_in_force(
        layers, "seccomp", config, required, lambda: confine.seccomp(os.getpid(), seccomp)
    )
    _check_python_readable(layers)
    if "packages" in config:
        sys.meta_path.insert(0, _promised(tuple(config["packages"])))
    layers["autograd"] = _keep_autograd_off(config.get("audit_hook", True))
    return layers


def _hide_others(ways_in: dict[str, int]) -> str:
    """An empty /proc of this process's own (confine.hide_processes); "" when made, else why
    not. Not where reach.py's ways in lead through /proc/self/fd (no Landlock). Also where
    /proc already hides every other process (bubblewrap as root mounts it hidepid=2): each
    new name looked up there, `stat("/proc/self/fd/3")` past Landlock, which governs opens,
    draws an inode number from one count for the whole machine (get_next_ino, the pipes'
    count), and exercise 1's process moved it by a chosen thousands (64 descriptors looked up
    again and again) where exercise 2's read it back from its own /proc/self (red team,
    thirty-third session)."""
    if not confine.LINUX:
        return ""
    if ways_in:
        return (
            "the Python student code runs lies behind a folder closed to student uids ("
            + ", ".join(sorted(ways_in))
            + ") and is reached through /proc/self/fd, which an empty /proc would cut off; a "
            "Python every user may read (under /usr or /opt) lets each process have one"
        )
    try:
        confine.hide_processes(os.getppid())
    except OSError as e:
        return f"this machine refused the user namespace that empties it ({e})"
    return ""


def _others_hidden() -> bool:
    """Whether this process, as it is now, sees no other process in /proc: there, any uid reads
    another process's page faults and CPU time (/proc/PID/stat), a channel between two student
    processes where no Landlock closes /proc (tmpfs.hide_processes). Asked of its parent, the
    zygote, which every student process has; no /proc at all hides them too."""
    return not os.path.exists(f"/proc/{os.getppid()}/stat")


# The most a process can ask of the OOM killer: take me before anything else.
OOM_SCORE_ADJ_MAX = 1000


def _first_for_the_oom_killer() -> bool:
    """Make this process the OOM killer's first choice, before anything of the grader's.

    The kernel picks its victim by resident memory. In a container's memory cgroup, student
    processes that each stay just under the grader's size, all at once, made the grader itself
    the largest process and the victim (red team: the grading ended with no result at all).
    At the maximum adjustment every student process outranks the grader and the zygote
    whatever its size. Raising one's own score needs no privilege; lowering it again needs the
    file opened for writing, which a student process cannot (non-dumpable, its /proc/self is
    root's; seccomp and Landlock refuse it too), and as root the write also sets the floor
    below which only CAP_SYS_RESOURCE may go. Before the uid change. Not root, the process
    inherited the zygote's non-dumpable mark, which gives /proc/self to root: it is dumpable
    for the one write (no student code exists yet), then closed again. False where there is
    no /proc to write (not Linux)."""
    try:
        _write_oom_score_adj()
    except PermissionError:
        if os.getuid() == 0 or not confine.LINUX:
            return False
        try:
            confine.prctl(confine.PR_SET_DUMPABLE, 1)
            _write_oom_score_adj()
        except OSError:
            return False
        finally:
            confine.not_dumpable()
    except OSError:
        return False
    return True


def _write_oom_score_adj() -> None:
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write(str(OOM_SCORE_ADJ_MAX))


def _landlock(config: dict, folder: str, ways_in: dict[str, int], rules) -> str:
    """Landlock for this child: the zygote's rules, or the same paths opened here, and its
    own folder (read only: a student process creates nothing, ninth session)."""
    if rules is not None:
        return confine.landlock([folder], ["/dev/null"], rules=rules)
    read, listed = _readable(config, ways_in)
    return confine.landlock([*read, folder], ["/dev/null"], listed)


def _put_in_force(layers: dict, name: str, config: dict, required: dict, apply) -> None:
    """One kernel layer, unless the grader disabled it; `required` ones must not fail."""
    if not config.get(name, True):
        layers[name] = None
        layers[f"{name}_error"] = "disabled by the grader"
        return
    try:
        layers[name] = apply()
    except OSError as e:
        if required.get(name):
            raise RuntimeError(f"{name} worked in the probe but not here: {e}") from None
        layers[name], layers[f"{name}_error"] = None, str(e)


def _keep_autograd_off(hook: bool) -> str:
    """Last, after the layers that need ctypes: arm the audit hook that keeps autograd out (the
    zygote took it out before forking), then prove in this very process that it is out.
    `hook` False is for tests of the kernel layers beneath it (ctypes, file writes)."""
    if hook:
        noautograd.arm()
    proof = noautograd.prove()
    return proof if hook else f"{proof}; audit hook off (a test of the layers beneath it)"


def _check_python_readable(layers: dict, folders: tuple[str, ...] = ()) -> None:
    """Student code imports lazily from the Python installation: it must stay readable."""
    import torch

    for folder in folders or (os.path.dirname(os.__file__), os.path.dirname(torch.__file__)):
        try:  # opening a folder is where its read permission and Landlock are checked
            os.close(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
        except OSError as e:
            layers["warning"] = (
                f"student code cannot read {folder} ({e.strerror}): modules it imports lazily "
                "will fail; install Python where every user can read it"
            )
            return


def _fresh_uid() -> int:
    return confine.UID_BASE + secrets.randbelow(confine.UID_SPAN)


def _drop_privileges(uid: int | None) -> None:
    if uid is None:
        return
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("could not drop root privileges")


def _own_stdin() -> None:
    """A /dev/null opened by this process alone on descriptor 0.

    The zygote's stdin is one open file description (the /dev/null of the grader's Popen, and
    as root with `-j N`, of the one bubblewrap every nested zygote is forked in), and a fork
    shares it. Its status flags (O_APPEND, O_NONBLOCK) are the description's: what one student
    process set with fcntl(F_SETFL), every other read with F_GETFL, with no file, lock or
    signal involved. A red team clocked dlogits from exercise 1's process to exercise 2's at
    ~200 bits a second through them, and between two students graded at once by `-j 2`; the
    flags a process left also stayed for the next submission. Every other descriptor a
    student process holds is its own already (its socket and output pipe) or an O_PATH one,
    whose flags cannot be set."""
    fd = os.open(os.devnull, os.O_RDONLY)
    if fd != 0:
        os.dup2(fd, 0)
        os.close(fd)


def _close_fds_except(keep: set[int]) -> None:
    """Nothing the zygote had open (other children's pipes, torch's files) reaches student code.

    One close_range per gap between the kept descriptors, up to the size of the descriptor
    table: listing /proc/self/fd cost ~1 ms a process once the zygote held its Landlock rules'
    ~270 descriptors (which are kept here, and closed once the child's ruleset holds them)."""
    start = 0
    for fd in [*sorted(keep), _descriptor_table_size()]:
        if fd > start:
            os.closerange(start, fd)
        start = max(start, fd + 1)


def _descriptor_table_size() -> int:
    """A bound above every open descriptor: the kernel's table size (FDSize), else the limit."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fd = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 1 << 16)  # raw: a text file object costs more than the read
        finally:
            os.close(fd)
        return int(status.split(b"\nFDSize:", 1)[1].split(None, 1)[0])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(v for v in (soft, hard, 1 << 20) if v != resource.RLIM_INFINITY)


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _wait(pid: int, seconds: float) -> None:
    """Reap `pid`; a process stuck in the kernel may take a moment to die after SIGKILL.

    Woken by the process's end itself (a pidfd) where the kernel offers one: a killed process
    of torch's size takes a few milliseconds to unmap, and the grader waits for this answer.
    """
    end = time.monotonic() + seconds
    pidfd = _pidfd(pid)
    try:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            left = end - time.monotonic()
            if done or left <= 0:
                return
            if pidfd is None:
                time.sleep(0.002)
            else:
                select.select([pidfd], [], [], left)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):  # before Linux 5.3, or not Linux
        return None


def _recv_with_fds(ctl: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    try:
        (size,) = protocol._LEN.unpack(_recv_exactly(ctl, protocol._LEN.size, fds))
        data = _recv_exactly(ctl, size, fds)
    except EOFError:
        return None, []
    msg = json.loads(data)
    return (msg if isinstance(msg, dict) else {}), list(fds)


def _recv_exactly(ctl: socket.socket, size: int, fds: array.array) -> bytes:
    """Read `size` bytes, collecting any file descriptors passed alongside them."""
    buf = bytearray()
    while len(buf) < size:
        data, ancdata, _, _ = ctl.recvmsg(size - len(buf), socket.CMSG_SPACE(2 * fds.itemsize))
        if not data:
            raise EOFError
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        buf += data
    return bytes(buf)


def _set_limits(limits: dict, mapped: int) -> None:
    """Resource limits the kernel enforces, whatever the student's code does afterwards; the
    address-space limit is headroom above the `mapped` bytes (_address_space_now)."""
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "address_space": resource.RLIMIT_AS,
        "file_size": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
        "processes": resource.RLIMIT_NPROC,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # No signal queued beyond the kernel's own: the count of queued signals is the uid's, and
    # where student processes share one (no root) a process queued a chosen number to itself
    # (os.kill, a real-time signal held blocked) and another read it back as how many it could
    # queue before EAGAIN (signal.pthread_kill), in pure Python, every layer in force. At 0
    # every such try is refused, whatever others hold; plain signals still arrive (a timer's).
    if hasattr(resource, "RLIMIT_SIGPENDING"):
        resource.setrlimit(resource.RLIMIT_SIGPENDING, (0, 0))
    # No priority above the grader's and the other students': an unprivileged process may take
    # a real-time policy up to RLIMIT_RTPRIO and lower its nice value down to 20 - RLIMIT_NICE,
    # both inherited from whoever started the grader (JACK's limits.d file gives a desktop's
    # audio group rtprio 95; `docker run --ulimit rtprio=...`). A student process spinning as
    # SCHED_FIFO on every CPU it may take (its own affinity is its to set) leaves the processes
    # of a neighbour graded beside it, and the grader processes, the kernel's 5% of each second.
    # No page locked in memory either: RLIMIT_MEMLOCK is inherited too (8 MiB by default, any
    # size where a container runs with `--ulimit memlock=-1`), and a page locked is one the
    # kernel may not swap or reclaim, taken from the machine's memory for the other students
    # and the grader. Nothing a student writes for the lecture locks memory: torch's CPU build
    # never calls mlock (the solutions score the same with it 0).
    for name in ("RLIMIT_RTPRIO", "RLIMIT_NICE", "RLIMIT_MEMLOCK"):
        if hasattr(resource, name):
            resource.setrlimit(getattr(resource, name), (0, 0))
    for key, rlimit in table.items():
        value = limits.get(key)
        if type(value) is int and value >= 0:
            if key == "address_space":
                value += mapped
            resource.setrlimit(rlimit, (value, value))


def _address_space_now() -> int:
    """Torch maps memory it never touches: the limit is headroom above what is mapped already."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc (not Linux): the kernel's own accounting will have to do
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _configuration(fd: int) -> dict:
    """The grader's first message on the (first) control socket. Not in the environment: its
    block stays in memory whatever os.environ forgets, and every student process, a fork of
    this one, could read it (reach.py: nothing here names the grading's paths either)."""
    ctl = socket.socket(fileno=fd)
    try:
        header, _ = protocol.recv(ctl, max_bytes=0, deadline=time.monotonic() + 60)
    finally:
        ctl.setblocking(True)  # the deadline made it non-blocking; the descriptor serves on
        ctl.detach()
    config = header.get("config")
    return config if isinstance(config, dict) else {}


def _end_if_orphaned(launcher: object) -> None:
    """End now if the grader that launched this process ended before the parent-death signal
    was asked for: the kernel never sends it then. A grader stopped (SIGTERM, Ctrl-C) right
    after launching its zygotes left the last one running on its own for seconds, importing
    torch and forking its probe, and its folder in /tmp. `launcher`: the grader's pid, given
    where no bubblewrap ties this process's life to the grader's (launch.start_zygote); while
    any of its threads lives it stays this process's parent, and the signal comes at its end."""
    if type(launcher) is int and os.getppid() != launcher:
        os._exit(1)


def main() -> None:
    ctls = [int(fd) for fd in os.environ["NINJA_ZYGOTE_FD"].split(",")]
    with contextlib.suppress(OSError):  # Linux only; elsewhere the grader's EOF still ends it
        # If the grader dies, so does the zygote (bubblewrap's --die-with-parent does the same).
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
        confine.not_dumpable()  # student processes of the same user cannot read or trace it
    config = _configuration(ctls[0])
    _end_if_orphaned(config.pop("launcher", None))
    nested = config.pop("nest", None)
    warm_up()
    noautograd.switch_off()  # before any fork: no student process ever had autograd
    if nested:  # one zygote per grader process, each in namespaces of its own (nest.py)
        nest.serve_each(ctls, nested, lambda ctl: Zygote(ctl, config).serve())
    else:
        Zygote(socket.socket(fileno=ctls[0]), config).serve()
    os._exit(0)  # skip tearing torch down: seconds for nothing


if __name__ == "__main__":
    main()
