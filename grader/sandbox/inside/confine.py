"""Kernel-enforced confinement of one student process: Landlock for files, seccomp for syscalls.

Both work without root and without bubblewrap (Linux >= 5.13 for Landlock, any Linux for
seccomp), which is why they sit here, applied by every student process to itself right before
student code runs, and not in the outer sandbox. Once applied, neither can be undone by the code
that follows: the kernel refuses to loosen a Landlock domain or remove a seccomp filter.

- Landlock: the process may read Python, torch and the system libraries, read and write its own
  private folder, and nothing else: not the grader's files, not another student process's folder,
  not /tmp. Where the kernel supports it, it also may not connect to TCP ports, reach abstract
  Unix sockets or send signals outside its own domain.
- seccomp: no new sockets, by socket or socketpair, and no name bound or connection made
  on the one it has (so no network, whatever the network namespace), no ptrace or reading
  other processes' memory, no signals, resource limits or scheduling (priority, CPUs) aimed at
  any process but itself, no SysV/POSIX IPC, no io_uring, no namespaces or mounts, no new
  processes or threads, no exec, no memfd (no native code loaded from memory), no reading of
  the machine's free and shared memory (sysinfo: any process moves them), no file locks or
  leases (flock, fcntl's lock commands: a channel between two processes that can read the same
  file), no signal owner for a descriptor (fcntl's F_SETOWN: SIGIO, or any signal, to another
  process), and no new name in any folder: no file, folder, FIFO, device node or link is created,
  and none renamed (what one process makes in the machine's /tmp outlives grading and is seen
  by its siblings; Landlock forbids it too, but is missing on older kernels); nor is any file
  or folder removed, truncated, opened for writing, or changed in mode, owner, times or
  extended attributes (without Landlock, and not as root, student code runs as the grading
  user, whose other files, results included, would otherwise be open to it; Landlock does not
  cover metadata at all), nor through an ioctl: only those that read a descriptor's state or set
  its own flags are allowed. Nor is any mapping of huge pages made (MAP_HUGETLB: each draws an
  inode number from the machine's one count). Nor is the page cache's hold on a file's pages
  read exactly, page by page (mincore, cachestat, a read that refuses to wait for the disk,
  the process's own count of major faults): what one process read there, another reads back.
  The program is written with labels (`_listing`) and assembled by `_assemble`; it may grow
  past the 255 instructions a conditional jump reaches (a far branch goes through an
  unconditional `ja`), up to the kernel's 4096.

Standard library only: this file runs inside the sandbox beside student code.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import platform
import stat
import struct
import sys

# Linux only: elsewhere the same system call numbers mean other things, so nothing is called.
LINUX = sys.platform.startswith("linux")
_libc = ctypes.CDLL(None, use_errno=True)
if LINUX:
    _libc.syscall.restype = ctypes.c_long
    _libc.prctl.restype = ctypes.c_int

# Student uids when the zygote is root: one fresh uid per process, so no two student processes
# (of one submission or of parallel graders) can signal, trace or read each other by permission.
# The range sits above systemd-nspawn's container ranges and below 2**31 (signedness trouble).
UID_BASE, UID_SPAN = 0x70000000, 0x0FFF0000

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_SET_THP_DISABLE = 41
SECCOMP_MODE_FILTER = 2


def prctl(option: int, arg: int = 0) -> None:
    """prctl(2) with one argument; raises OSError on failure."""
    if not LINUX:
        raise OSError(errno.ENOSYS, "prctl exists on Linux only")
    if _libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def not_dumpable() -> None:
    """Processes of the same user may no longer read this one's memory, fds or environment."""
    prctl(PR_SET_DUMPABLE, 0)


def no_new_privs() -> None:
    """No set-uid binary or file capability can ever raise this process's privileges again."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]  # fmt: skip


def no_inheritable_capabilities() -> None:
    """Empty this process's inheritable capabilities, keeping the rest as they are.

    Any process reads any other's capability sets by pid (capget names a pid inside a struct,
    which no seccomp filter can read), and a process may drop bits of its own inheritable set
    at will. Under bubblewrap as root, every student process inherited the zygote's six
    (CapInh 0xeb), which its uid change leaves in place: exercise 1's process dropped a chosen
    few and exercise 2's read them back with capget, with every layer in force (red team). Once
    empty, with nothing permitted, the three sets cannot change again: nothing is left to set.
    Raises OSError where the set cannot be emptied or read back empty."""
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if _libc.capget(ctypes.byref(header), data) != 0:
        _raise("capget")
    if not any(half.inheritable for half in data):
        return  # empty already (no bubblewrap): no capset, which a container might refuse
    for half in data:
        half.inheritable = 0
    if _libc.capset(ctypes.byref(header), data) != 0:
        _raise("capset")
    if _libc.capget(ctypes.byref(header), data) != 0 or any(h.inheritable for h in data):
        raise OSError(errno.EPERM, "the inheritable capabilities are still set")


CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 1 << 14, 1 << 18


def hide_processes(before: int) -> None:
    """An empty, read-only /proc for this process alone: no other process left to `stat`.

    The size of /proc/PID/fd is PID's count of open files, which any process sets at will and
    `stat` reads of any process /proc lists, asking no permission and past Landlock (which
    governs opens, not stat): not as root, exercise 1's process held a chosen count and
    exercise 2's read it back, and without bubblewrap so did a student graded at the same time
    (red team, twenty-ninth session). Only bubblewrap as root mounts /proc hidepid=2; elsewhere
    this process takes a user and mount namespace of its own (its uid and gid mapped to
    themselves, so nothing it can reach changes), covers /proc with an empty tmpfs, and keeps
    no capability in the new namespace. `before`: the process's /proc/self/fd, still readable,
    is what reach.py's ways in use (no Landlock): there /proc stays. Raises OSError where the
    machine refuses a user namespace (the result then reports `exchange` missing)."""
    uid, gid = os.getuid(), os.getgid()
    dumpable = _libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        _raise("unshare")
    try:
        prctl(PR_SET_DUMPABLE, 1)  # its /proc/self is its own again for the maps (no student code)
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                               ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
                fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
        finally:
            if dumpable == 0:
                not_dumpable()
        if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            _raise("mount --make-rprivate /")
        flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        if _libc.mount(b"tmpfs", b"/proc", b"tmpfs", flags, b"size=4k,nr_inodes=2,mode=555") != 0:
            _raise("mount tmpfs /proc")
    finally:
        # Whatever came of the mounts (a machine may give a new user namespace no right to
        # mount, as Ubuntu's AppArmor does), the namespace's capabilities go before any student
        # code runs; a failure here is no OSError, so the process refuses to run it.
        _no_capabilities()
    if os.path.exists(f"/proc/{before}"):
        raise OSError(errno.EPERM, "/proc still shows other processes")


def _no_capabilities() -> None:
    """Every capability set emptied (those the new user namespace gave), and checked empty;
    RuntimeError otherwise: a process left with them must not run student code."""
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if (
        _libc.capset(ctypes.byref(header), data) != 0
        or _libc.capget(ctypes.byref(header), data) != 0
    ):
        raise RuntimeError(f"capabilities could not be dropped: {os.strerror(ctypes.get_errno())}")
    if any(h.effective or h.permitted or h.inheritable for h in data):
        raise RuntimeError("capabilities are still set")


# --- Landlock -------------------------------------------------------------------------------

_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446  # the same number on every architecture
_LL_VERSION = 1 << 0
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | TRUNCATE


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    if not LINUX:
        return 0
    abi = _libc.syscall(_LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_LL_VERSION))
    return max(int(abi), 0)


def _handled_fs(abi: int) -> int:
    """Every filesystem right this ABI knows: whatever no rule grants is then denied."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


