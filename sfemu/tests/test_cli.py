"""`sfemu` command line: serve (ready line, connections.json, SIGTERM, restart), stats, reset, --orgs 200."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import jwt

from conftest import VENV_BIN, start_subprocess, stop_subprocess

CONN_KEYS = {"alias", "org_id", "instance_url", "login_url", "username", "password", "client_id", "client_secret",
             "private_key_file", "ca_file"}


def test_serve_prints_one_ready_line_and_writes_connections(tmp_path):
    client = start_subprocess(tmp_path, orgs=2)
    try:
        assert re.fullmatch(r"sfemu ready https://127\.0\.0\.1:\d+\n", client.ready_line)
        conns = client.connections
        assert [c["alias"] for c in conns] == ["org1", "org2"]
        for c in conns:
            assert CONN_KEYS <= set(c)
            assert c["instance_url"] == c["login_url"] == client.url
            assert c["ca_file"] == str(tmp_path / "ca.pem")
            assert os.path.exists(c["private_key_file"])
            assert re.fullmatch(r"00D[0-9A-Za-z]{15}", c["org_id"])
        assert len({c["client_id"] for c in conns}) == 2
        assert oct(os.stat(tmp_path / "connections.json").st_mode & 0o777) == "0o600"  # it holds secrets
        # every documented login works from connections.json alone
        for c in conns:
            now = int(time.time())
            key = open(c["private_key_file"], "rb").read()
            a = jwt.encode({"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"], "exp": now + 120},
                           key, algorithm="RS256")
            r = client.token_request(grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=a)
            assert r.status_code == 200, r.text
            assert client.rest("GET", "limits/", token=r.json()["access_token"]).status_code == 200
        # stdout has nothing but the ready line (the harness reads it)
    finally:
        assert stop_subprocess(client) == 0
    assert client.proc.stdout.read() == ""


def test_sigterm_persists_and_restart_keeps_data_and_tokens(tmp_path):
    client = start_subprocess(tmp_path, orgs=1)
    try:
        tok = client.password_login()["access_token"]
        acc = client.rest("POST", "sobjects/Account/", token=tok, json={"Name": "Persisted"}).json()["id"]
        first_conns = client.connections
    finally:
        assert stop_subprocess(client) == 0
    client = start_subprocess(tmp_path, orgs=1)
    try:
        assert client.connections[0]["client_id"] == first_conns[0]["client_id"]
        assert client.connections[0]["refresh_token"] == first_conns[0]["refresh_token"]
        r = client.rest("GET", "sobjects/Account/" + acc, token=tok)
        assert r.status_code == 200 and r.json()["Name"] == "Persisted"
    finally:
        stop_subprocess(client)


def test_sigint_also_stops_cleanly(tmp_path):
    client = start_subprocess(tmp_path, orgs=1)
    client.proc.send_signal(signal.SIGINT)
    assert client.proc.wait(timeout=20) == 0


def test_stats_and_reset_commands(tmp_path):
    client = start_subprocess(tmp_path, orgs=1)
    try:
        tok = client.password_login()["access_token"]
        client.rest("GET", "limits/", token=tok)
        out = subprocess.run([str(VENV_BIN / "sfemu"), "stats", "--url", client.url, "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        stats = json.loads(out.stdout)
        assert stats["orgs"]["org1"]["api_requests"] == 1 and stats["orgs"]["org1"]["token_requests"] == 1
        out = subprocess.run([str(VENV_BIN / "sfemu"), "reset", "--url", client.url, "--ca-file",
                              str(tmp_path / "ca.pem")], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0
        assert client.rest("GET", "limits/", token=tok).status_code == 401
    finally:
        stop_subprocess(client)


def test_bad_arguments_fail_fast(tmp_path):
    r = subprocess.run([str(VENV_BIN / "sfemu"), "serve", "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--data-dir" in r.stderr
    r = subprocess.run([str(VENV_BIN / "sfemu"), "serve", "--port", "0", "--data-dir", str(tmp_path), "--orgs", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    r = subprocess.run([sys.executable, "-m", "sfemu", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "serve" in r.stdout


def test_cli_options_reach_the_server(tmp_path):
    client = start_subprocess(tmp_path, orgs=1, extra=["--daily-api-limit", "3", "--latency-ms", "100",
                                                       "--approve-uninstalled-apps-since", "68.0"])
    try:
        tok = client.password_login()["access_token"]
        t0 = time.monotonic()
        r = client.rest("GET", "limits/", token=tok)
        assert time.monotonic() - t0 >= 0.1
        assert r.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
        d67 = client.rest("GET", "/services/data/v67.0/sobjects/PermissionSet/describe/", token=tok).json()
        assert "PermissionsCanApproveUninstalledApps" not in {f["name"] for f in d67["fields"]}
    finally:
        stop_subprocess(client)


def test_200_orgs_start_quickly_and_restart_faster(tmp_path):
    t0 = time.monotonic()
    client = start_subprocess(tmp_path, orgs=200, timeout=300)
    first = time.monotonic() - t0
    try:
        assert len(client.connections) == 200
        assert len({c["org_id"] for c in client.connections}) == 200
        tok = client.password_login("org200")["access_token"]
        assert client.rest("GET", "limits/", token=tok).status_code == 200
    finally:
        stop_subprocess(client, timeout=120)
    t0 = time.monotonic()
    client = start_subprocess(tmp_path, orgs=200, timeout=300)
    again = time.monotonic() - t0
    stop_subprocess(client, timeout=120)
    print("200 orgs: first start %.1fs, restart %.1fs" % (first, again))
    # Generous bounds for a loaded CI box; typical: ~10 s first start, ~2 s restart.
    assert first < 120 and again < 30
