"""Words for lexical matching: identifiers split at `_`, `.`, `-`, camelCase and digit runs;
lower-cased, lightly stemmed (plurals), stop words dropped. Questions and schemas go through the
same function, so "order items" meets `OrderItems` and `order_item`."""
from __future__ import annotations

import re
from functools import lru_cache

STOP_WORDS = frozenset("""
a about above after again all also am an and any are as at be been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him
his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your
give find show list get return provide calculate determine identify please using use based per whose
respective corresponding want need tell across within among
""".split())

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ACRONYM_PLURAL = re.compile(r"[A-Z]{2,}s")    # "NPIs", "URLs": one word, not "NP" + "Is"


def stem(word: str) -> str:
    """Plural and a few verb endings off, so "customers"/"customer" and "ordered"/"order" meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=200_000)
def words(text: str) -> tuple[str, ...]:
    """Matching words of `text`, in order, duplicates kept (BM25 counts them)."""
    if not text:
        return ()
    out = []
    for raw in _WORD.findall(text):
        parts = [raw] if _ACRONYM_PLURAL.fullmatch(raw) else _CAMEL.sub(" ", raw).split()
        for part in parts:
            lowered = part.lower()
            if lowered in STOP_WORDS or (len(lowered) == 1 and not lowered.isdigit()):
                continue
            out.append(stem(lowered))
    return tuple(out)


def plain_words(text: str) -> list[str]:
    """Lower-cased words of free text with their case-folded spelling kept (for value matching)."""
    return [w.lower() for w in _WORD.findall(text or "")]