RULES_ABOVE = 256  # where the zygote keeps the descriptors of its prepared Landlock rules


class Rules:
    """Landlock rules made ready once, in the zygote, for every process it forks: each path's
    O_PATH descriptor and the packed struct landlock_path_beneath_attr granting its rights.
    A student process adds them to a ruleset of its own with one system call each and then
    closes the descriptors; opening and checking the ~270 paths itself cost each process ~3 ms
    (docs/performance.md, tenth session). The zygote keeps them for the next fork.

    The ruleset itself cannot be made ahead: a ruleset is one kernel object shared by every
    process holding its descriptor, and each process adds its own folder to it.
    """

    def __init__(self, read: list[str], listed: list[str] = ()) -> None:
        abi = landlock_abi()
        if abi < 1:
            raise OSError(errno.ENOSYS, "Landlock is not available in this kernel")
        handled = _handled_fs(abi)
        self.fds: list[int] = []
        self.attrs: list = []
        try:
            for paths, access in ((listed, READ_DIR & handled), (read, READ & handled)):
                for path in paths:
                    self._add(path, access)
        except BaseException:
            self.close()
            raise

    def _add(self, path: str, access: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # an absent path needs no rule
        # Moved up out of the way: the descriptors a child is handed (its socket) keep the low
        # numbers they always had, and its ruleset finds one below the open-files limit.
        with contextlib.suppress(OSError):
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, RULES_ABOVE)
            os.close(fd)
            fd = high
        self.fds.append(fd)
        self.attrs.append(_path_beneath(fd, access))

    def close(self) -> None:
        """Close the descriptors: in a student process once its ruleset holds the rules, before
        any student code runs. Opened one after another, they are mostly one run of numbers:
        a close_range per run, not a close per descriptor."""
        fds = sorted(self.fds)
        start = 0
        for i in range(1, len(fds) + 1):
            if i == len(fds) or fds[i] != fds[i - 1] + 1:
                os.closerange(fds[start], fds[i - 1] + 1)
                start = i
        self.fds = []


