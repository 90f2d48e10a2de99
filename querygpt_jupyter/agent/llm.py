"""The one place that talks to models, through LiteLLM: lazy import, key checks, streaming,
our own retries with backoff, usage and cost. Nothing else imports litellm."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import errors

log = logging.getLogger("querygpt")
_import_lock = threading.Lock()


def load_litellm():
    """Import litellm without it reaching the network (local cost map) or printing its banners."""
    with _import_lock:
        # no redirect_stdout here: it is process-wide, and this runs in a warm-up thread while
        # the analyst's cells print
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.drop_params = True   # a server that lacks an option (stream_options…) should not fail the call
        return litellm


def warm_up() -> None:
    """Pay litellm's import (~2 s) in a background thread once the extension loads."""
    threading.Thread(target=_quiet_load, name="querygpt-litellm-warm-up", daemon=True).start()


def _quiet_load() -> None:
    try:
        load_litellm()
    except Exception:
        log.debug("litellm warm-up failed", exc_info=True)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str   # JSON text as the model wrote it

    def parsed(self) -> dict:
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            raise errors.AgentFailure(f"The model's call to {self.name} had arguments that are not JSON.") from None
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Completion:
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries: int = 0
    elapsed_ms: float = 0.0       # wall time inside the model calls (with retries and backoff)


@dataclass(frozen=True)
class ModelSettings:
    """How to call the model; built from `Ask` by `TurnOptions.from_config` (the defaults live there)."""
    model: str
    api_base: str
    key_env: str                  # name of the environment variable holding the key (never the key)
    timeout_s: float              # per model call
    max_retries: int              # on 429 / 5xx / timeouts / dropped streams
    backoff_s: float = 1.0        # first wait; doubles each retry (with jitter)
    temperature: float = 0.0


_RETRYABLE = ("RateLimitError", "Timeout", "InternalServerError", "ServiceUnavailableError", "APIConnectionError",
              "MidStreamFallbackError", "APIError", "StreamCutShort")


class StreamCutShort(Exception):
    """The answer stream ended before the model said it had finished: never use such an answer."""


