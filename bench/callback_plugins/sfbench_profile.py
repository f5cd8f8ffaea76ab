# Benchmark profiler for sfops.salesforce (bench/ only; not shipped with the collection).
"""Per-task timings and, optionally, per-task Salesforce API request counts.

Enabled by bench/run.py through ANSIBLE_CALLBACK_PLUGINS + ANSIBLE_CALLBACKS_ENABLED=sfbench_profile.

- Timings: for every task, the controller time when the task started, when each host started and finished it, and
  the host's status (ok/changed/failed/skipped/unreachable).
- CPU: getrusage() of the ansible-playbook process itself (strategy, templating, callbacks) and of its reaped
  children (the forked workers and the module processes they ran) at every task start. A worker is reaped when its
  slot is reused, so a little of one task's CPU can land on the next; the sum over the run is exact.
- Request counts (SFBENCH_STATS_URL set): one GET of the emulator's control API `/__sfemu/stats` when a task starts
  and when the playbook ends. The linear strategy finishes a task on every host before the next starts, so the
  difference between two snapshots is what that task cost each org. The time these snapshots take is recorded too
  (`snapshot_seconds`) so it can be told apart from the playbook's own time.
Writes one JSON document to SFBENCH_OUT at the end of the playbook.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: sfbench_profile
    type: aggregate
    short_description: per-task timings and per-task emulator request counts for bench/run.py
    description: Writes a JSON profile of the playbook run to SFBENCH_OUT.
    requirements:
      - enabled through ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os
import resource
import ssl
import time
import urllib.request

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sfbench_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._out = os.environ.get("SFBENCH_OUT")
        self._stats_url = os.environ.get("SFBENCH_STATS_URL")
        ca = os.environ.get("SFBENCH_CA")
        self._ssl = ssl.create_default_context(cafile=ca) if ca else None
        self._t0 = time.time()
        self._tasks = []
        self._by_uuid = {}
        self._snapshot_seconds = 0.0
        self._snapshot_errors = []
        self._play = None

    # emulator counters --------------------------------------------------------------------------------------
    def _snapshot(self):
        if not self._stats_url:
            return None
        start = time.time()
        try:
            with urllib.request.urlopen(self._stats_url, timeout=60, context=self._ssl) as resp:
                data = json.loads(resp.read().decode("utf-8"))["orgs"]
            return {alias: {"api": s.get("api_requests", 0), "token": s.get("token_requests", 0),
                            "by_resource": s.get("by_resource", {})} for alias, s in data.items()}
        except Exception as exc:  # the profile must never break the run it measures
            self._snapshot_errors.append(repr(exc))
            return None
        finally:
            self._snapshot_seconds += time.time() - start

    @staticmethod
    def _cpu():
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    def _close_previous(self):
        if not self._tasks:
            return
        prev = self._tasks[-1]
        if "end" in prev:
            return
        prev["end"] = time.time() - self._t0
        me, kids = self._cpu()
        prev["cpu_controller_s"] = me - prev.pop("_cpu_me")
        prev["cpu_workers_s"] = kids - prev.pop("_cpu_kids")
        snap = self._snapshot()
        prev["stats_after"] = snap

    # task events --------------------------------------------------------------------------------------------
    def v2_playbook_on_play_start(self, play):
        self._close_previous()
        self._play = play.get_name()

    def _start_task(self, task, handler=False):
        self._close_previous()
        entry = {
            "uuid": task._uuid,
            "name": task.get_name(),
            "action": task.action,
            "play": self._play,
            "handler": handler,
            "start": time.time() - self._t0,
            "hosts": {},
        }
        entry["_cpu_me"], entry["_cpu_kids"] = self._cpu()
        if not self._tasks and self._stats_url:
            entry["stats_before"] = self._snapshot()
        elif self._tasks:
            entry["stats_before"] = self._tasks[-1].get("stats_after")
        self._tasks.append(entry)
        self._by_uuid[task._uuid] = entry

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task, handler=True)

    def v2_runner_on_start(self, host, task):
        entry = self._by_uuid.get(task._uuid)
        if entry is not None:
            entry["hosts"].setdefault(host.get_name(), {})["start"] = time.time() - self._t0

    def _finish(self, result, status):
        entry = self._by_uuid.get(result.task._uuid)
        if entry is None:
            return
        host = entry["hosts"].setdefault(result.host.get_name(), {})
        host["end"] = time.time() - self._t0
        res = result.result
        if status == "ok" and res.get("changed"):
            status = "changed"
        host["status"] = status
        if status in ("failed", "unreachable"):
            msg = res.get("msg") or res.get("message") or res.get("exception") or ""
            host["msg"] = str(msg)[:2000]

    def v2_runner_on_ok(self, result):
        self._finish(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._finish(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._finish(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._finish(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._close_previous()
        recap = {}
        for host in sorted(stats.processed.keys()):
            recap[host] = stats.summarize(host)
        doc = {
            "total_seconds": time.time() - self._t0,
            "snapshot_seconds": self._snapshot_seconds,
            "snapshot_errors": self._snapshot_errors[:5],
            "recap": recap,
            "tasks": self._tasks,
        }
        if self._out:
            with open(self._out, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
