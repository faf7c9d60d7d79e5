"""Real loopback servers for the auth, notify and integrations tests: an OAuth token endpoint, a
webhook receiver and an SMTP sink (aiosmtpd), each on 127.0.0.1 and a free port."""

from __future__ import annotations

import abc
import base64
import datetime as dt
import ipaddress
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from runtime.process.embedded import free_port


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        status, body = self.server.owner.handle(self.command, self.path, dict(self.headers), raw)
        self._answer(status, body)

    do_GET = do_HEAD = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HTTPStub


class HTTPStub(abc.ABC):
    """A ThreadingHTTPServer on 127.0.0.1 in a thread; subclasses answer `handle`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @abc.abstractmethod
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
        """One request -> (status, JSON body); runs on the server's thread."""

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class TokenServer(HTTPStub):
    """An OAuth 2.0 token endpoint that checks the refresh-token grant (RFC 6749 section 6).

    `grants` maps each valid refresh token to its client; `clients` holds client secrets. With
    `rotate`, a used refresh token is replaced by a new one. `script[refresh_token]` lists
    failures to answer first (an HTTP status, or 'invalid_grant'); `down` answers 500 always.
    """

    def __init__(self, clients: dict[str, str]) -> None:
        super().__init__()
        self.token_url = self.url + "/token"
        self.clients = clients
        self.grants: dict[str, str] = {}
        self.rotate = False
        self.down = False
        self.expires_in: Any = 3600
        self.script: dict[str, deque[Any]] = {}
        self.issued = 0

    def attempts(self, refresh_token: str) -> int:
        return sum(1 for r in self.requests if r["form"].get("refresh_token") == refresh_token)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "form": form})
            return self._grant(method, path, headers, form)

    def _grant(self, method: str, path: str, headers: dict[str, str], form: dict[str, str]) -> Any:
        if method != "POST" or path != "/token":
            return 404, {"error": "not_found"}
        if headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request", "error_description": "form expected"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        client = self._client(headers, form)
        if client is None:
            return 401, {"error": "invalid_client"}
        token = form.get("refresh_token", "")
        step = self.script.get(token, deque()).popleft() if self.script.get(token) else None
        if self.down or isinstance(step, int):
            return step or 500, {"error": "server_error"}
        if step == "invalid_grant" or self.grants.get(token) != client:
            return 400, {"error": "invalid_grant", "error_description": "token revoked"}
        self.issued += 1
        body = {"access_token": f"at-{self.issued}", "token_type": "Bearer",
                "expires_in": self.expires_in}
        if self.rotate:
            del self.grants[token]
            body["refresh_token"] = f"{token}.r{self.issued}"
            self.grants[body["refresh_token"]] = client
        return 200, body

    def _client(self, headers: dict[str, str], form: dict[str, str]) -> str | None:
        """Client authentication: HTTP Basic (form-encoded parts) or client_secret in the body."""
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            pair = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = (unquote_plus(part) for part in pair.partition(":"))
            if "client_secret" in form:  # RFC 6749 2.3: one method per request
                return None
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id if self.clients.get(client_id) == secret else None


class WebhookReceiver(HTTPStub):
    """Records every JSON POST; answers statuses from `script` first, then `status`."""

    def __init__(self) -> None:
        super().__init__()
        self.script: deque[int] = deque()
        self.status = 200

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
        with self.lock:
            status = self.script.popleft() if self.script else self.status
            self.requests.append({"method": method, "path": path, "headers": headers,
                                  "json": json.loads(raw) if raw else None, "status": status})
        return status, {"ok": status < 300}

    @property
    def delivered(self) -> list[Any]:
        return [r["json"] for r in self.requests if r["status"] < 300 and r["method"] == "POST"]


@dataclass
class MailSink:
    """aiosmtpd handler: keeps the messages it accepted; `script` holds SMTP replies to give to
    the next DATA commands instead (e.g. '451 4.3.0 try again later')."""

    messages: list[Any] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    attempts: int = 0
    port: int = 0  # set by smtp_server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.script:
            return self.script.popleft()
        self.messages.append(envelope)
        return "250 OK"


def smtp_server(handler: MailSink, **options: Any) -> Controller:
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, **options)
    controller.start()
    return controller


def password_check(username: str, password: str) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            username.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535
    return authenticate


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, written to `directory`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def served(stub: HTTPStub) -> Iterator[Any]:
    try:
        yield stub
    finally:
        stub.close()
