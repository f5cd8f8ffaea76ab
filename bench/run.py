#!/usr/bin/env python3
"""`make bench`: API requests per org, token requests per org, wall time, CPU and memory of the integration-user job
against the local Salesforce emulator, for 1, 10 and 100 orgs, compared with a plain `ansible.builtin.uri` playbook
and with a shell script of Salesforce CLI commands.

    .venv/bin/python bench/run.py                       # the full benchmark, writes bench/results.md (< 15 min)
    .venv/bin/python bench/run.py --quick               # 1 and 3 orgs, for development; writes bench/out/
    .venv/bin/python bench/run.py --orgs 1,10 --latency-ms 100 --forks 10 --presets planhat

For each implementation (the role: playbooks/setup_integration.yml + playbooks/drift_check.yml; the uri baseline:
bench/baseline/uri_baseline.yml; the Salesforce CLI baseline: bench/baseline/sf_cli_runbook.sh), preset (planhat; large: generated from the emulator's describes) and number of
orgs, three runs: fresh setup (POST /__sfemu/reset first), converged re-run, drift check. Every org's request
counters are zeroed before each run (DELETE /__sfemu/stats) and read after it (GET /__sfemu/stats).
"""

import argparse
import datetime
import json
import pathlib
import shutil
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import harness  # noqa: E402
import presets  # noqa: E402
import report  # noqa: E402
import sfcli_baseline  # noqa: E402

