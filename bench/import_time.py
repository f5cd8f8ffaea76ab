"""Import cost of the collection's transport: CPU and wall seconds of one import statement in a fresh interpreter.

Each target is imported in its own new Python process (`-c`), --runs times, after the modules of --preload (what
every sfops module has imported anyway, ansible.module_utils.basic by default), so the figure is what the import
adds, Python's own start-up excluded. Prints the median and the minimum of each target.

    .venv/bin/python bench/import_time.py                      # this checkout's collection
    .venv/bin/python bench/import_time.py --src /tmp/old-tree  # another tree (e.g. `git archive` of a commit)
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
CLIENT = "ansible_collections.sfops.salesforce.plugins.module_utils.client"
IN_PROCESS = "ansible_collections.sfops.salesforce.plugins.plugin_utils.in_process"
TARGETS = ("requests", "simple_salesforce", CLIENT, IN_PROCESS)
PROBE = """
import importlib, json, sys, time
for name in sys.argv[2].split(','):
    if name:
        importlib.import_module(name)
cpu, wall = time.process_time(), time.perf_counter()
importlib.import_module(sys.argv[1])
print(json.dumps([time.process_time() - cpu, time.perf_counter() - wall]))
"""


def measure(target, preload, runs, path):
    cpu, wall = [], []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")])),
               PYTHONDONTWRITEBYTECODE="1")
    for _run in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE, target, preload], env=env, check=True,
                             capture_output=True, text=True).stdout
        c, w = json.loads(out)
        cpu.append(c)
        wall.append(w)
    return {"cpu_median_s": statistics.median(cpu), "cpu_min_s": min(cpu), "wall_median_s": statistics.median(wall),
            "wall_min_s": min(wall)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", default=str(REPO), help="the collection tree to import (default: this checkout)")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--preload", default="ansible.module_utils.basic", help="comma-separated modules imported first")
    p.add_argument("--targets", default=",".join(TARGETS))
    args = p.parse_args(argv)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        # The collection loader's layout: <path>/ansible_collections/sfops/salesforce -> the tree.
        link = pathlib.Path(tmp) / "ansible_collections" / "sfops"
        link.mkdir(parents=True)
        (link / "salesforce").symlink_to(pathlib.Path(args.src).resolve())
        results = {t: measure(t, args.preload, args.runs, tmp) for t in args.targets.split(",")}
    print("load average before: %.1f %.1f %.1f" % load)
    print("%-60s %10s %10s %10s %10s" % ("import (after %s)" % args.preload, "CPU med s", "CPU min s", "wall med s",
                                          "wall min s"))
    for target, r in results.items():
        print("%-60s %10.3f %10.3f %10.3f %10.3f" % (target, r["cpu_median_s"], r["cpu_min_s"], r["wall_median_s"],
                                                    r["wall_min_s"]))
    return results


if __name__ == "__main__":
    main()
