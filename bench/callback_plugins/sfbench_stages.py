# Not shipped: bench/ only. Enabled by bench/profile_run.py --stages.
"""Where a run's CPU goes, per task, measured inside each forked worker (py-spy misses most short-lived workers).

Each worker writes one line when its task is done: the task, its CPU since the fork (user + sys of the worker,
whose counters start at zero at fork), the CPU of argument templating (``Task.post_validate``) and its minor page
faults (copy-on-write of the controller's memory). At the end of the run the controller's own CPU, its reaped
children's and its minor faults are written too. Output: ``$SFBENCH_STAGES_OUT.workers`` and ``.controller``
(JSON lines).

Only when enabled (``ANSIBLE_CALLBACKS_ENABLED=sfbench_stages``): the patch of the worker's entry point is made in
the callback's constructor, never at import, because Ansible imports every callback in this directory.
"""
from __future__ import annotations

DOCUMENTATION = """
name: sfbench_stages
type: aggregate
short_description: CPU per worker and task stage (bench only)
description: CPU per worker and task stage, for bench/profile_run.py --stages.
"""

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase


def _patch(out):
    from ansible.executor.process import worker
    from ansible.playbook import task as task_mod

    if getattr(worker.WorkerProcess, "_sfbench_stages", False):
        return
    templating = [0.0]
    post_validate = task_mod.Task.post_validate

    def timed_post_validate(self, *args, **kwargs):
        start = time.process_time()
        try:
            return post_validate(self, *args, **kwargs)
        finally:
            templating[0] += time.process_time() - start

    run = worker.WorkerProcess._run

    def timed_run(self):
        templating[0] = 0.0
        try:
            return run(self)
        finally:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            line = {"task": self._task.get_name(), "host": self._host.get_name(), "cpu_s": time.process_time(),
                    "user_s": usage.ru_utime, "sys_s": usage.ru_stime, "templating_s": templating[0],
                    "minflt": usage.ru_minflt}
            with open(out + ".workers", "a") as fh:
                fh.write(json.dumps(line) + "\n")

    task_mod.Task.post_validate = timed_post_validate
    worker.WorkerProcess._run = timed_run
    worker.WorkerProcess._sfbench_stages = True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sfbench_stages"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._out = os.environ["SFBENCH_STAGES_OUT"]
        _patch(self._out)

    def v2_playbook_on_stats(self, stats):
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        line = {"user_s": own.ru_utime, "sys_s": own.ru_stime, "minflt": own.ru_minflt,
                "children_user_s": kids.ru_utime, "children_sys_s": kids.ru_stime, "max_rss_mb": own.ru_maxrss / 1024}
        with open(self._out + ".controller", "w") as fh:
            fh.write(json.dumps(line) + "\n")