BENCH = harness.BENCH
REPO = harness.REPO
PLAYBOOKS = {
    "role": {"fresh": ("playbooks/setup_integration.yml", False), "converged": ("playbooks/setup_integration.yml", False),
             "drift": ("playbooks/drift_check.yml", False)},
    "baseline": {"fresh": ("bench/baseline/uri_baseline.yml", False),
                 "converged": ("bench/baseline/uri_baseline.yml", False),
                 "drift": ("bench/baseline/uri_baseline.yml", True)},
}
PHASES = ("fresh", "converged", "drift")
IMPLS = ("role", "baseline", "sfcli")  # the order their cells run in


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orgs", default=None, help="comma-separated org counts (default 1,10,100; --quick: 1,3)")
    p.add_argument("--latency-ms", type=int, default=150, help="emulated round trip per API/token request (150)")
    p.add_argument("--forks", type=int, default=None, help="ansible forks (default: ansible.cfg's forks)")
    p.add_argument("--presets", default="planhat,large", help="planhat,large")
    p.add_argument("--impls", default="role,baseline,sfcli",
                   help="role,baseline,sfcli (sfcli: the Salesforce CLI script, installed from npm on first use)")
    p.add_argument("--baseline-orgs", default=None,
                   help="org counts for the uri baseline with the planhat preset (default 1: a 10-org uri baseline "
                        "takes about 10 minutes, more than `make bench` may; --quick: 1,3)")
    p.add_argument("--baseline-large-orgs", default=None,
                   help="org counts for the uri baseline with the large preset (default none: 660 uri tasks per org for a "
                        "fresh setup take longer than `make bench` may)")
    p.add_argument("--sfcli-orgs", default="1",
                   help="org counts for the Salesforce CLI script with the planhat preset (default 1: every sf "
                        "command starts Node, about 1 CPU-s each, so a fresh setup takes about a minute per org)")
    p.add_argument("--sfcli-large-orgs", default="",
                   help="org counts for the Salesforce CLI script with the large preset (default none)")
    p.add_argument("--sfcli-parallel", type=int, default=1,
                   help="orgs the CLI script runs at a time (xargs -P; default 1: one org after another, as the "
                        "script does by default)")
    p.add_argument("--extra-objects", type=int, default=21,
                   help="custom objects added to the emulator's catalogue for the large preset (bench/sfemu_catalog.py;"
                        " default 21: with its 9 seeded objects, 30; 0: the seeded catalogue only)")
    p.add_argument("--large-orgs", default=None,
                   help="org counts for the role with the large preset (default: the same as --orgs)")
    p.add_argument("--skip-converged-above", type=int, default=10,
                   help="above this many orgs, run fresh setup and drift check only (default 10: the 100-org cells' "
                        "converged re-run costs what their drift check costs, and `make bench` must stay under 15 "
                        "minutes; give 1000 to run it for every org count)")
    p.add_argument("--report-only", nargs="+", metavar="RESULTS_JSON",
                   help="no runs: write results.md and the plot from these results.json files (merged)")
    p.add_argument("--large-objects", type=int, default=30)
    p.add_argument("--large-fields", type=int, default=300)
    p.add_argument("--budget-min", type=float, default=14.0,
                   help="skip the remaining cells once this much time has gone (default 14: `make bench` < 15 min)")
    p.add_argument("--quick", action="store_true", help="small and fast: 1 and 3 orgs, output in bench/out/")
    p.add_argument("--output-dir", default=None, help="where results.md/.json and the plot go (default bench/)")
    p.add_argument("--ansible-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for every ansible-playbook run (e.g. ANSIBLE_PIPELINING=True); repeatable")
    p.add_argument("--label", default="", help="a name for this run's settings, shown in results.md")
    p.add_argument("--work-dir", default=None,
                   help="emulator data, inventories, logs and per-task profiles (default bench/out; give separate "
                        "ones to invocations that run at the same time)")
    p.add_argument("--ref", default=None,
                   help="measure this commit (e.g. HEAD) exported with git archive instead of the working tree, so "
                        "that edits made while the benchmark runs do not change what it measures")
    p.add_argument("--manual-steps-pending", action="store_true",
                   help="measure the orgs as seeded: the vendor app only used (even orgs) or installed with the default "
                        "policy (odd orgs), so every run reports manual steps and reads the app's policy through the "
                        "Metadata API; by default the operator's manual steps are done first (see operator_steps)")
    p.add_argument("--no-floor", action="store_true", help="skip the per-task floor measurement (bench/micro)")
    p.add_argument("--no-task-requests", action="store_true",
                   help="do not snapshot the emulator's counters per task (per-task request counts)")
    args = p.parse_args(argv)
    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]  # noqa: E731
    args.orgs = ints(args.orgs or ("1,3" if args.quick else "1,10,100"))
    args.baseline_orgs = ints(args.baseline_orgs if args.baseline_orgs is not None else ("1,3" if args.quick else "1"))
    args.baseline_large_orgs = ints(args.baseline_large_orgs if args.baseline_large_orgs is not None else "")
    args.large_orgs = ints(args.large_orgs) if args.large_orgs is not None else list(args.orgs)
    args.sfcli_orgs = ints(args.sfcli_orgs)
    args.sfcli_large_orgs = ints(args.sfcli_large_orgs)
    args.presets = [x for x in args.presets.split(",") if x]
    args.impls = [x for x in args.impls.split(",") if x]
    args.output_dir = pathlib.Path(args.output_dir or (BENCH / "out" if args.quick else BENCH))
    args.forks_from_cfg = args.forks is None
    if args.forks is None:
        args.forks = ansible_cfg_forks()
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def ansible_cfg_forks():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "ansible.cfg")
    return cfg.getint("defaults", "forks", fallback=5)


def plan_cells(args):
    """(impl, preset, orgs) in the order they run: the role's cells of up to 10 orgs first (from the smallest org
    count up, so that a broken setup shows early), then its larger ones (the scaling figures the targets are about),
    then the baselines', which the time budget may have to skip (a uri baseline of 10 orgs takes minutes per run,
    the CLI script about a minute per org for a fresh setup)."""
    counts_of = {("role", "planhat"): args.orgs, ("role", "large"): args.large_orgs,
                 ("baseline", "planhat"): args.baseline_orgs, ("baseline", "large"): args.baseline_large_orgs,
                 ("sfcli", "planhat"): args.sfcli_orgs, ("sfcli", "large"): args.sfcli_large_orgs}
    cells = [(impl, preset, n) for impl in IMPLS if impl in args.impls for preset in args.presets
             for n in sorted(set(counts_of[(impl, preset)]))]
    return sorted(cells, key=lambda c: (IMPLS.index(c[0]), c[2] > 10, c[2] if c[2] > 10 else 0))


