# Test-only callback: records every task result of a run as JSON in $SFOPS_RECORD_FILE, so the integration suites
# can assert on results while stdout keeps the normal human-readable output. (ansible-core 2.19 ships no json
# callback; ansible.posix.json is not installable here without the whole `ansible` package.)
import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: sfops_record
type: aggregate
short_description: record task results as JSON for the integration tests
description: Writes plays, tasks and per-host results to the file named by SFOPS_RECORD_FILE.
requirements: [enable in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sfops_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def _task(self, task):
        tasks = self.plays[-1]["tasks"]
        if not tasks or tasks[-1]["task"]["id"] != str(task._uuid):
            tasks.append({"task": {"name": task.get_name(), "id": str(task._uuid)}, "hosts": {}})
        return tasks[-1]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def _record(self, result, **flags):
        res = dict(result._result)
        res.update(flags)
        self._task(result._task)["hosts"][result._host.get_name()] = res

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        path = os.environ.get("SFOPS_RECORD_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({"plays": self.plays, "stats": summary, "custom_stats": stats.custom}, handle, default=str)
