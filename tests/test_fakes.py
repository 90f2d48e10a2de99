"""The model doubles behave like the real thing, through real ``litellm.completion`` calls.

Every test here is also a record of how the locked LiteLLM (constraints.txt; 1.110.2 today) behaves
(exception classes, chunk shapes, retries, usage, cost): the agent's design relies on these facts, so a
LiteLLM upgrade (scripts/lock) that changes one of them fails here first. Where 1.106.2 behaved
otherwise, the test says so: the agent itself copes with both (tests/test_agent.py, cut streams). No provider is reachable: all traffic goes to loopback or the ``scripted``
provider.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import threading
import time
import urllib.request

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before the first `import litellm`: no cost-map download

import litellm  # noqa: E402
import openai  # noqa: E402
import pytest  # noqa: E402
from litellm.exceptions import MidStreamFallbackError  # noqa: E402  (not exported as litellm.MidStreamFallbackError)

from fakes.openai_server import (  # noqa: E402
    EXHAUSTED_MESSAGE, CutStream, Disconnect, Empty, Hang, Reply, ScriptedOpenAIServer, Status,
)
from fakes.scripted_provider import (  # noqa: E402,F401  (scripted_llm is a fixture)
    PROVIDER, Raise, ScriptedLLM, install_scripted_provider, scripted_llm, scripted_provider,
    uninstall_scripted_provider,
)

litellm.suppress_debug_info = True

MESSAGES = [{"role": "system", "content": "You write DuckDB SQL."}, {"role": "user", "content": "How many cars?"}]
TOOLS = [{"type": "function", "function": {
    "name": "run_sql", "description": "Run a read-only query",
    "parameters": {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]}}}]
SQL_CALL = {"name": "run_sql", "arguments": {"sql": "SELECT count(*) AS n FROM cars"}}


@pytest.fixture()
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


def call(server, **kwargs):
    """A real litellm.completion against the loopback server; the OpenAI SDK's own retries off unless given."""
    kwargs.setdefault("model", "openai/gpt-4o-mini")
    kwargs.setdefault("messages", MESSAGES)
    kwargs.setdefault("max_retries", 0)
    return litellm.completion(api_base=server.base_url, api_key="sk-test", **kwargs)


def drain(stream):
    """(chunks, exception raised while iterating or None)."""
    chunks = []
    try:
        for chunk in stream:
            chunks.append(chunk)
    except Exception as exc:  # noqa: BLE001 - the exception is the observation
        return chunks, exc
    return chunks, None


def text_of(chunks):
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ============================================================================ OpenAI-compatible server

def test_non_streaming_text_usage_and_recorded_request(server):
    server.push(Reply("SELECT count(*) FROM cars", prompt_tokens=321, completion_tokens=9))
    response = call(server, temperature=0)
    assert response.choices[0].message.content == "SELECT count(*) FROM cars"
    assert response.choices[0].finish_reason == "stop" and response.choices[0].message.tool_calls is None
    usage = response.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (321, 9, 330)
    body = server.requests[0]
    assert body["model"] == "gpt-4o-mini"  # LiteLLM strips the "openai/" prefix
    assert body["messages"] == MESSAGES and body["temperature"] == 0 and "stream" not in body
    assert server.request_headers[0]["authorization"] == "Bearer sk-test"
    server.assert_script_consumed()


def test_streaming_text_is_reassembled_from_several_chunks_with_usage(server):
    text = "SELECT name, horsepower FROM cars ORDER BY horsepower DESC LIMIT 5"
    server.push(Reply(text, prompt_tokens=50, completion_tokens=20))
    chunks, error = drain(call(server, stream=True, stream_options={"include_usage": True}))
    assert error is None
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3  # really streamed in pieces
    assert text_of(chunks) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    # FACT: with include_usage the LAST chunk carries usage (and LiteLLM gives it an empty choice, not []).
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (50, 20)
    built = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    assert built.choices[0].message.content == text
    assert (built.usage.prompt_tokens, built.usage.completion_tokens) == (50, 20)
    assert server.requests[0]["stream"] is True and server.requests[0]["stream_options"] == {"include_usage": True}


def test_streaming_without_include_usage_has_no_usage_chunk(server):
    server.push(Reply("SELECT 1", prompt_tokens=50, completion_tokens=20))
    chunks, error = drain(call(server, stream=True))
    assert error is None and text_of(chunks) == "SELECT 1"
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert "stream_options" not in server.requests[0]


