"""Fake model services for tests: real HTTP on 127.0.0.1, scripted answers, every request kept.

The real SDK clients (openai, google-genai) talk to these servers exactly as they would talk to
the service, so a test exercises the SDK's own retries, timeouts and error handling rather than
a mock of them. This module holds the protocol-neutral machinery; `openai_server.py` and
`gemini_server.py` speak the two wire protocols on top of it.

How a request is answered, in order:
1. the next scripted reply in the queue (`enqueue`, or the dialect's helpers such as `answer`);
2. else the responder function (`respond_with`), which sees the parsed JSON body;
3. else `default` (a 400 that says nothing was scripted, so a test fails fast, never hangs).

Every fake can also answer status 200 with a body that is not its API's JSON (`garbled`, one of
`GARBLED_BODIES`), the fault a client's own parsing must survive.

Import as ``from fakes.openai_server import FakeOpenAIServer`` (tests/ is on sys.path).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

MAX_BODY_BYTES = 64 * 1024 * 1024
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: a dict/list body is sent as JSON, str as text, bytes as they are."""

    status: int = 200
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server; shutdown cuts it short)
    # A streamed body (SSE): sent piece by piece, `piece_delay` seconds apart, with no
    # Content-Length (the body ends when the connection closes), as a server streams it.
    pieces: tuple[bytes, ...] = ()
    piece_delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        if self.body is None:
            return b"", "application/json"
        return json.dumps(self.body).encode(), "application/json"


@dataclass(frozen=True)
class RecordedRequest:
    """What the client sent, for assertions: header names are lower-case, body is parsed JSON."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the parsed body (JSON, or what the dialect's `parse_body` makes of it), or None
    raw: bytes


GARBLED_BODIES: dict[str, tuple[bytes, str]] = {
    "truncated JSON": (b'{"id": "x-1", "choices": [{"index": 0, "message": {"role": "assis', JSON),
    "an HTML error page": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "bytes that are not UTF-8": (b'{"id": "\xff\xfe\xfd"}', JSON),
    "a JSON list": (b"[1, 2, 3]", JSON),
    "an empty body": (b"", JSON),
}
"""Bodies a real service's endpoint can answer with status 200 that are not its API's JSON: a
connection cut mid-body, a proxy's or captive portal's page, a broken encoding, a server that
speaks another API. Name -> (body, Content-Type); see `ScriptedServer.garbled`."""

Responder = Callable[[Any], object]
"""fn(parsed JSON body) -> a Reply, or something the dialect turns into a good answer."""


class ScriptedServer:
    """A threaded HTTP server on 127.0.0.1 (port 0) answering from a script; a context manager.

    Subclasses say which paths they serve (`serves`), how a responder's return value becomes a
    reply (`adapt`), and what an error looks like in their protocol (`error`).
    """

    def __init__(self, *, max_requests: int = 1000) -> None:
        self.max_requests = max_requests
        self.default: Reply = self.error(
            400, "fake server: no scripted reply left for this request"
        )
        self.responder_errors: list[str] = []
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- dialect hooks -----------------------------------------------------------------------------

    def serves(self, method: str, path: str) -> bool:
        return True

    def adapt(self, answer: object, request: RecordedRequest) -> Reply:
        if isinstance(answer, Reply):
            return answer
        return Reply(200, answer)

    def error(self, status: int, message: str, **extra: Any) -> Reply:
        return Reply(status, {"error": {"message": message, **extra}})

    def finish(self, reply: Reply, request: RecordedRequest) -> Reply:
        """The reply as the protocol sends it for this request (a dialect streams it when the
        request asks for a stream); as it is by default."""
        return reply

    def parse_body(self, raw: bytes, headers: Mapping[str, str]) -> Any:
        """The request body as responders and tests see it: parsed JSON (None if not JSON);
        dialects with other bodies (multipart uploads) override it."""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    # -- scripting ---------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply, times: int = 1) -> None:
        """Answer the next requests with these replies (the whole group `times` times)."""
        with self._lock:
            for _ in range(times):
                self._queue.extend(replies)

    def garbled(self, kind: str = "truncated JSON", *, times: int = 1) -> None:
        """Answer HTTP 200 with one of `GARBLED_BODIES`, sent byte for byte: what the client's
        parsing meets when the body is not the API's JSON."""
        body, content_type = GARBLED_BODIES[kind]
        self.enqueue(Reply(200, body, {"Content-Type": content_type}), times=times)

    def respond_with(self, responder: Responder | None) -> None:
        """Answer requests the queue does not cover by calling `responder(body)`."""
        self._responder = responder

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the fake server has received no request")
            return self._requests[-1]

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # wakes handlers sleeping in a slow reply
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None and self.responder_errors:
            # A broken responder shows up in the client as a confusing 400: say what it was.
            raise AssertionError(
                "fake server responder failed: " + "; ".join(self.responder_errors)
            )

    # -- answering (called from the handler threads) -----------------------------------------------

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            count = len(self._requests)
            scripted = self._queue.popleft() if self._queue and self._serves(request) else None
        if count > self.max_requests:
            return self.error(400, f"fake server: more than {self.max_requests} requests")
        if not self._serves(request):
            return self.error(404, f"fake server: no route for {request.method} {request.path}")
        if scripted is not None:
            return self.finish(scripted, request)
        responder = self._responder
        if responder is None:
            return self.default
        try:
            return self.finish(self.adapt(responder(request.body), request), request)
        except Exception as exc:  # reported at __exit__; the client sees a non-retried 400
            text = f"{type(exc).__name__}: {exc}"
            self.responder_errors.append(text)
            return self.error(400, f"fake server responder raised {text}")

    def _serves(self, request: RecordedRequest) -> bool:
        return self.serves(request.method, request.path)


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet test output

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(server.error(413, "fake server: request body too large"))
                return
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers=headers,
                body=server.parse_body(raw, headers),
                raw=raw,
            )
            reply = server._answer(request)
            if reply.delay > 0 and server._closing.wait(reply.delay):
                return  # shutting down: drop the slow answer
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            if reply.pieces:
                self._send_pieces(reply)
                return
            data, content_type = reply.encoded()
            try:
                self.send_response(reply.status)
                names = {k.lower() for k in reply.headers}
                if "content-type" not in names:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def _send_pieces(self, reply: Reply) -> None:
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                for number, piece in enumerate(reply.pieces):
                    if number and reply.piece_delay > 0 and server._closing.wait(reply.piece_delay):
                        return
                    self.wfile.write(piece)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (cut at its deadline)

    return Handler
