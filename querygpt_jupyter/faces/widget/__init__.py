"""The chat sidebar: one anywidget per kernel, inline or docked, sharing the `%%ask` conversation.

`chat()` / `chat(dock=True)` / `open_sidebar()` are the public surface; the front end is built from
`js/` into `querygpt_jupyter/static/` (no network needed at run time)."""
from ._chat import ChatWidget
from ._dock import chat, chat_widget, open_sidebar

__all__ = ["ChatWidget", "chat", "chat_widget", "open_sidebar"]