def test_tool_calls_non_streaming_work_without_skip_mcp_handler(server):
    # FACT: with litellm[mcp] installed, tools= works without the private _skip_mcp_handler argument.
    assert importlib.util.find_spec("mcp") is not None
    server.push(Reply(tool_calls=[SQL_CALL, {"name": "describe_table", "arguments": {"table": "cars"}}],
                      prompt_tokens=400, completion_tokens=30))
    response = call(server, tools=TOOLS, tool_choice="auto")
    message = response.choices[0].message
    assert response.choices[0].finish_reason == "tool_calls" and message.content is None
    assert [(t.function.name, json.loads(t.function.arguments)) for t in message.tool_calls] == [
        ("run_sql", {"sql": "SELECT count(*) AS n FROM cars"}), ("describe_table", {"table": "cars"})]
    assert all(t.id and t.type == "function" for t in message.tool_calls)
    assert response.usage.prompt_tokens == 400
    assert server.requests[0]["tools"] == TOOLS and server.requests[0]["tool_choice"] == "auto"


def test_tool_calls_streaming_arrive_as_header_then_argument_pieces(server):
    server.push(Reply("Let me count.", tool_calls=[SQL_CALL]))
    chunks, error = drain(call(server, tools=TOOLS, stream=True, stream_options={"include_usage": True}))
    assert error is None
    deltas = [tc for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    # FACT: first delta of a call has index, id, type, name and arguments ""; later deltas have the same
    # index, id=None, name=None and a piece of the JSON arguments (LiteLLM fills type="function").
    first, rest = deltas[0], deltas[1:]
    assert (first.index, first.function.name, first.function.arguments) == (0, "run_sql", "")
    assert first.id and first.type == "function"
    assert len(rest) > 1 and all(d.index == 0 and d.id is None and d.function.name is None for d in rest)
    assert json.loads("".join(d.function.arguments for d in rest)) == SQL_CALL["arguments"]
    assert text_of(chunks) == "Let me count."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    built = litellm.stream_chunk_builder(chunks)
    assert built.choices[0].message.tool_calls[0].function.name == "run_sql"
    assert json.loads(built.choices[0].message.tool_calls[0].function.arguments) == SQL_CALL["arguments"]
    assert built.usage.completion_tokens == 7


def test_429_then_success_with_num_retries(server):
    server.push(Status(429), Reply("SELECT 1"))
    response = call(server, num_retries=2)  # num_retries overrides max_retries (becomes the SDK's max_retries)
    assert response.choices[0].message.content == "SELECT 1"
    assert len(server.requests) == 2


def test_429_without_retries_is_rate_limit_error(server):
    server.push(Status(429))
    with pytest.raises(litellm.RateLimitError) as info:
        call(server)
    assert info.value.status_code == 429 and len(server.requests) == 1


def test_default_call_retries_twice_inside_the_openai_sdk(server):
    # FACT: with neither num_retries nor max_retries, the OpenAI SDK under LiteLLM retries 429/5xx twice
    # (3 requests, ~0.5-1 s back-off each) before LiteLLM raises.
    server.push(Status(500), Status(500), Status(500))
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, api_base=server.base_url, api_key="k")
    assert len(server.requests) == 3


def test_persistent_error_with_num_retries_ends_in_tenacity_import_error(server):
    # FACT (1.106.2): when the SDK-level retries are used up, LiteLLM's wrapper calls completion_with_retries,
    # which imports `tenacity` - not a litellm dependency, not installed - so the caller gets a plain
    # Exception("tenacity import failed ...") instead of RateLimitError. Don't rely on num_retries.
    server.push(Status(429), Status(429))
    with pytest.raises(Exception) as info:
        call(server, num_retries=1)
    if importlib.util.find_spec("tenacity") is None:
        assert type(info.value) is Exception and "tenacity" in str(info.value)
    assert litellm.num_retries is None  # and it resets this global as a side effect
    assert len(server.requests) == 2


@pytest.mark.parametrize("code, exc", [
    (500, litellm.InternalServerError), (503, litellm.ServiceUnavailableError),
    (400, litellm.BadRequestError), (401, litellm.AuthenticationError)])
def test_http_errors_map_to_litellm_exceptions(server, code, exc):
    server.push(Status(code))
    with pytest.raises(exc) as info:
        call(server)
    assert info.value.status_code == code and f"scripted HTTP {code}" in str(info.value)


