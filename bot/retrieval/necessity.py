"""Term necessity: how likely a word of a question is to appear in the passage that answers it.

"DeepSeek 开源的原因" is answered by a passage about DeepSeek and open source that never says 原因;
"李彦宏多大年纪" is not answered by a passage about 李彦宏 that never mentions his age. The words
原因, 作用, 区别, 何时 frame a question; 年纪, 面积, names and numbers are what it asks about. Which
is which is learned, not listed: over question/answer pairs of public data, the share of questions
holding a word whose answer passage holds it too (Zhao & Callan's "term necessity"), smoothed
towards the share of the word's class, so a word never seen in training still gets its class's
value (啥 and 咋 are pronouns, as 什么 and 哪 are).

Classes come from what is known of a word without any library: jieba's part-of-speech tags for
function words and adverbs, whether it is one of the user dictionary's names, and how common it
is in general Chinese (jieba's dictionary counts). Adverbs are a class of their own: jieba's
dictionary tags many verbs and nouns as adverbs (反对, 同意, 首都), so the class is not a closed
list of grammar words, and its share is fitted like any other.
"""

from __future__ import annotations

import re
from bot.retrieval.model import NecessityParams
from bot.text import Analyzer

# jieba tags of function words: pronouns (r), conjunctions (c), prepositions (p), particles (u, y),
# interjections (e), onomatopoeia (o), suffixes (k) and prefixes (h): closed classes.
FUNCTION_TAGS = frozenset("rcpuyeokh")
# jieba's adverb tag: an open class in its dictionary, where verbs and nouns carry it too.
ADVERB_TAG = "d"
# Frequency bands of jieba's dictionary counts (its total is about 60 million): below 1,000 a word
# is specialised, above 10,000 it is everyday language.
RARE_BELOW = 1_000
COMMON_BELOW = 10_000
CLASSES = ("function", "adverb", "number", "latin", "name", "unknown", "char", "rare", "common", "frequent")

_NUMBER = re.compile(r"^[0-9.,%]+$|^[零一二三四五六七八九十百千万亿两]+$")
_LATIN = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
# A verb with a colloquial question pronoun (干嘛, 干吗, 为嘛, 干啥, 搞啥: "what for", "why") asks as
# 干什么 and 为什么 do; jieba's dictionary tags them as nouns and verbs, or lacks them.
_COLLOQUIAL_QUESTION = re.compile(r"^[干为做搞弄][嘛吗啥]$")


def word_class(word: str, analyzer: Analyzer) -> str:
    """The class a word's necessity falls back to when training never saw it."""
    if _NUMBER.match(word):
        return "number"
    if _LATIN.match(word):
        return "latin"
    if word in analyzer.function_words or _COLLOQUIAL_QUESTION.match(word):
        return "function"
    if word in analyzer.adverbs:
        return "adverb"
    if word in analyzer.user_words:
        return "name"
    count = analyzer.general_count(word)
    if count == 0:
        return "unknown"
    if len(word) == 1:
        return "char"
    return "rare" if count < RARE_BELOW else "common" if count < COMMON_BELOW else "frequent"


class Necessity:
    """word -> probability that the answer passage holds it, from the fitted counts."""

    def __init__(self, params: NecessityParams, analyzer: Analyzer) -> None:
        self._params = params
        self._analyzer = analyzer
        self._default = sum(params.classes.values()) / len(params.classes) if params.classes else 1.0

    def __call__(self, word: str) -> float:
        """Smoothed share: (found + s * prior) / (asked + s)."""
        prior = self._params.classes.get(word_class(word, self._analyzer), self._default)
        asked, found = self._params.words.get(word, (0, 0))
        s = self._params.smoothing
        return (found + s * prior) / (asked + s) if asked + s > 0 else prior

