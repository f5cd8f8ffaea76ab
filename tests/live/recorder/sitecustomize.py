"""Record every HTTP exchange made through `requests` in this process, unscrubbed, for tests/live/scrub.py.

Only active when SFOPS_LIVE_RECORD_RAW_DIR is set. The live suite puts this directory first on PYTHONPATH, so every
Python process it starts imports this file at startup (site.py imports `sitecustomize`): ansible-playbook, its
forked workers (where the modules run in-process, plugins/plugin_utils/in_process.py) and module processes alike.
The pytest process installs the same hook through `install()`.

Why a transport hook and not a recording proxy: the JWT assertion's audience is the login URL (auth.py), so the
login cannot be pointed at a local forwarder without the real org refusing it, and a TLS-intercepting proxy would
need its own CA in the modules' trust store. `HTTPAdapter.send` sees every request of every `requests.Session`
(REST, token and SOAP calls) without any change to the collection's code.

The raw files hold tokens: they are written to a private temporary directory (mode 0700, made by the suite) and
deleted once scrub.py has turned them into fixtures.
"""

import itertools
import json
import os
import sys
import time

RAW_DIR_VARIABLE = "SFOPS_LIVE_RECORD_RAW_DIR"
STEP_VARIABLE = "SFOPS_LIVE_RECORD_STEP"
_sequence = itertools.count()


def _text(data):
    if data is None:
        return None
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    if isinstance(data, str):
        return data
    return "<unrecorded %s body>" % type(data).__name__  # a generator or file: nothing here streams uploads


def _write(raw_dir, started, request, response, error):
    record = {
        "started_ns": started,
        "pid": os.getpid(),
        "step": os.environ.get(STEP_VARIABLE, "unnamed"),
        "request": {"method": request.method, "url": request.url, "headers": dict(request.headers),
                    "body": _text(request.body)},
    }
    if response is not None:
        record["response"] = {"status": response.status_code, "reason": response.reason,
                              "headers": dict(response.headers), "body": _text(response.content)}
    else:
        record["error"] = error
    name = "%020d-%d-%d.json" % (started, os.getpid(), next(_sequence))
    with open(os.path.join(raw_dir, name + ".tmp"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(os.path.join(raw_dir, name + ".tmp"), os.path.join(raw_dir, name))


def install(raw_dir):
    """Wrap `requests.adapters.HTTPAdapter.send` once; each exchange becomes one JSON file in raw_dir."""
    import requests.adapters  # pylint: disable=import-outside-toplevel

    original = requests.adapters.HTTPAdapter.send
    if getattr(original, "_sfops_recording", False):
        return

    def send(self, request, *args, **kwargs):
        started = time.time_ns()
        try:
            response = original(self, request, *args, **kwargs)
        except Exception as exc:
            _safe_write(raw_dir, started, request, None, type(exc).__name__)
            raise
        _safe_write(raw_dir, started, request, response, None)
        return response

    send._sfops_recording = True
    requests.adapters.HTTPAdapter.send = send


def _safe_write(raw_dir, started, request, response, error):
    # A recorder must never change the run it records; a file it could not write is reported by scrub.py, which
    # refuses to produce fixtures with a gap.
    try:
        _write(raw_dir, started, request, response, error)
    except Exception as exc:  # pylint: disable=broad-except
        try:
            with open(os.path.join(raw_dir, "%020d-%d.failed" % (started, os.getpid())), "w") as handle:
                handle.write(type(exc).__name__)
        except OSError:
            sys.stderr.write("sfops live recorder: cannot write to %s\n" % raw_dir)


if os.environ.get(RAW_DIR_VARIABLE):
    install(os.environ[RAW_DIR_VARIABLE])
