"""querygpt-jupyter: ask a database a question from Jupyter; get reviewable SQL, a DataFrame and
a chart. Importing this package is cheap: everything heavy loads on first use."""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["ask", "run_sql", "schema", "schema_context", "chat", "Answer", "load_ipython_extension", "unload_ipython_extension", "__version__"]


def ask(question, db=None, model=None, **options):
    from .api import ask as _ask

    return _ask(question, db=db, model=model, **options)


def run_sql(sql, db=None, **options):
    from .api import run_sql as _run_sql

    return _run_sql(sql, db=db, **options)


def schema(db=None, **options):
    from .api import schema as _schema

    return _schema(db=db, **options)


def schema_context(schema_doc, question, budget=2000, **options):
    """What the model reads about `schema_doc` (a Catalog, its `querygpt schema --json` dict, or
    `db=` to introspect) for `question`, within `budget` tokens: see querygpt_jupyter.context."""
    from .api import schema_context as _schema_context

    return _schema_context(schema_doc, question, budget, **options)


def chat(dock=False):
    """The notebook's chat with its databases: shown inline, or docked in JupyterLab's right
    sidebar with `dock=True` (the same as `%ask chat`)."""
    from .faces.widget import chat as _chat

    return _chat(dock=dock)


def load_ipython_extension(ipython) -> None:
    from .faces.magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .faces.magics import unload

    unload(ipython)


def __getattr__(name):
    if name == "Answer":
        from .answer import Answer

        return Answer
    raise AttributeError(f"module 'querygpt_jupyter' has no attribute {name!r}")