def per_org_counts(stats, aliases):
    per_org = {}
    for a in aliases:
        s = stats.get(a) or {}
        per_org[a] = {"api": s.get("api_requests", 0), "token": s.get("token_requests", 0)}
    outside = {a: s.get("api_requests", 0) + s.get("token_requests", 0) for a, s in stats.items()
               if a not in aliases and (s.get("api_requests", 0) or s.get("token_requests", 0))}
    by_resource, by_method = {}, {}
    for a in aliases:
        for k, v in ((stats.get(a) or {}).get("by_resource") or {}).items():
            by_resource[k] = by_resource.get(k, 0) + v
        for k, v in ((stats.get(a) or {}).get("by_method") or {}).items():
            by_method[k] = by_method.get(k, 0) + v
    return per_org, outside, by_resource, by_method


def summarise_profile(profile, aliases):
    """Per task: wall time (start of the task to the last host done), per-host durations, requests per org."""
    tasks = []
    for t in profile.get("tasks", []):
        durations = [h["end"] - h["start"] for h in t["hosts"].values() if "end" in h and "start" in h]
        statuses = {}
        for h in t["hosts"].values():
            statuses[h.get("status", "?")] = statuses.get(h.get("status", "?"), 0) + 1
        row = {
            "name": t["name"], "action": t["action"], "play": t.get("play"),
            "wall_s": (t.get("end", t["start"]) - t["start"]),
            "hosts": len(t["hosts"]),
            "cpu_s": (t.get("cpu_controller_s") or 0) + (t.get("cpu_workers_s") or 0),
            "cpu_controller_s": t.get("cpu_controller_s"),
            "host_mean_s": sum(durations) / len(durations) if durations else None,
            "host_max_s": max(durations) if durations else None,
            "statuses": statuses,
        }
        before, after = t.get("stats_before"), t.get("stats_after")
        if before is not None and after is not None:
            api = [after.get(a, {}).get("api", 0) - before.get(a, {}).get("api", 0) for a in aliases]
            tok = [after.get(a, {}).get("token", 0) - before.get(a, {}).get("token", 0) for a in aliases]
            res = {}
            for a in aliases:
                for k, v in after.get(a, {}).get("by_resource", {}).items():
                    d = v - before.get(a, {}).get("by_resource", {}).get(k, 0)
                    if d:
                        res[k] = res.get(k, 0) + d
            row.update(api_per_org=sum(api) / len(api), api_max=max(api), token_per_org=sum(tok) / len(tok),
                       by_resource={k: v / len(aliases) for k, v in sorted(res.items())})
        tasks.append(row)
    failures = {}
    for t in profile.get("tasks", []):
        for host, h in t["hosts"].items():
            if h.get("status") in ("failed", "unreachable"):
                failures.setdefault(host, "%s: %s" % (t["name"], h.get("msg", "")))
    return tasks, failures


VENDOR_APP = "Planhat"  # the seeded vendor app, the connected app of both presets


def operator_steps(emu, aliases):
    """What the runbook leaves to a person, done once before the fresh setup (the emulator's control API stands in
    for Setup): install the vendor app where it was only used, and set Permitted Users to "Admin approved users are
    pre-authorized" (Edit Policies), which the Metadata API cannot do for an app installed from another org. The
    converged run and the drift check then meet the steady state a nightly drift check meets."""
    for alias in aliases:
        emu.install_app(alias, VENDOR_APP)
        emu.control("POST", "orgs/%s/app_policy" % alias, json={"name": VENDOR_APP, "admin_approved": True})


