"""Speed and memory of the grader, measured side by side on this machine (`make bench`).

Measures, on the machine it runs on:
  1. `python -c "import torch"`, the unit the goals are written in;
  2. a cold single-submission `grader grade` (a fresh process: imports, cases, sandbox, grading),
     the median of a few runs taken before and after the batches;
  3. `grader check` on one student's folder, and Gradescope's `run_autograder` on one submission
     (the zip unpacked and compiled as setup.sh leaves it; what a student waits for);
  4. batches of each class size (the example class repeated) with each `-j`: total time, time
     per submission, the first result (the batch's start) and the steady pace after it, and
     the largest grader process early in the run and at its end (memory must not grow with
     the number of submissions).
Every command runs with Python's bytecode caches as a user's second run has them (written by an
untimed run first, whatever PYTHONDONTWRITEBYTECODE says here): a cold run that compiles the
grader's modules measures the compiler, not a grading.
Prints Markdown tables to paste into the README (docs/performance.md keeps the history).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The measured commands' environment: bytecode caches written and read, as on a TA's machine.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class PeakRSS:
    """Polls /proc for the largest resident set among a process and all its descendants; with
    `progress` (a folder whose entries count finished submissions) it also keeps, for each
    sample, how many were done and the largest process then."""

    def __init__(self, pid: int, progress: Path | None = None) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self.progress, self.samples = progress, []
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            largest = max((_rss_kb(pid) for pid in _tree(self.pid)), default=0)
            self.peak_kb = max(self.peak_kb, largest)
            if self.progress is not None:
                with_results = len(os.listdir(self.progress)) if self.progress.exists() else 0
                self.samples.append((with_results, largest))
            time.sleep(0.05 if self.progress is None else 0.5)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kb

    def largest_between(self, low: float, high: float) -> int:
        """The largest process (kB) while between `low` and `high` submissions were out."""
        return max((kb for n, kb in self.samples if low <= n <= high), default=0)


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(
    cmd: list[str], progress: Path | None = None, env: dict | None = None
) -> tuple[float, int]:
    return timed_run(cmd, progress, env)[:2]


def timed_run(
    cmd: list[str], progress: Path | None = None, env: dict | None = None
) -> tuple[float, int, PeakRSS, float]:
    """Wall time, largest process, its memory samples, and the CPU time of the whole process
    tree (grader, sandbox and student processes: each is waited for by its parent, so all of
    it ends up in our children's account). CPU time varies less than wall time on a shared VM."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = PeakRSS(proc.pid, progress)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()[-2000:]}")
    return elapsed, peak.stop(), peak, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_run(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [timed(cmd) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def gradescope_root(tmp: Path, grader: str) -> tuple[list[str], dict]:
    """The autograder zip unpacked as Gradescope does, compiled as setup.sh does, and graded
    once (setup.sh's self-check): run_autograder's command and environment, the solutions as
    the submission. Its own venv is left out: the bench's Python has the same packages."""
    subprocess.run([grader, "gradescope-zip", "--out", str(tmp / "dist")], check=True,
                   stdout=subprocess.DEVNULL, env=ENV)  # fmt: skip
    root = tmp / "autograder"
    with zipfile.ZipFile(next((tmp / "dist").glob("*-autograder.zip"))) as zf:
        zf.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    shutil.copytree(ROOT / "solutions" / "backprop-ninja", root / "submission")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "source" / "grader")],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    env = dict(ENV, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    cmd = [str(root / "source" / "run_autograder")]
    timed(cmd, env=env)
    return cmd, env


def make_class(examples: Path, dest: Path, n: int) -> None:
    folders = sorted(p for p in examples.iterdir() if p.is_dir())
    for i in range(n):
        shutil.copytree(folders[i % len(folders)], dest / f"student{i:03d}")


def _pace(out: Path, began: float) -> tuple[float, float]:
    """(seconds to the first result, seconds a submission from the tenth percentile's result to
    the last): the batch's start and its steady pace, told apart by the results' mtimes."""
    done = sorted(p.stat().st_mtime - began for p in out.glob("*/result.json"))
    skip = len(done) // 10
    steady = (done[-1] - done[skip]) / (len(done) - 1 - skip) if len(done) - 1 > skip else 0.0
    return done[0] if done else 0.0, steady


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB" if kb else "too short to tell"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000", help="class sizes, with the largest -j")
    ap.add_argument("--jobs", default="1,2", help="-j values, each on a class of 100")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the cold single grading")
    args = ap.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    jobs = [int(j) for j in args.jobs.split(",")]
    grader = str(BIN / "grader")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([grader, "examples", str(tmp / "examples")], check=True,
                       stdout=subprocess.DEVNULL, env=ENV)  # fmt: skip
        torch_s, torch_kb = median_run([sys.executable, "-c", "import torch"], args.repeat)
        solutions = str(ROOT / "solutions" / "backprop-ninja")
        single = [grader, "grade", solutions, "--out", str(tmp / "single"),
                  "--force", "--no-progress"]  # fmt: skip
        check = [grader, "check", str(tmp / "examples" / "complete")]
        timed(single)  # untimed: writes the caches a user's first run writes
        gradescope, gradescope_env = gradescope_root(tmp, grader)
        # Cold runs before and after the batches: a shared machine drifts, and the ratio should
        # compare like with like.
        runs = [timed(single) for _ in range(max(args.repeat - 1, 1))]
        check_s = statistics.median(timed(check)[0] for _ in range(args.repeat))
        gradescope_s = statistics.median(
            timed(gradescope, env=gradescope_env)[0] for _ in range(args.repeat)
        )
        batches = []
        plan = [(n, max(jobs)) for n in sizes] + [(100, j) for j in jobs if j != max(jobs)]
        for n, j in plan:
            if not (tmp / f"class{n}").exists():
                make_class(tmp / "examples", tmp / f"class{n}", n)
            out = tmp / f"out{n}-{j}"
            cmd = [grader, "grade", str(tmp / f"class{n}"), "--out", str(out), "-j", str(j),
                   "--force", "--no-progress"]  # fmt: skip
            began = time.time()  # the results' mtimes are on this clock
            batches.append((n, j, *timed_run(cmd, progress=out), _pace(out, began)))
            shutil.rmtree(out)
        runs.append(timed(single))
        single_s, single_kb = statistics.median(t for t, _ in runs), max(m for _, m in runs)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    largest = max([single_kb] + [b[3] for b in batches])
    rows = [
        ("machine", machine),
        ('`python -c "import torch"`', f"{torch_s:.2f} s, {torch_kb / 1024:.0f} MB"),
        ("cold single submission",
         f"{single_s:.2f} s = {single_s / torch_s:.2f}x import torch (goal <= 1.8x)"),
        ("`grader check` on one folder",
         f"{check_s:.2f} s = {check_s / torch_s:.2f}x import torch (goal <= 2x)"),
        ("Gradescope's run_autograder on one submission",
         f"{gradescope_s:.2f} s = {gradescope_s / torch_s:.2f}x import torch (goal <= 1.8x)"),
        ("largest process", f"{largest / 1024:.0f} MB (goal < 500 MB)"),
    ]  # fmt: skip
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    print(
        "\n| class | -j | total | per submission | vs cold | first result | steady pace "
        "| CPU per submission (all processes) | largest process at 10-20% / 80-95% of the class |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, j, total, _, peak, cpu, (first, steady) in batches:
        per_sub = total / n
        early = _mb(peak.largest_between(n * 0.1, n * 0.2))  # torch, cases and pytest are in
        end = _mb(peak.largest_between(n * 0.8, n * 0.95))  # before the class summary is drawn
        print(f"| {n} | {j} | {total:.1f} s | {per_sub:.3f} s | 1/{single_s / per_sub:.1f} | "
              f"{first:.1f} s | {steady * 1000:.0f} ms | {cpu / n * 1000:.0f} ms | "
              f"{early} / {end} |")  # fmt: skip
    print("\ngoals: a class of 100 with -j 2 at <= 1/25 of cold per submission (about 0.1 s);"
          " 1,000 submissions in under 2 minutes with memory flat")  # fmt: skip


if __name__ == "__main__":
    main()
