#!/usr/bin/env bash
# Benchmark (not a test): CPU time, system calls and peak memory of our renderer against
# kustomize's, in the same run, on the shared real-world corpus (one `gitops-env render
# --out-dir` process per repository) and on kustomize's conformance cases (one process over all
# cases).
#
# kustomize is measured two ways: `kubectl kustomize` per directory (what a pipeline that shells
# out pays), and kubectl's in-process share — each call minus the CPU of a call on an empty
# kustomization made right before it, i.e. kustomize's own work without kubectl's start-up (what
# a Go tool linking kustomize as a library pays). CPU times come from getrusage of each child
# (microseconds), user and system apart. Our render is run REPEAT times (default 3) and the
# fastest run by user+system CPU is reported; kubectl is run once per directory (it is slow).
# System calls are counted by `strace -c -f` over one extra run of ours (strace slows it, so
# that run is not timed).
#
# Usage: bench/render-cpu.sh [SHARED_DIR]
#   SHARED_DIR      the shared corpora folder (default: ../shared beside the checkout, or
#                   $GITOPS_ENV_SHARED)
#   GITOPS_ENV_BIN  the binary to measure (default: target/release/gitops-env when built,
#                   else target/debug/gitops-env)
#   REPEAT          runs of our render per corpus (default 3)
#   CORPORA         which corpora, space-separated (default: "realworld conformance")
set -euo pipefail

source "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || { echo "python3 is required (getrusage per child)" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace is required for syscall counts (apt-get install strace)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$bin" "$shared" "$work" "${REPEAT:-3}" "${CORPORA:-realworld conformance}" <<'PY'
import collections, os, re, resource, subprocess, sys

bin_path, shared, work, repeat, corpora = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split()
DEVNULL = subprocess.DEVNULL

def run(argv, cwd):
    """Runs argv to completion; returns (user s, system s, peak RSS KiB) of that child alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            fd = os.open(os.devnull, os.O_RDWR)
            os.dup2(fd, 0); os.dup2(fd, 1); os.dup2(fd, 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_utime, usage.ru_stime, usage.ru_maxrss

# Each corpus: a list of (cwd, [dirs]) groups; ours renders one group per process.
def realworld():
    root = os.path.join(shared, "corpus/realworld")
    groups = collections.OrderedDict()
    with open(os.path.join(root, "INDEX.tsv")) as index:
        next(index)
        for line in index:
            repo, directory = line.rstrip("\n").split("\t")[:2]
            groups.setdefault(os.path.join(root, repo, "tree"), []).append(directory)
    return list(groups.items())

def conformance():
    root = os.path.join(shared, "conformance/kustomize")
    dirs = []
    for case in sorted(os.listdir(root)):
        build_dir = os.path.join(root, case, "build-dir.txt")
        if os.path.isdir(os.path.join(root, case, "input")) and os.path.exists(build_dir):
            dirs.append(os.path.normpath(os.path.join(case, "input", open(build_dir).read().strip())))
    return [(root, dirs)]

empty = os.path.join(work, "empty")
os.makedirs(empty)
with open(os.path.join(empty, "kustomization.yaml"), "w") as f:
    f.write("resources: []\n")

def ours(groups, tag):
    best = None
    for attempt in range(repeat):
        user = system = 0.0
        peak = 0
        for index, (cwd, dirs) in enumerate(groups):
            out = os.path.join(work, f"{tag}-{attempt}-{index}")
            u, s, rss = run([bin_path, "render", "--out-dir", out] + dirs, cwd)
            user, system, peak = user + u, system + s, max(peak, rss)
        if best is None or user + system < best[0] + best[1]:
            best = (user, system, peak)
    return best

def kubectl(groups):
    total_u = total_s = own_u = own_s = 0.0
    for cwd, dirs in groups:
        for directory in dirs:
            eu, es, _ = run(["kubectl", "kustomize", empty], cwd)
            u, s, _ = run(["kubectl", "kustomize", directory], cwd)
            total_u, total_s = total_u + u, total_s + s
            own_u, own_s = own_u + (u - eu), own_s + (s - es)
    return total_u, total_s, own_u, own_s

def syscalls(groups, tag):
    counts = collections.Counter()
    for index, (cwd, dirs) in enumerate(groups):
        report = os.path.join(work, f"strace-{tag}-{index}.txt")
        out = os.path.join(work, f"{tag}-strace-{index}")
        subprocess.run(["strace", "-c", "-f", "-o", report, bin_path, "render", "--out-dir", out] + dirs,
                       cwd=cwd, stdout=DEVNULL, stderr=DEVNULL)
        for line in open(report):
            fields = line.split()
            # "% time  seconds  usecs/call  calls  [errors]  syscall"
            if len(fields) >= 5 and re.fullmatch(r"[\d.]+", fields[0]) and fields[-1] != "total":
                counts[fields[-1]] += int(fields[3])
    return counts

rows = []
for name in corpora:
    groups = {"realworld": realworld, "conformance": conformance}[name]()
    dirs = sum(len(d) for _, d in groups)
    print(f"{name}: {dirs} directories in {len(groups)} group(s) ...", file=sys.stderr, flush=True)
    ou, os_, peak = ours(groups, name)
    ku, ks, iu, is_ = kubectl(groups)
    calls = syscalls(groups, name)
    rows.append((name, dirs, len(groups), ou, os_, peak, ku, ks, iu, is_, calls))

print(f"binary: {bin_path}")
print()
print(f"{'corpus':<12} {'dirs':>5}  {'ours user':>9} {'sys':>6}  {'kubectl user':>12} {'sys':>6}  "
      f"{'in-process user':>15} {'sys':>6}  {'x kubectl':>9} {'x in-proc':>9}  {'peak RSS':>8}")
for name, dirs, _, ou, os_, peak, ku, ks, iu, is_, _ in rows:
    ours_cpu = ou + os_
    print(f"{name:<12} {dirs:>5}  {ou:>8.3f}s {os_:>5.3f}s  {ku:>11.2f}s {ks:>5.2f}s  "
          f"{iu:>14.2f}s {is_:>5.2f}s  {(ku + ks) / ours_cpu:>8.1f}x {(iu + is_) / ours_cpu:>8.1f}x  "
          f"{peak / 1024:>6.1f}MB")
print()
print("ours: user+system CPU of the fastest of the runs; x = kustomize's CPU / ours (user+system);")
print("in-process = each kubectl call minus an empty-kustomization call made right before it.")
print(f"ours: system time / user time: " +
      ", ".join(f"{name} {os_ / ou:.2f}" for name, _, _, ou, os_, *_ in rows))
print()
print("system calls of one run of ours (strace -c -f):")
for name, dirs, *_, calls in rows:
    total = sum(calls.values())
    top = ", ".join(f"{syscall} {count}" for syscall, count in calls.most_common(8))
    print(f"  {name}: {total} in all ({total / dirs:.0f} per directory); {top}")
PY
