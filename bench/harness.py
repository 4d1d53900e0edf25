#!/usr/bin/env python3
"""isoexec benchmark driver (issue #8). Started by bench/run.sh, which installs the tools,
builds isoexec, and runs this script as root inside a private mount namespace whose
/sys/fs/cgroup/unified is an empty tmpfs (so crun, runc and isoexec all see the same pure
cgroup v1 view on a hybrid host).

Sections (BENCH_SECTIONS, comma-separated; default all):
  floor       posix_spawn+wait of ROOTFS/bin/true from C (bench/spawnwait.c): the floor
  launch      launch-to-exit of /bin/true, every contender once per round, N rounds interleaved
  ablation    isoexec alone with one feature off at a time (hyperfine): where the time goes
  throughput  total wall for N launches with 2, 8 and 32 in flight
  exec        exec of /bin/true into a running task (isoexec exec when it exists)
  memory      RSS/PSS of the process that stays around for a sleeping task
  chroot      isoexec's default root vs a Nomad-style `cp -al` chroot copy
  stats       cost of one stats sample (isoexec stats when it exists)
  syscalls    strace -f -c of one launch
  micro       Google Benchmark results of bench/micro (when built)

Everything it creates lives under --work (rootfs, bundles, state dirs) or in cgroups named
isoexec-bench-<tag>; all of it is removed at the end, and leftovers are reported.
Only the Python standard library is used.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback

DEVNULL = subprocess.DEVNULL
MIB = 1024 * 1024
MEMORY_LIMIT = 256 * MIB
CPU_SHARES = 512
HOSTNAME = "bench"

# ---------------------------------------------------------------------------------------------
# small helpers


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def sh(argv, check=True, timeout=120, **kw):
    """Runs argv, returns CompletedProcess with text output."""
    p = subprocess.run(argv, stdin=DEVNULL, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-800:]}")
    return p


def pct(values, q):
    """Percentile with linear interpolation (q in 0..100)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summarize(ns_values):
    """Latency samples in ns -> summary in ms."""
    if not ns_values:
        return {"n": 0}
    ms = [x / 1e6 for x in ns_values]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
        "stdev_ms": round(statistics.stdev(ms), 3) if len(ms) > 1 else 0.0,
    }


def fmt_ms(v):
    if v is None:
        return "–"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def md_table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def smaps_rollup(pid):
    """Rss/Pss/Private of one process in KiB (from /proc/PID/smaps_rollup)."""
    out = {}
    for line in read_text(f"/proc/{pid}/smaps_rollup").splitlines():
        m = re.match(r"^(\w+):\s+(\d+) kB", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    if not out:
        return None
    return {
        "rss_kib": out.get("Rss", 0),
        "pss_kib": out.get("Pss", 0),
        "private_kib": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0),
    }


def children(pid):
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        kids += [int(x) for x in read_text(f"/proc/{pid}/task/{tid}/children").split()]
    return kids


def alive(pid):
    """True while the process exists and is not a zombie."""
    stat = read_text(f"/proc/{pid}/stat")
    return bool(stat) and stat.rsplit(")", 1)[-1].split()[0] != "Z"


def proc_comm(pid):
    return read_text(f"/proc/{pid}/comm").strip()


def wait_until(pred, timeout=10.0, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(step)
    return None


# ---------------------------------------------------------------------------------------------
# environment: tools, rootfs, bundles


class Env:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.tag = args.tag or secrets.token_hex(3)
        self.cg_parent = f"isoexec-bench-{self.tag}"
        self.isoexec = os.path.abspath(args.isoexec)
        self.spawnwait = os.path.abspath(args.spawnwait)
        self.rootfs = os.path.join(self.work, "rootfs")
        self.bundles = os.path.join(self.work, "bundles")
        # State dirs live on a tmpfs, as /run does on a usual host (see setup()).
        self.state_fs = os.path.join(self.work, "state")
        self.iso_state = os.path.join(self.state_fs, "isoexec")
        self.crun_root = os.path.join(self.state_fs, "crun")
        self.runc_root = os.path.join(self.state_fs, "runc")
        self.raw = os.path.abspath(args.raw)
        self.results = os.path.abspath(args.results)
        self.tools = {t: shutil.which(t) for t in
                      ("crun", "runc", "bwrap", "unshare", "nsenter", "chroot", "hyperfine",
                       "gnuplot", "strace", "perf")}
        self.notes = []     # caveats and skipped sections, shown in the report
        self.seq = 0
        self.iso_caps = {}
        self.cpu_samples = {}

    def uid(self, what):
        self.seq += 1
        return f"ib{self.tag}-{what}-{self.seq}"

    def iso(self, *run_args, verb="run"):
        return [self.isoexec, "--state-dir", self.iso_state, "--cgroup-parent", self.cg_parent,
                verb, *run_args]

    def crun(self, *a):
        return [self.tools["crun"], "--root", self.crun_root, "--cgroup-manager", "cgroupfs", *a]

    def runc(self, *a):
        return [self.tools["runc"], "--root", self.runc_root, *a]


def probe_isoexec(env):
    """Which verbs/flags exist. `isoexec exec --help` exits 0 with the top-level help while
    `exec` does not exist (CLI11), so the subcommand list is parsed instead."""
    caps = {}
    top = sh([env.isoexec, "--help"], check=False).stdout
    subs = set()
    in_subs = False
    for line in top.splitlines():
        if line.startswith("Subcommands:"):
            in_subs = True
            continue
        if in_subs:
            m = re.match(r"^\s{2}(\w[\w-]*)\s", line)
            if m:
                subs.add(m.group(1))
    caps["subcommands"] = sorted(subs)
    run_help = sh([env.isoexec, "run", "--help"], check=False).stdout
    caps["detach"] = bool(re.search(r"--detach\b", run_help))
    for verb in ("exec", "stats", "kill", "delete", "stop", "state", "wait", "inspect", "list"):
        caps[verb] = verb in subs
    if caps["stats"]:
        stats_help = sh([env.isoexec, "stats", "--help"], check=False).stdout
        caps["stats_no_stream"] = "--no-stream" in stats_help
    if caps["delete"]:
        caps["delete_force"] = "--force" in sh([env.isoexec, "delete", "--help"],
                                               check=False).stdout
    caps["version"] = sh([env.isoexec, "version"], check=False).stdout.strip().splitlines()[:2]
    feats = sh([env.isoexec, "features"], check=False)
    try:
        caps["features"] = json.loads(feats.stdout)
    except ValueError:
        caps["features"] = {}
    env.iso_caps = caps
    return caps


def build_rootfs(env):
    """A static busybox root: /bin/{true,sleep,sh,...} plus the usual empty mount points."""
    r = env.rootfs
    for d in ("bin", "dev", "proc", "sys", "tmp", "etc", "root", "run", "local"):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    os.chmod(os.path.join(r, "tmp"), 0o1777)
    busybox = shutil.which("busybox") or "/bin/busybox"
    out = os.path.join(r, "bin", "busybox")
    shutil.copy2(busybox, out)
    if "statically linked" not in sh(["file", "-L", out], check=False).stdout and \
            "static" not in sh(["file", "-L", out], check=False).stdout:
        env.notes.append("busybox is not static: the rootfs may not run (install busybox-static)")
    for applet in ("true", "false", "sleep", "sh", "cat", "ls", "echo", "hostname", "id"):
        p = os.path.join(r, "bin", applet)
        if not os.path.lexists(p):
            os.symlink("busybox", p)
    with open(os.path.join(r, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(r, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")


def isoexec_seccomp_for_oci(env):
    """isoexec's built-in profile, as an OCI linux.seccomp section, so that crun and runc also
    compile and load an equivalent filter (what the isolation costs must be the same). Read
    from src/isolation/seccomp_profile.cc (no CLI prints it yet); None when not parseable."""
    src = os.path.join(env.args.source, "src/isolation/seccomp_profile.cc")
    text = read_text(src)

    def names(array):
        m = re.search(array + r"\[\]\s*=\s*\{(.*?)\};", text, re.S)
        if not m:
            return None
        body = re.sub(r"//[^\n]*", "", m.group(1))
        return re.findall(r'"([A-Za-z0-9_]+)"', body)

    allowed, denied = names("kAllowed"), names("kDenied")
    if not allowed or not denied:
        return None
    ns_flags = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                0x40000000]  # NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET
    ns_mask = 0
    for f in ns_flags:
        ns_mask |= f
    rules = [
        {"names": allowed, "action": "SCMP_ACT_ALLOW"},
        {"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
    ]
    for persona in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF):
        rules.append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": persona, "op": "SCMP_CMP_EQ"}]})
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": ns_mask, "valueTwo": 0,
                            "op": "SCMP_CMP_MASKED_EQ"}]})
    for f in ns_flags:
        rules.append({"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                      "args": [{"index": 0, "value": f, "valueTwo": f,
                                "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_LT"}]})
    rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 41, "op": "SCMP_CMP_EQ"}]})
    for mask, val in ((~1 & 0xFFFFFFFFFFFFFFFF, 42), (~3 & 0xFFFFFFFFFFFFFFFF, 44),
                      (~15 & 0xFFFFFFFFFFFFFFFF, 48)):
        rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": mask, "valueTwo": val,
                                "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "args": [{"index": 0, "value": 0xFFFFFFFF, "valueTwo": 40,
                            "op": "SCMP_CMP_MASKED_EQ"}]})
    arches = {"x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]}.get(platform.machine(), [])
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "architectures": arches, "syscalls": rules}


