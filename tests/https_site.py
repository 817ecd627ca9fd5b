"""A local HTTPS file server on loopback with a certificate made for the test (trusted via SSL_CERT_FILE)."""
from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(slots=True)
class Reply:
    """What the site answers for one path: a status, a body (bytes, or a function for streaming) and headers."""

    body: bytes | Callable[[], list[bytes]] = b''
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {'Content-Type': 'application/octet-stream'})


class HttpsSite:
    """Serves `replies` by path at https://127.0.0.1:<port> and https://localhost:<port>; remembers each request's
    path and Authorization header."""

    def __init__(self, folder: Path, replies: dict[str, Reply]) -> None:
        self.cert_file = folder / 'site-cert.pem'
        key_file = folder / 'site-key.pem'
        write_certificate(self.cert_file, key_file)
        self.requests: list[tuple[str, str | None]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, self.headers.get('Authorization')))
                reply = replies.get(self.path, Reply(b'not found', 404, {'Content-Type': 'text/plain'}))
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if callable(reply.body):  # streamed without a length
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    for chunk in reply.body():
                        self.wfile.write(f'{len(chunk):x}\r\n'.encode() + chunk + b'\r\n')
                    self.wfile.write(b'0\r\n\r\n')
                    return
                self.send_header('Content-Length', reply.headers.get('Content-Length', str(len(reply.body))))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name='https-site', daemon=True)

    def url(self, path: str, host: str = '127.0.0.1') -> str:
        return f'https://{host}:{self.port}{path}'

    def __enter__(self) -> HttpsSite:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_certificate(cert_file: Path, key_file: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'dreamstage test site')])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                               x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