def test_hang_longer_than_timeout_raises_litellm_timeout(server):
    server.push(Hang(5, then=Reply("too late")))
    started = time.monotonic()
    with pytest.raises(litellm.Timeout) as info:  # also an openai.APITimeoutError / APIConnectionError
        call(server, timeout=0.3)
    assert time.monotonic() - started < 2 and info.value.status_code == 408
    assert not isinstance(info.value, litellm.APIConnectionError)  # litellm.Timeout is not litellm's APIConnectionError


def test_hang_longer_than_timeout_streaming_raises_at_the_call(server):
    server.push(Hang(5, then=Reply("too late")))
    with pytest.raises(litellm.Timeout):
        call(server, timeout=0.3, stream=True)


def test_hang_shorter_than_timeout_then_answers(server):
    server.push(Hang(0.2, then=Reply("SELECT 2")))
    assert call(server, timeout=5).choices[0].message.content == "SELECT 2"


def test_connection_refused_and_dropped_are_internal_server_error_not_api_connection_error(server):
    # FACT: on the openai path a refused or dropped connection is litellm.InternalServerError("... Connection
    # error."), status 500 - NOT litellm.APIConnectionError.
    with pytest.raises(litellm.InternalServerError, match="Connection error") as info:
        litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, api_key="k", max_retries=0,
                           api_base=f"http://127.0.0.1:{free_port()}/v1")
    assert not isinstance(info.value, litellm.APIConnectionError)
    server.push(Disconnect())
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        call(server)


def test_cut_stream_raises_midstream_fallback_error_after_the_chunks(server):
    server.push(CutStream(after_chunks=3, content="SELECT name FROM cars"))
    chunks, error = drain(call(server, stream=True))
    # FACT: a stream that breaks without [DONE] raises litellm.exceptions.MidStreamFallbackError (a
    # ServiceUnavailableError, status 500) while iterating, after the chunks that did arrive; it keeps the
    # text generated so far. (1.106.2 said "incomplete chunked read"; 1.110.2 says "Connection error".)
    assert text_of(chunks) == "SELECT name FROM"
    assert isinstance(error, MidStreamFallbackError) and isinstance(error, litellm.ServiceUnavailableError)
    assert error.generated_content == "SELECT name FROM" and error.is_pre_first_chunk is False
    assert isinstance(error.original_exception, litellm.APIConnectionError)


def test_stream_that_ends_cleanly_without_a_finish_reason_raises_midstream_fallback_error(server):
    server.push(CutStream(after_chunks=3, content="SELECT name FROM cars", graceful=True))
    chunks, error = drain(call(server, stream=True))
    # FACT (1.110.2): a body that ends properly but before any finish_reason (and without [DONE]) is an
    # error too. 1.106.2 accepted it silently and invented finish_reason="stop" - the agent does not rely
    # on either: it checks the provider's own finish reason (agent/llm.py, _provider_finish_reason).
    assert text_of(chunks) == "SELECT name FROM"
    assert isinstance(error, MidStreamFallbackError) and "before a finish_reason" in str(error)


def test_custom_provider_stream_without_a_finish_chunk_gets_an_invented_stop(scripted_llm):
    scripted_llm.push(CutStream(after_chunks=3, content="SELECT name FROM cars", graceful=True))
    stream = litellm.completion(model="scripted/m", messages=MESSAGES, stream=True)
    chunks, error = drain(stream)
    # FACT: on a custom provider LiteLLM still invents finish_reason="stop" for a stream that just stops;
    # only the wrapper's received_finish_reason (None) tells the truth, which agent/llm.py reads.
    assert error is None and text_of(chunks) == "SELECT name FROM"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert stream.received_finish_reason is None


def test_empty_answer(server):
    server.push(Empty(), Empty())
    response = call(server, tools=TOOLS)
    assert response.choices[0].message.content == "" and response.choices[0].message.tool_calls is None
    assert response.choices[0].finish_reason == "stop"
    chunks, error = drain(call(server, stream=True, tools=TOOLS))
    assert error is None and text_of(chunks) == ""
    built = litellm.stream_chunk_builder(chunks)
    assert built.choices[0].message.content == "" and built.choices[0].message.tool_calls is None


def test_exhausted_script_fails_loudly(server):
    with pytest.raises(litellm.InternalServerError, match="script exhausted"):
        call(server)
    assert server.exhausted_requests == 1
    with pytest.raises(AssertionError):
        server.assert_script_consumed()
    assert EXHAUSTED_MESSAGE.startswith("scripted double")