def run_phase(emu, args, cell, phase, inventory, vars_files, out_dir):
    impl, preset, n = cell
    aliases = ["org%d" % i for i in range(1, n + 1)]
    tag = "%s-%s-%d-%s" % (impl, preset, n, phase)
    if phase == "fresh":
        emu.reset()
        if not args.manual_steps_pending:
            operator_steps(emu, aliases)
    if impl == "sfcli":
        return run_sfcli_phase(emu, args, cell, phase, inventory, vars_files, out_dir, tag, aliases)
    playbook, check = PLAYBOOKS[impl][phase]
    extra = {}
    if impl == "role" and phase == "drift":
        extra["drift_report_dir"] = str(out_dir / "drift-report" / tag)
    emu.reset_stats()
    profile_path = out_dir / "profiles" / (tag + ".json")
    profile_path.parent.mkdir(parents=True, exist_ok=True)
    if profile_path.exists():
        profile_path.unlink()
    env = harness.ansible_env(profile_path, None if args.no_task_requests else emu.url + "/__sfemu/stats",
                              emu.data_dir / "ca.pem", forks=args.forks,
                              extra=dict(kv.split("=", 1) for kv in args.ansible_env))
    cmd = harness.playbook_cmd((REPO if playbook.startswith("bench/") else harness.SRC) / playbook, inventory, args.forks, check=check, extra_vars_files=vars_files,
                               extra_vars=extra)
    m = harness.measured_run(cmd, env, out_dir / "logs" / (tag + ".log"), emulator_pid=emu.proc.pid)
    stats = emu.stats()
    per_org, outside, by_resource, by_method = per_org_counts(stats, aliases)
    profile = json.loads(profile_path.read_text()) if profile_path.exists() else {}
    tasks, failures = summarise_profile(profile, aliases)
    recap = profile.get("recap", {})
    drifted = None
    if "drift_report_dir" in extra:
        try:
            summary = json.loads((pathlib.Path(extra["drift_report_dir"]) / "drift-report.json").read_text())["summary"]
            drifted = {"drifted": summary.get("drifted_orgs", []), "errors": summary.get("error_orgs", [])}
        except (OSError, ValueError, KeyError):
            drifted = {"drifted": None, "errors": None}
    result = dict(m, **request_figures(n, per_org, outside, by_resource, by_method), impl=impl, preset=preset,
                  orgs=n, phase=phase, playbook=playbook, check=check, forks=args.forks, tasks=tasks, failures=failures, drift_report=drifted,
                  snapshot_seconds=profile.get("snapshot_seconds"),
                  changed_hosts=sum(1 for r in recap.values() if r.get("changed")),
                  failed_hosts=sum(1 for r in recap.values() if r.get("failures") or r.get("unreachable")),
                  recap_hosts=len(recap))
    print_phase(phase, result)
    return result


def request_figures(n, per_org, outside, by_resource, by_method):
    api = [v["api"] for v in per_org.values()]
    tok = [v["token"] for v in per_org.values()]
    return dict(api_per_org_mean=sum(api) / n, api_per_org_min=min(api), api_per_org_max=max(api),
                token_per_org_mean=sum(tok) / n, token_per_org_max=max(tok), api_total=sum(api), token_total=sum(tok),
                requests_outside_cell=outside, by_resource=by_resource, by_method=by_method,
                per_org=per_org if n <= 10 else None)


def print_phase(phase, r):
    print("  %-9s rc=%s wall=%6.1fs cpu=%6.1fs emu_cpu=%5.1fs api/org=%5.1f (max %d) token/org=%.1f changed=%d "
          "failed=%d peak=%.0fMB others' CPU=%.0fs load=%.1f" % (phase, r["rc"], r["wall_s"], r["cpu_s"],
                                                                r["emulator_cpu_s"] or 0, r["api_per_org_mean"],
                                                                r["api_per_org_max"], r["token_per_org_mean"],
                                                                r["changed_hosts"], r["failed_hosts"],
                                                                r["peak_tree_pss_mb"], r["other_cpu_s"],
                                                                r["loadavg_before"]), flush=True)
    drifted = r.get("drift_report")
    if drifted and drifted["drifted"]:
        print("    drift report: drifted %s" % drifted["drifted"], flush=True)
    for host, msg in list(r["failures"].items())[:3]:
        print("    failed %s: %s" % (host, msg[:300]), flush=True)


