"""Where the controller's time goes in a drift check. bench/README.md shows what it found.

    .venv/bin/python bench/profile_run.py --orgs 100               # CPU per task, measured in every worker (default)
    .venv/bin/pip install -r requirements/bench.txt                # py-spy, for:
    .venv/bin/python bench/profile_run.py --orgs 100 --py-spy      # a sampling profile of the controller process

Both run a fresh setup (not profiled), then the profiled drift check. The default (``callback_plugins/
sfbench_stages.py``) measures inside each forked worker its CPU since the fork (user and sys), the part spent
templating the task's arguments, and its copy-on-write page faults, and the controller's own CPU at the end; it
prints per task the mean per org. py-spy attaches to new processes by polling, so it misses most workers, which live
for a few tens of milliseconds: use it for the controller process.

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


def stages_report(prefix, args, measured):
    """Per task: workers, mean CPU per org (user, sys), of which argument templating, and page faults; then the
    controller process and the whole run."""
    import json
    rows = [json.loads(line) for line in pathlib.Path(str(prefix) + ".workers").read_text().splitlines()]
    ctl = json.loads(pathlib.Path(str(prefix) + ".controller").read_text())
    tasks = collections.OrderedDict()
    for r in rows:
        tasks.setdefault(r["task"], []).append(r)
    lines = ["Drift check of %d orgs (%d ms latency, forks %d): wall %.1f s, CPU %.1f s (ansible-playbook and its "
             "workers)" % (args.orgs, args.latency_ms, args.forks, measured["wall_s"], measured["cpu_s"]), "",
             "| task | workers | CPU ms per worker | of which user | of which sys | templating its arguments ms | "
             "page faults per worker |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rs in tasks.items():
        n = len(rs)
        lines.append("| %s | %d | %.1f | %.1f | %.1f | %.1f | %d |" % (
            name.replace("|", "/"), n, 1000 * sum(r["cpu_s"] for r in rs) / n, 1000 * sum(r["user_s"] for r in rs) / n,
            1000 * sum(r["sys_s"] for r in rs) / n, 1000 * sum(r["templating_s"] for r in rs) / n,
            sum(r["minflt"] for r in rs) // n))
    workers_cpu = sum(r["cpu_s"] for r in rows)
    lines += ["", "- workers: %d, %.1f CPU-s measured inside them (%.1f user, %.1f sys); all reaped children, exit "
              "included: %.1f user + %.1f sys" % (len(rows), workers_cpu, sum(r["user_s"] for r in rows),
                                                  sum(r["sys_s"] for r in rows), ctl["children_user_s"],
                                                  ctl["children_sys_s"]),
              "- controller process (strategy, variables, fork, results, callbacks): %.1f user + %.1f sys CPU-s, "
              "%d page faults, max RSS %.0f MB" % (ctl["user_s"], ctl["sys_s"], ctl["minflt"], ctl["max_rss_mb"]),
              "- emulator: %.1f CPU-s" % (measured["emulator_cpu_s"] or 0)]
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orgs", type=int, default=100)
    p.add_argument("--forks", type=int, default=20)
    p.add_argument("--latency-ms", type=int, default=150)
    p.add_argument("--output-dir", default=str(harness.BENCH / "out" / "profile"))
    p.add_argument("--py-spy", action="store_true", help="sample with py-spy instead of measuring each worker")
    args = p.parse_args(argv)
    spy = None
    if args.py_spy:
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
            if profiled and spy:
                cmd = [spy, "record", "--subprocesses", "--rate", "50", "--format", "raw",
                       "-o", str(out / "py-spy.txt"), "--"] + cmd
            elif profiled:
                # Only this callback: the per-task profile's CPU sampling is not needed here.
                env.update(ANSIBLE_CALLBACKS_ENABLED="sfbench_stages", SFBENCH_STAGES_OUT=str(out / "stages"))
                for suffix in (".workers", ".controller"):
                    (out / ("stages" + suffix)).unlink(missing_ok=True)
            m = harness.measured_run(cmd, env, out / ("%s.log" % phase), emulator_pid=emu.proc.pid)
            print("%s: rc=%s wall %.1f s, CPU %.1f s" % (phase, m["rc"], m["wall_s"], m["cpu_s"]), flush=True)
    finally:
        emu.stop()
    if not spy:
        lines = stages_report(out / "stages", args, m)
        (out / "where-the-time-goes.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    counts, total = summarise(out / "py-spy.txt")
    lines = ["Drift check of %d orgs (%d ms latency, forks %d): %d samples" % (args.orgs, args.latency_ms, args.forks,
                                                                             total), "",
             "| part | share of samples |", "|---|---:|"]
    lines += ["| %s | %.1f %% |" % (part, 100.0 * n / total) for part, n in counts.most_common()]
    (out / "where-the-time-goes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
