#!/usr/bin/env python3
"""Provide ansible-test's pip bootstrap script without network access to its bootstrap host.

ansible-test creates a venv per sanity test (and for units with --venv) "--without-pip", then downloads
https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py to bootstrap pip in it. That host is not
reachable from this project's machines (only the package registries are), and ansible-test reuses a script it finds
at ~/.ansible/test/cache/get_pip_<version>.py (ansible_test/_util/target/setup/requirements.py, bootstrap()).

This script writes that cache file: a small stand-in that puts the pip wheel (downloaded from PyPI by pip itself) on
sys.path and runs `pip install` with the arguments ansible-test passes. See shared/reference/ecosystem.md section 3.2.
The pip version comes from ansible-test itself, so a bump of ansible-core keeps working: ansible-core 2.19 asks for
pip 24.2, 2.20 and 2.21 for pip 25.2 (one cache file each; `make test-matrix` runs this script with the Python of
each .venv-core<version>, so each release finds the file it looks for).
"""

import os
import subprocess
import sys
from pathlib import Path

SHIM = '''\
# Written by tools/ansible_test_pip_bootstrap.py (sfops.salesforce): offline stand-in for get-pip.py.
import glob
import os
import sys

WHEEL_DIR = {wheel_dir!r}
wheel = sorted(glob.glob(os.path.join(WHEEL_DIR, "pip-{version}-*.whl")))[-1]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main  # noqa: E402  (imported from the wheel put on sys.path above)

# ansible-test asks get-pip.py not to install setuptools/wheel; pip itself does not know these flags.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", WHEEL_DIR] + args))
'''


def pip_version():
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:  # get_venv_packages only reads .version
        version = "%d.%d" % sys.version_info[:2]

    return get_venv_packages(_Python())["pip"]


def main():
    version = pip_version()
    cache = Path(os.path.expanduser("~/.ansible/test/cache"))
    target = cache / ("get_pip_%s.py" % version.replace(".", "_"))
    wheel_dir = Path(os.environ.get("SFOPS_WHEEL_DIR", Path(__file__).resolve().parents[1] / ".cache" / "wheels"))
    wheel_dir.mkdir(parents=True, exist_ok=True)
    if not list(wheel_dir.glob("pip-%s-*.whl" % version)):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheel_dir),
                        "pip==%s" % version], check=True)
    cache.mkdir(parents=True, exist_ok=True)
    content = SHIM.format(wheel_dir=str(wheel_dir), version=version)
    if not target.exists() or target.read_text() != content:
        target.write_text(content)
    print("ansible-test pip %s bootstrap: %s" % (version, target))


if __name__ == "__main__":
    main()
