"""Certificates for the emulator: a local CA, the HTTPS server certificate, and per-org JWT bearer key pairs.

Why a CA and not one self-signed server certificate: clients are tested with certificate validation ON
(``validate_certs: true`` + ``ca_path``, ``requests(verify=ca.pem)``), exactly as against a real org. Trusting one
stable CA file lets the server certificate be re-issued (new host names, expiry) without reconfiguring clients.

Cost: the CA and server keys are ECDSA P-256 (generation < 1 ms; every TLS stack in use here supports it). JWT
bearer keys must be RSA because Salesforce's JWT bearer flow signs with RS256
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm, "Sign the JWT with RSA SHA256");
RSA 2048 generation costs ~50-150 ms, so ``ensure_jwt_keypair`` is meant to be called lazily (first time an org's
connected app certificate is needed), or for many orgs at once with ``ensure_jwt_keypairs`` (parallel threads), and
the result is reused from disk on every later start: 200 orgs cost ~12-18 s once on 2 cores, then ~35 ms per start.

Every private key is written atomically with mode 0600 and never logged or returned as text (paths only).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import pathlib
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ensure_ca_and_server_cert", "ensure_jwt_keypair", "ensure_jwt_keypairs", "load_public_key_from_cert"]

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"

DEFAULT_HOSTNAMES = ("localhost",)
DEFAULT_IPS = ("127.0.0.1",)

_CA_DAYS = 3650
_LEAF_DAYS = 825  # the longest validity Apple/Chrome accept for TLS leaf certificates; harmless here
_RENEW_BEFORE = _dt.timedelta(days=30)

# One lock per set of files: threads asking for the same files wait for one generation, while different orgs' keys
# can be generated in parallel (OpenSSL releases the GIL during RSA generation: ~2x faster on 2 cores).
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path) -> threading.Lock:
    key = os.path.abspath(str(path))
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _write_atomic(path: pathlib.Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` with ``mode`` from the first byte on (no window where a key is world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: pathlib.Path):
    try:
        # Skipping RSA's consistency check (~50 ms per key) is safe: we only reload keys we wrote ourselves
        # (0600 files) and still compare the public half with the certificate before reuse.
        return serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (OSError, ValueError, TypeError):
        return None


def _load_cert(path: pathlib.Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _not_after(cert: x509.Certificate) -> _dt.datetime:
    return cert.not_valid_after_utc


def _fresh(cert: x509.Certificate) -> bool:
    now = _now()
    return cert.not_valid_before_utc <= now and _not_after(cert) - _RENEW_BEFORE > now


def _same_public_key(cert: x509.Certificate, key) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    if cert.issuer != ca_cert.subject:
        return False
    pub = ca_cert.public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _new_ca(data_dir: pathlib.Path) -> tuple[x509.Certificate, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    # A distinct subject per data dir (serial-derived) so two emulator data dirs never produce look-alike CAs.
    serial = x509.random_serial_number()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfemu"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"sfemu local CA {serial % 10**8:08d}"),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=_CA_DAYS))
        # Python >= 3.13 sets VERIFY_X509_STRICT by default: a CA needs critical basicConstraints, keyUsage and
        # SKI/AKI, otherwise clients reject the chain.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomic(data_dir / CA_KEY, _key_pem(key), 0o600)
    _write_atomic(data_dir / CA_CERT, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _server_ok(cert, key, ca_cert, dns_names, ips) -> bool:
    if cert is None or key is None or not _fresh(cert) or not _same_public_key(cert, key):
        return False
    if not _signed_by(cert, ca_cert):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    return {n.lower() for n in dns_names} <= have_dns and {ipaddress.ip_address(i) for i in ips} <= have_ips


def _new_server_cert(data_dir, ca_cert, ca_key, dns_names, ips) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    san = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else ips[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    # Key first: a reader that sees the new certificate must also find its key.
    _write_atomic(data_dir / SERVER_KEY, _key_pem(key), 0o600)
    _write_atomic(data_dir / SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_ca_and_server_cert(
    data_dir, hostnames=(), ip_addresses=()
) -> tuple[str, str, str]:
    """Create (once) or reuse the local CA and the server certificate under ``data_dir``.

    Returns ``(ca_pem_path, server_cert_path, server_key_path)``. The server certificate always covers
    ``localhost`` and ``127.0.0.1``, plus any extra ``hostnames`` / ``ip_addresses`` asked for; it is re-issued by the
    same CA when it is missing, near expiry, not signed by the current CA, or lacks a requested name. The CA is
    re-created only when missing, unreadable or near expiry (clients then need the new ``ca.pem``).
    """
    data_dir = pathlib.Path(data_dir)
    dns_names = list(dict.fromkeys([*DEFAULT_HOSTNAMES, *hostnames]))
    ips = list(dict.fromkeys([*DEFAULT_IPS, *ip_addresses]))
    for ip in ips:
        ipaddress.ip_address(ip)  # ValueError with a clear message for a bad address
    with _lock_for(data_dir / CA_CERT):
        data_dir.mkdir(parents=True, exist_ok=True)
        ca_cert = _load_cert(data_dir / CA_CERT)
        ca_key = _load_key(data_dir / CA_KEY)
        if ca_cert is None or ca_key is None or not _fresh(ca_cert) or not _same_public_key(ca_cert, ca_key):
            ca_cert, ca_key = _new_ca(data_dir)
        if not _server_ok(
            _load_cert(data_dir / SERVER_CERT), _load_key(data_dir / SERVER_KEY), ca_cert, dns_names, ips
        ):
            _new_server_cert(data_dir, ca_cert, ca_key, dns_names, ips)
    return str(data_dir / CA_CERT), str(data_dir / SERVER_CERT), str(data_dir / SERVER_KEY)


def ensure_jwt_keypair(path_prefix, common_name: str = "sfemu jwt") -> tuple[str, str]:
    """Create (once) or reuse an RSA 2048 key and self-signed certificate for the OAuth 2.0 JWT bearer flow.

    Files: ``<path_prefix>.key`` (PKCS#8 PEM, mode 0600) and ``<path_prefix>.crt``. Returns
    ``(private_key_pem_path, certificate_pem_str)``: the certificate is what gets uploaded to the connected app
    ("Use digital signatures"); the key stays a path so callers never carry key material in memory dumps or logs.
    """
    prefix = pathlib.Path(path_prefix)
    key_path = prefix.parent / (prefix.name + ".key")
    crt_path = prefix.parent / (prefix.name + ".crt")
    with _lock_for(key_path):
        key = _load_key(key_path)
        cert = _load_cert(crt_path)
        if (
            key is not None
            and cert is not None
            and isinstance(key, rsa.RSAPrivateKey)
            and _fresh(cert)
            and _same_public_key(cert, key)
        ):
            return str(key_path), cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            # Salesforce accepts self-signed certificates for connected apps; long validity keeps test data stable.
            .not_valid_after(now + _dt.timedelta(days=_CA_DAYS))
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM)
        _write_atomic(key_path, _key_pem(key), 0o600)
        _write_atomic(crt_path, pem, 0o644)
        return str(key_path), pem.decode("ascii")


def ensure_jwt_keypairs(path_prefixes, common_names=None, max_workers: int | None = None) -> list[tuple[str, str]]:
    """``ensure_jwt_keypair`` for many orgs at once, generating missing keys in parallel threads.

    Returns the ``(private_key_pem_path, certificate_pem_str)`` pairs in input order. Reuse costs ~0.2 ms per org;
    first generation ~60-90 ms per key divided by the number of cores.
    """
    prefixes = list(path_prefixes)
    names = list(common_names) if common_names is not None else ["sfemu jwt"] * len(prefixes)
    if len(names) != len(prefixes):
        raise ValueError("common_names must have one entry per path prefix")
    workers = max_workers or min(8, os.cpu_count() or 1)
    if workers <= 1 or len(prefixes) <= 1:
        return [ensure_jwt_keypair(p, n) for p, n in zip(prefixes, names)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sfemu-jwt-keys") as pool:
        return list(pool.map(ensure_jwt_keypair, prefixes, names))


def load_public_key_from_cert(pem):
    """Public key object of a PEM certificate (``str`` or ``bytes``), usable as PyJWT's verification key.

    Raises ``ValueError`` with a readable message when ``pem`` is not a PEM certificate.
    """
    if isinstance(pem, str):
        pem = pem.encode("ascii", "replace")
    if not isinstance(pem, (bytes, bytearray)):
        raise ValueError("certificate must be PEM text (str or bytes)")
    try:
        return x509.load_pem_x509_certificate(bytes(pem)).public_key()
    except ValueError as exc:
        raise ValueError(
            "not a PEM certificate: expected text starting with '-----BEGIN CERTIFICATE-----'"
        ) from exc
