"""Stage 1, tokens: the question's words, each with its singular stem, offsets and number value.

Every later stage compares stems (`cars` meets the table `car`), so names in the catalogue are
split the same way (`sepalLength` → sepal length, `body_mass_g` → body mass g).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import AgentFailure, SchemaError, how
from ..language import language_of
from .outcome import refuse
from .vocabulary import NUMBER_WORDS, STOPWORDS

if TYPE_CHECKING:
    from ...connections.catalog import Catalog
    from .probe import ValueProbe


@dataclass(frozen=True)
class Token:
    text: str            # lower case
    stem: str            # singular form, so "cars" meets the table "cars" and "car"
    start: int           # character offsets in the question
    end: int
    number: float | None = None

    @property
    def is_stop(self) -> bool:
        return self.text in STOPWORDS


_RUN = re.compile(r"\d+\.\d+|[^\W_]+|[,&]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _stem(word: str) -> str:
    """A crude singular: enough for plural nouns in names and questions, applied to both sides."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenise(text: str) -> list[Token]:
    """Words of `text`, identifiers split on `_` and camelCase (`sepalLength` → sepal length)."""
    tokens = []
    for run in _RUN.finditer(text):
        offset = run.start()
        for part in _CAMEL.split(run.group()):
            lower = part.lower()
            number = None
            if _DIGITS.fullmatch(lower):
                number = float(lower)
            elif lower in NUMBER_WORDS:
                number = float(NUMBER_WORDS[lower])
            tokens.append(Token(lower, _stem(lower), offset, offset + len(part), number))
            offset += len(part)
    return tokens


def name_stems(name: str) -> tuple[str, ...]:
    return tuple(t.stem for t in tokenise(name))


def normalised(value: Any) -> str:
    return " ".join(t.text for t in tokenise(str(value)))


@dataclass(frozen=True)
class Request:
    """What the planner is asked: a question about a catalogue, and the probe for stored values."""

    question: str
    catalog: Catalog
    probe: ValueProbe | None = None


@dataclass(frozen=True)
class Words:
    """A request with its question split into tokens: what every later stage reads."""

    question: str
    tokens: tuple[Token, ...]
    catalog: Catalog
    probe: ValueProbe | None = None


def split(request: Request) -> Words:
    """The question's tokens; refuses an empty question, one not in English, and a catalogue
    without tables (these refusals are final: no join is tried)."""
    tokens = tokenise(request.question)
    if not tokens:
        raise refuse("The question is empty.")
    language = language_of(request.question)
    if language is not None:
        raise AgentFailure(
            f"The offline planner reads questions in English, and this one looks like {language}.",
            hint=f"Ask in English, or configure a model that reads it: {how('configure_model')}.",
        )
    if not request.catalog.tables:
        raise SchemaError("The database has no tables to ask about.",
                          hint=f"Check that it is the database holding your data ({how('choose_db')}); "
                               f"{how('show_tables')} lists what querygpt sees.")
    return Words(request.question, tuple(tokens), request.catalog, request.probe)
