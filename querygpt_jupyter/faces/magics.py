"""`%ask` and `%%ask`: parse arguments, hand the question to the library, render its events.

No pipeline logic lives here: the magic is one renderer of `ask()`'s event stream."""
from __future__ import annotations

import keyword
import logging
import threading
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .. import errors
from ..conversation import prepare_turn, reproducible_cell, variable_name  # noqa: F401  (re-exported)
from ..history.notebook import METADATA_KEY
from ..session import Session, end_session, start_session

from .subcommands import SUBCOMMANDS, help_text, parse  # the sub-commands' grammars


@magics_class
class AskMagics(Magics):
    def __init__(self, shell, session: Session):
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument("--conn", help="Connection to ask: a name from `%ask connect`, a variable, 'demo' or 'dataframes'.")
    @argument("--model", help="LiteLLM model string, or querygpt/offline (the built-in planner).")
    @argument("--name", help="Bind the resulting DataFrame to this variable now (and in the inserted cell).")
    @argument("--no-chart", action="store_true", help="Do not draw a chart.")
    @argument("--sql", action="store_true", help="The cell body is SQL to run as is (no model): what inserted cells use.")
    @argument("--view", choices=("user", "developer"), help="Override Ask.view for this cell.")
    @argument("--new", action="store_true", help="Start a new conversation: earlier turns are not given to the model.")
    @argument("--fresh", action="store_true", help="Ask the model again even if this question was answered before.")
    @argument("question", nargs="*", help="The question (or, in a cell, the cell body).")
    @line_cell_magic
    def ask(self, line: str = "", cell: str | None = None) -> Any:
        """Ask the database a question in plain language.

        %%ask [--conn NAME] [--model M] [--name VAR] [--no-chart]   (question in the cell body)
        %ask QUESTION
        %ask SUB-COMMAND ...   (`%ask help` lists them all)
        """
        with errors.speaking_to("notebook"):
            return self._dispatch(line, cell)

    def _dispatch(self, line: str, cell: str | None) -> Any:
        words = line.split(None, 1)
        if cell is None and words and words[0] in SUBCOMMANDS:
            rest = words[1] if len(words) > 1 else ""
            if not (words[0] == "tables" and rest.strip() and rest.split()[0] not in ("--conn", "-h", "--help")):
                args = parse(words[0], rest)
                if args is None:
                    return self._cmd_help(words[0])
                return getattr(self, f"_cmd_{words[0]}")(args)
        args = parse_argstring(self.ask, line)
        text = cell if cell is not None else " ".join(args.question)
        if cell is not None and args.question:
            raise errors.UsageError("Put the question in the cell body, options on the %%ask line.")
        return self._ask(text.strip(), args, from_cell=cell is not None)

    # -- a question (or SQL) -------------------------------------------------------------------
    def _ask(self, text: str, args, from_cell: bool) -> None:
        from ..conversation import run_turn
        from .render.answer import show_answer
        from .render.progress import ProgressLine

        if not text:
            raise errors.UsageError("Nothing to ask.", hint="Write a question after %ask, or in the body of a %%ask cell.")
        if args.new:
            self.session.new_conversation()
        prepared = prepare_turn(self.session, args.conn, question=text, sql=args.sql, model=args.model,
                                chart=False if args.no_chart else None, view=args.view,
                                replay=False if args.fresh else None)
        cfg, conn = prepared.config, prepared.connection
        progress = ProgressLine(developer=cfg.view == "developer")
        result = run_turn(self.session, text, listener=progress, sql=args.sql, prepared=prepared,
                          question=_question_from_header(text) if args.sql else None)
        answer, turn = result.answer, result.record
        progress.close(answer)
        if answer.error is not None:
            from IPython.display import display

            from .render.answer import connection_line

            display({"text/plain": connection_line(answer)}, raw=True)
            if cfg.view == "developer" and answer.attempts:
                from IPython.display import display

                from .render.answer import attempts_text

                display({"text/plain": attempts_text(answer)}, raw=True)
            raise answer.error
        name = args.name
        if name:
            _check_identifier(name)
            self.session.bind(name, answer.df)
        show_answer(answer, view=cfg.view, metadata={METADATA_KEY: turn.to_dict()} if turn else None)
        if not args.sql and cfg.insert_cell:
            self.shell.set_next_input(reproducible_cell(answer, conn, name or variable_name(answer.question or "")),
                                      replace=False)

    # -- sub-commands ---------------------------------------------------------------------------
    def _cmd_connect(self, args) -> None:
        from IPython.display import display

        spec: Any = args.url
        name = args.name
        namespace = self.shell.user_ns
        if spec in namespace and not isinstance(namespace[spec], str) and "://" not in spec:
            spec = namespace[spec]
            name = name or args.url
        elif spec in namespace and isinstance(namespace[spec], str):
            spec = namespace[spec]
        connected = self.session.connect(spec, name)
        label = self.session.adapter(connected).label
        display({"text/plain": f"Connected {connected}: {label}"}, raw=True)

    def _cmd_tables(self, args) -> None:
        """The catalogue of the connection named (or set with `%config Ask.conn`), else of every
        connection a question may go to, the one in use first."""
        from IPython.display import display

        from ..connections.introspect import introspect
        from .render.schema import catalogs_html, catalogs_text

        if args.conn or self.session.config.conn:
            choice = self.session.choose(args.conn)
            shown = [(choice.name, introspect(choice.adapter))]
        else:
            shown = []
            for candidate in sorted(self.session.candidates(), key=lambda c: c.name != self.session.current):
                try:
                    shown.append((candidate.name, introspect(candidate.open())))
                except Exception as error:   # one broken connection (closed, unreachable) must not hide the others
                    shown.append((candidate.name, error))
        display({"text/html": catalogs_html(shown), "text/plain": catalogs_text(shown)}, raw=True)

    def _cmd_model(self, args) -> None:
        from IPython.display import display

        from ..config import OFFLINE_MODEL

        cfg = self.session.config
        if args.key_env is not None:
            cfg.key_env = args.key_env
        if args.api_base is not None:
            cfg.api_base = args.api_base
        if args.model:
            cfg.model = args.model
        if cfg.model != OFFLINE_MODEL:
            from ..agent.llm import warm_up

            warm_up()
        extras = "".join(f" · {label} {value}" for label, value in (("key from $", cfg.key_env), ("server", cfg.api_base)) if value)
        display({"text/plain": f"Model: {cfg.model}{extras.replace('$ ', '$')}"}, raw=True)

    def _cmd_stats(self, args) -> None:
        from IPython.display import display

        answers = self.session.answers
        prompt = sum(a.usage.prompt_tokens for a in answers)
        completion = sum(a.usage.completion_tokens for a in answers)
        cost = sum(a.usage.cost_usd or 0.0 for a in answers)
        stages: dict[str, float] = {}
        for a in answers:
            for stage, ms in a.timings.items():
                stages[stage] = stages.get(stage, 0.0) + ms
        failed = sum(1 for a in answers if a.error is not None)
        lines = [f"{len(answers)} turns ({failed} failed) · {prompt:,} prompt + {completion:,} completion tokens · ${cost:.4f}"]
        lines += [f"  {stage:<15} {ms:10.1f} ms" for stage, ms in stages.items()]
        display({"text/plain": "\n".join(lines)}, raw=True)

    def _cmd_history(self, args) -> None:
        from IPython.display import display

        from ..history.index import default_index
        from .render.history import records_html, records_text

        notebook = None if args.all else self.session.notebook()
        records = default_index().recent(args.limit, notebook=notebook)
        display({"text/plain": records_text(records), "text/html": records_html(records)}, raw=True)

    def _cmd_search(self, args) -> None:
        from IPython.display import display

        from ..history.index import default_index
        from .render.history import records_html, records_text

        records = default_index().search(args.text, limit=20)
        display({"text/plain": records_text(records), "text/html": records_html(records)}, raw=True)

    def _cmd_feedback(self, args) -> None:
        from IPython.display import display

        from ..history.notebook import FEEDBACK_KEY

        answered = [a for a in self.session.answers if a.question]
        if not answered:
            raise errors.UsageError("There is no turn to give feedback on yet.")
        answer = answered[-1]
        given = self.session.feedback(answer, args.kind, args.text or None)
        if given["kind"] == "suggestion" and not given["text"]:
            raise errors.UsageError("A suggestion needs text: %ask feedback suggest TEXT")
        display({"text/plain": f"Feedback recorded: {given['kind']} for {answer.question!r}."}, raw=True,
                metadata={FEEDBACK_KEY: {"turn": answer.turn_id, **given}})

    def _cmd_chat(self, args) -> None:
        from .widget import open_sidebar

        open_sidebar(self.shell)

    def _cmd_help(self, args) -> None:
        """The magic's own options, then every sub-command (or one sub-command's full help)."""
        from IPython.display import display

        one = args if isinstance(args, str) else args.command
        text = help_text(one) if one else f"{self.ask.__doc__ or ''}\n{help_text()}"
        display({"text/plain": text}, raw=True)