def run_sfcli_phase(emu, args, cell, phase, orgs_file, desired_file, out_dir, tag, aliases):
    """One run of the Salesforce CLI script (bench/baseline/sf_cli_runbook.sh; --check for the drift check), measured
    like a playbook run: the script's bash, xargs and every sf (Node) process it started are its children."""
    impl, preset, n = cell
    check = phase == "drift"
    home = out_dir / "sfcli-home" / ("%s-%d" % (preset, n))
    if phase == "fresh":
        # Each cell starts with no stored CLI login, as on a new CI runner; every run logs in again anyway.
        shutil.rmtree(home, ignore_errors=True)
    env = sfcli_baseline.env(args.sfcli_bin, home, emu.data_dir / "ca.pem")
    cmd = sfcli_baseline.command(orgs_file, desired_file, check=check, parallel=args.sfcli_parallel)
    emu.reset_stats()
    log = out_dir / "logs" / (tag + ".log")
    m = harness.measured_run(cmd, env, log, emulator_pid=emu.proc.pid)
    stats = emu.stats()
    per_org, outside, by_resource, by_method = per_org_counts(stats, aliases)
    counts, failures = sfcli_baseline.read_summary(log, aliases)
    result = dict(m, **request_figures(n, per_org, outside, by_resource, by_method), impl=impl, preset=preset,
                  orgs=n, phase=phase, playbook=str(sfcli_baseline.RUNBOOK.relative_to(REPO)), check=check,
                  forks=args.sfcli_parallel, parallel=args.sfcli_parallel, tasks=[], failures=failures,
                  drift_report={"drifted": sorted(a for a, k in counts.items() if k), "errors": sorted(failures)}
                  if check else None,
                  snapshot_seconds=None, changed_hosts=sum(1 for k in counts.values() if k),
                  failed_hosts=len(failures), recap_hosts=len(counts))
    print_phase(phase, result)
    return result


def measure_floor(emu, args, inventory, n, out_dir):
    """CPU per task per org of a controller-only task, a module task, a module task that starts Python and imports
    requests or simple-salesforce, an sfops task in the worker and a controller-only task after it
    (bench/micro/task_floor.yml), on the same machine and inventory as the runs."""
    profile_path = out_dir / "profiles" / ("floor-%d.json" % n)
    env = harness.ansible_env(profile_path, None, None, forks=args.forks,
                              extra=dict(kv.split("=", 1) for kv in args.ansible_env))
    cmd = harness.playbook_cmd(BENCH / "micro" / "task_floor.yml", inventory, args.forks)
    m = harness.measured_run(cmd, env, out_dir / "logs" / ("floor-%d.log" % n), emulator_pid=emu.proc.pid)
    profile = json.loads(profile_path.read_text())
    kinds = {}
    for t in profile["tasks"]:
        for kind in ("set_fact", "ping", "python import requests", "python import simple_salesforce",
                     "sfops sf_org_info", "late set_fact"):
            if t["name"].startswith("floor " + kind):
                k = kinds.setdefault(kind, {"tasks": 0, "cpu_s": 0.0, "host_s": []})
                k["tasks"] += 1
                k["cpu_s"] += (t.get("cpu_controller_s") or 0) + (t.get("cpu_workers_s") or 0)
                k["host_s"] += [h["end"] - h["start"] for h in t["hosts"].values() if "end" in h and "start" in h]
    out = {"orgs": n, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"], "other_cpu_s": m["other_cpu_s"],
           "kinds": {}}
    for kind, k in kinds.items():
        out["kinds"][kind] = {"cpu_per_task_per_org_s": k["cpu_s"] / (k["tasks"] * n),
                              "host_mean_s": sum(k["host_s"]) / len(k["host_s"]) if k["host_s"] else None}
    print("bench: per-task floor (%d orgs): %s" % (n, ", ".join(
        "%s %.2f CPU-s/task/org" % (kind, v["cpu_per_task_per_org_s"]) for kind, v in out["kinds"].items())),
        flush=True)
    return out


def predicted_min_seconds(doc, impl, preset, n, phases):
    """How long a cell should take at best, from the CPU the runs so far used: CPU grows linearly with orgs
    (a + b × orgs, fitted on two or more org counts of this preset, else of this implementation), and on nproc
    CPUs a run cannot take less than CPU / nproc. Used only to skip a cell that will not fit the budget; the skip
    and this figure are reported as such, never as a measurement. None without two org counts to fit."""
    for match in ({"impl": impl, "preset": preset}, {"impl": impl}):
        pts = {}
        for r in doc["runs"]:
            if all(r[k] == v for k, v in match.items()) and r["orgs"] < n:
                pts[r["orgs"]] = max(pts.get(r["orgs"], 0), r["cpu_s"])
        if len(pts) >= 2:
            xs = sorted(pts)
            b = (pts[xs[-1]] - pts[xs[0]]) / (xs[-1] - xs[0])
            a = pts[xs[0]] - b * xs[0]
            return len(phases) * max(0.0, a + b * n) / (doc["machine"].get("nproc") or 1)
    return None


