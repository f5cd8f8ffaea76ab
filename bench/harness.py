"""Measurement plumbing for bench/run.py: the emulator, inventories, and one measured ansible-playbook run.

What is measured for one playbook run, and how:
- wall time: time.monotonic() around the ansible-playbook process;
- CPU: user + sys of ansible-playbook and every process it started and reaped (forks, module processes), from
  os.wait4() on the ansible-playbook process (the kernel's RUSAGE_BOTH for that child: the same figure as a
  RUSAGE_CHILDREN delta, without counting anything else this process waits for);
- max RSS: the largest resident set of any single process of the run (ru_maxrss from the same wait4);
- peak total memory: the largest sum of PSS (proportional set size: shared pages of forked workers counted once
  between them) over the whole process tree, sampled from /proc every 0.25 s;
- emulator CPU: utime + stime of the sfemu server process from /proc/PID/stat before and after;
- API and token requests per org: GET /__sfemu/stats after the run (the counters are zeroed before it).
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import threading
import time

import yaml

BENCH = pathlib.Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_BIN = pathlib.Path(sys.executable).parent
API_VERSION = "67.0"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = resource.getpagesize() // 1024

# The tree whose collection, playbooks and emulator are measured: this checkout, or a snapshot of a commit
# (use_snapshot), so that colleagues editing the checkout during a long run cannot change what is measured.
SRC = REPO

sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import Emulator  # noqa: E402  (the integration suites' emulator fixture class, reused as is)


# --- the emulator ------------------------------------------------------------------------------------------------
def start_emulator(data_dir, orgs, latency_ms, extra_objects=0, extra_args=()):
    """`sfemu serve` (through bench/sfemu_catalog.py when extra custom objects are wanted) on data_dir."""
    data_dir = pathlib.Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    emu = Emulator(data_dir, orgs=orgs, extra_args=("--latency-ms", str(latency_ms), *extra_args))
    if extra_objects:
        # Same command line after "serve"; the launcher adds the objects, then runs sfemu's own CLI.
        emu._args[0:1] = [sys.executable, str(BENCH / "sfemu_catalog.py"), "--extra-objects", str(extra_objects)]
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override Session.verify
    # (psf/requests#3829): keep the emulator's CA for these control and raw calls whatever the shell exports.
    emu._session.trust_env = False
    emu.start(timeout=600)
    return emu


def use_snapshot(ref, dest):
    """Export commit `ref` of this repository (git archive: committed files only) to dest and measure that tree:
    its ansible.cfg, collection (dest/.venv/ansible_collections/sfops/salesforce -> dest), playbooks and sfemu."""
    global SRC
    dest = pathlib.Path(dest)
    if dest.exists():
        subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    link = dest / ".venv" / "ansible_collections" / "sfops"
    link.mkdir(parents=True)
    (link / "salesforce").symlink_to("../../..")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest / "sfemu" / "src"),
                                                             os.environ.get("PYTHONPATH")]))
    SRC = dest
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=REPO, capture_output=True, text=True)
    return commit.stdout.strip()


def process_cpu_seconds(pid):
    """utime + stime of one live process (all its threads), in seconds; None when it is gone."""
    try:
        fields = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- inventories -------------------------------------------------------------------------------------------------
def host_vars(emu, alias):
    """What an operator's inventory holds for one org (JWT bearer, like inventory/example), plus the username the
    integration user gets in that org, and the secrets the uri baseline's password-flow login needs."""
    c = emu.conn(alias)
    hv = emu.host_vars(alias, "jwt_bearer")
    hv["ansible_python_interpreter"] = sys.executable
    hv["integration_user_username"] = "bench.integration@%s.sfemu.example" % alias
    hv["integration_user_email"] = "integrations@%s.sfemu.example" % alias
    hv["bench_client_secret"] = c["client_secret"]
    hv["bench_password"] = c["password"]
    return hv


def write_inventory(emu, aliases, path):
    hosts = {alias: host_vars(emu, alias) for alias in aliases}
    inv = {"all": {"children": {"salesforce_orgs": {"hosts": hosts}}}}
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by bench/run.py: one host per emulated org.\n" + yaml.safe_dump(inv, sort_keys=False))
    return path


