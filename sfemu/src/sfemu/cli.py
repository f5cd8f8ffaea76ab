"""`sfemu` command line: `serve` runs the emulator; `stats` and `reset` talk to a running one (control API).

    sfemu serve --port 0 --data-dir DIR [--orgs N] [--latency-ms MS] [--approve-uninstalled-apps-since 67.0]
                [--daily-api-limit 15000] [--session-timeout SECONDS] [--access-log]
    sfemu stats --url https://127.0.0.1:PORT [--data-dir DIR | --ca-file ca.pem]
    sfemu reset --url https://127.0.0.1:PORT [--data-dir DIR | --ca-file ca.pem]

When the server listens it prints exactly one line ``sfemu ready https://127.0.0.1:PORT`` on stdout (flushed) and has
written ``DIR/connections.json`` (one object per org, see README). SIGTERM/SIGINT stop it cleanly: state persisted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request


def _parser():
    from sfemu.schema import DEFAULT_SETTINGS  # noqa: PLC0415 - like main(): importing sfemu.cli loads no catalogue

    p = argparse.ArgumentParser(prog="sfemu", description="Local Salesforce org emulator")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the emulator (HTTPS on 127.0.0.1)")
    s.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    s.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    s.add_argument("--data-dir", required=True, type=pathlib.Path, help="state, CA, keys, connections.json")
    s.add_argument("--orgs", type=int, default=1, help="number of orgs (aliases org1..orgN, default 1)")
    s.add_argument("--latency-ms", type=int, default=0, help="sleep this long on every API/token request")
    s.add_argument("--approve-uninstalled-apps-since", default=None, metavar="VERSION",
                   help="API version from which PermissionsCanApproveUninstalledApps exists (default "
                        f"{DEFAULT_SETTINGS['approve_uninstalled_apps_since']}, the collection's INTRODUCED_IN)")
    s.add_argument("--daily-api-limit", type=int, default=15000, help="DailyApiRequests Max (default 15000)")
    s.add_argument("--session-timeout", type=int, default=7200,
                   help="access token lifetime in seconds without activity (default 7200 = 2 hours)")
    s.add_argument("--access-log", action="store_true", help="log method, path (no query), status, ms to stderr")
    s.add_argument("--jwt-keys", type=int, default=8, metavar="N",
                   help="distinct JWT key pairs to generate (orgs beyond N reuse them round-robin; default 8)")
    s.add_argument("--fsync", action="store_true",
                   help="fsync every state write (power-loss safety; writes are atomic renames either way)")
    for name in ("stats", "reset"):
        c = sub.add_parser(name, help="%s of a running emulator (control API)" % name)
        c.add_argument("--url", required=True, help="https://127.0.0.1:PORT")
        c.add_argument("--data-dir", type=pathlib.Path, help="read the CA from DIR/ca.pem")
        c.add_argument("--ca-file", help="CA bundle to verify the emulator's certificate")
    return p


def write_connections(server, path):
    """DIR/connections.json: one object per org (README "connections.json"). Contains secrets: mode 0600."""
    app = server.app
    out = []
    for alias, org in app.emulator.orgs.items():
        info = app.oauth.connection_info(org)
        out.append({
            "alias": alias,
            "org_id": org.org_id,
            "instance_url": server.url,
            "login_url": server.url,
            "username": info["username"],
            "password": info["password"],
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "private_key_file": info["private_key_file"],
            "refresh_token": info["refresh_token"],
            "ca_file": server.ca_file,
        })
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(out, fh, indent=2)
    os.replace(tmp, path)
    return out


def serve(args):
    from sfemu.org import Emulator  # noqa: PLC0415
    from sfemu.server import EmulatorServer  # noqa: PLC0415

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="sfemu %(levelname)s %(name)s: %(message)s")
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = {"fsync": bool(args.fsync)}
    if args.approve_uninstalled_apps_since:
        settings["approve_uninstalled_apps_since"] = args.approve_uninstalled_apps_since
    if args.orgs < 1:
        print("sfemu: --orgs must be at least 1", file=sys.stderr)
        return 2
    started = time.monotonic()
    emulator = Emulator(data_dir, orgs=args.orgs, settings=settings)
    server = EmulatorServer(emulator, data_dir, host=args.host, port=args.port, latency_ms=args.latency_ms,
                            daily_api_limit=args.daily_api_limit, session_timeout=args.session_timeout,
                            access_log=args.access_log, jwt_key_count=args.jwt_keys)
    write_connections(server, data_dir / "connections.json")
    stop = threading.Event()

    def _stop(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    print("sfemu ready %s" % server.url, flush=True)
    print("sfemu: %d org(s), data in %s, started in %.1fs" % (len(emulator.orgs), data_dir,
                                                               time.monotonic() - started), file=sys.stderr,
          flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    print("sfemu: stopped, state saved", file=sys.stderr, flush=True)
    return 0


def _control(args, method, path):
    ctx = ssl.create_default_context()
    ca = args.ca_file or (str(args.data_dir / "ca.pem") if args.data_dir else None)
    if ca:
        ctx.load_verify_locations(ca)
    req = urllib.request.Request(args.url.rstrip("/") + "/__sfemu/" + path, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return json.loads(resp.read() or b"null")
    except (urllib.error.URLError, OSError) as exc:
        print("sfemu: %s" % exc, file=sys.stderr)
        return None


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.cmd == "serve":
        return serve(args)
    if args.cmd == "stats":
        data = _control(args, "GET", "stats")
        if data is None:
            return 1
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    if args.cmd == "reset":
        data = _control(args, "POST", "reset")
        if data is None:
            return 1
        print("reset done")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
