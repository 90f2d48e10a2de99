"""One chat per kernel: shown inline (`chat()`) or docked in JupyterLab's right sidebar
(`chat(dock=True)`, `%ask chat`). Docking uses sidecar, which puts any widget in `#jp-right-stack`."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...session import Session
    from ._chat import ChatWidget

SIDEBAR_TITLE = "QueryGPT"

# one widget and one sidebar tab per conversation; they go away with the session
_widgets: "weakref.WeakKeyDictionary[Session, ChatWidget]" = weakref.WeakKeyDictionary()
_sidecars: "weakref.WeakKeyDictionary[Session, Any]" = weakref.WeakKeyDictionary()


def notebook_session(shell: Any = None) -> "Session":
    """The kernel's session, loading the extension first if `%load_ext` was not run, so that
    `%%ask` cells and the chat share one conversation (and the inserted `%%ask --sql` cells run)."""
    from ...session import current_session

    session = current_session()
    if session is not None:
        return session
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        from ...errors import UsageError

        raise UsageError("The chat needs a running IPython kernel (a notebook).")
    shell.extension_manager.load_extension("querygpt_jupyter")
    session = current_session()
    assert session is not None, "loading querygpt_jupyter starts a session"
    return session


def chat_widget(session: "Session | None" = None) -> "ChatWidget":
    """The chat of this kernel's conversation (created on first use)."""
    from ...charts.render import warm_up
    from ._chat import ChatWidget

    session = session or notebook_session()
    widget = _widgets.get(session)
    if widget is None or widget.comm is None:
        widget = _widgets[session] = ChatWidget(session)
        warm_up()   # the first chart's SVG engine starts while the analyst types
    return widget


def chat(dock: bool = False, session: "Session | None" = None) -> "ChatWidget | None":
    """The notebook's chat: returned (so a cell shows it inline), or docked in the right sidebar."""
    widget = chat_widget(session)
    if dock:
        open_sidebar(widget=widget)
        return None
    return widget


def open_sidebar(shell: Any = None, widget: "ChatWidget | None" = None) -> "ChatWidget":
    """Dock the kernel's chat in JupyterLab's right sidebar; a second call replaces the tab, so a
    kernel never has two. Must run inside a cell (sidecar shows what a cell displays)."""
    from IPython.display import display
    from sidecar import Sidecar

    widget = widget or chat_widget(notebook_session(shell))
    session = widget.session
    old = _sidecars.pop(session, None)
    if old is not None:
        old.close()
    sidecar = _sidecars[session] = Sidecar(title=SIDEBAR_TITLE, anchor="right")
    with sidecar:
        display(widget)
    return widget
