"""A scripted OpenAI-compatible HTTP server on loopback, for tests that drive the real LiteLLM/OpenAI client.

No model provider is ever reachable from the test machines: every model call in a test goes either to
this server (``model="openai/<name>", api_base=server.base_url``) or to the ``scripted/…`` LiteLLM
provider in :mod:`scripted_provider`. Both are driven by the same SCRIPT, a list of steps consumed one
per request::

    with ScriptedOpenAIServer([Reply("SELECT 1"), Status(429), Reply(tool_calls=[...])]) as server:
        litellm.completion(model="openai/gpt-4o-mini", api_base=server.base_url, api_key="x", ...)
        assert server.requests[0]["messages"][-1]["content"] == "How many cars?"

Steps (shared with the scripted LiteLLM provider):

* :class:`Reply` - a normal answer: text and/or tool calls, with usage numbers.
* :class:`Status` - an HTTP error (429 carries ``retry-after: 0``).
* :class:`Hang` - sleep before answering (client timeouts), then answer ``then`` or close the connection.
* :class:`CutStream` - stream part of an answer and drop the connection, without ``data: [DONE]``.
* :class:`Empty` - a 200 with empty content and no tool calls.
* :class:`Disconnect` - close the connection without any response.

When the script is exhausted the server answers 500 with a body that says so, so a test that makes
more calls than it scripted fails loudly. The module uses the standard library only (no litellm import).
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Iterable

__all__ = [
    "Reply", "Status", "Hang", "CutStream", "Empty", "Disconnect", "Step",
    "ScriptedOpenAIServer", "EXHAUSTED_MESSAGE",
    "tool_call_objects", "split_text", "usage_dict", "finish_reason_of",
]

EXHAUSTED_MESSAGE = "scripted double: script exhausted - the test made more model calls than it scripted"


# --------------------------------------------------------------------------------------------- steps
# Each step has a ``kind`` string; code dispatches on it (not isinstance) so that importing this module
# under two names (``fakes.…`` and ``tests.fakes.…``) cannot break the doubles.

@dataclass
class Reply:
    """A normal answer.

    ``tool_calls``: ``[{"name": "run_sql", "arguments": {"sql": "SELECT 1"}}]``; ``arguments`` may be a
    dict (JSON-encoded for you) or a string sent verbatim (to test malformed JSON); ``id`` is optional.
    ``finish_reason`` defaults to ``"tool_calls"`` when there are tool calls, else ``"stop"``.
    ``chunk_delay`` (seconds) is slept between streamed events (for cancellation tests).
    """

    content: str | None = ""
    tool_calls: list[dict[str, Any]] | None = None
    prompt_tokens: int = 12
    completion_tokens: int = 7
    finish_reason: str | None = None
    chunk_delay: float = 0.0
    kind: ClassVar[str] = "reply"


@dataclass
class Status:
    """An HTTP error response. ``body`` (str or dict) defaults to an OpenAI-style error object."""

    code: int = 500
    body: str | dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    kind: ClassVar[str] = "status"

    def response_headers(self) -> dict[str, str]:
        headers = {"retry-after": "0"} if self.code == 429 else {}
        headers.update(self.headers or {})
        return headers

    def response_body(self) -> dict[str, Any] | str:
        if self.body is not None:
            return self.body
        kinds = {400: "invalid_request_error", 401: "invalid_api_key", 403: "permission_denied",
                 404: "not_found", 429: "rate_limit_exceeded", 500: "server_error", 503: "server_overloaded"}
        return {"error": {"message": f"scripted HTTP {self.code}", "type": kinds.get(self.code, "api_error"),
                          "param": None, "code": kinds.get(self.code, "api_error")}}

    @property
    def message(self) -> str:
        body = self.response_body()
        if isinstance(body, dict):
            return str((body.get("error") or {}).get("message") or json.dumps(body))
        return body


@dataclass
class Hang:
    """Sleep ``seconds`` before answering; then answer ``then`` (any non-Hang step), or, if ``then`` is
    None, close the connection without a response. ``then`` is part of this step: it consumes nothing
    else from the script. The sleep ends early when the server shuts down, and is capped by the
    server's per-request time cap."""

    seconds: float = 5.0
    then: Any = None
    kind: ClassVar[str] = "hang"


