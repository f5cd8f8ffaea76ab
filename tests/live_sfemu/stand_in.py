"""The live-org suite with sfemu standing in for the real org, as `make test` runs it.

A fresh sfemu (one org, port 0, a temporary directory) is started, its connections.json gives the SFOPS_LIVE_*
variables, and `pytest tests/live` runs in a child process exactly as `make test-live` would against a sandbox,
recording (SFOPS_LIVE_RECORD=1). The tests here then judge that run from the outside: its JUnit report, the
emulator's state file before and after, its request counters, and the recording.
"""

import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "live"))


def live_environment(connection=None, **extra):
    """os.environ without any SFOPS_LIVE_* of the tester, plus those of `connection` (an entry of connections.json)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFOPS_LIVE_")}
    if connection:
        env.update({"SFOPS_LIVE_LOGIN_URL": connection["login_url"], "SFOPS_LIVE_CLIENT_ID": connection["client_id"],
                    "SFOPS_LIVE_USERNAME": connection["username"],
                    "SFOPS_LIVE_PRIVATE_KEY_FILE": connection["private_key_file"],
                    "SFOPS_LIVE_CA_PATH": connection["ca_file"]})
    env.update(extra)
    return env


def run_live_suite(env, junit=None, timeout=900):
    cmd = [sys.executable, "-m", "pytest", "tests/live", "-q", "-p", "no:cacheprovider", "-n", "0", "-rA"]
    if junit:
        cmd.append("--junitxml=%s" % junit)
    return subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=timeout)


def org_tables(emulator, alias="org1"):
    """The org's records as sfemu keeps them on disk (written on every change): {object: {Id: row}}."""
    state = json.loads((emulator.data_dir / ("%s.json" % alias)).read_text())
    return {name: {row["Id"]: row for row in rows} for name, rows in state["tables"].items()}


class StandInRun:
    def __init__(self, emulator, proc, junit, recording_root, before, after, stats):
        self.emulator = emulator
        self.proc = proc
        self.junit = ET.parse(junit).getroot() if junit.exists() else None
        runs = sorted(p for p in recording_root.iterdir() if p.is_dir()) if recording_root.exists() else []
        self.recording = runs[0] if len(runs) == 1 else None
        self.before = before
        self.after = after
        self.stats = stats

    def __repr__(self):
        return "live suite rc=%s\n%s\n%s" % (self.proc.returncode, self.proc.stdout[-8000:], self.proc.stderr[-3000:])
