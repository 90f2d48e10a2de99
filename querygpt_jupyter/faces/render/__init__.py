"""Renderers: how a turn and what surrounds it look to a person. Each reads finished data (an
`Answer`, the event stream, a catalogue, history records) and returns text or a mimebundle; none
runs a stage. The faces — magics.py, cli.py and the sidebar (widget/) — pick a renderer here.

    answer.py    an Answer in a notebook: HTML, the chart's mimebundle, the CLI's text
    progress.py  the event stream as one status line updated in place (the magic)
    schema.py    the catalogue: `%ask tables`, `querygpt schema`
    history.py   history records: `%ask history`, `%ask search`, `querygpt history`
"""
