"""The live-org suite: end to end against the org the SFOPS_LIVE_* variables name (docs/live.md).

Off by default: without the variables pytest prints what to set and exits 0 before collecting anything. With some
but not all of them it stops with a usage error, so a CI job with a misspelt variable does not pass silently.

Playbooks run through tests/integration's runner (the same ansible-playbook command line, environment and result
callback as every integration test) and the org is read through tests/integration's raw helpers, on a LiveOrg
(liveorg.py) instead of the emulator.
"""

import datetime
import os
import pathlib
import shutil
import sys
import tempfile
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

import liveorg  # noqa: E402  (after the path set-up above)
import scrub  # noqa: E402
from shared import REPO, integration, load_module  # noqa: E402

RECORDER_DIR = HERE / "recorder"
RECORDING_FLAG = "SFOPS_LIVE_RECORD"


def pytest_configure(config):
    missing = liveorg.missing_variables()
    if len(missing) == len(liveorg.VARIABLES):
        pytest.exit(liveorg.explain(missing) + "\nNot run.", returncode=0)
    if missing:
        pytest.exit(liveorg.explain(missing), returncode=pytest.ExitCode.USAGE_ERROR)
    key_file = os.environ["SFOPS_LIVE_PRIVATE_KEY_FILE"]
    if not os.path.isfile(key_file):
        pytest.exit("SFOPS_LIVE_PRIVATE_KEY_FILE %s is not a file." % key_file,
                    returncode=pytest.ExitCode.USAGE_ERROR)


def recording_enabled():
    return os.environ.get(RECORDING_FLAG, "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def run_id():
    """In every name the run creates: the cleanup and the final checks find the run's rows by it."""
    return "sfl%s" % uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def recorder(run_id, request):
    """With SFOPS_LIVE_RECORD=1: every exchange of this process and of every process it starts goes to a private raw
    directory (recorder/sitecustomize.py); at the end of the session scrub.py turns it into fixtures under
    SFOPS_LIVE_RECORD_DIR (default tests/fixtures/recorded)/<date>-<run id>/ and deletes the raw files. Yields
    the dict that becomes run.yaml's description of the org (None when not recording)."""
    if not recording_enabled():
        yield None
        return
    raw_dir = tempfile.mkdtemp(prefix="sfops-live-raw-")  # mode 0700: the raw files hold tokens
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "SFOPS_LIVE_RECORD_RAW_DIR", "SFOPS_LIVE_RECORD_STEP")}
    os.environ["SFOPS_LIVE_RECORD_RAW_DIR"] = raw_dir
    os.environ["SFOPS_LIVE_RECORD_STEP"] = "connect"  # the login and version lookup of the `live` fixture
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(RECORDER_DIR), saved["PYTHONPATH"]) if p)
    load_module("sfops_live_recorder", RECORDER_DIR / "sitecustomize.py").install(raw_dir)
    meta = {}  # what the test learns about the org, for run.yaml
    try:
        yield meta
        out_root = pathlib.Path(os.environ.get("SFOPS_LIVE_RECORD_DIR") or REPO / "tests" / "fixtures" / "recorded")
        name = "%s-%s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d"), run_id)
        written = scrub.write_run(raw_dir, out_root / name, scrub.Context.from_environ(os.environ), meta)
        request.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "recorded %d exchanges in %s" % (written, out_root / name))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(raw_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def live(recorder):
    """The org, connected (after the recorder, so the suite's own login and queries are recorded too)."""
    return liveorg.LiveOrg().connect()


@pytest.fixture
def step():
    """step(name): the exchanges that follow belong to this step of the scenario (one fixture file per step)."""
    previous = os.environ.get("SFOPS_LIVE_RECORD_STEP")

    def _set(name):
        os.environ["SFOPS_LIVE_RECORD_STEP"] = name

    yield _set
    if previous is None:
        os.environ.pop("SFOPS_LIVE_RECORD_STEP", None)
    else:
        os.environ["SFOPS_LIVE_RECORD_STEP"] = previous


@pytest.fixture
def run_playbook(live, tmp_path):
    """A repository playbook against the live org (one inventory host, `live`, in group salesforce_orgs)."""
    import yaml

    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(
        {"all": {"children": {"salesforce_orgs": {"hosts": {live.alias: live.host_vars()}}}}}))

    def _run(path, check=False, extra_vars=None):
        return integration.run_ansible_playbook(REPO / path, inventory, check=check, diff=True, extra_vars=extra_vars)

    return _run


@pytest.fixture
def run_tasks(live, tmp_path):
    """A list of module tasks against the live org, connection options through module_defaults as a user sets them."""
    import yaml

    def _run(tasks, check=False, play_vars=None):
        play = [{"name": "live tasks", "hosts": live.alias, "gather_facts": False, "vars": play_vars or {},
                 "module_defaults": {"group/sfops.salesforce.salesforce": live.module_auth()}, "tasks": tasks}]
        playbook = tmp_path / "tasks.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        inventory = tmp_path / "tasks-inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {live.alias: live.host_vars()}}}))
        result = integration.run_ansible_playbook(playbook, inventory, check=check)
        result.results = result.host_results(live.alias)
        return result

    return _run
