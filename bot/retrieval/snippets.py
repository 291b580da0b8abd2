"""What of a passage is shown: the whole of a short one, the best sentences of a long one.

A passage up to `SNIPPET_CHARS` long is shown whole; a longer one shows its best run of 1-3
consecutive sentences, verbatim, with … where it was cut: the run holding the most of the
question's words, and of those the longest that fits. A sentence ending in a colon introduces
what follows (一位采访者询问梁文峰……他的回答则十分有意思：), so it never stands at the end of a
snippet and the sentence after it never starts one: the quotation keeps its speaker.
"""

from __future__ import annotations

import re

# Longest passage shown whole; a longer one is cut to its best sentences. Telegram shows about
# 160 Chinese characters in four lines of a phone screen.
SNIPPET_CHARS = 160
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”」』\"’）)]*|\n+|$)")
_LEAD_IN = re.compile(r"[:：]\s*$")


def snippet(text: str, spans: list[tuple[int, int, float]]) -> tuple[int, int]:
    """The whole text when short, else the 1-3 consecutive sentences holding the most query weight.

    spans are (start, end, weight) of the matched terms in text.
    """
    if len(text) <= SNIPPET_CHARS:
        return 0, len(text)
    sentences = _glued(text, _sentences(text))
    best, best_key = (sentences[0][0], sentences[0][1]), None
    for first in range(len(sentences)):
        for last in range(first, min(first + 3, len(sentences))):
            start, end = sentences[first][0], sentences[last][1]
            if last > first and end - start > SNIPPET_CHARS:
                break
            gained: dict[str, float] = {}
            for s, e, w in spans:
                if start <= s and e <= end:
                    gained[text[s:e]] = max(gained.get(text[s:e], 0.0), w)
            # Most query weight first; then, of windows that fit, the longest (more of the passage
            # to read, the question's words with their context); a window over the limit (one long
            # sentence) as short as possible.
            length = end - start
            fits = length <= SNIPPET_CHARS
            key = (sum(gained.values()), fits, length if fits else -length, -first)
            if best_key is None or key > best_key:
                best, best_key = (start, end), key
    start, end = best
    # Trim the whitespace a sentence span may carry at its edges; the text stays verbatim.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def surfaces(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Distinct surface strings of the matched spans not inside a longer match, longest first."""
    spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
    outer: list[tuple[int, int]] = []
    # Every span kept so far starts at or before this one (they are sorted by start, the longer
    # first): one of them holds it iff the farthest end among them reaches its end.
    reach = None
    for s, e in spans:
        if reach is not None and e <= reach:
            continue
        outer.append((s, e))
        reach = e if reach is None else max(reach, e)
    words = dict.fromkeys(text[s:e] for s, e in outer)
    return tuple(sorted(words, key=lambda w: (-len(w), text.find(w))))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of text, each keeping its end mark and closing quote."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start()]
    return spans or [(0, len(text))]


def _glued(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences with each lead-in (ending in a colon) joined to the sentence after it."""
    out: list[tuple[int, int]] = []
    for start, end in sentences:
        if out and _LEAD_IN.search(text[out[-1][0]:out[-1][1]]):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out
