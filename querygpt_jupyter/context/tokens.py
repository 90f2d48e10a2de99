"""Counting prompt tokens: tiktoken's cl100k_base when its vocabulary is on this machine (LiteLLM
ships it inside its package, so it loads offline without importing LiteLLM), otherwise an
estimate that never counts fewer tokens than cl100k_base does on the development schemas
(tests/test_schema_context.py proves it over every dev schema)."""
from __future__ import annotations

import importlib.util
import math
import os
import re
import threading
from typing import Callable

CL100K_FILE = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"   # sha1 of its download URL: tiktoken's cache name
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                  r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
_lock = threading.Lock()
_encoder: object | None = None
_loaded = False


def _vocabulary_file() -> str | None:
    """Where cl100k_base's ranks are, without downloading: tiktoken's own cache, then LiteLLM's copy."""
    places = [os.environ.get("TIKTOKEN_CACHE_DIR"), os.environ.get("DATA_GYM_CACHE_DIR")]
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        places += [os.path.join(p, "litellm_core_utils", "tokenizers") for p in spec.submodule_search_locations]
    for place in places:
        if place and os.path.isfile(os.path.join(place, CL100K_FILE)):
            return os.path.join(place, CL100K_FILE)
    return None


def encoder():
    """cl100k_base, or None when tiktoken or its vocabulary is missing (loaded once, ~0.3 s)."""
    global _encoder, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            _encoder = _load()
        return _encoder


def _load():
    path = _vocabulary_file()
    if path is None:
        return None
    try:
        import base64

        import tiktoken
    except ImportError:
        return None
    try:
        with open(path, "rb") as f:
            ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in f if line.strip())}
    except (OSError, ValueError):
        return None
    special = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
               "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}
    return tiktoken.Encoding("cl100k_base", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=special)


_PIECE = re.compile(r"[A-Za-z]+|[0-9]|[^\sA-Za-z0-9]|\s+")


def estimate_tokens(text: str) -> int:
    """An upper bound on cl100k_base's count with no vocabulary: every digit, symbol and space a
    token, letters one token per 4 (rounded up), anything non-ASCII a token per byte. Coarse on
    purpose: over-counting only costs a little context."""
    total = 0
    for piece in _PIECE.findall(text):
        if not piece.isascii():
            total += len(piece.encode("utf-8"))
        elif piece[0].isalpha():
            total += math.ceil(len(piece) / 4)
        else:
            total += len(piece)
    return total


def count_tokens(text: str) -> int:
    """Tokens of `text` as the budget counts them (cl100k_base when available)."""
    enc = encoder()
    if enc is None:
        return estimate_tokens(text)
    return len(enc.encode(text, disallowed_special=()))


def counter_name() -> str:
    return "cl100k_base" if encoder() is not None else "estimate"


Counter = Callable[[str], int]