def landlock(
    read: list[str], write: list[str], listed: list[str] = (), rules: Rules | None = None
) -> str:
    """Confine this process's file access to `read` (read-only) and `write` paths, for good;
    `listed` folders may be listed, and every folder beneath them, but no file in them read
    unless `read` allows it (how a folder is left out of an allowed one: isolation.py).
    `rules`, made ready in the zygote, are added first, as if their paths were in `read` and
    `listed`.

    Returns a description of what is in force; raises OSError when Landlock is unavailable or a
    step fails (the caller reports it). Paths that do not exist are skipped.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available in this kernel")
    handled = _handled_fs(abi)
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    # struct landlock_ruleset_attr grew with the ABI: pass the size this kernel knows.
    attr = struct.pack("=QQQ", handled, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _libc.syscall(_LL_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        _raise("landlock_create_ruleset")
    try:
        if rules is not None:
            add, fd = _libc.syscall, ctypes.c_int(ruleset)  # ~270 calls: no lookups in the loop
            for rule in rules.attrs:
                if add(_LL_ADD_RULE, fd, _RULE_PATH_BENEATH, rule, 0) != 0:
                    _raise("landlock_add_rule(a rule made ready in the zygote)")
        for path in listed:
            _allow(ruleset, path, READ_DIR & handled)
        for path in read:
            _allow(ruleset, path, READ & handled)
        for path in write:
            _allow(ruleset, path, WRITE & handled)
        no_new_privs()  # required before restricting oneself without CAP_SYS_ADMIN
        if _libc.syscall(_LL_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            _raise("landlock_restrict_self")
    finally:
        os.close(ruleset)
    extras = (["TCP connect/bind denied"] if net else []) + (
        ["signals and abstract sockets scoped"] if scoped else []
    )
    return f"ABI {abi}" + "".join(f"; {e}" for e in extras)


def _allow(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # an absent path needs no rule
    try:
        _add_rule(ruleset, _path_beneath(fd, access), path)
    finally:
        os.close(fd)


def _path_beneath(fd: int, access: int):
    """struct landlock_path_beneath_attr (packed) for the file or folder open as `fd`."""
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        access &= _FILE_ONLY  # the kernel refuses directory rights on a file
    attr = struct.pack("=Qi", access, fd)
    return ctypes.create_string_buffer(attr, len(attr))


def _add_rule(ruleset: int, attr, what: str) -> None:
    if _libc.syscall(_LL_ADD_RULE, ctypes.c_int(ruleset), _RULE_PATH_BENEATH, attr, 0) != 0:
        _raise(f"landlock_add_rule({what})")


def _raise(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


# --- seccomp --------------------------------------------------------------------------------

# System calls per architecture: denied outright, and those allowed only against oneself.
# (asm/unistd_64.h for x86_64; asm-generic/unistd.h for aarch64.) SysV and POSIX IPC: not only
# the calls that make or open an object (shmget, semget, msgget, mq_open) but those that act on
# one by its id or name: the ids are small numbers listed in /proc/sysvipc, so without an IPC
# namespace (no bubblewrap) a process could attach, read, write or remove any segment, queue or
# semaphore set the machine's other processes left open to it, or its own uid owns. Sockets:
# socket is not the only maker; socketpair makes Unix sockets too, which bind names in any folder
# (a socket file, which mknod's denial was to prevent) or in the abstract namespace, and a
# datagram one sends to any Unix socket of the machine (/dev/log, another student's). The one
# socket a student process holds, the grader's, is connected already: it needs none of these.
# Then calls that need a privilege a student process lacks, denied all the same (an open by
# file handle, whose flags the filter cannot see; the rest of the new mount API), and the NUMA
# calls that move another process's pages. Last, inotify and fanotify: Landlock covers opens,
# not watches, so a watch reached any folder the uid may read (red team: the names of the files
# the grader made there, and every open of a watched file, the grader's included). And the
# kernel's log: where kernel.dmesg_restrict is 0, any process may read it, and a segfault writes
# a line there with the faulting address, which a process chooses (a channel of ~48 bits a
# crash, from one student process to the next, and the lines of other processes' crashes).
# And Linux's native AIO: the events of every context io_setup makes are counted into one
# number for the whole machine (fs.aio-nr, capped by fs.aio-max-nr, in no namespace), which any
# process reads by asking for more and being refused: with native code, exercise 1's process
# held a chosen count and exercise 2's read it back, 16 bits at a time and rewritten at will
# (red team, every other layer in force, with bubblewrap or without). Nothing in a student
# process uses it.
# And sysinfo: the machine's free and shared memory and its count of threads, in no namespace
# and past Landlock (which closes /proc/meminfo), which any process moves by holding pages,
# shared ones (Python's mmap.mmap(-1, n)) counted to the page: one student process held a
# chosen number of them and another, of another uid, read it back to within a few dozen, with
# bubblewrap or without (red team, twenty-eighth session; the free memory, which
# os.sysconf('SC_AVPHYS_PAGES') reads in pure Python, carried bits too). Nothing in a student
# process needs it: glibc asks it only for sysconf's page counts, which qsort copes without.
# And pipes: every pipe's inode number is drawn from one count for the whole machine
# (get_next_ino, in no namespace, each CPU taking 1024 at a time), which os.fstat shows; one
# student process made and closed a chosen number of batches of pipes and another read the
# number back exactly, in pure Python, every other layer in force, bubblewrap or not (red team,
# thirty-third session). memfd_secret draws from the same count (and is a memfd, as
# memfd_create is). A student process has the pipes it needs (its output) before its filter.
# And listmount and statmount (Linux 6.8): the mount namespace's table, each mount's point by
# path, past Landlock (which closes /proc/self/mountinfo): with native code a student process
# listed bubblewrap's empty tmpfs over each folder it covers (the grading's own paths, where a
# virtual environment made in the course's folder binds them) and, without bubblewrap, the
# machine's whole table (red team, thirty-third session).
# And sync and syncfs: a student process writes no file, so it has nothing to flush, while a
# call writes back every dirty page of the machine (or of a file system), the grader's results
# included, and holds the caller where no signal reaches it until the disk is done: a call's
# deadline then kills nothing for as long as the machine's writeback takes.
# And sendmsg and sendmmsg, the only calls that pass descriptors (SCM_RIGHTS): the kernel counts
# those a user has in flight (sent, not yet received) in one number per uid, in no namespace,
# and refuses more past the sender's limit on open files; not as root every student process is
# the grader's user, and with native code exercise 1's process held a chosen count in flight on
# the grader's socket (which the grader does not read between calls) and exercise 2's read it
# back exactly, as how many it could send before the refusal (red team, thirty-fifth session).
# A student process sends its answers with send (sendto) and passes no descriptor.
# And mincore and cachestat, which tell whether a file's pages are in the machine's page cache:
# what one student process read there, a later one reads back ("The page cache" in
# docs/threat-model.md's known limits); by timing reads it still may, with noise, but these
# two read it exactly, page by page, and no student process needs them. So did getrusage, in
# pure Python: a page of a mapped file that the cache lacks costs a major fault, one that it
# holds a minor one, and `resource.getrusage(...).ru_majflt` counts the first, so a process
# that touched one page of a mapping (madvise(MADV_RANDOM): nothing read ahead) between two
# reads of the count read that page's residency without noise (red team, thirty-seventh
# session: the four pages of twelve another process had read, four of four, with every layer in
# force, bubblewrap or not). A student process has no use for its own resource usage (its
# CPU time is a clock it may read: time.process_time). preadv2 with RWF_NOWAIT is the fourth
# (_PREADV2, below).
_DENIED = {
    "x86_64": """
        socket=41 ptrace=101 process_vm_readv=310 process_vm_writev=311 pidfd_open=434
        pidfd_getfd=438 pidfd_send_signal=424 io_uring_setup=425 io_uring_enter=426
        io_uring_register=427 unshare=272 setns=308 mount=165 umount2=166 pivot_root=155
        chroot=161 open_tree=428 move_mount=429 fsopen=430 fsmount=432 bpf=321
        perf_event_open=298 userfaultfd=323 keyctl=250 add_key=248 request_key=249 shmget=29
        semget=64 msgget=68 mq_open=240 kcmp=312 fork=57 vfork=58 clone=56 clone3=435 flock=73
        memfd_create=319 execve=59 execveat=322
        creat=85 mknod=133 mknodat=259 mkdir=83 mkdirat=258 symlink=88 symlinkat=266 link=86
        linkat=265 rename=82 renameat=264 renameat2=316
        unlink=87 unlinkat=263 rmdir=84 truncate=76 ftruncate=77 fallocate=285 chmod=90
        fchmod=91 fchmodat=268 fchmodat2=452 chown=92 fchown=93 lchown=94 fchownat=260
        setxattr=188 lsetxattr=189 fsetxattr=190 setxattrat=463 removexattr=197
        lremovexattr=198 fremovexattr=199 removexattrat=466 file_setattr=469 utime=132
        utimes=235 utimensat=280 futimesat=261
        shmat=30 shmctl=31 shmdt=67 semop=65 semctl=66 semtimedop=220 msgsnd=69 msgrcv=70
        msgctl=71 mq_unlink=241 mq_timedsend=242 mq_timedreceive=243 mq_notify=244
        mq_getsetattr=245
        socketpair=53 bind=49 connect=42 listen=50 accept=43 accept4=288
        open_by_handle_at=304 fspick=433 fsconfig=431 mount_setattr=442 migrate_pages=256
        move_pages=279
        inotify_init=253 inotify_init1=294 inotify_add_watch=254 inotify_rm_watch=255
        fanotify_init=300 fanotify_mark=301 syslog=103 process_madvise=440
        io_setup=206 io_destroy=207 io_getevents=208 io_submit=209 io_cancel=210
        io_pgetevents=333 sysinfo=99 pipe=22 pipe2=293 memfd_secret=447
        statmount=457 listmount=458 sync=162 syncfs=306 sendmsg=46 sendmmsg=307
        mincore=27 cachestat=451 getrusage=98""",
    "aarch64": """
        socket=198 ptrace=117 process_vm_readv=270 process_vm_writev=271 pidfd_open=434
        pidfd_getfd=438 pidfd_send_signal=424 io_uring_setup=425 io_uring_enter=426
        io_uring_register=427 unshare=97 setns=268 mount=40 umount2=39 pivot_root=41 chroot=51
        open_tree=428 move_mount=429 fsopen=430 fsmount=432 bpf=280 perf_event_open=241
        userfaultfd=282 keyctl=219 add_key=217 request_key=218 shmget=194 semget=190
        msgget=186 mq_open=180 kcmp=272 clone=220 clone3=435 flock=32 memfd_create=279
        execve=221 execveat=281
        mknodat=33 mkdirat=34 symlinkat=36 linkat=37 renameat=38 renameat2=276
        unlinkat=35 truncate=45 ftruncate=46 fallocate=47 fchmod=52 fchmodat=53 fchmodat2=452
        fchownat=54 fchown=55 setxattr=5 lsetxattr=6 fsetxattr=7 setxattrat=463 removexattr=14
        lremovexattr=15 fremovexattr=16 removexattrat=466 file_setattr=469 utimensat=88
        mq_unlink=181 mq_timedsend=182 mq_timedreceive=183 mq_notify=184 mq_getsetattr=185
        msgctl=187 msgrcv=188 msgsnd=189 semctl=191 semtimedop=192 semop=193 shmctl=195
        shmat=196 shmdt=197
        socketpair=199 bind=200 listen=201 accept=202 connect=203 accept4=242
        open_by_handle_at=265 fspick=433 fsconfig=431 mount_setattr=442 migrate_pages=238
        move_pages=239
        inotify_init1=26 inotify_add_watch=27 inotify_rm_watch=28 fanotify_init=262
        fanotify_mark=263 syslog=116 process_madvise=440
        io_setup=0 io_destroy=1 io_submit=2 io_cancel=3 io_getevents=4 io_pgetevents=292
        sysinfo=179 pipe2=59 memfd_secret=447 statmount=457 listmount=458 sync=81
        syncfs=267 sendmsg=211 sendmmsg=269 mincore=232 cachestat=451 getrusage=165""",
}
_SELF_ONLY = {
    "x86_64": "tkill=200 tgkill=234 rt_sigqueueinfo=129 rt_tgsigqueueinfo=297",
    "aarch64": "tkill=130 tgkill=131 rt_sigqueueinfo=138 rt_tgsigqueueinfo=240",
}
# Scheduling of one process named by its pid (0: itself). Any process of the same uid may be
# named: where student code runs as the grader's user (no root), a student process could pin
# the grader, its zygote and the next students to one CPU, or lower their priority for good.
# Reading it too: any uid may read any process's affinity, policy and priority, which that
# process sets on itself at will, so exercise 1's process set its CPU affinity and nice value
# and exercise 2's read them back (os.sched_getaffinity(pid), os.getpriority), in pure Python,
# with every other layer in force: a register of one bit per CPU, rewritten at will.
_SELF_OR_ZERO = {
    "x86_64": "sched_setparam=142 sched_setscheduler=144 sched_setaffinity=203 sched_setattr=314 "
    "sched_getparam=143 sched_getscheduler=145 sched_rr_get_interval=148 sched_getaffinity=204 "
    "sched_getattr=315",
    "aarch64": "sched_setparam=118 sched_setscheduler=119 sched_setaffinity=122 sched_setattr=274 "
    "sched_getscheduler=120 sched_getparam=121 sched_getaffinity=123 sched_rr_get_interval=127 "
    "sched_getattr=275",
}

# Their read twins, named by (which, who) as setpriority and ioprio_set are.
_PRIORITY_READS = {
    "x86_64": {"getpriority": 140, "ioprio_get": 252},
    "aarch64": {"getpriority": 141, "ioprio_get": 31},
}
# The calls that take a clock id first. A negative id names a process's or a thread's CPU clock
# (~pid << 3 | kind), and the kernel lets any process read any other's in its pid namespace:
# exercise 1's process burnt a chosen amount of CPU and exercise 2's read it to the nanosecond
# (time.clock_gettime with a computed id), where /proc, which says the same, is closed. Only
# the clocks of the whole machine (ids from 0) and its own CPU clocks (pid 0, or its own pid)
# are allowed; a clock behind a descriptor (kind 3) is not.
_CLOCK_CALLS = {
    "x86_64": {"timer_create": 222, "clock_gettime": 228, "clock_getres": 229,
               "clock_nanosleep": 230},
    "aarch64": {"timer_create": 107, "clock_gettime": 113, "clock_getres": 114,
                "clock_nanosleep": 115},
}  # fmt: skip
# Memory the kernel may merge with another process's identical pages (KSM, where a machine runs
# it): a write to a merged page takes a copy-on-write fault, slow enough to time, so one process
# learnt whether another held a page of chosen bytes. madvise's MADV_MERGEABLE and prctl's
# PR_SET_MEMORY_MERGE (a whole process) are refused; process_madvise, which names a process by
# a pidfd, is denied with the rest.
_MADVISE = {"x86_64": 28, "aarch64": 233}
MADV_MERGEABLE, PR_SET_MEMORY_MERGE = 12, 67
# mmap with MAP_HUGETLB (the same bit on both architectures): an anonymous mapping of huge pages
# is a hugetlbfs file whose inode number is drawn from the machine's one count (get_next_ino,
# the pipes' count, whose readers are closed), mapped or refused alike, and in pure Python
# (mmap.mmap's flags): one student process drew a chosen tens of thousands and the next process
# started found them in its own descriptors' inode numbers, every other layer in force (red
# team, thirty-third session). Where a machine reserves huge pages, the pool is a second shared
# count (what one process reserves, another cannot). Nothing in a student process asks for
# huge pages this way (torch's allocator advises transparent ones, madvise, still allowed).
_MMAP = {"x86_64": 9, "aarch64": 222}
MAP_HUGETLB = 0x40000
# preadv2 with RWF_NOWAIT (its flags are its sixth argument on both architectures, the offset
# taking one 64-bit argument and a zero): a buffered read that would wait for the disk fails
# with EAGAIN instead, so a one-byte read of each page tells which pages of a file the
# machine's page cache holds, exactly, as mincore would, in pure Python (os.preadv's flags):
# another process's pattern of pages read, twelve of twelve (red team, thirty-seventh session).
# Reads without the flag, and with the others, stay allowed (os.preadv with flags 0 calls preadv).
_PREADV2 = {"x86_64": 327, "aarch64": 286}
RWF_NOWAIT = 0x8
# CPUCLOCK_PROF, _VIRT, _SCHED, each for the process and (CPUCLOCK_PERTHREAD_MASK) a thread.
CPU_CLOCK_KINDS = (0, 1, 2, 4, 5, 6)


def cpu_clock(pid: int, kind: int) -> int:
    """The clock id of `pid`'s CPU clock of `kind` (MAKE_PROCESS_CPUCLOCK), as 32 bits."""
    return ((~pid << 3) | kind) & 0xFFFFFFFF


