"""A general English -> Chinese dictionary (config/english.tsv, from CC-CEDICT) for English questions.

The aliases file's glossary knows the bundled articles' names and terms; this knows the rest of
English, for any library. A word's translations are its senses, best first; the retriever keeps
those the library holds, which is what picks the sense ("free" is 免费 in one library, 自由 in
another). Read on the first English question, not at start-up: most questions are Chinese.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

log = logging.getLogger(__name__)

# Translations per English word at most: its first senses.
MAX_SENSES = 6


class EnglishDictionary:
    """English word or two-word phrase -> Chinese translations."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @functools.cached_property
    def _table(self) -> dict[str, str]:
        """word -> its line's kind and senses as they stand ("v\t选择 挑选"), parsed when looked up:
        64,000 words as tuples of strings took 24 MB, as one string each a third of it."""
        try:
            lines = self._path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            log.warning("English dictionary %s unreadable (%s); English words are not translated",
                        self._path, exc.__class__.__name__)
            return {}
        table = {}
        for line in lines:
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] and parts[2]:
                table[parts[0]] = f"{parts[1]}\t{parts[2]}"
        return table

    def translate(self, words: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """(first word, last word + 1, translations) for the phrases and words found, longest first."""
        out = []
        i = 0
        while i < len(words):
            for size in (2, 1):
                if i + size > len(words):
                    continue
                found = self.lookup(" ".join(words[i:i + size]))
                if found:
                    out.append((i, i + size, found))
                    i += size
                    break
            else:
                i += 1
        return out

    def lookup(self, phrase: str) -> tuple[str, ...]:
        """The translations of a word or phrase, trying its plain forms (risks -> risk)."""
        return self._entry(phrase)[1]

    def is_verb(self, phrase: str) -> bool:
        """Whether the dictionary glosses the word as a verb ("to choose")."""
        return self._entry(phrase)[0]

    def _entry(self, phrase: str) -> tuple[bool, tuple[str, ...]]:
        """(whether a verb, senses) of the first plain form the table holds; a past participle with
        an entry of its own (worried: 担心 不安) adds its verb's senses (worry: 担忧 忧虑), which it
        shares in English whatever its own line lists. Not a plural or an -ing form: news, goods
        and interesting mean other than new, good and interest."""
        table = self._table
        found = [form for form in _plain_forms(phrase) if form in table]
        if not found:
            return False, ()
        kind, _, senses = table[found[0]].partition("\t")
        words = senses.split(" ")[:MAX_SENSES]
        if len(found) > 1 and found[0] == phrase and phrase.endswith("ed"):
            words += table[found[1]].partition("\t")[2].split(" ")[:MAX_SENSES]
        return kind == "v", tuple(dict.fromkeys(words))


def _plain_forms(phrase: str) -> list[str]:
    """The phrase, then its last word without an inflection: -s, -es, -ies, -ed, -ing, -'s."""
    head, _, last = phrase.rpartition(" ")
    prefix = f"{head} " if head else ""
    forms = [last]
    for suffix, replacement in (("'s", ""), ("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"),
                                ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if last.endswith(suffix) and len(last) - len(suffix) >= 3:
            forms.append(last[: len(last) - len(suffix)] + replacement)
    return [prefix + form for form in dict.fromkeys(forms)]
