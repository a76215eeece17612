"""A fault-injecting HTTP proxy in front of a real OpenAI-compatible server, for tests/llm_e2e.py.

It forwards every request to the upstream server unchanged, counts them, and, when told to, answers
some of them itself with a fault instead:

  "429"        429 Too Many Requests with `Retry-After: 1`
  "500"        500 Internal Server Error
  "400"        400 Bad Request (a client error: must not be retried)
  "echo-auth"  400 whose body echoes the request's Authorization header (a leaky server)
  "drop"       closes the connection without answering
  "slow"       waits `slow_seconds` before forwarding (to outlast the client's timeout)
  "badjson"    200 with a body that is not JSON

`faults` are consumed one per chat request, in order; `sticky` applies to every chat request until
cleared. `models_rewrite`, when set, is applied to the upstream's JSON reply to `GET …/models` before
it is passed on (to make a one-model server list several, or none). The proxy only ever listens on
127.0.0.1. Use it in-process:

    proxy = FaultProxy(upstream_port); proxy.start(); ... proxy.port; proxy.stats(); proxy.stop()
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy = self.server.proxy
        chat = self.path.endswith("/chat/completions")
        models = method == "GET" and self.path.endswith("/models")
        fault = proxy._next_fault() if chat else None
        with proxy.lock:
            proxy.requests += 1
            if chat:
                proxy.chat_requests += 1
            if models:
                proxy.model_requests += 1
            auth = self.headers.get("Authorization")
            if auth:
                proxy.auth_seen.add(auth)
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault == "slow":
            time.sleep(proxy.slow_seconds)
        if fault in ("429", "500", "400", "echo-auth", "badjson"):
            code, payload, headers = {
                "429": (429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "1"}),
                "500": (500, b'{"error": {"message": "injected server error"}}', {}),
                "400": (400, b'{"error": {"message": "injected bad request"}}', {}),
                "echo-auth": (400, ("bad request from " + (auth or "nobody")).encode(), {}),
                "badjson": (200, b'{"choices": [ this is not json', {}),
            }[fault]
            self._reply(code, payload, headers)
            return
        try:
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=300)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError:
            # The upstream is down (killed): close the connection like a dead server would.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        rewrite = proxy.models_rewrite
        if models and rewrite is not None and resp.status == 200:
            data = json.dumps(rewrite(json.loads(data))).encode()
        self._reply(resp.status, data, {"Content-Type": resp.getheader("Content-Type", "application/json")})

    def _reply(self, code: int, payload: bytes, headers: dict):
        try:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    proxy: "FaultProxy"


class FaultProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.faults: list[str] = []
        self.sticky: str | None = None
        self.slow_seconds = 3.0
        self.requests = 0
        self.chat_requests = 0
        self.model_requests = 0
        self.models_rewrite = None  # a function of the upstream's /models JSON, or None
        self.auth_seen: set[str] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self):
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
            return self.sticky

    def set(self, faults=(), sticky=None):
        with self.lock:
            self.faults = list(faults)
            self.sticky = sticky

    def reset_counts(self):
        with self.lock:
            self.requests = 0
            self.chat_requests = 0
            self.model_requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