# open and openat create a file when their flags say so (O_CREAT, or O_TMPFILE: an unnamed file
# that linkat could name later), empty one (O_TRUNC) or give a descriptor that can change one
# (O_WRONLY, O_RDWR: a shared mapping writes past RLIMIT_FSIZE); those flags are refused, every
# open for reading works. The flags are open's second argument and openat's third; aarch64 has
# no open (its C library uses openat).
_OPENS = {"x86_64": {"open": 2, "openat": 257}, "aarch64": {"openat": 56}}
_FLAGS_ARG = {"open": 1, "openat": 2}
# The same bits on both architectures (asm-generic/fcntl.h). __O_TMPFILE only, not O_TMPFILE,
# which includes O_DIRECTORY: opening a folder to list it must keep working.
O_CREAT, O_TMPFILE_BIT = 0o100, 0o20000000
O_WRITES = 0o1 | 0o2 | 0o1000  # O_WRONLY, O_RDWR, O_TRUNC (Linux truncates even read-only)
# openat2 passes its flags in a struct, which a seccomp filter cannot read: it gets ENOSYS, as on
# kernels before 5.6, so that a caller falls back to openat, whose flags the filter reads.
OPENAT2 = 437  # the same number on every architecture
# futex: only a process's private futexes (FUTEX_PRIVATE_FLAG in the operation, which every
# lock of a single process uses: glibc's, Python's, libgomp's). A shared futex is keyed by the
# file page under its address, and every student process may map the same read-only page of a
# system library: one process's FUTEX_WAKE then woke another's FUTEX_WAIT, across processes of
# a submission and across parallel graders' students (red team, with native code). futex_wait
# and futex_wake (Linux 6.7) carry the same flag in their fourth argument; futex_waitv and
# futex_requeue keep theirs in structs the filter cannot read, and get ENOSYS, as on older
# kernels. The numbers of the four newer calls are the same on every architecture.
FUTEX_PRIVATE_FLAG = 128  # FUTEX2_PRIVATE has the same value
FUTEX2_FLAGS = {"futex_wake": 454, "futex_wait": 455}
FUTEX2_STRUCTS = {"futex_waitv": 449, "futex_requeue": 456}
# ioctl: only the commands that read a descriptor's state or set its own flags (numbers from
# asm-generic/ioctls.h, the same on both architectures): TCGETS (isatty), TIOCGWINSZ (a
# terminal's size), FIONREAD (bytes waiting: the worker's socket), FIONBIO (non-blocking),
# FIONCLEX and FIOCLEX (close-on-exec). Any other is refused, since many change what lies
# outside the process through a descriptor opened for reading: a file's attributes
# (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR, the ioctl twin of file_setattr; FS_IOC_SETVERSION) need
# only its owner's uid, a terminal's settings (TCSETS) not even that. The refusal is ENOTTY, what
# a descriptor that does not know the command answers, which every caller already handles.
IOCTLS = (0x5401, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451)


