"""The live-org suite with sfemu standing in for the real org, as `make test` runs it (see stand_in.py)."""

import os
import pathlib

import pytest

from stand_in import StandInRun, live_environment, org_tables, run_live_suite
from shared import integration  # tests/live/shared.py, on the path stand_in.py sets up


@pytest.fixture(scope="session")
def stand_in(tmp_path_factory):
    """One run of the live suite against a fresh sfemu, recorded; the emulator stays up for the replay."""
    emulator = integration.Emulator(tmp_path_factory.mktemp("sfemu"), orgs=1).start()
    try:
        recording_root = tmp_path_factory.mktemp("recorded")
        # `make test` keeps the live suite's own report next to the others (tools/test_summary.py counts it).
        junit = pathlib.Path(os.environ.get("SFOPS_LIVE_SFEMU_JUNIT") or tmp_path_factory.mktemp("junit") / "live.xml")
        before = org_tables(emulator)
        env = live_environment(emulator.conn("org1"), SFOPS_LIVE_RECORD="1",
                               SFOPS_LIVE_RECORD_DIR=str(recording_root))
        proc = run_live_suite(env, junit=junit)
        yield StandInRun(emulator, proc, junit, recording_root, before, org_tables(emulator), emulator.stats("org1"))
    finally:
        emulator.stop()