def oci_config(env, variant, args, cgroup_name):
    """An OCI config equivalent to `isoexec run --rootfs R --memory 256M --cpu-shares 512`:
    Nomad's mount set, isoexec's masked/read-only paths, capabilities, device allow-list and
    seccomp profile, its own cgroup with the same limits. variant: "full" =
    pid+ipc+uts+mount namespaces, "mnt" = mount namespace only."""
    feats = env.iso_caps.get("features", {})
    caps = feats.get("default_capabilities") or [
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
        "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
    masked = feats.get("masked_paths") or ["/proc/kcore", "/sys/firmware"]
    readonly = feats.get("readonly_paths") or ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
                                               "/proc/bus"]
    namespaces = [{"type": "mount"}]
    if variant == "full":
        namespaces += [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}]
    devices = [{"allow": False, "access": "rwm"}]
    for (t, ma, mi) in (("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9),
                        ("c", 5, 0), ("c", 5, 2), ("c", 136, None)):
        rule = {"allow": True, "type": t, "major": ma, "access": "rwm"}
        if mi is not None:
            rule["minor"] = mi
        devices.append(rule)
    cfg = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
            "oomScoreAdj": 0,
        },
        "root": {"path": env.rootfs, "readonly": False},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": f"/{env.cg_parent}/{cgroup_name}",
            "resources": {
                "memory": {"limit": MEMORY_LIMIT},
                "cpu": {"shares": CPU_SHARES},
                "devices": devices,
            },
            "maskedPaths": masked,
            "readonlyPaths": readonly,
        },
    }
    if variant == "full":
        cfg["hostname"] = HOSTNAME
    if env.oci_seccomp:
        cfg["linux"]["seccomp"] = env.oci_seccomp
    return cfg


def make_bundle(env, runtime, variant, slot, args, kind="true"):
    name = f"{runtime}-{variant}-{kind}-{slot}"
    d = os.path.join(env.bundles, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(oci_config(env, variant, args, name), f, indent=1)
    return d


def bundle_path(env, runtime, variant, slot="%s", kind="true"):
    return os.path.join(env.bundles, f"{runtime}-{variant}-{kind}-{slot}")


def setup(env):
    # Every runtime keeps per-container state (isoexec, crun and runc alike) in a directory it
    # removes at the end; on a disk filesystem mounted with `discard` (this VM's /) each removal
    # waits for a synchronous discard (~2 ms). Hosts keep /run on a tmpfs, so the benchmark
    # does the same for all three; the mount lives in the harness's private mount namespace.
    os.makedirs(env.state_fs, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=700,size=64m", "isoexec-bench-state",
                       env.state_fs]).returncode == 0:
        env.notes.append("state dirs of isoexec, crun and runc are on a tmpfs (as /run is on a "
                         "usual host)")
    else:
        env.notes.append("could not mount a tmpfs for the state dirs: they are on the work "
                         "directory's filesystem")
    for d in (env.work, env.bundles, env.iso_state, env.crun_root, env.runc_root, env.raw,
              env.results):
        os.makedirs(d, exist_ok=True)
    build_rootfs(env)
    probe_isoexec(env)
    env.oci_seccomp = isoexec_seccomp_for_oci(env)
    if env.oci_seccomp is None:
        env.notes.append("could not read isoexec's seccomp profile from the source: crun/runc "
                         "run WITHOUT seccomp while isoexec loads its default filter")
    max_slots = max(env.tput_levels) if env.tput_levels else 1
    for runtime in ("crun", "runc"):
        if not env.tools[runtime]:
            continue
        for variant in ("full", "mnt"):
            make_bundle(env, runtime, variant, 0, ["/bin/true"])
        for slot in range(max_slots):
            make_bundle(env, runtime, "full", slot, ["/bin/true"])
        make_bundle(env, runtime, "full", 0, ["/bin/sleep", "100000"], kind="sleep")


# ---------------------------------------------------------------------------------------------
# contenders: argv templates; "%i" = unique launch index, "%s" = slot (bundle) index


def contenders(env, iso_default_root=False):
    R = env.rootfs
    iso_limits = ["--memory", "256M", "--cpu-shares", str(CPU_SHARES)]
    c = {}
    c["spawn"] = {"label": "posix_spawn (floor)", "variant": "both",
                  "argv": [os.path.join(R, "bin", "true")]}
    c["isoexec-full"] = {"label": "isoexec run", "variant": "full",
                         "argv": env.iso("--rootfs", R, *iso_limits, "--hostname", HOSTNAME,
                                         "--", "/bin/true")}
    c["isoexec-mnt"] = {"label": "isoexec run", "variant": "mnt",
                        "argv": env.iso("--rootfs", R, *iso_limits, "--pid", "host", "--ipc",
                                        "host", "--", "/bin/true")}
    if env.tools["crun"]:
        for v in ("full", "mnt"):
            c[f"crun-{v}"] = {"label": "crun run", "variant": v, "runtime": "crun",
                              "argv": env.crun("run", "--bundle", bundle_path(env, "crun", v),
                                               f"ib{env.tag}-crun-{v}-%i")}
    if env.tools["runc"]:
        for v in ("full", "mnt"):
            c[f"runc-{v}"] = {"label": "runc run", "variant": v, "runtime": "runc",
                              "argv": env.runc("run", "--bundle", bundle_path(env, "runc", v),
                                               f"ib{env.tag}-runc-{v}-%i")}
    if env.tools["bwrap"]:
        base = [env.tools["bwrap"], "--bind", R, "/", "--proc", "/proc", "--dev", "/dev",
                "--mqueue", "/dev/mqueue", "--ro-bind", "/sys", "/sys"]
        c["bwrap-full"] = {"label": "bwrap", "variant": "full",
                           "argv": base + ["--unshare-pid", "--unshare-ipc", "--unshare-uts",
                                           "--hostname", HOSTNAME, "/bin/true"]}
        c["bwrap-mnt"] = {"label": "bwrap", "variant": "mnt", "argv": base + ["/bin/true"]}
    if env.tools["unshare"] and env.tools["chroot"]:
        c["unshare-full"] = {"label": "unshare+chroot", "variant": "full",
                             "argv": [env.tools["unshare"], "--mount", "--pid", "--ipc", "--uts",
                                      "--fork", env.tools["chroot"], R, "/bin/true"]}
        c["unshare-mnt"] = {"label": "unshare+chroot", "variant": "mnt",
                            "argv": [env.tools["unshare"], "--mount", "--fork",
                                     env.tools["chroot"], R, "/bin/true"]}
    return c


def expand(argv, i, slot=0):
    return [a.replace("%i", str(i)).replace("%s", str(slot)) for a in argv]


def cpu_children_ns():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def timed_run(argv, errfile, timeout=60, cpu=None):
    """Wall time (ns) of one launch-to-exit, measured with a monotonic clock around
    subprocess.run (posix_spawn path: close_fds=False, no pipes to drain). When `cpu` is a
    list, the user+system CPU time of the reaped process tree (RUSAGE_CHILDREN delta) is
    appended to it: far less sensitive to a busy machine than the wall time."""
    errfile.seek(0)
    errfile.truncate()
    c0 = cpu_children_ns()
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=errfile, close_fds=False,
                       timeout=timeout)
    t1 = time.perf_counter_ns()
    if cpu is not None:
        cpu.append(cpu_children_ns() - c0)
    err = ""
    if p.returncode != 0:
        errfile.seek(0)
        err = errfile.read().decode(errors="replace").strip()[-500:]
    return t1 - t0, p.returncode, err


def sweep_runtimes(env):
    """Force-deletes every container left in our private crun/runc state dirs."""
    for rt, fn in (("crun", env.crun), ("runc", env.runc)):
        if not env.tools[rt]:
            continue
        p = sh(fn("list", "-q"), check=False)
        for cid in p.stdout.split():
            if cid.startswith(f"ib{env.tag}"):
                sh(fn("delete", "-f", cid), check=False)