def _numbers(table: str) -> dict[str, int]:
    return {name: int(nr) for name, nr in (item.split("=") for item in table.split())}


_SYSCALLS = {
    arch: {
        "arch": audit,
        "deny": _numbers(_DENIED[arch]),
        "self_pid": _numbers(_SELF_ONLY[arch]),
        "self_or_zero": _numbers(_SELF_OR_ZERO[arch]),
        "kill": kill,
        "prlimit64": prlimit,
        "setpriority": setpriority,
        "ioprio_set": ioprio_set,
        **_PRIORITY_READS[arch],
        "clocks": _CLOCK_CALLS[arch],
        "fcntl": fcntl,
        "ioctl": ioctl,
        "prctl": prctl_nr,
        "madvise": _MADVISE[arch],
        "mmap": _MMAP[arch],
        "preadv2": _PREADV2[arch],
        "futex": futex,
        "opens": {nr: _FLAGS_ARG[name] for name, nr in _OPENS[arch].items()},
        "x32": arch == "x86_64",  # x32 numbering (nr | 0x40000000) would dodge every rule
    }
    for arch, audit, kill, prlimit, fcntl, ioctl, prctl_nr, setpriority, ioprio_set, futex in (
        ("x86_64", 0xC000003E, 62, 302, 72, 16, 157, 141, 251, 202),  # AUDIT_ARCH_X86_64
        ("aarch64", 0xC00000B7, 129, 261, 25, 29, 167, 140, 30, 98),  # AUDIT_ARCH_AARCH64
    )
}
_ALLOW = 0x7FFF0000
_DENY = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO: the call fails with EPERM, a clear error
_NOSYS = 0x00050000 | errno.ENOSYS  # ... with ENOSYS: "this kernel has no such call"
_NOTTY = 0x00050000 | errno.ENOTTY  # ... with ENOTTY: "this descriptor knows no such command"
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_CONDITIONAL = {"jeq": _JEQ_K, "jge": _JGE_K, "jset": _JSET_K}
_JA = 0x05  # BPF_JMP | BPF_JA: jumps k instructions ahead, k 32 bits (far branches: _assemble)
_REACH = 255  # how far ahead a conditional jump's jt or jf (one byte each) reaches
BPF_MAXINSNS = 4096  # the kernel refuses a longer classic-BPF program
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16  # struct seccomp_data; arg0's low half (little-endian)
_OFF_ARG1 = 24