@dataclass
class ModelClient:
    settings: ModelSettings
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        from ..redact import remember_env

        remember_env(self.settings.key_env)  # a server may echo the key back in an error

    def check_ready(self) -> None:
        """Fail fast, before any network, when the provider's key is missing."""
        s = self.settings
        if s.key_env:
            if not os.environ.get(s.key_env):
                raise errors.ModelUnavailable(f"The environment variable {s.key_env} (the API key for {s.model}) is not set.",
                                              hint=f"Set {s.key_env}, or use {errors.how('use_offline')}.")
            return
        if s.api_base:
            return
        litellm = load_litellm()
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                status = litellm.validate_environment(model=s.model)
            except Exception:  # an unknown provider: let the call itself say what is wrong
                return
        missing = [k for k in status.get("missing_keys") or () if k.endswith("_KEY") or k.endswith("_TOKEN")]
        if missing:
            raise errors.ModelUnavailable(
                f"No API key for {s.model}: {', '.join(missing)} is not set.",
                hint=f"Set {missing[0]} in the environment (or name another variable with "
                     f"{errors.how('key_env', model=s.model)}), or use {errors.how('use_offline')}.",
            )

    def complete(self, messages: list[dict], tools: list[dict] | None = None,
                 on_token: Callable[[str], None] | None = None) -> Completion:
        """One model answer, streamed (tokens go to `on_token`), retried with backoff on
        transient failures. Raises ModelUnavailable when retries run out."""
        litellm = load_litellm()
        attempt = 0
        began = time.perf_counter()
        while True:
            try:
                completion = self._stream_once(litellm, messages, tools, on_token)
                return Completion(**{**completion.__dict__, "retries": attempt,
                                     "elapsed_ms": (time.perf_counter() - began) * 1000})
            except KeyboardInterrupt:
                raise
            except errors.QueryGPTError:
                raise
            except Exception as exc:
                kind = type(exc).__name__
                if kind in ("AuthenticationError", "PermissionDeniedError"):
                    raise errors.ModelUnavailable(f"{self.settings.model} refused the API key ({_first_line(exc)}).",
                                                  hint=f"Check the key in the environment, or use {errors.how('use_offline')}.") from None
                if kind == "NotFoundError":
                    raise errors.ModelUnavailable(f"The model {self.settings.model} was not found ({_first_line(exc)}).",
                                                  hint=f"Check the model name given to {errors.how('check_model')}, or use {errors.how('use_offline')}.") from None
                if kind == "BadRequestError" and tools and _mentions_tools(exc):
                    raise ToolsUnsupported(str(exc)) from None
                if kind not in _RETRYABLE or attempt >= self.settings.max_retries:
                    raise errors.ModelUnavailable(
                        f"{self.settings.model} did not answer ({_describe(exc)}) after {attempt + 1} "
                        f"attempt{'s' if attempt else ''}.",
                        hint=f"Check that the server is up (and {errors.how('api_base', model=self.settings.model)}), "
                             f"try again later, or use {errors.how('use_offline')}.",
                    ) from None
                attempt += 1
                wait = self.settings.backoff_s * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)
                log.info("querygpt: %s from %s; retry %d in %.1fs", kind, self.settings.model, attempt, wait)
                self.sleep(wait)

    def _stream_once(self, litellm, messages, tools, on_token) -> Completion:
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": s.model, "messages": messages, "stream": True, "stream_options": {"include_usage": True},
            "timeout": s.timeout_s, "max_retries": 0, "temperature": s.temperature,
        }
        if s.api_base:
            kwargs["api_base"] = s.api_base
        if s.key_env:
            kwargs["api_key"] = os.environ.get(s.key_env, "")
        elif s.api_base and s.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "none"  # local OpenAI-compatible servers need no key, but the client wants one
        if tools:
            kwargs["tools"] = tools
        stream = litellm.completion(**kwargs)
        content: list[str] = []
        calls: dict[int, dict] = {}
        prompt_tokens = completion_tokens = 0
        seen_finish: str | None = None
        try:
            for chunk in stream:
                usage = getattr(chunk, "usage", None)
                if usage:
                    prompt_tokens = getattr(usage, "prompt_tokens", 0) or prompt_tokens
                    completion_tokens = getattr(usage, "completion_tokens", 0) or completion_tokens
                if not getattr(chunk, "choices", None):
                    continue
                seen_finish = getattr(chunk.choices[0], "finish_reason", None) or seen_finish
                delta = chunk.choices[0].delta
                text = getattr(delta, "content", None)
                if text:
                    content.append(text)
                    if on_token:
                        on_token(text)
                for call in getattr(delta, "tool_calls", None) or ():
                    slot = calls.setdefault(getattr(call, "index", 0) or 0, {"id": "", "name": "", "arguments": ""})
                    if getattr(call, "id", None):
                        slot["id"] = call.id
                    function = getattr(call, "function", None)
                    if function is not None:
                        slot["name"] += getattr(function, "name", None) or ""
                        slot["arguments"] += getattr(function, "arguments", None) or ""
        finally:
            close = getattr(stream, "close", None) or getattr(getattr(stream, "completion_stream", None), "close", None)
            if close:
                with contextlib.suppress(Exception):
                    close()
        text = "".join(content)
        _require_finished(_provider_finish_reason(stream, seen_finish), text)
        if not prompt_tokens:
            prompt_tokens = _count_tokens(litellm, s.model, messages)
        if not completion_tokens:
            completion_tokens = max(1, len(text) // 4) if text or calls else 0
        return Completion(
            content=text,
            tool_calls=tuple(ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"]) for i, c in sorted(calls.items())),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=_cost(litellm, s.model, prompt_tokens, completion_tokens),
        )


_NO_ATTRIBUTE = object()


def _provider_finish_reason(stream, seen_in_chunks: str | None) -> str | None:
    """Why the model stopped, as the provider said it — or None when it never said.

    When a stream ends without a finish reason (a proxy closing the body early, a server dying
    between chunks) LiteLLM (1.106 always, 1.110 on custom providers) hands out a last chunk
    with an invented ``finish_reason="stop"``; only its stream wrapper's ``received_finish_reason``
    tells what the provider really sent. Without that attribute, the chunks' own reason is used."""
    received = getattr(stream, "received_finish_reason", _NO_ATTRIBUTE)
    return seen_in_chunks if received is _NO_ATTRIBUTE else received


def _require_finished(finish_reason: str | None, text: str) -> None:
    """A cut-off answer is never used as if complete: a missing finish reason is retried (the
    stream broke), a length cut is the model's own limit (retrying gives the same), a filter is final."""
    if finish_reason is None:
        raise StreamCutShort(f"the stream ended after {len(text)} characters without a finish reason")
    if finish_reason == "length":
        raise errors.AgentFailure(
            "The model's answer was cut off at its output length limit, so it was not used.",
            hint="Ask a narrower question, or use a model with a larger output limit.",
        )
    if finish_reason == "content_filter":
        raise errors.AgentFailure("The model's provider filtered its answer, so it was not used.",
                                  hint="Rephrase the question, or use another model.")


class ToolsUnsupported(Exception):
    """The model or server rejected `tools=`: the agent falls back to prose with fenced SQL."""


def _cost(litellm, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens,
                                                              completion_tokens=completion_tokens)
        return float(prompt_cost + completion_cost)
    except Exception:  # a model missing from LiteLLM's cost table (local servers): no known price
        return 0.0


def _count_tokens(litellm, model: str, messages: list[dict]) -> int:
    text = "".join(str(m.get("content") or "") for m in messages)
    return max(1, len(text) // 4)


def _mentions_tools(exc: Exception) -> bool:
    text = str(exc).lower()
    return "tool" in text or "function" in text


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _describe(exc: Exception) -> str:
    kind = type(exc).__name__
    return {
        "RateLimitError": "rate limited (429)",
        "Timeout": "timed out",
        "InternalServerError": "server error or connection failed",
        "ServiceUnavailableError": "service unavailable",
        "APIConnectionError": "could not connect",
        "MidStreamFallbackError": "the answer stream was cut short",
        "StreamCutShort": "the answer stream was cut short",
    }.get(kind, f"{kind}: {_first_line(exc)}")
