#!/usr/bin/env bash
# The student bundle on students' own Pythons and torches: the check to run when a new Python or
# torch comes out, or when a module the bundle ships changes (docs/student-pythons.md). CI has one
# Python and one torch; this needs others (pyenv's, say) and PyPI, and ~5 GB of disk a pair.
#
#   tools/student-pythons.sh PYTHON=TORCH [PYTHON=TORCH ...]
#   e.g. tools/student-pythons.sh ~/.pyenv/versions/3.12.1/bin/python=2.5.1 \
#                                 ~/.pyenv/versions/3.13.0/bin/python=2.14.1
#
# For each pair: a venv with that torch alone (pip install torch==TORCH), then, with the
# unpacked bundles of both assignments, check.py on the solutions, on the stubs, on every
# folder of the example class (`grader examples`), on a file with a Python 3.12 f-string, on a
# notebook given to check.py, and train.py on the solution and on the stub; each output is
# compared with what the grader's own Python prints for the same command
# (tools/student_pythons_compare.py: every line, numbers of the maxdiff column aside).
# NOTEBOOKS=1 also installs nbclient and ipykernel in the venv and runs the filled and the stub
# notebook top to bottom, comparing their check cells' output the same way.
#
#   WORK      scratch folder (default build/student-pythons)
#   KEEP=1    keep the venvs (each ~5 GB)
#
# Prints one summary line per pair; exits non-zero on any difference.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-$REPO/build/student-pythons}"
REF="${GRADER_PYTHON:-$REPO/.venv/bin/python}"
[ -x "$REF" ] || { echo "run 'make .venv/.installed' first (or set GRADER_PYTHON)"; exit 2; }
[ $# -gt 0 ] || { sed -n '2,21p' "$0"; exit 2; }

grader() { (cd "$REPO" && PYTHONPATH="$REPO" "$REF" -m grader.cli "$@"); }

rm -rf "$WORK/bundles" "$WORK/examples" "$WORK/out"
mkdir -p "$WORK/bundles" "$WORK/examples" "$WORK/out"
for a in backprop-ninja layer-by-layer; do
    grader bundle -a "$a" --out "$WORK/bundles" >/dev/null
    unzip -q -o "$WORK/bundles/$a-student.zip" -d "$WORK/bundles"
    grader examples -a "$a" "$WORK/examples/$a" >/dev/null
done
# A right exercise2.py with a Python 3.12 f-string: passed by 3.12's check, 0 in a 3.11 grader.
mkdir -p "$WORK/examples/fstring-3.12"
cp "$REPO"/solutions/backprop-ninja/exercise*.py "$WORK/examples/fstring-3.12/"
printf '\nSIZES = {"n": 32}\nLABEL = f"batch of {SIZES["n"]}"\n' \
    >>"$WORK/examples/fstring-3.12/exercise2.py"
(cd "$REPO" && PYTHONPATH="$REPO" "$REF" - "$WORK/bundles") <<'EOF'
import sys
from pathlib import Path
from grader.backprop_ninja.notebook_build import notebook_text
solutions = Path("solutions/backprop-ninja")
Path(sys.argv[1], "backprop-ninja", "filled.ipynb").write_text(notebook_text(solutions, filled=True))
EOF

# run PYTHON OUT: every command, its output (stdout, stderr, status) in OUT/<name>.txt
run() {
    local py=$1 out=$2 nb=$WORK/bundles/backprop-ninja lbl=$WORK/bundles/layer-by-layer
    mkdir -p "$out"
    one() { local name=$1 dir=$2; shift 2; (cd "$dir" && timeout 900 "$py" "$@" >"$out/$name.txt" 2>&1; echo "status $?" >>"$out/$name.txt") || true; }
    one bn-stubs "$nb" check.py
    one bn-solutions "$nb" check.py "$REPO/solutions/backprop-ninja"
    one bn-fstring "$nb" check.py "$WORK/examples/fstring-3.12"
    one bn-notebook "$nb" check.py backprop_ninja.ipynb
    for d in "$WORK"/examples/backprop-ninja/*/; do one "bn-$(basename "$d")" "$nb" check.py "$d"; done
    one lbl-stubs "$lbl" check.py
    one lbl-solutions "$lbl" check.py "$REPO/solutions/layer-by-layer"
    for d in "$WORK"/examples/layer-by-layer/*/; do one "lbl-$(basename "$d")" "$lbl" check.py "$d"; done
    one train-solution "$nb" train.py "$REPO/solutions/backprop-ninja/exercise3.py" --steps 1000
    one train-stub "$nb" train.py
    if [ "${NOTEBOOKS:-0}" = 1 ]; then
        for n in filled backprop_ninja; do
            (cd "$nb" && timeout 1800 "$py" "$REPO/tools/student_pythons_notebook.py" "$n.ipynb" \
                >"$out/notebook-$n.txt" 2>&1) || true
        done
    fi
}

run "$REF" "$WORK/out/grader"
failed=0
for pair in "$@"; do
    py=${pair%=*} torch=${pair##*=}
    name="py$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-torch$torch"
    venv="$WORK/venv-$name"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/pip" install -q "torch==$torch"
    if [ "${NOTEBOOKS:-0}" = 1 ]; then "$venv/bin/pip" install -q nbclient nbformat ipykernel; fi
    run "$venv/bin/python" "$WORK/out/$name"
    "$REF" "$REPO/tools/student_pythons_compare.py" "$WORK/out/grader" "$WORK/out/$name" || failed=1
    [ "${KEEP:-0}" = 1 ] || rm -rf "$venv"
done
exit $failed
