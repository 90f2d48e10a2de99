"""What one turn is told: `TurnOptions`, derived from the `Ask` options in one function
(`TurnOptions.from_config`). Every default lives on `Ask` (config.py); nothing here, in the model
settings or in the agent's limits writes a default of its own."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Ask
    from .llm import ModelSettings
    from .model_planner import AgentLimits


@dataclass(frozen=True)
class TurnOptions:
    model: str
    max_rows: int
    timeout_s: float
    allowed_paths: tuple[str, ...]
    chart: bool
    max_chart_rows: int
    explain: bool
    tools: str                  # offer schema tools: auto | on | off
    notes: str                  # notes about the data for the model (read from @file)
    examples: bool              # give the model question→SQL pairs marked correct on this connection
    max_result_mb: int
    max_cell_kb: int
    model_settings: "ModelSettings"
    limits: "AgentLimits"
    replay: bool                # reuse the SQL recorded for the same question and schema
    replay_index: bool          # … looking in the history index too (Ask.history), not only the notebook
    history: tuple = ()         # PriorTurn records of this conversation, oldest first
    notebook: str | None = None   # the notebook whose records replay reads first
    defer_chart: bool = False   # build the chart on first access of Answer.chart (run_sql from Python)

    @classmethod
    def from_config(cls, cfg: "Ask", history: tuple = (), notebook: str | None = None) -> "TurnOptions":
        """The one place options become what the turn, the model client and the agent loop get."""
        from .llm import ModelSettings
        from .model_planner import AgentLimits

        return cls(
            model=cfg.model, max_rows=cfg.max_rows, timeout_s=cfg.timeout_s,
            allowed_paths=cfg.resolved_allowed_paths(), chart=cfg.chart, max_chart_rows=cfg.max_chart_rows,
            explain=cfg.explain, tools=cfg.tools, notes=cfg.resolved_notes(),
            examples=cfg.examples and cfg.history, max_result_mb=cfg.max_result_mb, max_cell_kb=cfg.max_cell_kb,
            model_settings=ModelSettings(model=cfg.model, api_base=cfg.api_base, key_env=cfg.key_env,
                                         timeout_s=cfg.model_timeout_s, max_retries=cfg.model_retries),
            limits=AgentLimits(max_steps=cfg.max_steps, max_retries=cfg.max_retries, max_tokens=cfg.max_tokens),
            replay=cfg.replay, replay_index=cfg.history,
            history=tuple(history)[-cfg.history_turns:] if cfg.history_turns else (), notebook=notebook,
        )

    @property
    def byte_caps(self):
        from ..sql.execute import ByteCaps

        return ByteCaps(cell=self.max_cell_kb * 1024, total=self.max_result_mb * 2**20)