def interleaved(env, names, table, rounds, warmup, section):
    """Each round runs every contender once (rotating the start so nobody always follows the
    same neighbour); returns {name: [ns...]} and failures."""
    samples = {n: [] for n in names}
    cpu = {n: [] for n in names}
    paired = []  # per-round dicts, for paired ratios
    failures = {n: [] for n in names}
    errfile = open(os.path.join(env.raw, f"{section}-stderr.tmp"), "w+b")
    try:
        for r in range(warmup + rounds):
            row = {}
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                argv = expand(table[n]["argv"], f"{section[:1]}{r}")
                c = []
                try:
                    t, rc, err = timed_run(argv, errfile, cpu=c)
                except subprocess.TimeoutExpired:
                    t, rc, err = None, -1, "timeout"
                if rc != 0:
                    failures[n].append({"round": r, "rc": rc, "stderr": err})
                    if table[n].get("runtime"):
                        sweep_runtimes(env)
                    continue
                if r >= warmup:
                    samples[n].append(t)
                    cpu[n] += c
                    row[n] = t
            if r >= warmup:
                paired.append(row)
            if (r + 1) % 10 == 0:
                log(f"{section}: round {r + 1}/{warmup + rounds}")
    finally:
        errfile.close()
        os.unlink(os.path.join(env.raw, f"{section}-stderr.tmp"))
    env.cpu_samples[section] = cpu
    return samples, paired, failures


def probe(env, table, names, section, sweep=False):
    """Every contender must work once before it is timed; returns {name: why} of those that
    do not (they are left out, with a note). sweep: force-delete leftover crun/runc
    containers afterwards (not when long-running containers are the exec/stats targets)."""
    broken = {}
    path = os.path.join(env.raw, f"probe-{section}.tmp")
    with open(path, "w+b") as ef:
        for n in names:
            try:
                _, rc, err = timed_run(expand(table[n]["argv"], "probe"), ef, timeout=30)
            except subprocess.TimeoutExpired:
                rc, err = -1, "timed out after 30 s"
            if rc != 0:
                broken[n] = f"exit {rc}: {err}"
    os.unlink(path)
    for n, why in broken.items():
        env.notes.append(f"{section}: {n} does not work here and was left out ({why})")
    if sweep:
        sweep_runtimes(env)
    return broken


def paired_ratio(paired, a, b):
    rs = [row[a] / row[b] for row in paired if a in row and b in row and row[b] > 0]
    return round(statistics.median(rs), 4) if rs else None


# ---------------------------------------------------------------------------------------------
# sections


def section_floor(env, res):
    n = env_int("BENCH_FLOOR_N", 1000)
    p = sh([env.spawnwait, "-n", str(n), "--", os.path.join(env.rootfs, "bin", "true")])
    d = json.loads(p.stdout)
    with open(os.path.join(env.raw, "floor.json"), "w") as f:
        f.write(p.stdout)
    res["floor"] = {"what": f"posix_spawn+waitpid of ROOTFS/bin/true from C, {n} times",
                    **summarize(d["lat_ns"])}


def section_launch(env, res):
    table = contenders(env)
    order = ["isoexec-full", "crun-full", "runc-full", "bwrap-full", "unshare-full",
             "isoexec-mnt", "crun-mnt", "runc-mnt", "bwrap-mnt", "unshare-mnt", "spawn"]
    names = [n for n in order if n in table]
    broken = probe(env, table, names, "launch", sweep=True)
    names = [n for n in names if n not in broken]
    rounds, warmup = env.rounds, env.warmup
    log(f"launch: {len(names)} contenders x {rounds} rounds (+{warmup} warm-up), interleaved")
    samples, paired, failures = interleaved(env, names, table, rounds, warmup, "launch")
    sweep_runtimes(env)
    out = {"rounds": rounds, "warmup": warmup, "contenders": {}}
    with open(os.path.join(env.raw, "launch-samples.csv"), "w") as f:
        f.write("contender,round,ns\n")
        for n in names:
            for i, t in enumerate(samples[n]):
                f.write(f"{n},{i},{t}\n")
    for n in names:
        variant = table[n]["variant"]
        iso = "isoexec-full" if variant in ("full", "both") else "isoexec-mnt"
        s = summarize(samples[n])
        cpu = env.cpu_samples["launch"].get(n) or []
        entry = {"label": table[n]["label"], "variant": variant,
                 "argv": expand(table[n]["argv"], "N"), **s,
                 "cpu_median_ms": round(statistics.median(cpu) / 1e6, 3) if cpu else None,
                 "failures": len(failures[n]), "failure_examples": failures[n][:3]}
        if s.get("n") and samples.get(iso) and n != iso:
            entry["isoexec_over_this"] = round(statistics.median(samples[iso]) /
                                               statistics.median(samples[n]), 4)
            entry["isoexec_over_this_paired"] = paired_ratio(paired, iso, n)
            iso_cpu = env.cpu_samples["launch"].get(iso)
            if cpu and iso_cpu and statistics.median(cpu) > 0:
                entry["isoexec_over_this_cpu"] = round(statistics.median(iso_cpu) /
                                                       statistics.median(cpu), 4)
        out["contenders"][n] = entry
        out["contenders"][n]["_samples_ns"] = samples[n]
    for n, why in broken.items():
        out["contenders"][n] = {"label": table[n]["label"], "variant": table[n]["variant"],
                                "n": 0, "error": why}
    res["launch"] = out


def run_hyperfine(env, name, commands, runs, warmup=3, prepare=None):
    """commands: [(label, shell-free argv list)] -> {label: summary}."""
    if not env.tools["hyperfine"]:
        return None
    out = os.path.join(env.raw, f"hyperfine-{name}.json")
    argv = [env.tools["hyperfine"], "-N", "--warmup", str(warmup), "--runs", str(runs),
            "--export-json", out, "--style", "none"]
    if prepare:
        argv += ["--prepare", prepare]
    for label, cmd in commands:
        argv += [f"--command-name={label}", " ".join(quote(a) for a in cmd)]
    sh(argv, timeout=1800)
    data = json.load(open(out))
    res = {}
    for r in data["results"]:
        times = [t * 1e9 for t in r["times"]]
        res[r["command"]] = summarize(times)
    return res