def test_models_endpoint_and_unknown_route(server):
    with urllib.request.urlopen(server.base_url + "/models", timeout=5) as resp:
        listing = json.load(resp)
    assert [m["id"] for m in listing["data"]] == ["gpt-4o-mini", "my-local-model"]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.base_url + "/nope", timeout=5)
    assert info.value.code == 404
    assert server.requests == []


def test_async_streaming_against_server(server):
    server.push(Reply("SELECT 3"), Status(429))

    async def main():
        stream = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, api_base=server.base_url,
                                           api_key="k", stream=True, max_retries=0)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        with pytest.raises(litellm.RateLimitError):  # HTTP errors raise at the await, not while iterating
            await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, api_base=server.base_url,
                                      api_key="k", stream=True, max_retries=0)
        return text

    assert asyncio.run(main()) == "SELECT 3"


def test_server_is_bounded_hangs_end_at_close_and_at_the_time_cap():
    outcome = {}
    srv = ScriptedOpenAIServer([Hang(60)]).start()

    def client():
        try:
            call(srv, timeout=30)
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    srv.close()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 3
    assert isinstance(outcome["error"], litellm.InternalServerError)  # connection closed without answer

    with ScriptedOpenAIServer([Hang(60, then=Reply("never"))], time_cap=0.5) as capped:
        started = time.monotonic()
        with pytest.raises(litellm.InternalServerError):
            call(capped, timeout=30)
        assert time.monotonic() - started < 3


# ============================================================================ cost

def test_completion_cost_works_offline_for_known_models(server):
    server.push(Reply("SELECT 1", prompt_tokens=1000, completion_tokens=100))
    response = call(server)
    # gpt-4o-mini in the bundled (local) cost map: $0.15 / 1M input, $0.60 / 1M output
    assert litellm.completion_cost(response) == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)
    assert response._hidden_params["response_cost"] == pytest.approx(0.00021)


def test_completion_cost_raises_for_unknown_models(server):
    server.push(Reply("SELECT 1"))
    response = call(server, model="openai/my-local-model")
    assert response._hidden_params.get("response_cost") is None  # the call itself succeeds, cost unknown
    # FACT: completion_cost raises ModelNotMappedError - a plain Exception subclass, not an openai/litellm APIError.
    with pytest.raises(litellm.exceptions.ModelNotMappedError, match="isn't mapped yet") as info:
        litellm.completion_cost(response)
    assert not isinstance(info.value, litellm.APIError) and not isinstance(info.value, openai.APIError)


# ============================================================================ stdout

def test_nothing_on_stdout_on_errors_when_suppressed_and_banner_otherwise(server, capsys):
    server.push(Status(429), Status(429))
    with pytest.raises(litellm.RateLimitError):
        call(server)
    captured = capsys.readouterr()
    assert captured.out == ""
    litellm.suppress_debug_info = False
    try:
        with pytest.raises(litellm.RateLimitError):
            call(server)
    finally:
        litellm.suppress_debug_info = True
    assert "Give Feedback / Get Help" in capsys.readouterr().out  # FACT: printed to stdout, not stderr


# ============================================================================ scripted provider

def test_scripted_provider_text(scripted_llm):
    scripted_llm.push(Reply("SELECT count(*) FROM cars", prompt_tokens=30, completion_tokens=8))
    response = litellm.completion(model="scripted/any-model", messages=MESSAGES, temperature=0)
    assert response.choices[0].message.content == "SELECT count(*) FROM cars"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 8)
    assert response.model == "any-model"
    assert scripted_llm.calls[0]["messages"] == MESSAGES and scripted_llm.calls[0]["tools"] is None
    scripted_llm.assert_script_consumed()


def test_scripted_provider_tool_calls(scripted_llm):
    scripted_llm.push(Reply(tool_calls=[SQL_CALL]), Reply("Thinking.", tool_calls=[SQL_CALL]))
    response = litellm.completion(model="scripted/m", messages=MESSAGES, tools=TOOLS, tool_choice="auto")
    message = response.choices[0].message
    assert response.choices[0].finish_reason == "tool_calls" and message.content is None
    assert message.tool_calls[0].function.name == "run_sql" and message.tool_calls[0].id
    assert json.loads(message.tool_calls[0].function.arguments) == SQL_CALL["arguments"]
    assert scripted_llm.calls[0]["tools"] == TOOLS and scripted_llm.calls[0]["tool_choice"] == "auto"

    chunks, error = drain(litellm.completion(model="scripted/m", messages=MESSAGES, tools=TOOLS, stream=True,
                                             stream_options={"include_usage": True}))
    assert error is None and text_of(chunks) == "Thinking."
    deltas = [tc for c in chunks if c.choices and c.choices[0].delta.tool_calls for tc in c.choices[0].delta.tool_calls]
    assert deltas[0].function.name == "run_sql" and deltas[0].id and len(deltas) > 2
    assert all(d.id is None and d.function.name is None for d in deltas[1:])
    built = litellm.stream_chunk_builder(chunks)
    assert json.loads(built.choices[0].message.tool_calls[0].function.arguments) == SQL_CALL["arguments"]
    assert built.choices[0].finish_reason == "tool_calls" and chunks[-1].usage.completion_tokens == 7


