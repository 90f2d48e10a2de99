"""The faces: the `%ask` magics, the `querygpt` command, the chat sidebar, and the renderers they
share. A face turns the event stream and the Answer into what its reader sees; it never plans,
guards or runs SQL itself (agent/turn.py does, for every face)."""
