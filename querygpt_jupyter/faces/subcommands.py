"""The grammars of the `%ask` sub-commands: one small parser each (as JupySQL's `%sqlcmd` has),
declared here so that parsing, `%ask help` and `%ask NAME --help` come from one place. The
magic (magics.py) only looks a sub-command up and acts on what its parser read."""
from __future__ import annotations

import argparse
import shlex
from typing import Iterator

from .. import errors
from ..history.records import FEEDBACK_KINDS


class _Parser(argparse.ArgumentParser):
    """argparse for a notebook: a mistake is a `UsageError` naming the usage, never an exit."""

    def __init__(self, name: str, description: str, raw: bool = False, usage: str | None = None):
        super().__init__(prog=f"%ask {name}", description=description, add_help=False, usage=usage)
        self.name = name
        self.raw = raw            # free text follows (a search, a suggestion): split on spaces, not shell-like

    def error(self, message: str):
        raise errors.UsageError(f"Usage: {self.usage_line()}", hint=f"{message[0].upper()}{message[1:]}.")

    def usage_line(self) -> str:
        return " ".join(self.format_usage().split())[len("usage: "):]


def _grammars() -> dict[str, _Parser]:
    out: dict[str, _Parser] = {}

    def command(name: str, description: str, raw: bool = False, usage: str | None = None) -> _Parser:
        out[name] = _Parser(name, description, raw, usage)
        return out[name]

    p = command("connect", "Connect a database and make it the one in use.")
    p.add_argument("url", metavar="URL", help="A SQLAlchemy URL, a .duckdb/.db/.sqlite path, a variable holding a "
                                              "connection or DataFrame, or demo.")
    p.add_argument("--name", help="The name --conn will take (default: from the URL or the variable).")

    p = command("tables", "Show the tables, columns and keys querygpt sees: of the connection named (or "
                          "Ask.conn), else of every connection a question may go to.")
    p.add_argument("--conn", metavar="NAME", help="Only this connection.")

    p = command("model", "Show or set the model (Ask.model); the key's variable name is kept, never the key.")
    p.add_argument("model", nargs="?", metavar="MODEL", help="A LiteLLM model string, or querygpt/offline.")
    p.add_argument("--key-env", metavar="NAME", help="Environment variable holding the API key.")
    p.add_argument("--api-base", metavar="URL", help="Base URL of an OpenAI-compatible server.")

    p = command("history", "This notebook's turns (every notebook's with --all), newest first.")
    p.add_argument("limit", nargs="?", type=int, default=20, metavar="N", help="How many turns (default 20).")
    p.add_argument("--all", action="store_true", help="Turns of every notebook.")

    p = command("search", "Turns of every notebook whose question or SQL match TEXT.", raw=True)
    p.add_argument("text", nargs="+", metavar="TEXT")

    p = command("feedback", "Feedback on the last turn; correct turns become examples for the model.", raw=True,
                usage="%(prog)s KIND [TEXT]")
    p.add_argument("kind", choices=sorted(FEEDBACK_KINDS), metavar="KIND",
                   help="good (correct), partial, bad (wrong) or suggest.")
    p.add_argument("text", nargs=argparse.REMAINDER, metavar="TEXT", help="What to say (a suggestion needs it).")

    command("stats", "Totals of this session: turns, tokens, cost, time per stage.")
    command("chat", "Dock this kernel's chat in JupyterLab's right sidebar.")

    p = command("help", "This help; `%ask help NAME` (or `%ask NAME --help`) for one sub-command.")
    p.add_argument("command", nargs="?", metavar="NAME")
    return out


GRAMMARS = _grammars()
SUBCOMMANDS = tuple(GRAMMARS)


def parse(name: str, rest: str) -> argparse.Namespace | None:
    """The arguments of `%ask NAME rest`; None when `--help`/`-h` asked for the help instead.
    Free text (`raw` grammars) keeps its spacing and quotes: `text` is the rest as typed."""
    parser = GRAMMARS[name]
    if parser.raw:
        argv = rest.split()
    else:
        try:
            argv = shlex.split(rest)
        except ValueError as exc:   # an unclosed quote
            raise errors.UsageError(f"Usage: {parser.usage_line()}", hint=f"{exc}.") from None
    if argv and argv[0] in ("-h", "--help") or (not parser.raw and any(a in ("-h", "--help") for a in argv)):
        return None
    args = parser.parse_args(argv)
    if name == "feedback":
        words = rest.split(None, 1)
        args.text = words[1] if len(words) > 1 else ""
    elif parser.raw:
        args.text = rest.strip()
    return args


def help_text(name: str | None = None) -> str:
    """Every sub-command's usage and purpose, or one sub-command's full help."""
    if name is not None:
        if name not in GRAMMARS:
            raise errors.UsageError(f"No sub-command {name!r}.", hint=f"Sub-commands: {', '.join(SUBCOMMANDS)}.")
        return GRAMMARS[name].format_help()
    return "\n".join(_summary())


def _summary() -> Iterator[str]:
    yield "Sub-commands (`%ask help NAME` for one):"
    for parser in GRAMMARS.values():
        yield f"  {parser.usage_line()}"
        yield f"      {parser.description}"