def test_scripted_provider_errors(scripted_llm):
    scripted_llm.push(Status(429), Hang(5), Disconnect(), Status(503), Raise(ValueError("boom")))
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="scripted/m", messages=MESSAGES)
    with pytest.raises(litellm.Timeout):
        litellm.completion(model="scripted/m", messages=MESSAGES, timeout=0.1)
    with pytest.raises(litellm.APIConnectionError):
        litellm.completion(model="scripted/m", messages=MESSAGES)
    with pytest.raises(litellm.ServiceUnavailableError):
        litellm.completion(model="scripted/m", messages=MESSAGES, stream=True)  # raised by the call itself
    # FACT: a non-LiteLLM exception from a custom provider comes out as litellm.APIConnectionError.
    with pytest.raises(litellm.APIConnectionError, match="boom"):
        litellm.completion(model="scripted/m", messages=MESSAGES)
    with pytest.raises(litellm.InternalServerError, match="script exhausted"):
        litellm.completion(model="scripted/m", messages=MESSAGES)
    assert scripted_llm.exhausted_calls == 1 and scripted_llm.calls[1]["timeout"] == 0.1


def test_scripted_provider_cut_stream_and_empty(scripted_llm):
    scripted_llm.push(CutStream(after_chunks=3, content="SELECT name FROM cars"), Empty(), Empty())
    chunks, error = drain(litellm.completion(model="scripted/m", messages=MESSAGES, stream=True))
    assert text_of(chunks) == "SELECT name FROM"  # the same text the HTTP server sends before cutting
    assert isinstance(error, MidStreamFallbackError) and error.generated_content == "SELECT name FROM"
    assert litellm.completion(model="scripted/m", messages=MESSAGES).choices[0].message.content == ""
    chunks, error = drain(litellm.completion(model="scripted/m", messages=MESSAGES, stream=True))
    assert error is None and text_of(chunks) == ""


def test_scripted_provider_async(scripted_llm):
    scripted_llm.push(Reply("SELECT 1"), Reply("ok", tool_calls=[SQL_CALL]), Status(429))

    async def main():
        first = await litellm.acompletion(model="scripted/m", messages=MESSAGES)
        stream = await litellm.acompletion(model="scripted/m", messages=MESSAGES, tools=TOOLS, stream=True)
        chunks = [c async for c in stream]
        with pytest.raises(litellm.RateLimitError):  # like the HTTP path: raised by the await
            await litellm.acompletion(model="scripted/m", messages=MESSAGES, stream=True)
        return first, litellm.stream_chunk_builder(chunks)

    first, built = asyncio.run(main())
    assert first.choices[0].message.content == "SELECT 1"
    assert built.choices[0].message.content == "ok"
    assert built.choices[0].message.tool_calls[0].function.name == "run_sql"


def test_install_is_idempotent_and_uninstall_removes_it():
    try:
        first = install_scripted_provider([Reply("one")])
        second = install_scripted_provider([Reply("two")])
        assert isinstance(second, ScriptedLLM) and first is not second
        assert [e["provider"] for e in litellm.custom_provider_map].count(PROVIDER) == 1
        assert litellm.completion(model="scripted/m", messages=MESSAGES).choices[0].message.content == "two"
        assert first.calls == [] and len(second.calls) == 1
        assert litellm._custom_providers.count(PROVIDER) == 1
    finally:
        uninstall_scripted_provider()
    assert all(e["provider"] != PROVIDER for e in litellm.custom_provider_map)
    with pytest.raises(litellm.BadRequestError):  # unknown provider again
        litellm.completion(model="scripted/m", messages=MESSAGES)
    with scripted_provider([Reply("three")]) as llm:
        assert litellm.completion(model="scripted/m", messages=MESSAGES).choices[0].message.content == "three"
        llm.assert_script_consumed()
