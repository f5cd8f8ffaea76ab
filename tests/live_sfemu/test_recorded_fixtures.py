"""Recordings of real orgs (tests/fixtures/recorded/<run>/, made with `make record-live`) against sfemu.

Each run is replayed in order against a fresh sfemu org and every answer compared with the recorded one (status,
keys and JSON types, error codes: tests/live/replay.py). A difference is either a place where sfemu is wrong, to
be fixed in sfemu, or one the run's known-gaps.yaml lists with the reason (for instance data the real org had and
the seeded org has not). A listed gap that no longer occurs fails too, so the list only shrinks.
"""

import pathlib

import pytest

import replay
import scrub
from shared import integration

RECORDED = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
RUNS = sorted(p for p in RECORDED.iterdir() if (p / "run.yaml").is_file()) if RECORDED.is_dir() else []


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = integration.Emulator(tmp_path_factory.mktemp("sfemu"), orgs=1).start()
    yield emu
    emu.stop()


@pytest.mark.parametrize("run", RUNS, ids=[p.name for p in RUNS])
def test_a_recorded_run_gets_the_same_shapes_from_sfemu(emulator, run):
    emulator.reset()
    result = replay.replay_run(run, replay.Target(emulator.conn("org1")))
    gaps_file = run / "known-gaps.yaml"
    gaps = [g["difference"] for g in (scrub.load(gaps_file) or [])] if gaps_file.is_file() else []
    unexplained = [d for d in result.differences if not any(d.startswith(g) for g in gaps)]
    assert unexplained == []
    stale = [g for g in gaps if not any(d.startswith(g) for d in result.differences)]
    assert stale == [], "known gaps that no longer occur: remove them from %s" % gaps_file
    assert result.compared > 0