def _check_identifier(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise errors.UsageError(f"{name!r} is not a valid Python variable name.")


def _question_from_header(text: str) -> str | None:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return (first[2:].strip() or None) if first.startswith("--") else None


def load(shell) -> None:
    session = start_session(shell)
    if session.config not in shell.configurables:
        shell.configurables.append(session.config)
    shell.register_magics(AskMagics(shell, session))
    if keep_question_marks not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(keep_question_marks)
    threading.Thread(target=_warm_up, name="querygpt-warm-up", daemon=True).start()


def _warm_up() -> None:
    """Pay the slow first-use costs (imports, the SVG engine's start) while the analyst reads,
    not when they press Shift+Enter."""
    try:
        import duckdb  # noqa: F401
        import pandas  # noqa: F401
        import sqlglot  # noqa: F401
        from ..charts.render import warm_up

        warm_up()

        from ..config import OFFLINE_MODEL
        from ..session import current_session

        session = current_session()
        if session is not None and session.config.model != OFFLINE_MODEL:
            from ..agent.llm import load_litellm

            load_litellm()
    except Exception:  # warm-up is an optimisation; the real call will report any problem
        logging.getLogger("querygpt").debug("warm-up failed", exc_info=True)


def unload(shell) -> None:
    if keep_question_marks in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(keep_question_marks)
    end_session()


def keep_question_marks(lines: list[str]) -> list[str]:
    """`%ask How many cars?` would otherwise become IPython help (`?` at the end of a line asks
    for help): call the magic directly for such lines, keeping the question as written."""
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("%ask ") and stripped.endswith("?"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}get_ipython().run_line_magic('ask', {stripped[5:].strip()!r})\n")
        else:
            out.append(line)
    return out
