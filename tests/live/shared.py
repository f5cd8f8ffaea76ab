"""Code the live suite borrows from the other test suites, loaded by file path under names of its own.

tests/integration/conftest.py cannot be imported as `conftest` next to tests/live/conftest.py, and loading a
conftest or test module this way registers none of its fixtures or tests here: only the helpers are used.
"""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The ansible-playbook runner, PlaybookResult and the emulator process of the integration tests.
integration = load_module("sfops_integration_conftest", REPO / "tests" / "integration" / "conftest.py")
# The shape comparison the recorded CumulusCI cassettes go through (Replayer, body_diffs, shape_diff).
fixtures_replay = load_module("sfemu_fixtures_replay", REPO / "sfemu" / "tests" / "test_fixtures_replay.py")
