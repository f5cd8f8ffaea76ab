"""Fixtures for the HTTP-level tests: a real sfemu server (in-process on port 0, or as a `sfemu serve` subprocess),
HTTPS clients that trust its CA, and small helpers to log in and call REST.

Note on `requests`: when REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are set in the environment, requests lets them override
`Session.verify` (trust_env). The tests pass `verify=` explicitly, and the environment variables are removed for the
test session so that simple-salesforce (which uses a Session) verifies against the emulator's CA.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest
import requests

API = "67.0"
VENV_BIN = pathlib.Path(sys.executable).parent

for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)


class Client:
    """Test-side view of one running emulator: URL, CA, connections.json, and request helpers."""

    def __init__(self, url, data_dir, connections, server=None, proc=None):
        self.url = url
        self.data_dir = pathlib.Path(data_dir)
        self.ca = str(self.data_dir / "ca.pem")
        self.connections = connections
        self.server = server  # EmulatorServer when in-process
        self.proc = proc
        self.http = requests.Session()
        self.http.verify = self.ca
        self.http.trust_env = False
        self._tokens = {}
        self._lock = threading.Lock()

    def conn(self, alias="org1"):
        return next(c for c in self.connections if c["alias"] == alias)

    # raw helpers -------------------------------------------------------------------------------------------
    def request(self, method, path, token=None, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = "Bearer " + token
        url = path if path.startswith("http") else self.url + path
        kw.setdefault("timeout", 30)
        return self.http.request(method, url, headers=headers, **kw)

    def token_request(self, **form):
        return self.http.post(self.url + "/services/oauth2/token", data=form, timeout=30)

    def password_login(self, alias="org1"):
        c = self.conn(alias)
        r = self.token_request(grant_type="password", client_id=c["client_id"], client_secret=c["client_secret"],
                               username=c["username"], password=c["password"])
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, alias="org1", fresh=False):
        with self._lock:
            if fresh or alias not in self._tokens:
                self._tokens[alias] = self.password_login(alias)["access_token"]
            return self._tokens[alias]

    def forget_tokens(self):
        with self._lock:
            self._tokens.clear()

    def rest(self, method, path, alias="org1", token=None, **kw):
        """REST call relative to /services/data/vAPI/ unless path starts with '/'."""
        if not path.startswith("/"):
            path = "/services/data/v%s/%s" % (API, path)
        return self.request(method, path, token=token or self.token(alias), **kw)

    def query(self, soql, alias="org1", **kw):
        r = self.rest("GET", "query/", alias, params={"q": soql}, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def control(self, method, path, **kw):
        r = self.request(method, "/__sfemu/" + path.lstrip("/"), **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    def stats(self, alias="org1"):
        return self.control("GET", "stats")["orgs"][alias]

    def reset(self):
        self.control("POST", "reset")
        self.forget_tokens()


def start_inprocess(data_dir, orgs=3, **kw):
    from sfemu.cli import write_connections
    from sfemu.org import Emulator
    from sfemu.server import EmulatorServer

    # No fsync per save in tests (speed); persistence itself is still exercised (restart tests).
    settings = {"fsync": False, **(kw.pop("settings", None) or {})}
    emulator = Emulator(pathlib.Path(data_dir), orgs=orgs, settings=settings)
    server = EmulatorServer(emulator, data_dir, **kw).start()
    conns = write_connections(server, pathlib.Path(data_dir) / "connections.json")
    return Client(server.url, data_dir, conns, server=server)


def start_subprocess(data_dir, orgs=2, extra=(), timeout=120):
    args = [str(VENV_BIN / "sfemu"), "serve", "--port", "0", "--data-dir", str(data_dir), "--orgs", str(orgs),
            *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    first = proc.stdout.readline()
    if not first.startswith("sfemu ready ") or time.monotonic() > deadline:
        proc.kill()
        raise RuntimeError("sfemu did not start: %r %s" % (first, proc.stderr.read()))
    url = first.split()[2]
    conns = json.loads((pathlib.Path(data_dir) / "connections.json").read_text())
    client = Client(url, data_dir, conns, proc=proc)
    client.ready_line = first
    return client


def stop_subprocess(client, timeout=20):
    proc = client.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    """One in-process emulator (3 orgs) per test module."""
    client = start_inprocess(tmp_path_factory.mktemp("sfemu"), orgs=3)
    yield client
    client.server.shutdown()


@pytest.fixture
def clean(emu):
    """The module's emulator, reset to the seeded state, with no faults and zeroed counters."""
    emu.control("DELETE", "faults")
    emu.reset()
    yield emu
    emu.control("DELETE", "faults")


@pytest.fixture
def sf(clean):
    """simple-salesforce client on org1 that verifies the emulator's CA."""
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = clean.ca
    session.trust_env = False
    return Salesforce(instance_url=clean.url, session_id=clean.token("org1"), session=session, version=API)
