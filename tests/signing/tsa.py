"""A local RFC 3161 timestamp authority for tests.

A real HTTP server on 127.0.0.1 (a free port) in a thread: it answers ``application/timestamp-query``
POSTs with ``application/timestamp-reply`` tokens signed by its own TSA certificate (RSA, extended key
usage timeStamping, critical), issued by its own test CA, which also publishes a CRL. pyHanko's
``DummyTimeStamper`` builds and signs the tokens; everything around it is plain RFC 3161 over HTTP.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

from ecabinet import pki

DER = serialization.Encoding.DER


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(DER))


class LocalTsa:
    """``with LocalTsa() as tsa:`` serves on ``tsa.url``; ``tsa.ca_cert`` is its root, ``tsa.crl`` its CA's CRL."""

    def __init__(self) -> None:
        self.ca_key, self.ca_cert = pki.create_ca("e-Cabinet TEST TSA CA")
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e-Cabinet TEST TSA")]))
            .issuer_name(self.ca_cert.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_cert.public_key()), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.crl = pki.issue_crl(self.ca_key, self.ca_cert)
        self.requests = 0
        signing_key = asn1_keys.PrivateKeyInfo.load(
            self.key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        self._stamper = DummyTimeStamper(
            tsa_cert=_asn1(self.cert), tsa_key=signing_key, certs_to_embed=[_asn1(self.ca_cert)]
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-tsa", daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415, "expected application/timestamp-query")
                    return
                try:
                    request = tsp.TimeStampReq.load(body)
                    request.native  # parses the whole request, so garbage fails here
                except ValueError:
                    self.send_error(400, "not a TimeStampReq")
                    return
                tsa.requests += 1
                reply = tsa._stamper.request_tsa_response(request).dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format, *args) -> None:
                pass  # keep the test output quiet

        return Handler

    def start(self) -> LocalTsa:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LocalTsa:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def unused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a TSA that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