def merge(paths):
    """One document from several results.json files (runs made by separate invocations)."""
    docs = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    doc = dict(docs[0])
    doc["runs"] = [r for d in docs for r in d["runs"]]
    doc["skipped"] = [s for d in docs for s in d.get("skipped", [])]
    doc["presets"] = {k: v for d in docs for k, v in d.get("presets", {}).items()}
    doc["floor"] = next((d["floor"] for d in docs if d.get("floor")), None)
    doc["sfcli"] = next((d["sfcli"] for d in docs if d.get("sfcli")), None)
    doc["invocations"] = [{"date": d["date"], "argv": d["args"].get("argv"), "total_s": d.get("total_s"),
                           "source": "%s, git %s" % (d.get("source", "working tree"), d["machine"].get("git_commit"))}
                          for d in docs]
    doc["total_s"] = sum(d.get("total_s", 0) for d in docs)
    states = {d.get("manual_steps_done") for d in docs}
    doc["manual_steps_done"] = states.pop() if len(states) == 1 else None
    return doc


def summary_tables(results_md):
    """The targets and the table of all runs, as results.md has them (what `make bench` prints at the end)."""
    lines = pathlib.Path(results_md).read_text().splitlines()
    out, keep = [], False
    for line in lines:
        if line.startswith("## "):
            keep = line in ("## Targets", "## All runs")
        if keep:
            out.append(line)
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if args.report_only:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        doc = merge(args.report_only)
        (args.output_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
        path = report.write(doc, args.output_dir)
        print(summary_tables(path))
        print("bench: %s" % path)
        return 0
    t_start = time.monotonic()
    out_dir = pathlib.Path(args.work_dir or BENCH / "out").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    source_commit = harness.use_snapshot(args.ref, out_dir / "src") if args.ref else None
    data_dir = out_dir / "sfemu"
    shutil.rmtree(data_dir, ignore_errors=True)
    cells = plan_cells(args)
    org_counts = sorted({n for _, _, n in cells})
    sfcli_info = None
    if any(impl == "sfcli" for impl, _, _ in cells):
        args.sfcli_bin = sfcli_baseline.install(out_dir)
        sfcli_info = {"version": sfcli_baseline.cli_version(args.sfcli_bin), "parallel": args.sfcli_parallel}
        print("bench: Salesforce CLI %s" % sfcli_info["version"], flush=True)
    n_max = max(org_counts)
    print("bench: starting sfemu with %d orgs (+%d custom objects), latency %d ms; forks %d"
          % (n_max, args.extra_objects, args.latency_ms, args.forks), flush=True)
    t0 = time.monotonic()
    emu = harness.start_emulator(data_dir, n_max, args.latency_ms, extra_objects=args.extra_objects)
    emulator_start_s = time.monotonic() - t0
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": harness.machine_info(),
        "args": {k: (str(v) if isinstance(v, pathlib.Path) else v) for k, v in vars(args).items()},
        "source": ("commit %s (git archive of %s)" % (source_commit, args.ref)) if args.ref else "working tree",
        "latency_ms": args.latency_ms, "forks": args.forks, "emulator_start_s": emulator_start_s,
        "manual_steps_done": not args.manual_steps_pending,
        "presets": {}, "runs": [], "skipped": [], "sfcli": sfcli_info,
    }
    try:
        vars_files = {}
        inventories = {}
        for n in org_counts:
            inventories[n] = harness.write_inventory(emu, ["org%d" % i for i in range(1, n + 1)],
                                                     out_dir / ("inventory-%d.yml" % n))
        sfcli_orgs = {n: sfcli_baseline.write_orgs(emu, ["org%d" % i for i in range(1, n + 1)],
                                                   out_dir / ("sfcli-orgs-%d.txt" % n))
                      for impl, _, n in cells if impl == "sfcli"}
        if "planhat" in args.presets:
            objs = presets.planhat_objects()
            o, f = presets.count_rows(objs)
            doc["presets"]["planhat"] = {"objects": o, "fields": f}
            vars_files[("role", "planhat")] = [presets.write_vars(out_dir / "vars-role-planhat.yml",
                                                                  {"integration_user_preset": "planhat"})]
            vars_files[("baseline", "planhat")] = [presets.write_vars(out_dir / "vars-baseline-planhat.yml",
                                                                      presets.baseline_vars("planhat", objs))]
            vars_files[("sfcli", "planhat")] = presets.write_sfcli_desired(out_dir / "sfcli-desired-planhat.sh",
                                                                           presets.baseline_vars("planhat", objs))
        if "large" in args.presets:
            role_vars, info = presets.large_preset(emu, args.large_objects, args.large_fields)
            doc["presets"]["large"] = info
            print("bench: large preset: %(objects)d objects, %(fields)d field permissions (asked for "
                  "%(requested_objects)d/%(requested_fields)d; the emulator offers %(available_objects)d objects, "
                  "%(available_fields)d fields)" % info, flush=True)
            vars_files[("role", "large")] = [presets.write_vars(out_dir / "vars-role-large.yml", role_vars)]
            large_baseline = presets.baseline_vars("planhat", role_vars["integration_user_objects"])
            vars_files[("baseline", "large")] = [presets.write_vars(out_dir / "vars-baseline-large.yml",
                                                                    large_baseline)]
            vars_files[("sfcli", "large")] = presets.write_sfcli_desired(out_dir / "sfcli-desired-large.sh",
                                                                         large_baseline)
        budget_s = args.budget_min * 60
        for cell in cells:
            impl, preset, n = cell
            elapsed = time.monotonic() - t_start
            phases = [ph for ph in PHASES if not (ph == "converged" and args.skip_converged_above is not None
                                                  and n > args.skip_converged_above)]
            predicted = predicted_min_seconds(doc, impl, preset, n, phases)
            why = None
            if elapsed > budget_s:
                why = "time budget (--budget-min %s) used up after %.0f s" % (args.budget_min, elapsed)
            elif predicted is not None and elapsed + predicted > budget_s:
                why = ("would not fit the time budget (--budget-min %s): about %.0f s at best, from the CPU the "
                       "smaller runs used, and %.0f s left" % (args.budget_min, predicted, budget_s - elapsed))
            if why:
                doc["skipped"].append({"impl": impl, "preset": preset, "orgs": n, "why": why})
                print("bench: skip %s/%s/%d orgs: %s" % (impl, preset, n, why), flush=True)
                continue
            print("bench: %s, preset %s, %d org(s)  [%.0f s elapsed]" % (impl, preset, n, elapsed), flush=True)
            for phase in PHASES:
                if phase == "converged" and args.skip_converged_above is not None and n > args.skip_converged_above:
                    continue
                if time.monotonic() - t_start > budget_s:
                    doc["skipped"].append({"impl": impl, "preset": preset, "orgs": n, "phase": phase,
                                           "why": "time budget (--budget-min %s) used up" % args.budget_min})
                    print("bench: skip %s/%s/%d orgs %s: time budget used" % (impl, preset, n, phase), flush=True)
                    break
                orgs = sfcli_orgs[n] if impl == "sfcli" else inventories[n]
                doc["runs"].append(run_phase(emu, args, cell, phase, orgs, vars_files[(impl, preset)], out_dir))
                (out_dir / "results-partial.json").write_text(json.dumps(doc, indent=1))
        if not args.no_floor:
            n = max([c for c in org_counts if c <= 10] or [org_counts[0]])
            doc["floor"] = measure_floor(emu, args, inventories[n], n, out_dir)
    finally:
        emu.stop()
    doc["total_s"] = time.monotonic() - t_start
    (args.output_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    path = report.write(doc, args.output_dir)
    print(summary_tables(path))
    print("bench: done in %.0f s; %s" % (doc["total_s"], path), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
