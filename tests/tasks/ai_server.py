"""A fake OpenAI-compatible chat completions server on 127.0.0.1 for the AI provider tests."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A scripted answer: (HTTP status, body). A str or bytes body is sent as is (garbage included);
# anything else is sent as JSON.
Answer = tuple[int, Any]


def completion(content: Any, model: str = "fake-model") -> dict[str, Any]:
    """A chat completion response whose assistant message is `content` (dicts are JSON-encoded,
    as a model in JSON mode returns them)."""
    text = json.dumps(content) if isinstance(content, dict | list) else content
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class FakeOpenAI:
    """Records every request; answers from `script` first, then from `reply(request)`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: deque[Answer] = deque()
        self.reply: Callable[[dict[str, Any]], Answer] = lambda request: (
            200, completion("A reply."))
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = {"path": self.path, "headers": dict(self.headers),
                           "json": json.loads(raw) if raw else None}
                with owner.lock:
                    owner.requests.append(request)
                    scripted = owner.script.popleft() if owner.script else None
                status, body = scripted or owner.reply(request)
                data = body if isinstance(body, bytes) else (
                    body.encode() if isinstance(body, str) else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)

    def calls(self, path: str = "/v1/chat/completions") -> int:
        return sum(1 for r in self.requests if r["path"] == path)

    @contextmanager
    def running(self) -> Iterator[FakeOpenAI]:
        self.thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