def quote(a):
    if re.fullmatch(r"[A-Za-z0-9_./:=,+@%-]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def section_ablation(env, res):
    """isoexec alone, one feature removed at a time, to see where its launch time goes."""
    R = env.rootfs
    lim = ["--memory", "256M", "--cpu-shares", str(CPU_SHARES)]
    variants = [
        ("full (--rootfs, limits, pid+ipc+uts+mnt, seccomp)",
         env.iso("--rootfs", R, *lim, "--hostname", HOSTNAME, "--", "/bin/true")),
        ("--seccomp unconfined", env.iso("--rootfs", R, *lim, "--hostname", HOSTNAME,
                                         "--seccomp", "unconfined", "--", "/bin/true")),
        ("no --memory/--cpu-shares", env.iso("--rootfs", R, "--hostname", HOSTNAME, "--",
                                             "/bin/true")),
        ("--no-init", env.iso("--rootfs", R, *lim, "--hostname", HOSTNAME, "--no-init", "--",
                              "/bin/true")),
        ("--pid host --ipc host (mount ns only)",
         env.iso("--rootfs", R, *lim, "--pid", "host", "--ipc", "host", "--", "/bin/true")),
        ("everything off that can be", env.iso("--rootfs", R, "--pid", "host", "--ipc", "host",
                                               "--seccomp", "unconfined", "--", "/bin/true")),
        ("default root (no --rootfs, host /bin/true)",
         env.iso(*lim, "--hostname", HOSTNAME, "--", "/bin/true")),
        ("isoexec version (process start + CLI only)", [env.isoexec, "version"]),
    ]
    runs = env_int("BENCH_ABLATION_RUNS", max(env.rounds, 20))
    r = run_hyperfine(env, "ablation", variants, runs)
    if r is None:
        env.notes.append("ablation skipped: hyperfine not installed")
        return
    full = r[variants[0][0]]["median_ms"]
    res["ablation"] = {"runs": runs, "tool": "hyperfine -N", "variants": [
        {"variant": k, **v, "delta_vs_full_ms": round(v["median_ms"] - full, 3)}
        for k, v in r.items()]}


def section_throughput(env, res):
    table = contenders(env)
    names = [n for n in ("isoexec-full", "crun-full", "runc-full", "bwrap-full", "unshare-full",
                         "spawn") if n in table]
    broken = {k for k in res.get("launch", {}).get("contenders", {})
              if res["launch"]["contenders"][k].get("error")}
    names = [n for n in names if n not in broken]
    total = env_int("BENCH_TPUT_LAUNCHES", 200)
    rounds = env_int("BENCH_TPUT_ROUNDS", 1)
    out = {"launches": total, "rounds": rounds, "levels": {}}
    for j in env.tput_levels:
        lvl = {n: [] for n in names}
        fails = {n: 0 for n in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                # crun/runc: one bundle per slot ("%s": at most one container per bundle and
                # cgroup at a time) and a unique container id per launch ("%i").
                argv = [a.replace("-full-%i", f"-t{j}r{r}-%i") for a in table[n]["argv"]]
                p = subprocess.run([env.spawnwait, "-q", "-n", str(total), "-j", str(j), "--",
                                    *argv], stdin=DEVNULL, capture_output=True, text=True,
                                   timeout=1800)
                try:
                    d = json.loads(p.stdout)
                except ValueError:
                    fails[n] += total
                    env.notes.append(f"throughput {n} j={j}: {p.stderr.strip()[-300:]}")
                    continue
                with open(os.path.join(env.raw, f"tput-{n}-j{j}-r{r}.json"), "w") as f:
                    f.write(p.stdout)
                fails[n] += d["failures"]
                lvl[n].append(d["wall_ns"])
                if table[n].get("runtime"):
                    sweep_runtimes(env)
            log(f"throughput: {j} in flight, round {r + 1}/{rounds} done")
        lv = {}
        for n in names:
            if not lvl[n]:
                continue
            wall = statistics.median(lvl[n])
            lv[n] = {"label": table[n]["label"], "wall_ms": round(wall / 1e6, 1),
                     "launches_per_s": round(total / (wall / 1e9), 1), "failures": fails[n]}
        if "isoexec-full" in lv:
            for n in lv:
                lv[n]["isoexec_speedup"] = round(lv["isoexec-full"]["launches_per_s"] /
                                                 lv[n]["launches_per_s"], 3)
        out["levels"][str(j)] = lv
    res["throughput"] = out


def start_sleeper(env, kind, name):
    """Starts a long-running task; returns a dict with what is needed to measure and stop it."""
    if kind in ("crun", "runc"):
        fn = env.crun if kind == "crun" else env.runc
        cid = env.uid(f"{kind}-sleep")
        p = subprocess.Popen(fn("run", "--bundle", bundle_path(env, kind, "full", 0, "sleep"),
                                cid), stdin=DEVNULL, stdout=DEVNULL, stderr=subprocess.PIPE)

        def running():
            s = sh(fn("state", cid), check=False)
            if s.returncode == 0:
                st = json.loads(s.stdout)
                if st.get("status") == "running":
                    return st
            if p.poll() is not None:
                raise RuntimeError(f"{kind} run exited {p.returncode}: "
                                   f"{p.stderr.read().decode()[-300:]}")
            return None
        st = wait_until(running, 15)
        if not st:
            raise RuntimeError(f"{kind} container did not start")
        return {"kind": kind, "id": cid, "popen": p, "task_pid": st["pid"],
                "supervisor_pids": [p.pid]}
    if kind == "isoexec-fg":
        cid = env.uid("fg")
        p = subprocess.Popen(env.iso("--rootfs", env.rootfs, "--memory", "256M", "--cpu-shares",
                                     str(CPU_SHARES), "--hostname", HOSTNAME, "--name", cid,
                                     "--kill-timeout", "1s", "--", "/bin/sleep", "100000"),
                             stdin=DEVNULL, stdout=DEVNULL, stderr=subprocess.PIPE)

        def ready():
            if p.poll() is not None:
                raise RuntimeError(f"isoexec run exited {p.returncode}: "
                                   f"{p.stderr.read().decode()[-300:]}")
            for c in children(p.pid):
                for g in children(c):
                    if proc_comm(g) == "sleep":
                        return (c, g)
            return None
        r = wait_until(ready, 15)
        if not r:
            raise RuntimeError("isoexec task did not start")
        return {"kind": kind, "id": cid, "popen": p, "task_pid": r[1], "init_pid": r[0],
                "supervisor_pids": [p.pid]}
    if kind == "bwrap":
        p = subprocess.Popen([env.tools["bwrap"], "--die-with-parent", "--bind", env.rootfs,
                              "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid",
                              "--unshare-ipc",
                              "--unshare-uts", "--hostname", HOSTNAME, "/bin/sleep", "100000"],
                             stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)

        def ready():
            for c in children(p.pid):
                for g in children(c):
                    if proc_comm(g) == "sleep":
                        return (c, g)
            return None
        r = wait_until(ready, 15)
        if not r:
            p.kill()
            raise RuntimeError("bwrap task did not start")
        return {"kind": kind, "popen": p, "task_pid": r[1], "init_pid": r[0],
                "supervisor_pids": [p.pid]}
    if kind == "isoexec-detached":
        cid = env.uid("det")
        argv = env.iso("--detach", "--name", cid, "--rootfs", env.rootfs, "--memory", "256M",
                       "--cpu-shares", str(CPU_SHARES), "--hostname", HOSTNAME, "--",
                       "/bin/sleep", "100000")
        p = sh(argv, check=False, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"isoexec run --detach: exit {p.returncode}: "
                               f"{p.stderr.strip()[-300:]}")
        procs_file = f"/sys/fs/cgroup/pids/{env.cg_parent}/{cid}/cgroup.procs"

        def task_pids():
            pids = [int(x) for x in read_text(procs_file).split()]
            return [q for q in pids if proc_comm(q) == "sleep"] and pids
        pids = wait_until(task_pids, 15) or []
        task = next((q for q in pids if proc_comm(q) == "sleep"), pids[0] if pids else None)
        # The supervisor: `isoexec inspect` names it; otherwise a process running the isoexec
        # binary in our PID namespace that is not in the task's cgroup (the init is in the
        # task's PID namespace).
        if env.iso_caps.get("inspect"):
            try:
                st = json.loads(sh(env.iso(cid, verb="inspect"), check=False).stdout)
                if st.get("supervisor_pid"):
                    init = [q for q in pids if q != st.get("pid") and proc_comm(q) != "sleep"]
                    return {"kind": kind, "id": cid, "popen": None,
                            "task_pid": st.get("pid") or task,
                            "init_pid": init[0] if init else None,
                            "supervisor_pids": [int(st["supervisor_pid"])],
                            "cgroup_procs": procs_file}
            except ValueError:
                pass
        my_pidns = os.readlink("/proc/self/ns/pid")
        sup, init = [], []
        for q in os.listdir("/proc"):
            if not q.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{q}/exe")
            except OSError:
                continue
            if os.path.realpath(exe) != os.path.realpath(env.isoexec):
                continue
            ns = os.readlink(f"/proc/{q}/ns/pid")
            (sup if ns == my_pidns and int(q) not in pids else init).append(int(q))
        return {"kind": kind, "id": cid, "popen": None, "task_pid": task,
                "init_pid": init[0] if init else None, "supervisor_pids": sup,
                "cgroup_procs": procs_file}
    raise ValueError(kind)


def stop_sleeper(env, s):
    kind = s["kind"]
    try:
        if kind in ("crun", "runc"):
            fn = env.crun if kind == "crun" else env.runc
            sh(fn("kill", s["id"], "KILL"), check=False)
            try:
                s["popen"].wait(10)
            except subprocess.TimeoutExpired:
                s["popen"].kill()
            sh(fn("delete", "-f", s["id"]), check=False)
        elif kind == "isoexec-fg":
            kill_cgroup(env, s["id"])
            try:
                s["popen"].wait(10)
            except subprocess.TimeoutExpired:
                s["popen"].kill()
                s["popen"].wait()
            if env.iso_caps.get("delete"):  # a named foreground task keeps its state
                sh(env.iso(s["id"], "--force", verb="delete"), check=False, timeout=30)
        elif kind == "bwrap":
            for q in (s.get("init_pid"), s["popen"].pid):
                try:
                    os.kill(q, signal.SIGKILL)
                except (OSError, TypeError):
                    pass
            s["popen"].wait()
        elif kind == "isoexec-detached":
            c = env.iso_caps
            if c.get("delete"):
                sh(env.iso(s["id"], verb="delete") + (["--force"] if c.get("delete_force")
                                                      else []), check=False, timeout=30)
            elif c.get("stop"):
                sh(env.iso(s["id"], verb="stop"), check=False, timeout=30)
            elif c.get("kill"):
                sh(env.iso(s["id"], "KILL", verb="kill"), check=False, timeout=30)
            kill_cgroup(env, s["id"])
            for q in s.get("supervisor_pids", []):
                wait_until(lambda: not alive(q), 5)
                if alive(q):
                    os.kill(q, signal.SIGKILL)
    except Exception as e:  # noqa: BLE001 - cleanup must go on
        log(f"stop {kind}: {e}")


def kill_cgroup(env, cid):
    """SIGKILLs every process of an isoexec task (v1 pids or freezer hierarchy)."""
    for ctrl in ("pids", "freezer", "memory"):
        f = f"/sys/fs/cgroup/{ctrl}/{env.cg_parent}/{cid}/cgroup.procs"
        for q in read_text(f).split():
            try:
                os.kill(int(q), signal.SIGKILL)
            except OSError:
                pass


def section_memory(env, res):
    kinds = ["isoexec-fg"]
    if env.iso_caps.get("detach"):
        kinds.insert(0, "isoexec-detached")
    else:
        env.notes.append("memory: isoexec detached mode (`run --detach`) not available yet; "
                         "the foreground `isoexec run` supervisor is measured instead")
    kinds += [k for k in ("crun", "runc") if env.tools[k]]
    if env.tools["bwrap"]:
        kinds.append("bwrap")
    samples = env_int("BENCH_MEM_SAMPLES", 3)
    out = {}
    for kind in kinds:
        vals = []
        for _ in range(samples):
            s = None
            try:
                s = start_sleeper(env, kind, "mem")
                time.sleep(0.3)  # let lazy page-ins settle
                sup = [smaps_rollup(q) for q in s["supervisor_pids"]]
                sup = [x for x in sup if x]
                init = smaps_rollup(s["init_pid"]) if s.get("init_pid") else None
                vals.append({
                    "supervisor": {k: sum(x[k] for x in sup) for k in
                                   ("rss_kib", "pss_kib", "private_kib")} if sup else None,
                    "supervisor_procs": len(sup),
                    "init": init,
                })
            except Exception as e:  # noqa: BLE001
                out[kind] = {"error": str(e)}
                env.notes.append(f"memory: {kind}: {e}")
                break
            finally:
                if s:
                    stop_sleeper(env, s)
        if vals and kind not in out:
            def med(path):
                xs = [v[path[0]][path[1]] for v in vals if v.get(path[0])]
                return int(statistics.median(xs)) if xs else None
            out[kind] = {"supervisor_rss_kib": med(("supervisor", "rss_kib")),
                         "supervisor_pss_kib": med(("supervisor", "pss_kib")),
                         "supervisor_private_kib": med(("supervisor", "private_kib")),
                         "supervisor_procs": vals[0]["supervisor_procs"],
                         "init_rss_kib": med(("init", "rss_kib")),
                         "init_pss_kib": med(("init", "pss_kib")),
                         "samples": len(vals)}
    res["memory"] = out


def section_exec(env, res):
    have_iso = env.iso_caps.get("exec") and env.iso_caps.get("detach")
    if not have_iso:
        env.notes.append("exec: `isoexec exec` / `run --detach` not available yet: isoexec row "
                         "skipped, the reference rows (crun exec, runc exec, nsenter) still run")
    sleepers = {}
    table = {}
    try:
        if have_iso:
            try:
                s = start_sleeper(env, "isoexec-detached", "exec")
                sleepers["isoexec"] = s
                table["isoexec-exec"] = {"label": "isoexec exec",
                                         "argv": env.iso(s["id"], "--", "/bin/true",
                                                         verb="exec")}
            except Exception as e:  # noqa: BLE001
                env.notes.append(f"exec: isoexec detached task failed: {e}")
        for rt in ("crun", "runc"):
            if env.tools[rt]:
                s = start_sleeper(env, rt, "exec")
                sleepers[rt] = s
                fn = env.crun if rt == "crun" else env.runc
                table[f"{rt}-exec"] = {"label": f"{rt} exec",
                                       "argv": fn("exec", s["id"], "/bin/true")}
        target = sleepers.get("crun") or sleepers.get("runc")
        if target and env.tools["nsenter"]:
            table["nsenter"] = {"label": "nsenter (no cgroup/caps/seccomp)",
                                "argv": [env.tools["nsenter"], "-t", str(target["task_pid"]),
                                         "-m", "-p", "-i", "-u", "/bin/true"]}
        broken = probe(env, table, list(table), "exec")
        names = [n for n in table if n not in broken]
        samples, paired, failures = interleaved(env, names, table, env.rounds, env.warmup,
                                                "exec")
        out = {"rounds": env.rounds, "contenders": {}}
        for n, why in broken.items():
            out["contenders"][n] = {"label": table[n]["label"], "n": 0, "error": why[:200]}
        for n in names:
            cpu = env.cpu_samples["exec"].get(n) or []
            e = {"label": table[n]["label"], **summarize(samples[n]),
                 "cpu_median_ms": round(statistics.median(cpu) / 1e6, 3) if cpu else None,
                 "failures": len(failures[n]), "failure_examples": failures[n][:2]}
            if "isoexec-exec" in samples and samples["isoexec-exec"] and samples[n] and \
                    n != "isoexec-exec":
                e["isoexec_over_this"] = round(statistics.median(samples["isoexec-exec"]) /
                                               statistics.median(samples[n]), 4)
            out["contenders"][n] = e
        if not have_iso:
            out["contenders"]["isoexec-exec"] = {"label": "isoexec exec", "n": 0,
                                                 "error": "not available yet"}
        out["contenders"] = dict(sorted(out["contenders"].items(),
                                        key=lambda kv: not kv[0].startswith("isoexec")))
        res["exec"] = out
    finally:
        for s in sleepers.values():
            stop_sleeper(env, s)


def count_tree(path):
    entries = dirs = links = files = 0
    for root, ds, fs in os.walk(path):
        entries += len(ds) + len(fs)
        dirs += len(ds)
        for name in fs:
            if os.path.islink(os.path.join(root, name)):
                links += 1
            else:
                files += 1
        for name in ds:
            if os.path.islink(os.path.join(root, name)):
                links += 1
                dirs -= 1
    return {"entries": entries, "dirs": dirs, "symlinks": links, "files": files,
            "new_inodes": dirs + links + 1}


def section_chroot(env, res):
    """Nomad's exec driver builds the task root by copying the chroot env into the task dir
    (hard links where possible); isoexec's default root bind-mounts the host paths read-only
    into an ephemeral tmpfs instead. Both run the host's /bin/true."""
    srcs = [p for p in ("/bin", "/etc", "/lib", "/lib64", "/sbin", "/usr") if os.path.lexists(p)]
    rounds = env_int("BENCH_CHROOT_ROUNDS", 3)
    runs = env_int("BENCH_CHROOT_LAUNCHES", 10)
    lim = ["--memory", "256M", "--cpu-shares", str(CPU_SHARES)]
    copies, rms, counts, inode_use = [], [], [], []
    launch_default, launch_copy = [], []
    errf = open(os.path.join(env.raw, "chroot-stderr.tmp"), "w+b")
    try:
        for r in range(rounds):
            task = os.path.join(env.work, f"chroot-task-{r}")
            os.makedirs(task)
            st0 = os.statvfs(task)
            t0 = time.perf_counter_ns()
            sh(["cp", "-al", *srcs, task + "/"], timeout=900)
            copies.append(time.perf_counter_ns() - t0)
            st1 = os.statvfs(task)
            inode_use.append(st0.f_ffree - st1.f_ffree)
            counts.append(count_tree(task))
            for _ in range(runs):
                t, rc, err = timed_run(env.iso(*lim, "--hostname", HOSTNAME, "--", "/bin/true"),
                                       errf)
                if rc == 0:
                    launch_default.append(t)
                else:
                    env.notes.append(f"chroot: isoexec default root failed: {err}")
                    break
                t, rc, err = timed_run(env.iso("--rootfs", task, *lim, "--hostname", HOSTNAME,
                                               "--", "/bin/true"), errf)
                if rc == 0:
                    launch_copy.append(t)
                else:
                    env.notes.append(f"chroot: isoexec in the cp -al copy failed: {err}")
                    break
            t0 = time.perf_counter_ns()
            sh(["rm", "-rf", "--one-file-system", task], timeout=900)
            rms.append(time.perf_counter_ns() - t0)
            log(f"chroot: round {r + 1}/{rounds}")
    finally:
        errf.close()
        os.unlink(os.path.join(env.raw, "chroot-stderr.tmp"))
    out = {
        "sources": srcs,
        "rounds": rounds,
        "cp_al": summarize(copies),
        "rm_rf": summarize(rms),
        "tree": counts[0] if counts else None,
        "inodes_used_statvfs": int(statistics.median(inode_use)) if inode_use else None,
        "launch_default_root": summarize(launch_default),
        "launch_in_copy": summarize(launch_copy),
    }
    if copies and launch_default and launch_copy:
        out["nomad_style_total_ms"] = round(
            (statistics.median(copies) + statistics.median(launch_copy) +
             statistics.median(rms)) / 1e6, 2)
        out["isoexec_default_total_ms"] = out["launch_default_root"]["median_ms"]
    res["chroot"] = out


def section_stats(env, res):
    out = {"contenders": {}}
    have = env.iso_caps.get("stats") and env.iso_caps.get("detach")
    sleepers = {}
    try:
        table = {}
        if have:
            try:
                s = start_sleeper(env, "isoexec-detached", "stats")
                sleepers["isoexec"] = s
                argv = env.iso(s["id"], verb="stats")
                if env.iso_caps.get("stats_no_stream"):
                    argv.append("--no-stream")
                table["isoexec-stats"] = {"label": "isoexec stats", "argv": argv}
            except Exception as e:  # noqa: BLE001
                env.notes.append(f"stats: isoexec detached task failed: {e}")
        else:
            env.notes.append("stats: `isoexec stats` not available yet: isoexec row skipped")
        if env.tools["runc"]:
            s = start_sleeper(env, "runc", "stats")
            sleepers["runc"] = s
            table["runc-events"] = {"label": "runc events --stats",
                                    "argv": env.runc("events", "--stats", s["id"])}
        if table:
            broken = probe(env, table, list(table), "stats")
            for n, why in broken.items():
                out["contenders"][n] = {"label": table[n]["label"], "n": 0, "error": why[:200]}
            names = [n for n in table if n not in broken]
            samples, _, failures = interleaved(env, names, table, env.rounds, env.warmup,
                                               "stats")
            for n in names:
                cpu = env.cpu_samples["stats"].get(n) or []
                out["contenders"][n] = {"label": table[n]["label"], **summarize(samples[n]),
                                        "cpu_median_ms": round(statistics.median(cpu) / 1e6, 3)
                                        if cpu else None,
                                        "failures": len(failures[n]),
                                        "failure_examples": failures[n][:2]}
        # In-process floor: reading the v1 files a sample needs, from Python.
        s = sleepers.get("runc")
        if s:
            cg = None
            for line in read_text(f"/proc/{s['task_pid']}/cgroup").splitlines():
                parts = line.split(":", 2)
                if len(parts) == 3 and parts[1] == "memory":
                    cg = parts[2]
            files = [f"/sys/fs/cgroup/memory{cg}/memory.stat",
                     f"/sys/fs/cgroup/memory{cg}/memory.usage_in_bytes",
                     f"/sys/fs/cgroup/memory{cg}/memory.max_usage_in_bytes",
                     f"/sys/fs/cgroup/cpuacct{cg}/cpuacct.stat",
                     f"/sys/fs/cgroup/cpuacct{cg}/cpuacct.usage",
                     f"/sys/fs/cgroup/cpu{cg}/cpu.stat"]
            ts = []
            for _ in range(200):
                t0 = time.perf_counter_ns()
                for f in files:
                    read_text(f)
                ts.append(time.perf_counter_ns() - t0)
            out["contenders"]["read-files"] = {"label": "read the 6 v1 files (Python, "
                                                        "in-process floor)", **summarize(ts)}
        if not have:
            out["contenders"]["isoexec-stats"] = {"label": "isoexec stats", "n": 0,
                                                  "error": "not available yet"}
    finally:
        for s in sleepers.values():
            stop_sleeper(env, s)
    res["stats"] = out


def parse_strace_c(path):
    total, rows = None, []
    for line in read_text(path).splitlines():
        m = re.match(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)?\s*(\S+)\s*$", line)
        if not m:
            continue
        row = {"syscall": m.group(6), "calls": int(m.group(4)),
               "errors": int(m.group(5) or 0), "seconds": float(m.group(2))}
        if row["syscall"] == "total":
            total = row
        else:
            rows.append(row)
    rows.sort(key=lambda r: -r["calls"])
    return total, rows


def section_syscalls(env, res):
    if not env.tools["strace"]:
        env.notes.append("syscalls skipped: strace not installed")
        return
    table = contenders(env)
    out = {}
    for n in ("isoexec-full", "isoexec-mnt", "crun-full", "runc-full", "bwrap-full",
              "unshare-full", "spawn"):
        if n not in table:
            continue
        f = os.path.join(env.raw, f"strace-{n}.txt")
        p = sh([env.tools["strace"], "-f", "-c", "-o", f, "--",
                *expand(table[n]["argv"], "strace")], check=False, timeout=120)
        if table[n].get("runtime"):
            sweep_runtimes(env)
        total, rows = parse_strace_c(f)
        if p.returncode != 0 or total is None:
            out[n] = {"label": table[n]["label"], "error": f"exit {p.returncode}: "
                                                           f"{p.stderr.strip()[-200:]}"}
            continue
        out[n] = {"label": table[n]["label"], "variant": table[n]["variant"],
                  "total_calls": total["calls"], "total_errors": total["errors"],
                  "distinct": len(rows), "top10": rows[:10]}
    # A timeline of one isoexec launch (raw, for analysis: strace -f -ttt -T).
    sh([env.tools["strace"], "-f", "-ttt", "-T", "-o",
        os.path.join(env.raw, "strace-timeline-isoexec-full.txt"), "--",
        *table["isoexec-full"]["argv"]], check=False, timeout=120)
    res["syscalls"] = out


def section_micro(env, res):
    exe = env.args.micro
    if not exe or not os.path.exists(exe):
        env.notes.append("micro: bench/micro not built (configure with -DISOEXEC_BUILD_BENCH=ON)")
        return
    out_json = os.path.join(env.raw, "micro.json")
    min_time = os.environ.get("BENCH_MICRO_MIN_TIME", "0.2")
    p = sh([exe, f"--benchmark_out={out_json}", "--benchmark_out_format=json",
            f"--benchmark_min_time={min_time}"], check=False, timeout=900,
           cwd=env.work)
    if p.returncode != 0 or not os.path.exists(out_json):
        env.notes.append(f"micro: failed: {p.stderr.strip()[-300:]}")
        return
    data = json.load(open(out_json))
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        unit = b.get("time_unit", "ns")
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        rows.append({"name": b["name"], "real_ns": round(b["real_time"] * scale, 1),
                     "cpu_ns": round(b["cpu_time"] * scale, 1),
                     "iterations": b["iterations"],
                     "error": b.get("error_message") if b.get("error_occurred") else None,
                     "label": b.get("label")})
    res["micro"] = {"context": {k: data.get("context", {}).get(k) for k in
                                ("library_build_type", "num_cpus", "mhz_per_cpu")},
                    "benchmarks": rows}


# ---------------------------------------------------------------------------------------------
# machine, cleanup, report


def machine_info(env):
    cpu = "unknown"
    for line in read_text("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = read_text("/proc/meminfo").split("\n")[0].split()
    virt = sh(["systemd-detect-virt"], check=False).stdout.strip() if shutil.which(
        "systemd-detect-virt") else ""

    def ver(argv):
        try:
            return sh(argv, check=False).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return None
    commit = sh(["git", "-C", env.args.source, "rev-parse", "--short=12", "HEAD"],
                check=False).stdout.strip()
    dirty = sh(["git", "-C", env.args.source, "status", "--porcelain", "--untracked-files=no"],
               check=False).stdout.strip() != ""
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem[1]) / 1024 / 1024, 1) if len(mem) > 1 else None,
        "virtualization": virt or None,
        "cgroup_layout_host": os.environ.get("BENCH_HOST_CGROUP", "unknown"),
        "cgroup_view_in_bench": os.environ.get("BENCH_CGROUP_VIEW", "unknown"),
        "isoexec": " ".join(env.iso_caps.get("version", [])) or None,
        "isoexec_commit": (commit + ("+dirty" if dirty else "")) if commit else None,
        "crun": ver([env.tools["crun"], "--version"]) if env.tools["crun"] else None,
        "runc": ver([env.tools["runc"], "--version"]) if env.tools["runc"] else None,
        "bwrap": ver([env.tools["bwrap"], "--version"]) if env.tools["bwrap"] else None,
        "util-linux": ver([env.tools["unshare"], "--version"]) if env.tools["unshare"] else None,
        "hyperfine": ver([env.tools["hyperfine"], "--version"]) if env.tools["hyperfine"] else None,
    }


