"""The model-backed planner: a bounded loop of model calls, tool calls and self-correction.

Each candidate SQL is parsed (transpiled if written in another dialect), checked against the
schema and the guard before it is accepted; the specific error goes back to the model, up to
`max_retries` times, then AGENT_FAILURE with the last error."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import errors
from ..answer import Attempt, Usage
from . import prompts
from .llm import Completion, ModelClient, ToolsUnsupported
from .plan import Plan, PlanTools
from .tools import SUBMIT, TOOLS, run_tool

if TYPE_CHECKING:
    from ..connections.catalog import Catalog

_FENCED = re.compile(r"```(?:sql|SQL|postgresql|mysql|duckdb|sqlite)?\s*\n?(.*?)```", re.S)
_BARE = re.compile(r"((?:WITH|SELECT)\b.*?)(?:;|\n\s*\n|$)", re.S | re.I)
CHART_HINTS = {"pie": "arc", "scatter": "point", "auto": None}


@dataclass(frozen=True)
class AgentLimits:
    """Bounds of one turn's loop; built from `Ask` by `TurnOptions.from_config`."""
    max_steps: int                # model calls in one turn
    max_retries: int              # corrections after a failed candidate
    max_tokens: int               # prompt + completion tokens in one turn
    max_seconds: float = 180.0    # wall time of the whole turn


@dataclass
class _Budget:
    limits: AgentLimits
    started: float = field(default_factory=time.monotonic)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries_of_calls: int = 0
    model_ms: float = 0.0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cost_usd += completion.cost_usd
        self.retries_of_calls += completion.retries
        self.model_ms += completion.elapsed_ms

    def usage(self) -> Usage:
        return Usage(self.prompt_tokens, self.completion_tokens, round(self.cost_usd, 6), self.retries_of_calls)

    def exhausted(self) -> str | None:
        if self.prompt_tokens + self.completion_tokens > self.limits.max_tokens:
            return f"the turn used more than {self.limits.max_tokens:,} tokens"
        if time.monotonic() - self.started > self.limits.max_seconds:
            return f"the turn took longer than {self.limits.max_seconds:g} s"
        return None


