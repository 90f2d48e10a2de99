"""Turn records carried by notebooks. The kernel writes each record into the `metadata` of the
`%%ask` output (saved with the .ipynb, no front-end extension needed); in JupyterLab the bundled
extension also keeps them in the notebook-level `metadata.querygpt = {"format": 1, "turns": [...]}`,
which survives clearing the outputs. Replay reads both back (once per turn id) from the notebook
being executed — and only from it: a record is SQL that will run, so another .ipynb lying in the
same folder is not trusted. Which notebook that is: `Ask.notebook` (or $QUERYGPT_NOTEBOOK), else
what JupyterLab tells the kernel (JPY_SESSION_NAME / __session__), else — under `jupyter nbconvert
--execute` or `papermill`, where the kernel is not told — the one notebook on the command line of
the process that started the kernel. Malformed records are skipped with one warning."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import Any, Iterator

from .records import TurnRecord

METADATA_KEY = "querygpt"
FEEDBACK_KEY = "querygpt_feedback"
MAX_BYTES = 50 * 1024 * 1024
NOTEBOOK_ENV = "QUERYGPT_NOTEBOOK"
# programs that execute a notebook named on their command line in a kernel they start
_RUNNERS = ("nbconvert", "papermill", "nbclient")
_OUTPUT_OPTIONS = frozenset({"--output", "--output-dir", "-o", "--config"})   # their value is not the input

log = logging.getLogger("querygpt")
_warned: set[str] = set()


def current_notebook(namespace: dict[str, Any] | None = None, configured: str | None = None) -> str | None:
    """The path of the notebook this kernel runs, or None when it cannot be known for sure."""
    explicit = configured or os.environ.get(NOTEBOOK_ENV)
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    for candidate in (os.environ.get("JPY_SESSION_NAME"), (namespace or {}).get("__session__")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb"):
            return candidate
    return _notebook_of_runner(os.getppid())


def _notebook_of_runner(pid: int) -> str | None:
    """The notebook on the command line of `pid` when it is nbconvert/papermill (Linux /proc):
    the only .ipynb argument (papermill: the first, its input), resolved against its directory."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    if not any(runner in os.path.basename(arg) for arg in argv[:3] for runner in _RUNNERS):
        return None
    notebooks = [arg for before, arg in zip(argv, argv[1:])
                 if arg.endswith(".ipynb") and not arg.startswith("-") and before not in _OUTPUT_OPTIONS]
    papermill = any("papermill" in os.path.basename(arg) for arg in argv[:3])
    if not notebooks or (len(notebooks) > 1 and not papermill):
        return None   # several notebooks in one run: which one this kernel runs is not known
    path = os.path.join(cwd, notebooks[0])
    return path if os.path.isfile(path) else None


def notebook_records(notebook: str | None = None) -> list[TurnRecord]:
    """Records carried by `notebook` (none when it is unknown or unreadable)."""
    if not notebook or not os.path.isfile(notebook):
        return []
    return list(_records_in(notebook))


def _records_in(path: str) -> Iterator[TurnRecord]:
    """The notebook's turns, once each: the notebook-level `metadata.querygpt.turns` (kept by the
    JupyterLab extension; survives "clear outputs") and the records in the outputs (written by the
    kernel), with the feedback outputs merged in. A turn in both is the same turn."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError, RecursionError):
        return
    if not isinstance(nb, dict):
        return
    bad = 0
    metadata = nb.get("metadata")
    conversation = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    kept = conversation.get("turns") if isinstance(conversation, dict) else None
    turns: dict[str, TurnRecord] = {}
    for data in kept if isinstance(kept, list) else []:
        record = _parse(data)
        bad += record is None
        if record:
            turns[record.id] = record
    feedback: dict[str, dict] = {}
    for output in _outputs(nb):
        metadata = output.get("metadata")
        if not isinstance(metadata, dict):
            continue
        if METADATA_KEY in metadata:
            record = _parse(metadata[METADATA_KEY])
            bad += record is None
            if record:
                known = turns.get(record.id)
                turns[record.id] = record if record.feedback or not known else replace(record, feedback=known.feedback)
        given = metadata.get(FEEDBACK_KEY)
        if isinstance(given, dict) and isinstance(given.get("turn"), str):
            kind, text = given.get("kind"), given.get("text")
            if isinstance(kind, str) and (text is None or isinstance(text, str)):
                feedback[given["turn"]] = {"kind": kind, "text": text}
    if bad and path not in _warned:
        _warned.add(path)
        log.warning("querygpt: ignored %d malformed turn record%s in %s (metadata.querygpt); they are not replayed.",
                    bad, "s" if bad > 1 else "", path)
    for record in turns.values():
        yield replace(record, feedback=feedback[record.id]) if record.id in feedback else record


def _outputs(nb: dict) -> Iterator[dict]:
    cells = nb.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            if isinstance(output, dict):
                yield output


def _parse(data: Any) -> TurnRecord | None:
    """A well-formed record, or None (wrong types, absurd numbers, missing fields)."""
    if not isinstance(data, dict):
        return None
    try:
        return TurnRecord.from_dict(data)
    except (TypeError, ValueError):
        return None
