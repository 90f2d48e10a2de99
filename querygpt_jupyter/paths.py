"""Where querygpt keeps its files: `QUERYGPT_HOME`, else the platform's user data directory."""
from __future__ import annotations

import os


def data_home() -> str:
    home = os.environ.get("QUERYGPT_HOME")
    if not home:
        from platformdirs import user_data_dir

        home = user_data_dir("querygpt", appauthor=False)
    os.makedirs(home, exist_ok=True)
    return home
