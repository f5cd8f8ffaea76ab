"""Tests for sfemu.tls: a real ssl server, real requests with verification on, real JWT signatures."""

import http.server
import os
import ssl
import stat
import threading
import time

import jwt
import pytest
import requests
from cryptography import x509

from sfemu import tls


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def tls_server(tmp_path):
    ca, cert, key = tls.ensure_ca_and_server_cert(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield ca, httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_requests_verifies_server_with_ca(tls_server, host):
    ca, port = tls_server
    r = requests.get(f"https://{host}:{port}/", verify=ca, timeout=5)
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_default_trust_rejects_server(tls_server):
    # The CA is ours: without verify=ca.pem validation must fail (the test would be pointless otherwise).
    _, port = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{port}/", timeout=5)


def test_python_ssl_client_strict(tls_server):
    # Python's own client with default (strict on 3.13+) verification and hostname checking.
    ca, port = tls_server
    ctx = ssl.create_default_context(cafile=ca)
    if hasattr(ssl, "VERIFY_X509_STRICT"):
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    import http.client

    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=5)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()


def test_files_modes_and_sans(tmp_path):
    ca, cert, key = tls.ensure_ca_and_server_cert(tmp_path / "d")
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "ca.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    c = x509.load_pem_x509_certificate(open(cert, "rb").read())
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    ca_cert = x509.load_pem_x509_certificate(open(ca, "rb").read())
    assert c.issuer == ca_cert.subject
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_reuse_on_restart(tmp_path):
    paths = tls.ensure_ca_and_server_cert(tmp_path)
    before = [open(p, "rb").read() for p in paths]
    t0 = time.thread_time()
    again = tls.ensure_ca_and_server_cert(tmp_path)
    elapsed = time.thread_time() - t0
    assert again == paths
    assert [open(p, "rb").read() for p in again] == before
    assert elapsed < 0.1  # thread CPU time: loading and checking, no key generation


def test_server_cert_reissued_for_new_hostname_same_ca(tmp_path):
    ca, cert, _ = tls.ensure_ca_and_server_cert(tmp_path)
    ca_before, cert_before = open(ca, "rb").read(), open(cert, "rb").read()
    tls.ensure_ca_and_server_cert(tmp_path, hostnames=["org1.sfemu.localhost"])
    assert open(ca, "rb").read() == ca_before
    assert open(cert, "rb").read() != cert_before
    c = x509.load_pem_x509_certificate(open(cert, "rb").read())
    names = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert set(names) == {"localhost", "org1.sfemu.localhost"}


def test_corrupt_server_key_regenerated(tmp_path):
    ca, cert, key = tls.ensure_ca_and_server_cert(tmp_path)
    open(key, "w").write("garbage")
    tls.ensure_ca_and_server_cert(tmp_path)
    # the new pair must match: ssl refuses a mismatched cert/key
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)


def test_missing_ca_key_regenerates_everything(tmp_path):
    ca, cert, key = tls.ensure_ca_and_server_cert(tmp_path)
    ca_before = open(ca, "rb").read()
    os.unlink(tmp_path / "ca.key")
    tls.ensure_ca_and_server_cert(tmp_path)
    assert open(ca, "rb").read() != ca_before
    c = x509.load_pem_x509_certificate(open(cert, "rb").read())
    assert c.issuer == x509.load_pem_x509_certificate(open(ca, "rb").read()).subject


def test_bad_ip_rejected(tmp_path):
    with pytest.raises(ValueError):
        tls.ensure_ca_and_server_cert(tmp_path, ip_addresses=["not-an-ip"])


def test_jwt_keypair_sign_and_verify(tmp_path):
    key_path, cert_pem = tls.ensure_jwt_keypair(tmp_path / "orgs" / "org1" / "jwt")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert cert_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in cert_pem
    pub = tls.load_public_key_from_cert(cert_pem)
    assert pub.key_size == 2048
    claims = {"iss": "client", "sub": "admin@org1.sfemu.example", "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180}
    token = jwt.encode(claims, open(key_path, "rb").read(), algorithm="RS256")
    assert jwt.decode(token, pub, algorithms=["RS256"], audience="https://login.salesforce.com")["sub"] == claims["sub"]
    # a different key pair must not verify
    _, other = tls.ensure_jwt_keypair(tmp_path / "other")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, tls.load_public_key_from_cert(other.encode()), algorithms=["RS256"], audience=claims["aud"])


def test_jwt_keypair_reused(tmp_path):
    k1, c1 = tls.ensure_jwt_keypair(tmp_path / "jwt")
    key_bytes = open(k1, "rb").read()
    t0 = time.thread_time()
    k2, c2 = tls.ensure_jwt_keypair(tmp_path / "jwt")
    # CPU time (not wall time, which depends on machine load): regenerating an RSA key costs ~50-150 ms
    assert time.thread_time() - t0 < 0.03
    assert (k1, c1) == (k2, c2)
    assert open(k2, "rb").read() == key_bytes


@pytest.mark.parametrize("bad", ["", "hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None, 3])
def test_load_public_key_from_cert_rejects(bad):
    with pytest.raises(ValueError, match="PEM"):
        tls.load_public_key_from_cert(bad)


def test_jwt_keypairs_batch_parallel_and_reused(tmp_path):
    prefixes = [tmp_path / f"org{i}" for i in range(4)]
    pairs = tls.ensure_jwt_keypairs(prefixes, [f"sfemu org{i}" for i in range(4)], max_workers=4)
    assert len(pairs) == 4
    assert len({cert for _, cert in pairs}) == 4  # distinct keys
    for (key_path, cert_pem), prefix in zip(pairs, prefixes):
        assert key_path == str(prefix) + ".key"
        pub = tls.load_public_key_from_cert(cert_pem)
        token = jwt.encode({"sub": "x"}, open(key_path, "rb").read(), algorithm="RS256")
        assert jwt.decode(token, pub, algorithms=["RS256"])["sub"] == "x"
    assert tls.ensure_jwt_keypairs(prefixes, [f"sfemu org{i}" for i in range(4)]) == pairs


def test_same_keypair_requested_concurrently_is_generated_once(tmp_path):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tls.ensure_jwt_keypair(tmp_path / "shared"), range(4)))
    assert len(set(results)) == 1


def test_jwt_keypairs_rejects_mismatched_names(tmp_path):
    with pytest.raises(ValueError):
        tls.ensure_jwt_keypairs([tmp_path / "a", tmp_path / "b"], ["one"])