def cgroup_mounts():
    """Mount points whose topmost mount is a cgroup (v1 or v2) file system."""
    top = {}
    for line in read_text("/proc/self/mountinfo").splitlines():
        head, _, tail = line.partition(" - ")
        top[head.split(" ")[4]] = tail.split(" ")[0]  # later lines are mounted on top
    return [m for m, fs in top.items() if fs in ("cgroup", "cgroup2")]


def cleanup(env):
    """Leaves nothing behind: containers, task processes, cgroups. Returns leftovers."""
    leftovers = []
    try:
        sweep_runtimes(env)
    except Exception as e:  # noqa: BLE001
        leftovers.append(f"runtime sweep: {e}")
    for rt, fn in (("crun", env.crun), ("runc", env.runc)):
        if env.tools[rt]:
            left = sh(fn("list", "-q"), check=False).stdout.split()
            leftovers += [f"{rt} container {c}" for c in left if c.startswith(f"ib{env.tag}")]
    # isoexec tasks that kept their state (named or detached): force-delete them.
    if env.iso_caps.get("list") and env.iso_caps.get("delete"):
        for cid in sh(env.iso("-q", verb="list"), check=False).stdout.split():
            sh(env.iso(cid, "--force", verb="delete"), check=False, timeout=30)
    # Cgroups: kill what is still inside, then rmdir bottom-up. Only real cgroup mounts: the
    # tmpfs over /sys/fs/cgroup/unified (where crun also writes) vanishes with the namespace.
    for top in cgroup_mounts():
        top = os.path.join(top, env.cg_parent)
        if not os.path.isdir(top):
            continue
        for root, dirs, _ in os.walk(top, topdown=False):
            for q in read_text(os.path.join(root, "cgroup.procs")).split():
                leftovers.append(f"process {q} ({proc_comm(q)}) in {root}")
                try:
                    os.kill(int(q), signal.SIGKILL)
                except OSError:
                    pass
        for root, dirs, _ in os.walk(top, topdown=False):
            for attempt in range(50):
                try:
                    os.rmdir(root)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                leftovers.append(f"cgroup {root} could not be removed")
    # isoexec foreground tasks remove their state dirs; anything left is a finding.
    if os.path.isdir(env.iso_state):
        left = os.listdir(env.iso_state)
        leftovers += [f"isoexec state dir {x}" for x in left]
    return leftovers