def _off_arg(n: int) -> int:
    """Where argument `n`'s low half sits in struct seccomp_data (little-endian)."""
    return _OFF_ARG0 + 8 * n


# fcntl: only the commands that duplicate a descriptor or read or set its own flags (F_DUPFD,
# F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_GETSIG, F_GETOWN_EX, F_DUPFD_CLOEXEC,
# F_GETPIPE_SZ, F_GET_SEALS; asm-generic/fcntl.h, the same on both architectures). The others
# reach outside the process: record locks (F_GETLK/F_SETLK/F_SETLKW, their 32-bit and OFD
# twins), leases and directory notifications share state through a file every student process
# may read (two processes of one submission could pass values through them); F_SETOWN,
# F_SETOWN_EX and F_SETSIG aim a signal of any number, SIGKILL included, at any process of the
# uid whenever the descriptor has input (as the grading user, the grader and its zygote);
# F_SETPIPE_SZ and the write hints change what other holders of a pipe or file get.
FCNTL_COMMANDS = (0, 1, 2, 3, 4, 9, 11, 16, 1030, 1032, 1034)
# setpriority and ioprio_set name their target by (which, who): only a process (not a process
# group, not every process of a user) and only this one (who 0 or its own pid); getpriority and
# ioprio_get likewise (what another process set on itself is a channel: _SELF_OR_ZERO).
PRIO_PROCESS, IOPRIO_WHO_PROCESS = 0, 1


def seccomp_supported() -> bool:
    return LINUX and platform.machine() in _SYSCALLS


