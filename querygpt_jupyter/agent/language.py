"""Is a question English? The offline planner reads English only: a question in another language
should be told so, not that its words name no table."""
from __future__ import annotations

import re
import unicodedata

# Function words common in questions, per language. Words English shares with another language
# ("per", "a", "in", "die", "is") are in at most one list, so that they never decide alone.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "English": frozenset("""the an of on at for from with to by is are was were how many much what which
        who where when each and or than more most least top average total number count list show""".split()),
    "German": frozenset("""der das den dem des und ist sind wie viele welche welcher welches wer wo gibt es
        nach mit für von im am zum zur durchschnittliche durchschnitt anzahl hat haben meisten
        ein eine einen alle nicht auf aus bei höchste größte""".split()),
    "French": frozenset("""le la les des du est sont combien quel quelle quels quelles qui où par de avec pour
        dans une un et moyenne nombre""".split()),
    "Spanish": frozenset("""el los las del es son cuántos cuántas cuantos cuantas cuál cuáles quién dónde
        por de con para una y promedio número hay""".split()),
    "Italian": frozenset("""il gli lo le dei delle è sono quanti quante quale quali chi dove con una
        media numero ci""".split()),
    "Portuguese": frozenset("""o os as do da dos das é são quantos quantas qual quais quem onde por de com para
        uma média número há""".split()),
    "Dutch": frozenset("""het de een en zijn hoeveel welke wie waar er met voor van gemiddelde aantal""".split()),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def language_of(question: str) -> str | None:
    """The question's language when it is clearly not English ("German", "a non-Latin script"),
    else None. Clearly: no English function word, and two or more of one other language's."""
    letters = [ch for ch in question if ch.isalpha()]
    if letters:
        latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
        if latin / len(letters) < 0.5:
            return "a language not written in Latin letters"
    words = [w.lower() for w in _WORD.findall(question)]
    if any(w in _FUNCTION_WORDS["English"] for w in words):
        return None
    counts = {
        language: sum(1 for w in words if w in vocabulary)
        for language, vocabulary in _FUNCTION_WORDS.items() if language != "English"
    }
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count >= 2 else None
