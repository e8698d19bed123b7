#!/usr/bin/env bash
# Gradescope's path, end to end, in a Debian 12 root file system: the check to run whenever
# setup.sh, run_autograder, grader/gradescope/ or the sandbox changes (docs/gradescope.md, "Checking
# the Gradescope path"). Root only; needs debootstrap (apt-get install debootstrap), chroot,
# setpriv and unzip, and reaches Debian's package archive and PyPI as setup.sh does.
#
#   1. builds a minimal Debian 12 (bookworm) with python3 by debootstrap, once (kept in $BASE);
#   2. copies it, unzips the autograder zip (`make gradescope`) into /autograder/source and puts
#      run_autograder in /autograder, as Gradescope does;
#   3. runs setup.sh in it (apt-get, the venv, the self-check), in a chroot;
#   4. for each sample submission, runs run_autograder in the chroot with the capabilities
#      Docker gives a container by default (no CAP_SYS_ADMIN: bubblewrap, installed by setup.sh,
#      is refused its namespaces, as on Gradescope), and compares results.json item by item with
#      `grader grade` run on this machine with every layer;
#   5. checks that no note in results.json advises installing bubblewrap (it is installed).
#
# Prints one line per sample and a summary; exits non-zero on any difference.
#
#   SAMPLES   folder of sample submissions, one folder each (default: the example class, made
#             by `grader examples`: complete, partial, blank, classic mistakes)
#   WORK      scratch folder (default build/rootfs-check); BASE the debootstrap cache in it
#   MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   KEEP=1    keep the root file system after the run (to look inside)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-$REPO/build/rootfs-check}"
BASE="${BASE:-$WORK/base}"
ROOTFS="$WORK/root"
PY="$REPO/.venv/bin/python"
started=$SECONDS

[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot and mounts need it)"; exit 2; }
for tool in debootstrap chroot setpriv unzip; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install $tool)"; exit 2; }
done
[ -x "$PY" ] || { echo "run 'make .venv/.installed' first"; exit 2; }

mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$ROOTFS"; fi
}
trap cleanup EXIT
bind() { # bind SOURCE TARGET [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mounted+=("$2")
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

echo "== Debian 12 root file system"
if [ ! -x "$BASE/usr/bin/python3" ]; then
    rm -rf "$BASE"
    mkdir -p "$WORK"
    debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$BASE" "${MIRROR:-http://deb.debian.org/debian}"
fi
rm -rf "$ROOTFS"
cp -a "$BASE" "$ROOTFS"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
# This machine's pip settings (a local wheel cache, say) and certificate authorities (a proxy's,
# say) go in as they are.
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
cp -a /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/" 2>/dev/null || true
for conf in /etc/pip.conf /etc/xdg/pip; do
    if [ -e "$conf" ]; then mkdir -p "$ROOTFS$(dirname "$conf")" && cp -a "$conf" "$ROOTFS$conf"; fi
done
for dir in $(env | sed -nE 's/^PIP_(FIND_LINKS|EXTRA_INDEX_URL|INDEX_URL)=//p' | tr ' ' '\n' |
    sed -E 's#^file://##' | grep '^/' || true) /opt/wheels /opt/pypi /opt/pypi-more; do
    if [ -d "$dir" ] && ! mountpoint -q "$ROOTFS$dir"; then bind "$dir" "$ROOTFS$dir" ro; fi
done
mount -t proc proc "$ROOTFS/proc" && mounted+=("$ROOTFS/proc")
bind /sys "$ROOTFS/sys" ro
bind /dev "$ROOTFS/dev"

echo "== the autograder zip, unpacked as Gradescope does"
(cd "$REPO" && "$REPO/.venv/bin/grader" gradescope-zip --out "$WORK/dist" >/dev/null)
mkdir -p "$ROOTFS/autograder/source"
unzip -q "$WORK"/dist/*-autograder.zip -d "$ROOTFS/autograder/source"
cp "$ROOTFS/autograder/source/run_autograder" "$ROOTFS/autograder/run_autograder"

# What Gradescope's harness passes: a clean environment, plus this machine's pip settings.
ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
for var in $(env | grep -oE '^PIP_[A-Z_]+' || true); do ENV+=("$var=${!var}"); done
# Docker's default capabilities: no CAP_SYS_ADMIN, so no namespaces for bubblewrap.
DOCKER_CAPS=-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap
DOCKER_CAPS+=,+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap
in_container() {
    setpriv --bounding-set="$DOCKER_CAPS" --inh-caps=-all -- chroot "$ROOTFS" "${ENV[@]}" "$@"
}

echo "== setup.sh (chroot; torch from the pip settings above: TORCH_INDEX_URL empty)"
t0=$SECONDS
chroot "$ROOTFS" "${ENV[@]}" TORCH_INDEX_URL= bash /autograder/source/setup.sh >"$WORK/setup.log" 2>&1 || {
    tail -n 40 "$WORK/setup.log"
    echo "setup.sh failed (whole log: $WORK/setup.log)"
    exit 1
}
grep -E "self-check|setup done" "$WORK/setup.log"
echo "setup.sh took $((SECONDS - t0)) s"

echo "== run_autograder on each sample, compared with grader grade"
SAMPLES="${SAMPLES:-$WORK/samples}"
if [ "$SAMPLES" = "$WORK/samples" ]; then
    rm -rf "$SAMPLES"
    (cd "$REPO" && "$REPO/.venv/bin/grader" examples "$SAMPLES" >/dev/null)
fi
mkdir -p "$WORK/results"
t0=$SECONDS
for sample in "$SAMPLES"/*/; do
    name="$(basename "$sample")"
    rm -rf "$ROOTFS/autograder/submission" "$ROOTFS/autograder/results"
    mkdir -p "$ROOTFS/autograder/submission"
    cp -r "$sample". "$ROOTFS/autograder/submission/"
    in_container bash /autograder/run_autograder >"$WORK/results/$name.log" 2>&1
    cp "$ROOTFS/autograder/results/results.json" "$WORK/results/$name.gradescope.json"
done
runs=$((SECONDS - t0))
(cd "$REPO" && "$REPO/.venv/bin/grader" grade "$SAMPLES" --out "$WORK/cli" -j 2 >/dev/null)
"$PY" - "$SAMPLES" "$WORK/results" "$WORK/cli" <<'EOF'
import json
import sys
from pathlib import Path

samples, gradescope, cli = (Path(a) for a in sys.argv[1:])
bad = 0
for sample in sorted(p for p in samples.iterdir() if p.is_dir()):
    gs = json.loads((gradescope / f"{sample.name}.gradescope.json").read_text())
    ours = next(json.loads(p.read_text()) for p in cli.glob("*/result.json")
                if json.loads(p.read_text())["submission"] == sample.name)
    got = {t["extra_data"]["id"]: t["extra_data"]["status"]
           for t in gs["tests"] if "status" in t.get("extra_data", {})}
    want = {i["id"]: i["status"] for i in ours["items"]}
    iso = gs["extra_data"]["isolation"]
    advice = [n for n in iso["notes"] if "install the 'bubblewrap'" in n]
    same = got == want and abs(gs["score"] - ours["score"]) < 1e-6 and not advice
    bad += not same
    print(f"{'same' if same else 'DIFFERENT'}: {sample.name}: score {gs['score']:g} here, "
          f"{ours['score']:g} by grader grade; bubblewrap {iso['bubblewrap']}")
    for item in sorted(set(got) | set(want)):
        if got.get(item) != want.get(item):
            print(f"    {item}: {got.get(item)} in results.json, {want.get(item)} by grader grade")
    for note in advice:
        print(f"    wrong advice: {note}")
print(f"notes (last sample): {iso['notes']}")
sys.exit(1 if bad else 0)
EOF
echo "run_autograder took $runs s for $(ls -d "$SAMPLES"/*/ | wc -l) samples; the whole check $((SECONDS - started)) s"
