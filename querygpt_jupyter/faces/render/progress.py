"""A notebook renderer of the event stream: one status line, updated in place while a turn runs."""
from __future__ import annotations

import html
import time

from ...events import Event

_ICONS = {"analyzing": "…", "schema": "🗂", "generating_sql": "✎", "validating": "🛡", "executing": "▶",
          "charting": "📊", "done": "✓", "error": "✗"}


class ProgressLine:
    def __init__(self, developer: bool = False):
        self.developer = developer
        self._handle = None
        self._log: list[str] = []
        self._tokens = ""
        self._last_token_update = 0.0

    def __call__(self, event: Event) -> None:
        if "token" in event.data:   # the model's words as they stream: shown, at most ten updates a second
            self._tokens += event.data["token"]
            now = time.monotonic()
            if now - self._last_token_update < 0.1:
                return
            self._last_token_update = now
            event = Event(event.stage, "… " + " ".join(self._tokens.split())[-160:], {}, event.elapsed_ms)
            if self.developer:
                self._show("\n".join([*self._log, event.message]))
                return
        text = f"{_ICONS.get(event.stage, '')} {event.message}"
        if self.developer:
            self._log.append(f"{event.elapsed_ms:7.1f} ms  {event.stage:<15} {event.message}")
            text = "\n".join(self._log)
        self._show(text)

    def _show(self, text: str) -> None:
        from IPython.display import display

        bundle = {"text/plain": text, "text/html": f'<pre style="margin:0;color:var(--jp-ui-font-color2,#666)">{html.escape(text)}</pre>'}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def close(self, answer) -> None:
        """Leave a one-line summary (developer view keeps the stage log)."""
        if self._handle is None or self.developer:
            return
        if answer.error is not None:
            summary = f"✗ {answer.error.code}"
        else:
            total = answer.timings.get("total", 0.0)
            summary = f"✓ {answer.row_count:,} row{'s' if answer.row_count != 1 else ''} in {total:.0f} ms · {answer.model or 'SQL'} · {answer.connection}"
        self._handle.update({"text/plain": summary,
                             "text/html": f'<div style="color:var(--jp-ui-font-color2,#666);font-size:12px">{html.escape(summary)}</div>'},
                            raw=True)