@dataclass
class CutStream:
    """Stream the answer ``content`` and drop the connection after ``after_chunks`` SSE events (the
    first event carries the role), never sending ``data: [DONE]``.

    ``graceful=False`` (default) aborts mid-body, like a network failure (the chunked HTTP body is never
    terminated); ``graceful=True`` ends the HTTP body properly but still without ``[DONE]`` nor a
    finish_reason. A non-streaming request to a CutStream step gets its connection closed without a
    response."""

    after_chunks: int = 2
    content: str = "SELECT name FROM cars WHERE"
    graceful: bool = False
    kind: ClassVar[str] = "cut"


@dataclass
class Empty:
    """A 200 answer with empty content (``""``) and no tool calls."""

    prompt_tokens: int = 12
    completion_tokens: int = 0
    kind: ClassVar[str] = "empty"


@dataclass
class Disconnect:
    """Close the connection at once, without any response."""

    kind: ClassVar[str] = "disconnect"


Step = Reply | Status | Hang | CutStream | Empty | Disconnect


# --------------------------------------------------------------------------------------------- helpers

def split_text(text: str, size: int) -> list[str]:
    """Cut ``text`` into pieces of ``size`` characters (at least one piece, maybe empty)."""
    size = max(1, size)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def finish_reason_of(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def usage_dict(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def tool_call_objects(tool_calls: Iterable[dict[str, Any]] | None, id_prefix: str) -> list[dict[str, Any]]:
    """Scripted ``{"name", "arguments", "id"?}`` dicts → OpenAI ``tool_calls`` (arguments as a JSON string)."""
    out = []
    for i, call in enumerate(tool_calls or ()):
        args = call.get("arguments", {})
        out.append({
            "id": call.get("id") or f"call_{id_prefix}_{i}",
            "type": "function",
            "function": {"name": call["name"], "arguments": args if isinstance(args, str) else json.dumps(args)},
        })
    return out


# --------------------------------------------------------------------------------------------- server

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "ScriptedOpenAIServer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:  # no tracebacks on stderr
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    # ------------------------------------------------------------------ plumbing
    def setup(self) -> None:
        self.timeout = self.server.owner.time_cap  # socket timeout for reads/writes
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError):  # client went away (timeout, cancel) or server shutting down
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send_json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without (further) response bytes."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            owner = self.server.owner
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in owner.models]})
        else:
            self._send_json(404, {"error": {"message": f"no route GET {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route POST {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        owner = self.server.owner
        number, step = owner._record_and_pop(body, {k.lower(): v for k, v in self.headers.items()})
        deadline = time.monotonic() + owner.time_cap
        if step is None:
            self._send_json(500, {"error": {"message": f"{EXHAUSTED_MESSAGE} (request #{number + 1})",
                                            "type": "script_exhausted", "code": "script_exhausted"}})
            return
        self._answer(step, body, number, deadline)

    # ------------------------------------------------------------------ steps
    def _answer(self, step: Any, body: dict[str, Any], number: int, deadline: float) -> None:
        owner = self.server.owner
        kind = step.kind
        stream = bool(body.get("stream"))
        if kind == "hang":
            owner._stop.wait(max(0.0, min(step.seconds, deadline - time.monotonic())))
            if step.then is None or owner._stop.is_set() or time.monotonic() >= deadline:
                self._drop()
            else:
                self._answer(step.then, body, number, deadline)
        elif kind == "status":
            self._send_json(step.code, step.response_body(), step.response_headers())
        elif kind == "disconnect":
            self._drop()
        elif kind in ("reply", "empty"):
            reply = step if kind == "reply" else Reply(content="", prompt_tokens=step.prompt_tokens,
                                                       completion_tokens=step.completion_tokens)
            if stream:
                events = self._stream_events(reply, body, number)
                self._stream(events, deadline, reply.chunk_delay, done=True)
            else:
                self._send_json(200, self._completion(reply, body, number))
        elif kind == "cut":
            if not stream:
                self._drop()
                return
            events = self._stream_events(Reply(content=step.content), body, number)[:max(0, step.after_chunks)]
            self._stream(events, deadline, 0.0, done=False)
            if step.graceful:
                self._end_chunks()
            self._drop()
        else:
            self._send_json(500, {"error": {"message": f"scripted double: unknown step {step!r}",
                                            "type": "script_error"}})

    def _completion(self, reply: Reply, body: dict[str, Any], number: int) -> dict[str, Any]:
        calls = tool_call_objects(reply.tool_calls, str(number))
        message: dict[str, Any] = {"role": "assistant", "content": (reply.content or None) if calls else reply.content,
                                   "refusal": None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"chatcmpl-scripted-{number}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"), "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason_of(reply)}],
            "usage": usage_dict(reply.prompt_tokens, reply.completion_tokens),
        }

    def _stream_events(self, reply: Reply, body: dict[str, Any], number: int) -> list[dict[str, Any]]:
        """The ``data:`` payloads OpenAI would send for ``reply`` (without the final ``[DONE]``)."""
        owner = self.server.owner
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {"id": f"chatcmpl-scripted-{number}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "scripted"), "system_fingerprint": "fp_scripted"}

        def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            payload = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
            if include_usage:
                payload["usage"] = None
            return payload

        calls = tool_call_objects(reply.tool_calls, str(number))
        text = reply.content or ""
        events = [event({"role": "assistant", "content": "" if (text or not calls) else None, "refusal": None})]
        if text:
            events += [event({"content": piece}) for piece in split_text(text, owner.chunk_chars)]
        for i, call in enumerate(calls):
            events.append(event({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                                 "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            for piece in split_text(call["function"]["arguments"], owner.chunk_chars):
                if piece:
                    events.append(event({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        events.append(event({}, finish_reason_of(reply)))
        if include_usage:
            events.append(dict(base, choices=[], usage=usage_dict(reply.prompt_tokens, reply.completion_tokens)))
        return events

    def _stream(self, events: list[dict[str, Any]], deadline: float, delay: float, *, done: bool) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for i, payload in enumerate(events):
            if i and delay:
                owner._stop.wait(delay)
            if owner._stop.is_set() or time.monotonic() >= deadline:
                self._drop()  # time cap reached: abort like a broken stream
                return
            self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")
        if done:
            self._write_chunk(b"data: [DONE]\n\n")
            self._end_chunks()


class ScriptedOpenAIServer:
    """An OpenAI-compatible server on ``127.0.0.1:<free port>``, answering from a script.

    ``requests``: every parsed ``POST …/chat/completions`` body, in order (also those answered
    "exhausted"); ``request_headers``: their headers (lower-case names), same order. ``time_cap``:
    seconds a request may take (socket timeout; Hang and streaming are cut at it). ``chunk_chars``: size
    of streamed pieces. ``models``: what ``GET /v1/models`` lists.
    """

    def __init__(self, steps: Iterable[Any] = (), *, models: Iterable[str] = ("gpt-4o-mini", "my-local-model"),
                 chunk_chars: int = 8, time_cap: float = 15.0) -> None:
        self._steps: deque[Any] = deque(steps)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.models = list(models)
        self.chunk_chars = chunk_chars
        self.time_cap = time_cap
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.exhausted_requests = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ script
    def push(self, *steps: Any) -> "ScriptedOpenAIServer":
        """Append steps to the script."""
        with self._lock:
            self._steps.extend(steps)
        return self

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._steps)

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    def assert_script_consumed(self) -> None:
        assert self.remaining == 0, f"{self.remaining} scripted step(s) were never requested"
        assert self.exhausted_requests == 0, f"{self.exhausted_requests} request(s) arrived after the script ended"

    def _record_and_pop(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            number = len(self.requests)
            self.requests.append(body)
            self.request_headers.append(headers)
            if self._steps:
                return number, self._steps.popleft()
            self.exhausted_requests += 1
            return number, None

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "ScriptedOpenAIServer":
        if self._httpd is None:
            self._stop.clear()
            self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
            self._httpd.owner = self
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"scripted-openai-{self.port}", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()  # wakes Hang sleeps and stream delays
        httpd.shutdown()
        with httpd.sockets_lock:
            sockets = list(httpd.open_sockets)
        for sock in sockets:  # kept-alive connections waiting for another request
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