class ModelPlanner:
    def __init__(self, client: ModelClient, limits: AgentLimits, use_tools: bool | None = None,
                 notes: str = "", examples: tuple[tuple[str, str], ...] = ()):
        self.examples = examples
        self.client = client
        self.limits = limits
        self.use_tools = use_tools
        self.notes = notes

    @property
    def model(self) -> str:
        return self.client.settings.model

    @property
    def progress(self) -> str:
        return f"Asking {self.model}…"

    def plan(self, question: str, catalog: "Catalog", tools: PlanTools) -> Plan:
        """`tools.probe` runs a small guarded query for the model's look-ups; `tools.validate`
        turns candidate SQL into checked SQL in the connection's dialect or raises the error to
        feed back."""
        from ..sql.schema_check import normalize_sql

        probe, validate, history = tools.probe, tools.validate, tools.history
        on_token, on_attempt = tools.on_token, tools.on_attempt

        self.client.check_ready()
        tools = self._tools_wanted()
        budget = _Budget(self.limits)
        system, kept = prompts.system_prompt_kept(catalog, question, self.notes, tools=tools, examples=self.examples)
        messages = [{"role": "system", "content": system},
                    *prompts.conversation(list(history)), {"role": "user", "content": question}]
        attempts: list[Attempt] = []
        first_prompt_tokens = 0
        last_error: errors.QueryGPTError | None = None
        for _step in range(self.limits.max_steps):
            reason = budget.exhausted()
            if reason:
                break
            try:
                completion = self.client.complete(messages, TOOLS if tools else None, on_token)
            except ToolsUnsupported:
                tools = False
                messages[0] = {"role": "system", "content": prompts.system_prompt(catalog, question, self.notes, tools=False,
                                                                                  examples=self.examples)}
                continue
            budget.add(completion)
            first_prompt_tokens = first_prompt_tokens or completion.prompt_tokens
            candidate = self._candidate(completion, messages, catalog, probe)
            if candidate is None:
                continue  # the model looked something up; give it the answer and ask again
            sql, chart, explanation, reply_to = candidate
            try:
                if not sql:
                    raise errors.AgentFailure("The model's answer contained no SQL.",
                                              hint="Rephrase the question, or name the table and columns.")
                checked, transpiled_from = normalize_sql(sql, catalog)
                checked = validate(checked)
            except errors.QueryCancelled:
                raise
            except errors.QueryGPTError as error:
                last_error = error
                attempts.append(Attempt(sql, error))
                if on_attempt:
                    on_attempt(attempts[-1])
                if len([a for a in attempts if a.error]) > self.limits.max_retries:
                    break
                self._feed_back(messages, reply_to, error)
                continue
            attempts.append(Attempt(sql))
            if on_attempt:
                on_attempt(attempts[-1])
            return Plan(checked, explanation or "", CHART_HINTS.get(chart, chart), budget.usage(), tuple(attempts),
                        transpiled_from, first_prompt_tokens, budget.model_ms, schema_kept=kept)
        detail = f" Last error: {last_error.label}: {last_error}" if last_error else ""
        reason = budget.exhausted()
        raise errors.AgentFailure(
            f"{self.model} gave no usable SQL after {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
            f"{' (' + reason + ')' if reason else ''}.{detail}",
            hint=f"Rephrase the question (name the table or columns), or try another model with {errors.how('check_model')}.",
            usage=budget.usage(), attempts=tuple(attempts), model_ms=budget.model_ms,
        )

    def _tools_wanted(self) -> bool:
        if self.use_tools is not None:
            return self.use_tools
        from .llm import load_litellm

        try:
            return bool(load_litellm().supports_function_calling(model=self.model))
        except Exception:
            return False

    def _candidate(self, completion: Completion, messages: list[dict], catalog, probe):
        """(sql, chart, explanation, tool_call_id or None) — or None after answering look-ups."""
        if completion.tool_calls:
            messages.append({"role": "assistant", "content": completion.content or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in completion.tool_calls]})
            submitted = None
            for call in completion.tool_calls:
                if call.name == SUBMIT and submitted is None:
                    try:
                        args = call.parsed()
                    except errors.QueryGPTError as error:
                        messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{error.label}: {error}"})
                        continue
                    submitted = (str(args.get("sql") or ""), args.get("chart"), str(args.get("explanation") or ""), call.id)
                    continue
                try:
                    result = run_tool(call.name, call.parsed(), catalog, probe)
                except errors.QueryGPTError as error:
                    result = f"{error.label}: {error}"
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            return submitted
        messages.append({"role": "assistant", "content": completion.content})
        sql, explanation = extract_sql(completion.content)
        return sql, None, explanation, None

    @staticmethod
    def _feed_back(messages: list[dict], tool_call_id: str | None, error: errors.QueryGPTError) -> None:
        text = (f"That query failed: {error.label}: {error.message} {error.hint or ''}".strip()
                + " Fix it and answer again with the corrected SQL.")
        if tool_call_id:
            messages.append({"role": "tool", "tool_call_id": tool_call_id, "content": text})
        else:
            messages.append({"role": "user", "content": text})


def extract_sql(text: str) -> tuple[str, str]:
    """(SQL, the prose around it) from a model's prose answer: a fenced block, else a bare
    SELECT/WITH statement. Empty SQL when there is none."""
    text = text or ""
    fenced = _FENCED.findall(text)
    if fenced:
        sql = fenced[-1].strip()
        prose = _FENCED.sub(" ", text)
    else:
        match = _BARE.search(text)
        if not match:
            return "", text.strip()
        sql = match.group(1).strip()
        prose = text.replace(match.group(0), " ")
    explanation = " ".join(prose.split())
    return sql.rstrip(";").strip(), explanation[:300]