# --- one measured playbook run -----------------------------------------------------------------------------------
def _children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path("/proc/%s/stat" % entry).read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemorySampler(threading.Thread):
    """Peak of the summed PSS of a process and all its descendants."""

    def __init__(self, pid, interval=0.25):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.peak_procs = 0
        self._stop_evt = threading.Event()

    def run(self):
        while not self._stop_evt.is_set():
            kids = _children_map()
            tree, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                tree.append(p)
                todo.extend(kids.get(p, ()))
            total = sum(_pss_kb(p) for p in tree)
            if total > self.peak_kb:
                self.peak_kb = total
            self.peak_procs = max(self.peak_procs, len(tree))
            self._stop_evt.wait(self.interval)

    def stop(self):
        self._stop_evt.set()
        self.join(timeout=5)


def ansible_env(profile_out, stats_url=None, ca=None, forks=None, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "ANSIBLE_"))}
    env.update({
        "ANSIBLE_CONFIG": str(SRC / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_CALLBACK_PLUGINS": str(BENCH / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "sfbench_profile",
        "SFBENCH_OUT": str(profile_out),
        "LC_ALL": "C.UTF-8",
    })
    if forks:
        env["ANSIBLE_FORKS"] = str(forks)
    if stats_url:
        env["SFBENCH_STATS_URL"] = stats_url
        env["SFBENCH_CA"] = str(ca)
    env.update(extra or {})
    return env


def machine_busy_seconds():
    """CPU-seconds the whole machine has spent busy (all CPUs, every process: /proc/stat, not idle nor iowait)."""
    fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def loadavg1():
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def measured_run(cmd, env, log_path, emulator_pid=None, timeout=1800):
    """Run one command with its output in log_path; return the measurements (see the module docstring).

    Also what else the machine did meanwhile (other people's tests share these CPUs): the machine's busy
    CPU-seconds during the run minus this run's and the emulator's, and the 1-minute load average before and
    after. A wall time measured next to a busy neighbour is not the wall time of an idle machine."""
    log_path = pathlib.Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    emu_cpu0 = process_cpu_seconds(emulator_pid) if emulator_pid else None
    busy0, load0 = machine_busy_seconds(), loadavg1()
    with open(log_path, "w") as log:
        log.write("$ %s\n" % " ".join(cmd))
        log.flush()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=str(SRC), env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            sampler.stop()
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    emu_cpu1 = process_cpu_seconds(emulator_pid) if emulator_pid else None
    busy = machine_busy_seconds() - busy0
    own = ru.ru_utime + ru.ru_stime + ((emu_cpu1 - emu_cpu0) if emu_cpu0 is not None and emu_cpu1 is not None else 0)
    return {
        "machine_busy_s": busy,
        "other_cpu_s": max(0.0, busy - own),
        "cpu_capacity_s": wall * (os.cpu_count() or 1),
        "loadavg_before": load0,
        "loadavg_after": loadavg1(),
        "rc": proc.returncode,
        "wall_s": wall,
        "cpu_user_s": ru.ru_utime,
        "cpu_sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "max_rss_mb": ru.ru_maxrss / 1024.0,
        "peak_tree_pss_mb": sampler.peak_kb / 1024.0,
        "peak_procs": sampler.peak_procs,
        "emulator_cpu_s": (emu_cpu1 - emu_cpu0) if emu_cpu0 is not None and emu_cpu1 is not None else None,
        "log": str(log_path),
    }


def playbook_cmd(playbook, inventory, forks, check=False, extra_vars_files=(), extra_vars=None):
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "-f", str(forks)]
    if check:
        cmd.append("--check")
    for f in extra_vars_files:
        cmd += ["-e", "@%s" % f]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    return cmd


# --- machine -----------------------------------------------------------------------------------------------------
def machine_info():
    info = {"nproc": os.cpu_count()}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        pass
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["python"] = sys.version.split()[0]
    try:
        import ansible.release
        info["ansible_core"] = ansible.release.__version__
    except ImportError:
        info["ansible_core"] = "?"
    try:
        info["collection"] = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    except (OSError, KeyError, TypeError):
        info["collection"] = "?"
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                            text=True).stdout.strip()
    except OSError:
        pass
    try:
        from importlib.metadata import version
        info["sfemu"] = version("sfemu")
    except Exception:
        info["sfemu"] = "?"
    return info
