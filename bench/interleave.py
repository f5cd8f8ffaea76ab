"""Compare two commits in the same conditions: their role runs alternate on one emulator, in ABBA order.

`bench/run.py --ref` measures one commit per invocation; on a shared machine the load changes between two
invocations more than a small change costs. Here every turn runs fresh setup, converged re-run and drift check
(role, planhat preset) with one commit, then the other, the order swapped every turn, so both meet the same load
and the same emulator. Prints, per phase, the API and token requests per org seen and the median CPU of the runs
and of one sfops task per org, and writes every run's figures to --output.

    .venv/bin/python bench/interleave.py --refs d6a73e6 HEAD --orgs 1 --turns 16
"""

import argparse
import json
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402
import presets  # noqa: E402
import run  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--refs", nargs=2, required=True, metavar=("A", "B"))
    p.add_argument("--orgs", type=int, default=1)
    p.add_argument("--turns", type=int, default=10)
    p.add_argument("--work-dir", default=str(harness.BENCH / "out" / "interleave"))
    p.add_argument("--output", default=None, help="results JSON (default: <work-dir>/interleave.json)")
    args = p.parse_args(argv)
    out = pathlib.Path(args.work_dir).resolve()
    (out / "profiles").mkdir(parents=True, exist_ok=True)
    bench_args = run.parse_args(["--orgs", str(args.orgs)])
    trees = {}
    for ref in args.refs:
        harness.use_snapshot(ref, out / ("src-" + ref))
        trees[ref] = harness.SRC
    emu = harness.start_emulator(out / "sfemu", args.orgs, bench_args.latency_ms)
    res = {ref: {phase: [] for phase in run.PHASES} for ref in args.refs}
    cell = ("role", "planhat", args.orgs)
    try:
        inventory = harness.write_inventory(emu, ["org%d" % i for i in range(1, args.orgs + 1)], out / "inventory.yml")
        vars_files = [presets.write_vars(out / "vars.yml", {"integration_user_preset": "planhat"})]
        for turn in range(args.turns):
            for ref in (args.refs if turn % 2 == 0 else args.refs[::-1]):
                harness.SRC = trees[ref]
                for phase in run.PHASES:
                    m = run.run_phase(emu, bench_args, cell, phase, inventory, vars_files, out)
                    sfops = [t for t in m["tasks"] if (t.get("action") or "").startswith("sfops.salesforce.")]
                    res[ref][phase].append({"rc": m["rc"], "cpu_s": m["cpu_s"], "api_per_org": m["api_per_org_mean"],
                                            "api_per_org_max": m["api_per_org_max"],
                                            "token_per_org": m["token_per_org_mean"],
                                            "sfops_task_cpu_per_org_s": sum(t["cpu_s"] for t in sfops) / len(sfops) / args.orgs,
                                            "loadavg_before": m["loadavg_before"]})
    finally:
        emu.stop()
    output = pathlib.Path(args.output) if args.output else out / "interleave.json"
    output.write_text(json.dumps({"refs": args.refs, "orgs": args.orgs, "turns": args.turns, "runs": res}, indent=1) + "\n")
    a, b = args.refs
    for phase in run.PHASES:
        def med(ref, key):
            return statistics.median(r[key] for r in res[ref][phase])
        print("%-9s API/org %s | %s, token/org %s | %s; CPU s per run %.2f | %.2f; per sfops task per org %.3f | %.3f"
              % (phase, sorted({r["api_per_org_max"] for r in res[a][phase]}), sorted({r["api_per_org_max"] for r in res[b][phase]}),
                 sorted({r["token_per_org"] for r in res[a][phase]}), sorted({r["token_per_org"] for r in res[b][phase]}),
                 med(a, "cpu_s"), med(b, "cpu_s"), med(a, "sfops_task_cpu_per_org_s"), med(b, "sfops_task_cpu_per_org_s")))
    print("results: %s" % output)


if __name__ == "__main__":
    main()
