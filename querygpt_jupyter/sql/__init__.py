"""SQL stages: the guard that decides what may run, and what the other stages build on it."""
