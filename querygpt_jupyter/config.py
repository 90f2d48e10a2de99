"""All user-tunable options in one traitlets Configurable.

`%config Ask.max_rows = 500` in a notebook, `c.Ask.model = "..."` in an IPython profile, keyword
arguments to `ask()` and CLI flags all land here, so there is one place that lists every knob.
"""
from __future__ import annotations

import os

from traitlets import Bool, CaselessStrEnum, Float, Int, List, Unicode
from traitlets.config import Configurable

OFFLINE_MODEL = "querygpt/offline"
DEFAULT_MAX_MEMORY_MB = 2048


class Ask(Configurable):
    """Options of querygpt-jupyter (the `%ask` magics, `ask()`, the CLI and the sidebar)."""

    model = Unicode(
        OFFLINE_MODEL,
        help="LiteLLM model string (openai/gpt-4o-mini, ollama/llama3, ...) or querygpt/offline.",
    ).tag(config=True)
    conn = Unicode(
        "", help="The connection every question asks (a name as --conn takes it). Empty: each question goes "
                 "to the connection whose tables it names, and --conn or the sidebar's picker choose per question.",
    ).tag(config=True)
    api_base = Unicode("", help="Base URL of an OpenAI-compatible server (vLLM, LM Studio, Ollama).").tag(config=True)
    max_rows = Int(10_000, min=1, help="Row cap added to every query; `truncated` says when it cut.").tag(config=True)
    timeout_s = Float(60.0, min=0.01, help="Seconds a query may run before it is cancelled (QUERY_TIMEOUT).").tag(config=True)
    max_memory_mb = Int(
        DEFAULT_MAX_MEMORY_MB, min=16,
        help="Memory a query may use inside the engine (DuckDB memory_limit and as much again of temp files; "
             "SQLite's heap limit); beyond it the query stops with QUERY_TIMEOUT (out of memory). Set before connecting.",
    ).tag(config=True)
    max_result_mb = Int(256, min=1, help="Most bytes of result kept; rows beyond are cut and `truncated` says so.").tag(config=True)
    max_cell_kb = Int(1024, min=1, help="Longest text or blob value kept (KiB); longer values are cut, with a note.").tag(config=True)
    view = CaselessStrEnum(
        ["user", "developer"], default_value="user",
        help="user: answer first, SQL folded. developer: timings per stage, model, prompt size, retries.",
    ).tag(config=True)
    chart = Bool(True, help="Draw a chart when the result's shape suits one.").tag(config=True)
    explain = Bool(True, help="Show a one-sentence answer grounded in the returned rows.").tag(config=True)
    allowed_paths = List(
        Unicode(), default_value=[],
        help="Directories that queries may read files from (read_csv, parquet...). Empty: the working directory.",
    ).tag(config=True)
    insert_cell = Bool(True, help="After %%ask, insert a new cell below with the reproducible code.").tag(config=True)
    max_chart_rows = Int(5_000, min=10, help="Most rows sent to Vega-Lite; larger results are aggregated or sampled.").tag(config=True)
    key_env = Unicode("", help="Name of the environment variable holding the model's API key (never the key itself).").tag(config=True)
    tools = CaselessStrEnum(["auto", "on", "off"], default_value="auto",
                            help="Offer the model schema tools: auto = when LiteLLM says the model supports tool calls.").tag(config=True)
    notes = Unicode("", help="Notes about the data for the model (or @path/to/notes.md to read them from a file).").tag(config=True)
    max_steps = Int(8, min=1, help="Most model calls in one turn.").tag(config=True)
    max_retries = Int(3, min=0, help="Corrections after a failed SQL candidate before AGENT_FAILURE.").tag(config=True)
    max_tokens = Int(60_000, min=100, help="Most prompt + completion tokens in one turn.").tag(config=True)
    model_timeout_s = Float(60.0, min=0.1, help="Seconds one model call may take (retried with backoff).").tag(config=True)
    model_retries = Int(3, min=0, help="Retries of a model call on 429 / 5xx / timeouts.").tag(config=True)
    history = Bool(True, help="Record every turn in the history index (QUERYGPT_HOME/history.sqlite).").tag(config=True)
    replay = Bool(True, help="Re-running a %%ask cell reuses the recorded SQL (same question and schema) instead of the model.").tag(config=True)
    examples = Bool(True, help="Give the model question→SQL pairs marked correct on the same connection.").tag(config=True)
    notebook = Unicode(
        "", help="Path of the notebook this kernel runs, for replay from its records when the kernel is not told "
                 "(nbclient from Python; nbconvert/papermill are found). Default: $QUERYGPT_NOTEBOOK.",
    ).tag(config=True)
    history_turns = Int(6, min=0, help="Earlier turns of the conversation given to the model for follow-ups.").tag(config=True)

    def resolved_notes(self) -> str:
        if self.notes.startswith("@"):
            with open(os.path.expanduser(self.notes[1:]), encoding="utf-8") as f:
                return f.read()
        return self.notes

    def resolved_allowed_paths(self) -> tuple[str, ...]:
        paths = self.allowed_paths or [os.getcwd()]
        return tuple(os.path.realpath(os.path.expanduser(p)) for p in paths)


def make_config(base: Ask | None = None, **overrides) -> Ask:
    """A copy of `base` (or of the defaults) with `overrides` applied; unknown names are an error."""
    from .errors import UsageError

    cfg = Ask()
    if base is not None:
        for name in base.trait_names(config=True):
            setattr(cfg, name, getattr(base, name))
    for name, value in overrides.items():
        if value is None:
            continue
        if not cfg.has_trait(name) or not cfg.trait_metadata(name, "config"):
            raise UsageError(f"Unknown option {name!r}.", hint=f"Known options: {', '.join(sorted(cfg.trait_names(config=True)))}.")
        try:
            setattr(cfg, name, value)
        except Exception as exc:  # traitlets.TraitError: show it as a usage error
            raise UsageError(f"Bad value for {name}: {value!r}.", hint=str(exc).splitlines()[0]) from None
    return cfg