def report(env, res):
    m = res["machine"]
    L = []
    L.append("# isoexec benchmarks\n")
    L.append(f"Generated by `bench/run.sh` on {m['date']}. "
             f"See [docs/benchmarks.md](../../docs/benchmarks.md) for what each number means.\n")
    L.append(md_table(["machine", ""], [
        ["kernel", m["kernel"]], ["CPU", f"{m['cpu']} × {m['cores']} cores"],
        ["memory", f"{m['memory_gib']} GiB"], ["virtualization", m["virtualization"] or "–"],
        ["cgroup layout (host)", m["cgroup_layout_host"]],
        ["cgroup view in the benchmark", m["cgroup_view_in_bench"]],
        ["isoexec", f"{m['isoexec']} ({m['isoexec_commit']})"],
        ["crun / runc", f"{m['crun']} / {m['runc']}"],
        ["bwrap / util-linux", f"{m['bwrap']} / {m['util-linux']}"],
    ]))
    L.append("")

    if "launch" in res:
        la = res["launch"]
        L.append(f"## Launch-to-exit of `/bin/true`\n")
        L.append(f"{la['rounds']} interleaved rounds (+{la['warmup']} warm-up rounds dropped); "
                 "wall time of `subprocess.run` per launch; ratio = isoexec median ÷ this "
                 "median (< 1: isoexec is faster); paired = median of per-round ratios; CPU = "
                 "user+system time of the whole process tree (RUSAGE_CHILDREN), median.\n")
        for variant, title in (("full", "pid + ipc + uts + mount namespaces"),
                               ("mnt", "mount namespace only")):
            rows = []
            for n, c in la["contenders"].items():
                if c.get("variant") not in (variant, "both"):
                    continue
                if c.get("error"):
                    rows.append([c["label"], "failed", "", "", "", "", "", c["error"][:80]])
                    continue
                rows.append([c["label"], fmt_ms(c.get("median_ms")), fmt_ms(c.get("p90_ms")),
                             fmt_ms(c.get("min_ms")),
                             fmt_ratio(c.get("isoexec_over_this")),
                             fmt_ratio(c.get("isoexec_over_this_paired")),
                             fmt_ms(c.get("cpu_median_ms")),
                             fmt_ratio(c.get("isoexec_over_this_cpu"))])
            L.append(f"**{title}**" + (" (all with a 256 MiB memory limit and cpu.shares 512 "
                                        "except bwrap, unshare and the floor, which have no "
                                        "cgroup)" if variant == "full" else "") + "\n")
            L.append(md_table(["contender", "median ms", "p90 ms", "min ms",
                               "isoexec ÷ this", "paired", "CPU ms", "isoexec ÷ this (CPU)"],
                              rows))
            L.append("")
        if "floor" in res:
            f = res["floor"]
            L.append(f"In-process floor (C `posix_spawn`+`waitpid`, no Python): median "
                     f"{fmt_ms(f['median_ms'])} ms, p90 {fmt_ms(f['p90_ms'])} ms "
                     f"({f['n']} launches).\n")
        t = res.get("targets")
        if t:
            L.append("**Targets (issue #8)**\n")
            L.append(md_table(["target", "measured", "met"],
                              [[x["target"], x["measured"], "yes" if x["met"] else "**no**"]
                               for x in t]))
            L.append("")

    if "ablation" in res:
        a = res["ablation"]
        L.append("## Where isoexec's launch time goes (one feature off at a time)\n")
        L.append(f"`hyperfine -N`, {a['runs']} runs each, sequential (not interleaved).\n")
        L.append(md_table(["isoexec run …", "median ms", "p90 ms", "Δ vs full ms"],
                          [[v["variant"], fmt_ms(v["median_ms"]), fmt_ms(v["p90_ms"]),
                            f"{v['delta_vs_full_ms']:+.2f}"] for v in a["variants"]]))
        L.append("")

    if "throughput" in res:
        tp = res["throughput"]
        L.append(f"## Throughput: {tp['launches']} launches of `/bin/true`, full isolation\n")
        L.append("Total wall with N launches in flight (bench/spawnwait.c); "
                 "speedup = isoexec launches/s ÷ this.\n")
        names = []
        for lv in tp["levels"].values():
            for n in lv:
                if n not in names:
                    names.append(n)
        headers = ["contender"]
        for j in tp["levels"]:
            headers += [f"{j} in flight: launches/s", "isoexec speedup"]
        rows = []
        for n in names:
            label = None
            row = []
            for j, lv in tp["levels"].items():
                e = lv.get(n)
                if e:
                    label = e["label"]
                    fl = f" ({e['failures']} failed)" if e["failures"] else ""
                    row += [f"{e['launches_per_s']:.0f}{fl}", fmt_ratio(e.get("isoexec_speedup"))]
                else:
                    row += ["–", "–"]
            rows.append([label or n] + row)
        L.append(md_table(headers, rows))
        L.append("")

    if "exec" in res:
        ex = res["exec"]
        L.append("## Exec of `/bin/true` into a running task\n")
        L.append(f"{ex['rounds']} interleaved rounds into a sleeping task (full isolation); "
                 "CPU = user+system of the exec's process tree.\n")
        rows = []
        for n, c in ex["contenders"].items():
            if c.get("error") or not c.get("n"):
                why = c.get("error") or "failed: " + str((c.get("failure_examples") or
                                                          [{}])[0].get("stderr", ""))[:80]
                rows.append([c["label"], why, "", "", ""])
            else:
                rows.append([c["label"], fmt_ms(c["median_ms"]), fmt_ms(c["p90_ms"]),
                             fmt_ratio(c.get("isoexec_over_this")),
                             fmt_ms(c.get("cpu_median_ms"))])
        L.append(md_table(["contender", "median ms", "p90 ms", "isoexec ÷ this", "CPU ms"],
                          rows))
        L.append("")

    if "memory" in res:
        L.append("## Memory of what stays around for a sleeping task\n")
        L.append("KiB from /proc/PID/smaps_rollup (median of samples). Supervisor = the "
                 "process that stays in the host PID namespace; init = PID 1 of the task "
                 "when it is not the task itself.\n")
        labels = {"isoexec-detached": "isoexec run --detach (supervisor)",
                  "isoexec-fg": "isoexec run (foreground)", "crun": "crun run (foreground)",
                  "runc": "runc run (foreground)", "bwrap": "bwrap --unshare-pid"}
        rows = []
        for k, v in res["memory"].items():
            if v.get("error"):
                rows.append([labels.get(k, k), "failed: " + v["error"][:60], "", "", "", ""])
                continue
            rows.append([labels.get(k, k), v["supervisor_rss_kib"], v["supervisor_pss_kib"],
                         v["supervisor_private_kib"], v["init_rss_kib"] or "–",
                         v["init_pss_kib"] or "–"])
        L.append(md_table(["process", "RSS", "PSS", "private", "init RSS", "init PSS"], rows))
        L.append("")

    if "chroot" in res:
        c = res["chroot"]
        L.append("## Chroot env: isoexec's default root vs a Nomad-style `cp -al` copy\n")
        tree = c.get("tree") or {}
        rows = [
            [f"`cp -al {' '.join(c['sources'])}` into a task dir",
             fmt_ms(c["cp_al"].get("median_ms")),
             f"{tree.get('entries', '–')} entries, {tree.get('new_inodes', '–')} new inodes "
             f"({c.get('inodes_used_statvfs')} by statvfs)"],
            ["`rm -rf` of that copy", fmt_ms(c["rm_rf"].get("median_ms")), ""],
            ["`isoexec run` in the copy (`--rootfs`)",
             fmt_ms(c["launch_in_copy"].get("median_ms")), ""],
            ["`isoexec run` with the default root (read-only bind mounts)",
             fmt_ms(c["launch_default_root"].get("median_ms")), "0 inodes"],
        ]
        if c.get("nomad_style_total_ms"):
            rows.append(["**Nomad style total** (copy + launch + remove)",
                         fmt_ms(c["nomad_style_total_ms"]), ""])
        L.append(md_table(["step", "median ms", "size"], rows))
        L.append("")

    if "stats" in res:
        L.append("## Cost of one stats sample\n")
        rows = []
        for n, c in res["stats"]["contenders"].items():
            if c.get("error") or not c.get("n"):
                why = c.get("error") or "failed: " + str((c.get("failure_examples") or
                                                          [{}])[0].get("stderr", ""))[:80]
                rows.append([c["label"], why, "", ""])
            else:
                rows.append([c["label"], fmt_ms(c["median_ms"]), fmt_ms(c["p90_ms"]),
                             fmt_ms(c.get("cpu_median_ms"))])
        L.append(md_table(["how", "median ms", "p90 ms", "CPU ms"], rows))
        L.append("")

    if "syscalls" in res:
        sc = res["syscalls"]
        L.append("## Syscalls per launch (`strace -f -c`, all processes, one launch)\n")
        rows = []
        for n, c in sc.items():
            if c.get("error"):
                rows.append([n, c["error"][:60], "", ""])
            else:
                rows.append([f"{c['label']} ({c['variant']})", c["total_calls"],
                             c["total_errors"], c["distinct"]])
        L.append(md_table(["contender", "syscalls", "failed", "distinct"], rows))
        L.append("")
        iso = sc.get("isoexec-full")
        if iso and not iso.get("error"):
            L.append("Top 10 of `isoexec run` (full):\n")
            L.append(md_table(["syscall", "calls", "errors"],
                              [[r["syscall"], r["calls"], r["errors"]] for r in iso["top10"]]))
            L.append("")

    if "micro" in res:
        L.append("## Micro-benchmarks (Google Benchmark, bench/micro)\n")
        rows = []
        for b in res["micro"]["benchmarks"]:
            if b.get("error"):
                rows.append([b["name"], "skipped: " + b["error"], ""])
            else:
                rows.append([b["name"], f"{b['real_ns']:,.0f}", f"{b['cpu_ns']:,.0f}"])
        L.append(md_table(["benchmark", "real ns", "cpu ns"], rows))
        L.append("")

    if env.notes:
        L.append("## Notes from this run\n")
        for n in env.notes:
            L.append(f"- {n}")
        L.append("")
    lo = res.get("leftovers")
    L.append(f"Leftovers after cleanup: {'none' if not lo else '; '.join(lo)}.\n")
    return "\n".join(L)


