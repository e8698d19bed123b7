"""Speed and memory of the grader, measured side by side on this machine (`make bench`).

Measures, each as the median of a few runs:
  1. `python -c "import torch"`, the unit the goals are written in;
  2. a cold single-submission `grader grade` (a fresh process: imports, cases, sandbox, grading);
  3. a batch of N submissions (the example class repeated) with `-j 2`, per submission;
and, while they run, the largest resident set of any process in the grader's tree.
Prints a Markdown table to paste into the README (docs/performance.md keeps the history).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class PeakRSS:
    """Polls /proc for the largest resident set among a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid in _tree(self.pid):
                self.peak_kb = max(self.peak_kb, _rss_kb(pid))
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kb


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


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = PeakRSS(proc.pid)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()[-2000:]}")
    return elapsed, peak.stop()


def median_run(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [timed(cmd) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def make_class(examples: Path, dest: Path, n: int) -> None:
    folders = sorted(p for p in examples.iterdir() if p.is_dir())
    for i in range(n):
        shutil.copytree(folders[i % len(folders)], dest / f"student{i:03d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=100, help="submissions in the batch")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    grader = str(BIN / "grader")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([grader, "examples", str(tmp / "examples")], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        make_class(tmp / "examples", tmp / "class", args.batch)
        torch_s, torch_kb = median_run([sys.executable, "-c", "import torch"], args.repeat)
        solutions = str(ROOT / "solutions" / "backprop-ninja")
        single = [grader, "grade", solutions, "--out", str(tmp / "single"),
                  "--force", "--no-progress"]  # fmt: skip
        # Cold runs before and after the batch: a shared machine drifts, and the ratio should
        # compare like with like.
        before = [timed(single) for _ in range(max(args.repeat - 1, 1))]
        batch = [grader, "grade", str(tmp / "class"), "--out", str(tmp / "batch"), "-j", "2",
                 "--force", "--no-progress"]  # fmt: skip
        batch_s, batch_kb = timed(batch)
        runs = before + [timed(single)]
        single_s, single_kb = statistics.median(t for t, _ in runs), max(m for _, m in runs)
    per_sub = batch_s / args.batch
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    ratio = single_s / torch_s
    rows = [
        ("machine", machine),
        ('`python -c "import torch"`', f"{torch_s:.2f} s, {torch_kb / 1024:.0f} MB"),
        ("cold single submission", f"{single_s:.2f} s = {ratio:.2f}x import torch (goal <= 1.8x)"),
        (f"batch of {args.batch}, -j 2", f"{batch_s:.1f} s = {per_sub:.3f} s a submission"),
        ("batch vs cold, per submission", f"1/{single_s / per_sub:.1f} (goal <= 1/25)"),
        ("largest process", f"{max(single_kb, batch_kb) / 1024:.0f} MB (goal < 500 MB)"),
    ]  # fmt: skip
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
