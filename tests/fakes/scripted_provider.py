"""A LiteLLM custom provider, ``scripted/<anything>``, answering from a script through the real
``litellm.completion`` / ``litellm.acompletion`` code path (no HTTP at all).

    llm = install_scripted_provider([Reply(tool_calls=[{"name": "run_sql", "arguments": {"sql": "SELECT 1"}}]),
                                     Status(429), Reply("done")])
    litellm.completion(model="scripted/gpt", messages=[...], tools=[...])
    assert llm.calls[0]["tools"][0]["function"]["name"] == "run_sql"

Steps are those of :mod:`openai_server` (``Reply``, ``Status``, ``Hang``, ``CutStream``, ``Empty``,
``Disconnect``) plus :class:`Raise` (raise any exception). What each step does here:

* ``Reply`` / ``Empty``: a ``ModelResponse`` (``choices[0].message.tool_calls`` in OpenAI shape), or, with
  ``stream=True``, ``GenericStreamingChunk``s: text in pieces, each tool call as a header chunk
  (id, name, ``arguments=""``) followed by argument pieces, and a last chunk with finish_reason and usage.
* ``Status(code)``: raises the LiteLLM exception the OpenAI path raises for that code
  (429 → ``litellm.RateLimitError``, 500 → ``InternalServerError``, 503 → ``ServiceUnavailableError``,
  400 → ``BadRequestError``, 401 → ``AuthenticationError``, …).
* ``Hang(seconds, then)``: when the call's ``timeout`` is shorter than ``seconds``, sleeps ``timeout`` and
  raises ``litellm.Timeout``; otherwise sleeps ``seconds`` and answers ``then`` (``then=None``:
  ``litellm.APIConnectionError``).
* ``Disconnect``: ``litellm.APIConnectionError``. (Beware: on the real OpenAI path a refused or dropped
  connection surfaces as ``litellm.InternalServerError("… Connection error.")``, not APIConnectionError.)
* ``CutStream(after_chunks, content)``: streaming yields ``after_chunks`` chunks (an empty first one, then
  text pieces: the same text the HTTP server sends before cutting) and then raises
  ``litellm.APIConnectionError`` (LiteLLM turns it into ``MidStreamFallbackError``); ``graceful=True`` just
  stops without a finish chunk. Non-streaming: ``litellm.APIConnectionError``.

Errors are raised by the ``completion()`` / ``await acompletion()`` call itself, as on the HTTP path
(streaming included); only CutStream's error comes from inside the stream.
An exhausted script raises ``litellm.InternalServerError`` saying so.

``install_scripted_provider`` is idempotent (one ``scripted`` entry in ``litellm.custom_provider_map``);
use the ``scripted_llm`` fixture (import it into a test module) or ``scripted_provider(...)`` as a
context manager to get a fresh, uninstalled-afterwards double per test.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, ClassVar, Iterable, Iterator

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the cost map (no network in tests)

import litellm  # noqa: E402
from litellm import CustomLLM  # noqa: E402
from litellm.types.utils import Choices, GenericStreamingChunk, Message, Usage  # noqa: E402

from .openai_server import (  # noqa: F401,E402  (re-exported: one import for tests)
    EXHAUSTED_MESSAGE, CutStream, Disconnect, Empty, Hang, Reply, Status,
    finish_reason_of, split_text, tool_call_objects, usage_dict,
)

__all__ = [
    "PROVIDER", "ScriptedLLM", "Raise", "install_scripted_provider", "uninstall_scripted_provider",
    "scripted_provider", "scripted_llm",
    "Reply", "Status", "Hang", "CutStream", "Empty", "Disconnect",
]

PROVIDER = "scripted"


@dataclass
class Raise:
    """Provider-only step: raise ``exception`` (an instance) from the call."""

    exception: BaseException
    kind: ClassVar[str] = "raise"


def _status_error(step: Any, model: str) -> Exception:
    import httpx

    code, message = step.code, f"ScriptedException - {step.message}"
    common = {"message": message, "llm_provider": PROVIDER, "model": model}
    response = httpx.Response(code, request=httpx.Request("POST", "http://scripted.invalid/v1/chat/completions"),
                              headers=step.response_headers())
    if code == 400:
        return litellm.BadRequestError(**common, response=response)
    if code == 401:
        return litellm.AuthenticationError(**common, response=response)
    if code == 403:
        return litellm.PermissionDeniedError(**common, response=response)
    if code == 404:
        return litellm.NotFoundError(**common, response=response)
    if code == 408:
        return litellm.Timeout(**common)
    if code == 422:
        return litellm.UnprocessableEntityError(**common, response=response)
    if code == 429:
        return litellm.RateLimitError(**common, response=response, headers=step.response_headers())
    if code == 500:
        return litellm.InternalServerError(**common, response=response)
    if code == 502:
        return litellm.BadGatewayError(**common, response=response)
    if code == 503:
        return litellm.ServiceUnavailableError(**common, response=response)
    return litellm.APIError(status_code=code, **common)


def _connection_error(model: str, why: str) -> Exception:
    return litellm.APIConnectionError(message=f"ScriptedException - {why}", llm_provider=PROVIDER, model=model)


def _timeout_seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, (int, float)):
        return float(timeout)
    read = getattr(timeout, "read", None)  # httpx.Timeout
    return float(read) if read is not None else None


class ScriptedLLM(CustomLLM):
    """The ``scripted`` provider. ``calls``: one dict per call, in order, with ``model``, ``messages``
    (deep copy), ``tools``, ``tool_choice``, ``stream``, ``timeout`` and ``optional_params``."""

    def __init__(self, steps: Iterable[Any] = (), *, chunk_chars: int = 8) -> None:
        super().__init__()
        self._steps: deque[Any] = deque(steps)
        self._lock = threading.Lock()
        self.chunk_chars = chunk_chars
        self.calls: list[dict[str, Any]] = []
        self.exhausted_calls = 0

    # ------------------------------------------------------------------ script
    def push(self, *steps: Any) -> "ScriptedLLM":
        with self._lock:
            self._steps.extend(steps)
        return self

    def reset(self, steps: Iterable[Any] = ()) -> "ScriptedLLM":
        with self._lock:
            self._steps = deque(steps)
            self.calls = []
            self.exhausted_calls = 0
        return self

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._steps)

    @property
    def last_call(self) -> dict[str, Any]:
        return self.calls[-1]

    def assert_script_consumed(self) -> None:
        assert self.remaining == 0, f"{self.remaining} scripted step(s) were never requested"
        assert self.exhausted_calls == 0, f"{self.exhausted_calls} call(s) arrived after the script ended"

    def _record_and_pop(self, model: str, messages: list, optional_params: dict, stream: bool,
                        timeout: Any) -> tuple[int, Any]:
        params = dict(optional_params or {})
        record = {
            "model": model, "messages": copy.deepcopy(messages), "tools": copy.deepcopy(params.get("tools")),
            "tool_choice": params.get("tool_choice"), "stream": stream, "timeout": _timeout_seconds(timeout),
            "optional_params": params,
        }
        with self._lock:
            number = len(self.calls)
            self.calls.append(record)
            if self._steps:
                return number, self._steps.popleft()
            self.exhausted_calls += 1
            return number, None

    # ------------------------------------------------------------------ step resolution
    def _resolve(self, step: Any, model: str, timeout: Any, number: int) -> tuple[float, Any]:
        """Follow Hang steps: returns (seconds to sleep, final step or exception to raise after sleeping)."""
        if step is None:
            message = f"ScriptedException - {EXHAUSTED_MESSAGE} (call #{number + 1})"
            return 0.0, litellm.InternalServerError(message=message, llm_provider=PROVIDER, model=model)
        if step.kind != "hang":
            return 0.0, step
        limit = _timeout_seconds(timeout)
        if limit is not None and step.seconds > limit:
            return limit, litellm.Timeout(message=f"ScriptedException - request timed out after {limit}s",
                                          model=model, llm_provider=PROVIDER)
        if step.then is None:
            return step.seconds, _connection_error(model, "connection closed without a response")
        delay, final = self._resolve(step.then, model, None, number)
        return step.seconds + delay, final

    def _error_for(self, step: Any, model: str, stream: bool) -> BaseException | None:
        if isinstance(step, BaseException):
            return step
        kind = step.kind
        if kind == "raise":
            return step.exception
        if kind == "status":
            return _status_error(step, model)
        if kind == "disconnect":
            return _connection_error(model, "connection dropped")
        if kind == "cut" and not stream:
            return _connection_error(model, "connection dropped mid-response")
        if kind not in ("reply", "empty", "cut"):
            return litellm.APIError(status_code=500, message=f"ScriptedException - unknown step {step!r}",
                                    llm_provider=PROVIDER, model=model)
        return None

    @staticmethod
    def _as_reply(step: Any) -> Reply:
        if step.kind == "empty":
            return Reply(content="", prompt_tokens=step.prompt_tokens, completion_tokens=step.completion_tokens)
        return step

    def _fill_response(self, reply: Reply, model_response: Any, model: str, number: int) -> Any:
        calls = tool_call_objects(reply.tool_calls, str(number))
        content = (reply.content or None) if calls else reply.content
        message = Message(role="assistant", content=content, tool_calls=calls or None)
        model_response.id = f"chatcmpl-scripted-{number}"
        model_response.created = int(time.time())
        model_response.model = model
        model_response.choices = [Choices(finish_reason=finish_reason_of(reply), index=0, message=message)]
        setattr(model_response, "usage", Usage(**usage_dict(reply.prompt_tokens, reply.completion_tokens)))
        return model_response

    def _chunks(self, step: Any, model: str, number: int) -> tuple[list[GenericStreamingChunk], BaseException | None]:
        """The chunks to yield, and the exception to raise after them (CutStream)."""

        def chunk(text: str = "", tool_use: Any = None, finished: bool = False, finish_reason: str = "",
                  usage: Any = None) -> GenericStreamingChunk:
            return GenericStreamingChunk(text=text, tool_use=tool_use, is_finished=finished,
                                         finish_reason=finish_reason, usage=usage, index=0)

        if step.kind == "cut":
            # Same count as the HTTP server: the first chunk is the (empty) role chunk, then text pieces.
            chunks = [chunk(text="")] + [chunk(text=p) for p in split_text(step.content, self.chunk_chars)]
            error = None if step.graceful else _connection_error(model, "stream cut before [DONE]")
            return chunks[:max(0, step.after_chunks)], error
        reply = self._as_reply(step)
        out: list[GenericStreamingChunk] = []
        if reply.content:
            out += [chunk(text=p) for p in split_text(reply.content, self.chunk_chars)]
        for i, call in enumerate(tool_call_objects(reply.tool_calls, str(number))):
            out.append(chunk(tool_use={"id": call["id"], "type": "function", "index": i,
                                       "function": {"name": call["function"]["name"], "arguments": ""}}))
            for piece in split_text(call["function"]["arguments"], self.chunk_chars):
                if piece:
                    out.append(chunk(tool_use={"id": None, "type": "function", "index": i,
                                               "function": {"name": None, "arguments": piece}}))
        out.append(chunk(finished=True, finish_reason=finish_reason_of(reply),
                         usage=usage_dict(reply.prompt_tokens, reply.completion_tokens)))
        return out, None

    # ------------------------------------------------------------------ CustomLLM API
    def _start(self, model: str, messages: list, optional_params: dict, stream: bool, timeout: Any,
               model_response: Any = None) -> tuple[int, float, Any]:
        number, step = self._record_and_pop(model, messages, optional_params, stream, timeout)
        delay, final = self._resolve(step, model, timeout, number)
        return number, delay, final

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: Any,
                   print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                   acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                   timeout: Any = None, client: Any = None) -> Any:
        number, delay, final = self._start(model, messages, optional_params, False, timeout)
        if delay:
            time.sleep(delay)
        error = self._error_for(final, model, stream=False)
        if error is not None:
            raise error
        return self._fill_response(self._as_reply(final), model_response, model, number)

    def streaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: Any,
                  print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                  acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                  timeout: Any = None, client: Any = None) -> Iterator[GenericStreamingChunk]:
        number, delay, final = self._start(model, messages, optional_params, True, timeout)
        if delay:
            time.sleep(delay)
        error = self._error_for(final, model, stream=True)
        if error is not None:
            raise error  # raised by completion() itself, like an HTTP error status
        chunks, tail_error = self._chunks(final, model, number)
        delay_between = getattr(final, "chunk_delay", 0.0)

        def generate() -> Iterator[GenericStreamingChunk]:
            for i, item in enumerate(chunks):
                if i and delay_between:
                    time.sleep(delay_between)
                yield item
            if tail_error is not None:
                raise tail_error

        return generate()

    async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                          model_response: Any, print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                          optional_params: dict, acompletion: Any = None, litellm_params: Any = None,
                          logger_fn: Any = None, headers: Any = None, timeout: Any = None, client: Any = None) -> Any:
        number, delay, final = self._start(model, messages, optional_params, False, timeout)
        if delay:
            await asyncio.sleep(delay)
        error = self._error_for(final, model, stream=False)
        if error is not None:
            raise error
        return self._fill_response(self._as_reply(final), model_response, model, number)

    def astreaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,  # type: ignore[override]
                   model_response: Any, print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                   optional_params: dict, acompletion: Any = None, litellm_params: Any = None,
                   logger_fn: Any = None, headers: Any = None, timeout: Any = None,
                   client: Any = None) -> AsyncIterator[GenericStreamingChunk]:
        # A plain method returning an async generator (the base class declares ``async def``, whose errors
        # would only surface at the first __anext__, wrapped as MidStreamFallbackError). LiteLLM calls it
        # from ``completion()`` run in an executor thread by ``acompletion()``, so raising (and the Hang
        # sleep) here behaves like the HTTP path: ``await litellm.acompletion(..., stream=True)`` raises.
        number, delay, final = self._start(model, messages, optional_params, True, timeout)
        if delay:
            time.sleep(delay)
        error = self._error_for(final, model, stream=True)
        if error is not None:
            raise error
        chunks, tail_error = self._chunks(final, model, number)
        delay_between = getattr(final, "chunk_delay", 0.0)

        async def generate() -> AsyncIterator[GenericStreamingChunk]:
            for i, item in enumerate(chunks):
                if i and delay_between:
                    await asyncio.sleep(delay_between)
                yield item
            if tail_error is not None:
                raise tail_error

        return generate()


# --------------------------------------------------------------------------------------------- registry

def install_scripted_provider(steps: Iterable[Any] = (), *, chunk_chars: int = 8) -> ScriptedLLM:
    """Register a fresh :class:`ScriptedLLM` as provider ``scripted`` and return it. Idempotent: there is
    only ever one ``scripted`` entry in ``litellm.custom_provider_map`` (a second call replaces its handler)."""
    llm = ScriptedLLM(steps, chunk_chars=chunk_chars)
    entries = [e for e in litellm.custom_provider_map if e.get("provider") != PROVIDER]
    entries.append({"provider": PROVIDER, "custom_handler": llm})
    litellm.custom_provider_map = entries
    # What litellm.utils.custom_llm_setup() does on each call; done now so get_llm_provider() knows it too.
    if PROVIDER not in litellm.provider_list:
        litellm.provider_list.append(PROVIDER)
    if PROVIDER not in litellm._custom_providers:
        litellm._custom_providers.append(PROVIDER)
    return llm


def uninstall_scripted_provider() -> None:
    """Remove the ``scripted`` provider from LiteLLM's registries (safe to call when not installed)."""
    litellm.custom_provider_map = [e for e in litellm.custom_provider_map if e.get("provider") != PROVIDER]
    if PROVIDER in litellm._custom_providers:
        litellm._custom_providers.remove(PROVIDER)
    if PROVIDER in litellm.provider_list:
        litellm.provider_list.remove(PROVIDER)


@contextlib.contextmanager
def scripted_provider(steps: Iterable[Any] = (), *, chunk_chars: int = 8) -> Iterator[ScriptedLLM]:
    """``with scripted_provider([...]) as llm:`` - installed inside the block, uninstalled after it."""
    llm = install_scripted_provider(steps, chunk_chars=chunk_chars)
    try:
        yield llm
    finally:
        uninstall_scripted_provider()


try:
    import pytest
except ImportError:  # pragma: no cover - the fakes are only used under pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture()
    def scripted_llm() -> Iterator[ScriptedLLM]:
        """A fresh, empty ``scripted`` provider for one test: ``scripted_llm.push(Reply(...))``."""
        with scripted_provider() as llm:
            yield llm