def targets(res):
    out = []
    la = res.get("launch", {}).get("contenders", {})
    iso = la.get("isoexec-full", {}).get("median_ms")
    if iso:
        for other, lim in (("runc-full", 0.10), ("crun-full", 0.25), ("bwrap-full", 1.0)):
            o = la.get(other, {}).get("median_ms")
            if o:
                r = iso / o
                rc = la[other].get("isoexec_over_this_cpu")
                out.append({"target": f"isoexec run ≤ {lim:.2f}× {la[other]['label']} (full)",
                            "measured": f"{r:.2f}× wall" + (f", {rc:.2f}× CPU" if rc else ""),
                            "met": r <= lim})
    tp = res.get("throughput", {}).get("levels", {}).get("8", {})
    if "isoexec-full" in tp and "crun-full" in tp:
        s = tp["isoexec-full"]["launches_per_s"] / tp["crun-full"]["launches_per_s"]
        out.append({"target": "throughput at 8 in flight ≥ 2× crun", "measured": f"{s:.2f}×",
                    "met": s >= 2.0})
    return out


def chart(env, res):
    la = res.get("launch", {}).get("contenders", {})
    if not env.tools["gnuplot"] or not la:
        env.notes.append("chart skipped: gnuplot not installed or no launch data")
        return None
    files = {}
    for n, c in la.items():
        s = sorted(c.get("_samples_ns") or [])
        if not s:
            continue
        f = os.path.join(env.raw, f"cdf-{n}.dat")
        with open(f, "w") as fh:
            for i, v in enumerate(s):
                fh.write(f"{v / 1e6:.4f} {(i + 1) / len(s):.4f}\n")
        files[n] = f
    png = os.path.join(env.results, "launch.png")
    m = res["machine"]
    colors = {"isoexec": "#d62728", "crun": "#1f77b4", "runc": "#2ca02c", "bwrap": "#9467bd",
              "unshare": "#8c564b", "spawn": "#7f7f7f"}
    gp = [
        "set terminal pngcairo size 1400,560 font 'sans,10' noenhanced",
        f"set output '{png}'",
        f"set multiplot layout 1,2 title 'launch-to-exit of /bin/true, "
        f"{res['launch']['rounds']} interleaved rounds - {m['cpu']} x{m['cores']}, "
        f"kernel {m['kernel']}, {m['date']}'",
        "set logscale x", "set grid xtics mxtics ytics", "set key bottom right",
        "set xlabel 'wall time per launch (ms, log scale)'",
        "set ylabel 'fraction of launches <= x'", "set yrange [0:1]",
    ]
    for variant, title in (("full", "pid+ipc+uts+mount ns"), ("mnt", "mount ns only")):
        plots = []
        for n, f in files.items():
            c = la[n]
            if c["variant"] not in (variant, "both"):
                continue
            col = colors.get(n.split("-")[0], "#000000")
            lw = 3 if n.startswith("isoexec") else 1.5
            plots.append(f"'{f}' using 1:2 with steps lw {lw} lc rgb '{col}' "
                         f"title '{c['label']} (median {c['median_ms']:.2f} ms)'")
        gp.append(f"set title '{title}'")
        gp.append("plot " + ", ".join(plots))
    gp.append("unset multiplot")
    script = os.path.join(env.raw, "launch.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    p = sh([env.tools["gnuplot"], script], check=False)
    if p.returncode != 0:
        env.notes.append(f"chart failed: {p.stderr.strip()[-200:]}")
        return None
    return png


SECTIONS = ["floor", "launch", "ablation", "throughput", "exec", "memory", "chroot", "stats",
            "syscalls", "micro"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="scratch dir (rootfs, bundles, state)")
    ap.add_argument("--isoexec", required=True)
    ap.add_argument("--spawnwait", required=True)
    ap.add_argument("--micro", default="")
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    ap.add_argument("--results", required=True, help="dir for latest.{md,json}, launch.png")
    ap.add_argument("--raw", required=True, help="dir for raw samples of this run")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("harness.py: must run as root")

    env = Env(args)
    env.rounds = env_int("BENCH_ROUNDS", 30)
    env.warmup = env_int("BENCH_WARMUP", 3)
    env.tput_levels = [int(x) for x in os.environ.get("BENCH_TPUT_LEVELS", "2,8,32").split(",")
                       if x.strip()]
    wanted = [s.strip() for s in os.environ.get("BENCH_SECTIONS", ",".join(SECTIONS)).split(",")
              if s.strip()]
    res = {}
    rc = 0
    if os.environ.get("BENCH_BUILD_NOTE"):
        env.notes.append(os.environ["BENCH_BUILD_NOTE"])
    try:
        setup(env)
        res["machine"] = machine_info(env)
        res["isoexec_capabilities"] = {k: v for k, v in env.iso_caps.items() if k != "features"}
        for s in SECTIONS:
            if s not in wanted:
                continue
            log(f"section {s}")
            t0 = time.monotonic()
            try:
                globals()[f"section_{s}"](env, res)
            except Exception as e:  # noqa: BLE001 - one broken section must not stop the rest
                rc = 1
                env.notes.append(f"{s}: FAILED: {e}")
                traceback.print_exc()
            log(f"section {s} took {time.monotonic() - t0:.1f} s")
    finally:
        res["leftovers"] = cleanup(env)
    res["targets"] = targets(res)
    png = chart(env, res)
    if png:
        res["chart"] = os.path.relpath(png, env.results)
    res["notes"] = env.notes
    md = report(env, res)
    # JSON without the raw per-launch samples (those are in raw/launch-samples.csv).
    slim = json.loads(json.dumps(res, default=str))
    for c in slim.get("launch", {}).get("contenders", {}).values():
        c.pop("_samples_ns", None)
    with open(os.path.join(env.results, "latest.json"), "w") as f:
        json.dump(slim, f, indent=1)
        f.write("\n")
    with open(os.path.join(env.results, "latest.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(env.raw, "full.json"), "w") as f:
        json.dump(res, f, default=str)
    print(md)
    if res["leftovers"]:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
