#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
# It installs the grader's Python dependencies into their own virtual environment, never into
# the system python3 that Gradescope's harness uses, torch at the version constraints.txt pins
# from the index the zip was built with (TORCH_INDEX_URL below: PyTorch's CPU wheels unless
# GRADESCOPE_TORCH_INDEX named another; empty, PyPI, whose Linux wheel is the CUDA build);
# installs bubblewrap for the sandbox where the image allows it; and hides the
# grader's files from student code (each student process runs as a fresh unprivileged uid).
# It ends by grading the blank stubs, so a broken image fails here, not on a student.
#
#   GRADER_VENV         where the environment goes (default $AUTOGRADER_ROOT/venv)
#   GRADER_BASE_PYTHON  the Python that creates it (default python3; 3.10 or newer)
#   TORCH_INDEX_URL     where torch comes from (default set when the zip was built; empty: PyPI)
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="${GRADER_VENV:-$ROOT/venv}"
BASE_PYTHON="${GRADER_BASE_PYTHON:-python3}"
TORCH_INDEX_URL="${TORCH_INDEX_URL-@TORCH_INDEX_URL@}"

echo "== system packages"
export DEBIAN_FRONTEND=noninteractive
if command -v apt-get >/dev/null 2>&1; then
    apt-get update -q || echo "setup.sh: apt-get update failed; trying the install anyway"
    # The venv module is split out of Ubuntu's python3; without it the next step cannot work.
    apt-get install -y -q --no-install-recommends python3-venv ||
        echo "setup.sh: could not install python3-venv (the next step says if it was needed)"
    # Optional: without bubblewrap each student process still gets its own unprivileged uid,
    # Landlock and seccomp where the kernel allows, and rlimits.
    apt-get install -y -q --no-install-recommends bubblewrap ||
        echo "setup.sh: bubblewrap is not available; student code runs without a private filesystem"
fi

echo "== Python environment in $VENV"
"$BASE_PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else
    "setup.sh: the grader needs Python 3.10 or newer, found " + sys.version.split()[0]
    + ": choose a newer base image or set GRADER_BASE_PYTHON")'
"$BASE_PYTHON" -m venv "$VENV" || {
    echo "setup.sh: '$BASE_PYTHON -m venv' failed: install python3-venv or set GRADER_BASE_PYTHON"
    exit 1
}
PIP=("$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -q)
# pip's own last words name a package, not the cause: an image built without network access
# ended in "No matching distribution found for names>=0.3", three minutes of retries later.
# Each step says what it was installing, from where, and what to look at.
installed() {
    "$@" && return 0
    echo "setup.sh: installing $STEP from $FROM failed (pip's messages above say why)." \
        "The image needs network access to $FROM while it is built; a 'Could not find a" \
        "version' or 'Failed to resolve' there most often means it had none, or that the" \
        "index has no wheel for this Python ($("$VENV/bin/python" -V 2>&1))."
    exit 1
}
STEP="pip itself" FROM="PyPI" installed "${PIP[@]}" --upgrade pip
# torch first, from TORCH_INDEX_URL: PyTorch's CPU wheel index unless the zip was built with
# another (the default PyPI wheel for Linux bundles CUDA, gigabytes a CPU-only grader never
# uses; the log's `cuda:` line below says which build came). constraints.txt pins the version.
STEP="torch" FROM="${TORCH_INDEX_URL:-PyPI}" installed \
    "${PIP[@]}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} -c "$SOURCE/constraints.txt" torch
STEP="the grader's other dependencies (requirements.txt)" FROM="PyPI" installed \
    "${PIP[@]}" -c "$SOURCE/constraints.txt" -r "$SOURCE/requirements.txt"
"$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "cuda:", torch.version.cuda)'

echo "== bytecode"
# Each submission runs in a fresh container made from this image, so whatever a run compiles is
# compiled again by the next: the grader's ~100 modules took 0.2-0.5 s of every student's wait.
# Compiled here once, each run reads them as bytecode; the sandbox's own modules too, which its
# zygote (python -B) never writes. compileall writes whatever PYTHONDONTWRITEBYTECODE says.
"$VENV/bin/python" -m compileall -q "$SOURCE/grader" >/dev/null

echo "== permissions"
# Student processes (each under a fresh unprivileged uid) need the Python environment, and
# nothing else of ours:
# the grader, its hidden cases and rubric stay root-only, and so do the results.
chmod 755 "$ROOT"
chmod -R a+rX "$VENV"
chown -R root:root "$SOURCE"
chmod -R go-rwx "$SOURCE"
mkdir -p "$ROOT/results"
chmod 700 "$ROOT/results"

echo "== self-check: grading the blank stubs"
# They exercise the whole path (sandbox, suites, results.json): every item must come back
# "not implemented"; anything else means this image cannot grade.
check="$(mktemp -d)"
mkdir -p "$check/submission"
cp "$SOURCE"/selfcheck/*.py "$check/submission/"
AUTOGRADER_ROOT="$check" GRADER_SOURCE="$SOURCE" GRADER_PYTHON="$VENV/bin/python" \
    bash "$SOURCE/run_autograder"
"$VENV/bin/python" - "$check/results/results.json" <<'EOF'
import json
import sys

results = json.load(open(sys.argv[1]))
items = [t for t in results.get("tests", []) if "max_score" in t]
wrong = [t["name"] for t in items if t["extra_data"]["status"] != "not_implemented"]
if not items or wrong:
    sys.exit(f"setup.sh: the self-check failed ({wrong or 'no tests'}):\n{results.get('output')}")
print(f"self-check passed: {len(items)} items, all not implemented")
EOF
rm -rf "$check"
echo "== setup done"
