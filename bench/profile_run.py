"""Where the controller's time goes in a drift check: a sampling profile of ansible-playbook and every worker it
forks (py-spy), summed into the parts of a run. bench/README.md shows what it found.

    .venv/bin/pip install -r requirements/bench.txt     # py-spy
    .venv/bin/python bench/profile_run.py --orgs 100     # fresh setup (not profiled), then the profiled drift check

The drift check runs under ``py-spy record --subprocesses --format raw`` (50 samples per second per process) after
an unprofiled fresh setup of the same orgs, on an emulator at 150 ms latency. Each sample is one Python stack of
one process; this script puts every sample in the first part whose frame it contains (in the order of PARTS) and
prints each part's share of all samples. A sample is wall time a process spent in that code, mostly on a CPU;
py-spy leaves out threads it sees idle, but a worker blocked in an SSL read is sometimes counted (the "network
wait" part), so the shares are of the profiled time, not of CPU time. bench/run.py measures CPU per task.
"""

import argparse
import collections
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402
import run  # noqa: E402

# (part, a frame that marks it), first match wins: the worker parts come first because a worker's stack starts in
# the controller's fork call (multiprocessing forks from inside WorkerProcess.start).
PARTS = (
    ("worker: network wait (blocked in an SSL read)", "SSLSocket.recv_into"),
    ("worker: sfops code (the module in the worker: transport, pipeline, validation)", "ControllerRun.execute"),
    ("worker: task argument templating (module_defaults and options)", "Task.post_validate"),
    ("worker: conditionals (when, failed_when)", "_resolve_conditional"),
    ("worker: other action plugins (set_fact, assert, debug, include_*)", "TaskExecutor._execute_internal"),
    ("worker: sending the result to the controller", "send_task_result"),
    ("worker: start-up and the rest of TaskExecutor", "WorkerProcess._run"),
    ("controller: fork() of a worker", "Popen._launch"),
    ("controller: building a worker (WorkerProcess.__init__, queue)", "StrategyBase._queue_task"),
    ("controller: variables per host and task (VariableManager.get_vars)", "VariableManager.get_vars"),
    ("controller: results thread blocked, waiting for a worker's result", "_ConnectionBase.recv_bytes"),
    ("controller: receiving results (results thread, unpickling)", "results_thread_main"),
    ("controller: processing results and callbacks", "_process_pending_results"),
    ("controller: strategy loop and the rest", "StrategyModule.run"),
    ("controller: parsing the playbook, inventory, start-up", "<module> (ansible-playbook"),
)


def summarise(raw_path):
    """{part: samples}, total samples."""
    counts, total = collections.Counter(), 0
    for line in pathlib.Path(raw_path).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for part, marker in PARTS:
            if marker in stack:
                counts[part] += int(n)
                break
        else:
            counts["other (threads, interpreter exit)"] += int(n)
    return counts, total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orgs", type=int, default=100)
    p.add_argument("--forks", type=int, default=20)
    p.add_argument("--latency-ms", type=int, default=150)
    p.add_argument("--output-dir", default=str(harness.BENCH / "out" / "profile"))
    args = p.parse_args(argv)
    spy = shutil.which("py-spy", path=str(harness.VENV_BIN)) or shutil.which("py-spy")
    if not spy:
        sys.exit("py-spy is missing: .venv/bin/pip install -r requirements/bench.txt")
    out = pathlib.Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    aliases = ["org%d" % i for i in range(1, args.orgs + 1)]
    emu = harness.start_emulator(out / "sfemu", args.orgs, args.latency_ms)
    try:
        inventory = harness.write_inventory(emu, aliases, out / "inventory.yml")
        vars_file = out / "vars.yml"
        vars_file.write_text("integration_user_preset: planhat\n")
        emu.reset()
        run.operator_steps(emu, aliases)
        for phase, playbook, profiled in (("fresh", "playbooks/setup_integration.yml", False),
                                          ("drift", "playbooks/drift_check.yml", True)):
            env = harness.ansible_env(out / ("%s-tasks.json" % phase), None, emu.data_dir / "ca.pem", forks=args.forks)
            cmd = harness.playbook_cmd(harness.SRC / playbook, inventory, args.forks, extra_vars_files=[vars_file],
                                       extra_vars={"drift_report_dir": str(out / "drift-report")})
            if profiled:
                cmd = [spy, "record", "--subprocesses", "--rate", "50", "--format", "raw",
                       "-o", str(out / "py-spy.txt"), "--"] + cmd
            m = harness.measured_run(cmd, env, out / ("%s.log" % phase), emulator_pid=emu.proc.pid)
            print("%s: rc=%s wall %.1f s, CPU %.1f s" % (phase, m["rc"], m["wall_s"], m["cpu_s"]), flush=True)
    finally:
        emu.stop()
    counts, total = summarise(out / "py-spy.txt")
    lines = ["Drift check of %d orgs (%d ms latency, forks %d): %d samples" % (args.orgs, args.latency_ms, args.forks,
                                                                             total), "",
             "| part | share of samples |", "|---|---:|"]
    lines += ["| %s | %.1f %% |" % (part, 100.0 * n / total) for part, n in counts.most_common()]
    (out / "where-the-time-goes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
