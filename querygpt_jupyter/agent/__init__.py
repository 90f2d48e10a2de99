"""The agent: one turn from question to answer (`turn`), and the planners that write the SQL —
the built-in `offline` planner needs no model; model-backed planners go through LiteLLM."""
