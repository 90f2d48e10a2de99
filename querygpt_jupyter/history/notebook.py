"""Turn records carried by notebooks. The kernel writes each record into the `metadata` of the
`%%ask` output (saved with the .ipynb, no front-end extension needed); in JupyterLab the bundled
extension also keeps them in the notebook-level `metadata.querygpt = {"format": 1, "turns": [...]}`,
which survives clearing the outputs. Replay reads both back (once per turn id) from the notebook
file — found by its path under JupyterLab, or among the .ipynb files of the working directory
under `jupyter nbconvert --execute`, where the kernel does not know its notebook's name."""
from __future__ import annotations

import glob
import json
import os
from dataclasses import replace
from typing import Any, Iterator

from .records import TurnRecord

METADATA_KEY = "querygpt"
FEEDBACK_KEY = "querygpt_feedback"
MAX_FILES = 50
MAX_BYTES = 50 * 1024 * 1024


def current_notebook(namespace: dict[str, Any] | None = None) -> str | None:
    """The notebook's path when the kernel knows it (JupyterLab sets JPY_SESSION_NAME / __session__)."""
    for candidate in (os.environ.get("JPY_SESSION_NAME"), (namespace or {}).get("__session__")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb"):
            return candidate
    return None


def notebook_records(notebook: str | None = None, directory: str | None = None) -> list[TurnRecord]:
    """Records in `notebook` if given and readable, else in the .ipynb files of `directory`
    (default: the working directory), newest files first."""
    if notebook and os.path.exists(notebook):
        paths = [notebook]
    else:
        pattern = os.path.join(directory or os.getcwd(), "*.ipynb")
        paths = sorted(glob.glob(pattern), key=lambda p: -os.path.getmtime(p))[:MAX_FILES]
    records: list[TurnRecord] = []
    for path in paths:
        records.extend(_records_in(path))
    return records


def _records_in(path: str) -> Iterator[TurnRecord]:
    """The notebook's turns, once each: the notebook-level `metadata.querygpt.turns` (kept by the
    JupyterLab extension; survives "clear outputs") and the records in the outputs (written by the
    kernel), with the feedback outputs merged in. A turn in both is the same turn."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError):
        return
    conversation = (nb.get("metadata") or {}).get(METADATA_KEY)
    kept = conversation.get("turns") if isinstance(conversation, dict) else None
    turns: dict[str, TurnRecord] = {}
    for data in kept if isinstance(kept, list) else []:
        record = _parse(data)
        if record:
            turns[record.id] = record
    feedback: dict[str, dict] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            metadata = output.get("metadata") or {}
            record = _parse(metadata.get(METADATA_KEY))
            if record:
                known = turns.get(record.id)
                turns[record.id] = record if record.feedback or not known else replace(record, feedback=known.feedback)
            given = metadata.get(FEEDBACK_KEY)
            if isinstance(given, dict) and given.get("turn"):
                feedback[given["turn"]] = {"kind": given.get("kind"), "text": given.get("text")}
    for record in turns.values():
        yield replace(record, feedback=feedback[record.id]) if record.id in feedback else record


def _parse(data: Any) -> TurnRecord | None:
    if not isinstance(data, dict) or "id" not in data or "question" not in data:
        return None
    try:
        return TurnRecord.from_dict(data)
    except TypeError:
        return None