class SockFprog(ctypes.Structure):
    """struct sock_fprog. Made once, in the zygote: a ctypes class made in each student process
    cost it a share of its start."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """The seccomp program assembled once, in the zygote, with its own pid left to fill in:
    assembling it in each student process cost ~0.5 ms of its start (docs/performance.md).

    Which instructions hold the pid is found by assembling the program for two pids and
    comparing, never by looking for a number that could also be a system call's.
    """

    _PROBES = (0x7FFF0001, 0x7FFF0002)
    # What a constant that holds the pid is, as a function of it: the pid, kill's own process
    # group (-pid), or one of its CPU clocks' ids.
    _FORMS = (
        lambda pid: pid & 0xFFFFFFFF,
        lambda pid: -pid & 0xFFFFFFFF,
        *(lambda pid, kind=kind: cpu_clock(pid, kind) for kind in CPU_CLOCK_KINDS),
    )

    def __init__(self) -> None:
        table = _SYSCALLS.get(platform.machine()) if LINUX else None
        if table is None:
            raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
        self.denied = len(table["deny"])
        one, two = (_program(table, pid) for pid in self._PROBES)
        self.length = len(one)
        self.code = b"".join(struct.pack("=HBBI", *ins) for ins in one)
        # (byte offset of k, the form of the pid it holds) per pid-bearing slot
        self.slots = [
            (8 * i + 4, self._form(a[3], b[3]))
            for i, (a, b) in enumerate(zip(one, two, strict=True))
            if a != b
        ]

    def _form(self, first: int, second: int):
        """The form that gives `first` and `second` for the two probe pids."""
        for form in self._FORMS:
            if (form(self._PROBES[0]), form(self._PROBES[1])) == (first, second):
                return form
        raise AssertionError(f"a constant of the program follows the pid unknown ways: {first}")

    def for_pid(self, pid: int) -> bytes:
        code = bytearray(self.code)
        for offset, form in self.slots:
            struct.pack_into("=I", code, offset, form(pid))
        return bytes(code)


def seccomp(pid: int, ready: Filter | None = None) -> str:
    """Install the filter for this process (whose pid is `pid`); returns a description.
    `ready`: the program assembled in the zygote, else it is assembled here."""
    ready = ready or Filter()
    code = ready.for_pid(pid)
    filters = ctypes.create_string_buffer(code, len(code))

    fprog = SockFprog(ready.length, ctypes.addressof(filters))
    no_new_privs()
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        _raise("seccomp")
    return (
        f"{ready.denied} system calls denied; file locks, shared futexes, signal owners and "
        "descriptors passed to another process denied; no file, "
        "folder, node or link created, and none removed, renamed, opened for writing or changed "
        "in mode, owner, times or attributes (no ioctl but a descriptor's own); signals only to "
        "itself; scheduling and CPU clocks of itself alone; no memory merged with another's; "
        "no count of the machine's memory nor of the page cache's pages; no pipe and no mapping "
        "of huge pages (the machine's count of their inodes)"
    )


def _program(table: dict, pid: int) -> list[tuple[int, int, int, int]]:
    """A classic-BPF program, written with labels and resolved to relative jumps."""
    return _assemble(_listing(table, pid))


def _listing(table: dict, pid: int) -> list:
    """The program as written: instructions whose jumps name labels (None: the next one)."""
    self_pid = pid & 0xFFFFFFFF
    own_group = -pid & 0xFFFFFFFF  # kill(-pid): its own process group (it is a session leader)
    asm: list = [("ld", _OFF_ARCH), ("jeq", table["arch"], None, "deny"), ("ld", _OFF_NR)]
    if table["x32"]:
        asm.append(("jge", 0x40000000, "deny", None))
    asm += [("jeq", nr, "deny", None) for nr in sorted(table["deny"].values())]
    asm += [("jeq", nr, "only_self", None) for nr in sorted(table["self_pid"].values())]
    asm += [("jeq", nr, "self_or_zero", None) for nr in sorted(table["self_or_zero"].values())]
    asm += [("jeq", table["kill"], "kill", None), ("jeq", table["prlimit64"], "self_or_zero", None)]
    asm += [("jeq", table["setpriority"], "setpriority", None)]
    asm += [("jeq", table["ioprio_set"], "ioprio_set", None)]
    asm += [("jeq", table["getpriority"], "setpriority", None)]  # read as they are set
    asm += [("jeq", table["ioprio_get"], "ioprio_set", None)]
    asm += [("jeq", nr, "clock", None) for nr in sorted(table["clocks"].values())]
    asm += [("jeq", table["fcntl"], "fcntl", None)]
    asm += [("jeq", table["ioctl"], "ioctl", None)]
    asm += [("jeq", nr, f"flags_in_arg{arg}", None) for nr, arg in sorted(table["opens"].items())]
    asm += [("jeq", OPENAT2, "nosys", None)]
    asm += [("jeq", table["futex"], "futex", None)]
    asm += [("jeq", nr, "futex2", None) for nr in sorted(FUTEX2_FLAGS.values())]
    asm += [("jeq", nr, "nosys", None) for nr in sorted(FUTEX2_STRUCTS.values())]
    asm += [("jeq", table["madvise"], "madvise", None)]
    asm += [("jeq", table["mmap"], "mmap", None)]
    asm += [("jeq", table["preadv2"], "preadv2", None)]
    asm += [("jeq", table["prctl"], "prctl", None), ("ret", _ALLOW)]
    # Opening creates and changes nothing: any flag that could denies the call.
    for arg in sorted(set(table["opens"].values())):
        asm += [("label", f"flags_in_arg{arg}"), ("ld", _off_arg(arg))]
        asm += [("jset", O_CREAT | O_TMPFILE_BIT | O_WRITES, "deny", "allow")]
    asm += [("label", "fcntl"), ("ld", _OFF_ARG1)]
    asm += [("jeq", cmd, "allow", None) for cmd in FCNTL_COMMANDS] + [("ret", _DENY)]
    # The command is an unsigned int: the kernel reads the low half, as the filter does.
    asm += [("label", "ioctl"), ("ld", _OFF_ARG1)]
    asm += [("jeq", cmd, "allow", None) for cmd in IOCTLS] + [("ret", _NOTTY)]
    # No futex shared with another process: the private flag, or no call.
    asm += [("label", "futex"), ("ld", _OFF_ARG1), ("jset", FUTEX_PRIVATE_FLAG, "allow", "deny")]
    asm += [("label", "futex2"), ("ld", _off_arg(3))]
    asm += [("jset", FUTEX_PRIVATE_FLAG, "allow", "deny")]
    # Its parent-death signal stays: it dies with the zygote, whatever the zygote dies of.
    # Nor may its memory be merged with another process's (KSM: a timing channel).
    asm += [("label", "prctl"), ("ld", _OFF_ARG0), ("jeq", PR_SET_PDEATHSIG, "deny", None)]
    asm += [("jeq", PR_SET_MEMORY_MERGE, "deny", "allow")]
    asm += [("label", "madvise"), ("ld", _off_arg(2)), ("jeq", MADV_MERGEABLE, "deny", "allow")]
    # No hugetlbfs file made: each draws an inode number from the machine's count.
    asm += [("label", "mmap"), ("ld", _off_arg(3)), ("jset", MAP_HUGETLB, "deny", "allow")]
    # No read that tells the page cache's hold on a page by refusing to wait for the disk.
    asm += [("label", "preadv2"), ("ld", _off_arg(5)), ("jset", RWF_NOWAIT, "deny", "allow")]
    asm += [("label", "kill"), ("ld", _OFF_ARG0), ("jeq", 0, "allow", None)]
    asm += [("jeq", own_group, "allow", None), ("jeq", self_pid, "allow", "deny")]
    asm += [("label", "only_self"), ("ld", _OFF_ARG0), ("jeq", self_pid, "allow", "deny")]
    asm += [("label", "self_or_zero"), ("ld", _OFF_ARG0), ("jeq", 0, "allow", None)]
    asm += [("jeq", self_pid, "allow", "deny")]
    asm += [("label", "setpriority"), ("ld", _OFF_ARG0), ("jeq", PRIO_PROCESS, "who", "deny")]
    asm += [("label", "ioprio_set"), ("ld", _OFF_ARG0), ("jeq", IOPRIO_WHO_PROCESS, "who", "deny")]
    asm += [("label", "who"), ("ld", _OFF_ARG1), ("jeq", 0, "allow", None)]
    asm += [("jeq", self_pid, "allow", "deny")]
    # A clock id is an int: the machine's clocks from 0, a CPU clock below (jge is unsigned).
    asm += [("label", "clock"), ("ld", _OFF_ARG0), ("jge", 0x80000000, None, "allow")]
    asm += [("jeq", cpu_clock(0, kind), "allow", None) for kind in CPU_CLOCK_KINDS]
    asm += [("jeq", cpu_clock(pid, kind), "allow", None) for kind in CPU_CLOCK_KINDS]
    asm += [("ret", _DENY)]
    asm += [("label", "nosys"), ("ret", _NOSYS)]
    asm += [("label", "allow"), ("ret", _ALLOW), ("label", "deny"), ("ret", _DENY)]
    return asm


def _assemble(asm: list) -> list[tuple[int, int, int, int]]:
    """Resolve a labelled listing (`_listing`) to classic-BPF instructions (code, jt, jf, k).

    A conditional jump's jt and jf are one byte each: it reaches 255 instructions ahead at
    most, and the program (245 instructions on x86_64 in the thirty-eighth session) is close to
    needing more. A branch whose target lies further goes to an unconditional `ja` placed right
    after the jump (one per such branch), whose 32-bit offset reaches anywhere. Each `ja`
    lengthens the jumps that cross it, so branches are moved to one until none more needs it;
    which ones depends only on the listing's shape, never on its constants, so the programs
    assembled for two pids differ in their constants alone (`Filter` finds the pid's slots by
    comparing them). A program that needs no `ja` is what it was before they existed.
    Raises ValueError for a program the kernel would refuse: a jump backwards, to no label, or
    past the end, or more than BPF_MAXINSNS instructions.
    """
    ops: list = []
    labels: dict[str, int] = {}  # label: index of the instruction that follows it in `ops`
    for op in asm:
        if op[0] == "label":
            if op[1] in labels:
                raise ValueError(f"seccomp program: the label {op[1]!r} is defined twice")
            labels[op[1]] = len(ops)
        elif op[0] in ("ld", "ret", *_CONDITIONAL):
            ops.append(op)
        else:
            raise ValueError(f"seccomp program: no instruction {op[0]!r} (ld, ret, jeq, jge, jset)")

    def target(at: int, label: str | None) -> int:
        """Index in `ops` of where the jump at `at` goes to (None: the next instruction)."""
        if label is None:
            return at + 1
        if label not in labels:
            raise ValueError(f"seccomp program: a jump to {label!r}, which no label names")
        if not at < labels[label] < len(ops):
            raise ValueError(
                f"seccomp program: the jump to {label!r} goes backwards or past the end "
                "(classic BPF jumps forward only, to an instruction)"
            )
        return labels[label]

    # (jt's target, jf's target) of each conditional jump, and which of the two go through a ja
    jumps = {
        at: (target(at, op[2]), target(at, op[3]))
        for at, op in enumerate(ops)
        if op[0] in _CONDITIONAL
    }
    far = {at: [False, False] for at in jumps}
    while True:
        starts = [0]  # where each instruction of `ops` lands, and the end
        for at in range(len(ops)):
            starts.append(starts[-1] + 1 + sum(far.get(at, ())))
        moved = False
        for at, targets in jumps.items():
            for branch, to in enumerate(targets):
                if not far[at][branch] and starts[to] - starts[at] - 1 > _REACH:
                    far[at][branch] = moved = True
        if not moved:
            break
    if starts[-1] > BPF_MAXINSNS:
        raise ValueError(
            f"seccomp program too long: {starts[-1]} instructions, where the kernel takes "
            f"{BPF_MAXINSNS} at most; deny a range of numbers with one jge, not each with a jeq"
        )
    out: list[tuple[int, int, int, int]] = []
    for at, op in enumerate(ops):
        here = starts[at]
        if op[0] == "ld":
            out.append((_LD_W_ABS, 0, 0, op[1]))
        elif op[0] == "ret":
            out.append((_RET_K, 0, 0, op[1]))
        else:
            offsets, trampolines = [], []
            for branch, to in enumerate(jumps[at]):
                if far[at][branch]:  # to its ja, right after this jump (or after jt's ja)
                    offsets.append(len(trampolines))
                    trampolines.append(to)
                else:
                    offsets.append(starts[to] - here - 1)
            out.append((_CONDITIONAL[op[0]], offsets[0], offsets[1], op[1]))
            for n, to in enumerate(trampolines):
                out.append((_JA, 0, 0, starts[to] - (here + 1 + n) - 1))
    return out
