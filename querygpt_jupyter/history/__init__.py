"""What was asked and answered: turn records (small, no result rows, no secrets), the SQLite
index shared by every kernel, the CLI and the API, and the records notebooks carry."""
