"""The one search entry point: rank passages for a question, decide relevance, make hits.

How a question is answered
--------------------------
1. `Analyzer.query_terms` turns the question into weighted terms grouped by the word they stand
   for (the word, its sub-words, synonyms, English -> Chinese translations); a follow-up's earlier
   question adds its terms at `CONTEXT_WEIGHT`. Its character pairs are the bigram query.
2. Each passage scores  words + bigram_weight x bigrams  under BM25F (`bot.retrieval.scoring`),
   where each word of the question counts once, through its best-matching form; its other forms
   add `TIE_SHARE` of their score (a passage with both halves of a long word still wins).
3. The relevance model (`bot.retrieval.relevance`) judges the best few candidates; when none is
   likely enough to answer, the reply is "nothing relevant". Later pages go on while candidates
   stay above the model's page threshold.
4. Near-duplicates of a better-ranked passage are skipped (`bot.retrieval.duplicates`); a long
   passage is shown as its best sentences (`bot.retrieval.snippets`).
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import re
import time
from collections.abc import Container, Iterator
from dataclasses import dataclass, replace
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import Sequence

import numpy as np

from bot.config import RetrievalConfig
from bot.corpus import Corpus, Passage, Passages, sentence_spans
from bot.retrieval import duplicates, snippets
from bot.retrieval.cache import (CACHE_VERSION, SERVING_VERSION, WEIGHTS_VERSION, ArraysWriter, cache_key,
                                 derived_key, gather, load_arrays, load_index, save_arrays, save_field, save_index,
                                 weights_path)
from bot.retrieval.index import (REPRESENTATIONS, IndexCounts, build_counts, build_field, counting_fingerprint,
                                 head_text)
from bot.retrieval.model import Model, load_model
from bot.retrieval.necessity import COMMON_BELOW, Necessity
from bot.retrieval.relevance import Evidence, Relevance, Word, feature_lists, features
from bot.retrieval.scoring import HIGH_TIER_SHARE, LONG_COLUMN, TermColumns, write_weights
from bot.retrieval.topk import Scorer, TopScores, compiled_loops
from bot.text import SUBWORD_WEIGHT, Analyzer, QueryTerm

# Forms of one question word beyond its best match add this share of their score.
TIE_SHARE = 0.3
# A follow-up's earlier question counts at this share of its weight.
CONTEXT_WEIGHT = 0.4
# A word held only as its character pairs (jieba cut it differently) counts this much of the word,
# times the share of its pairs the passage holds.
PAIR_SHARE = 0.9
# jieba's dictionary count from which a lone character is everyday language (多 98,900, 钱 17,871)
# rather than a rare one that is a topic of its own (蓍 15, 佛 3,080): the necessity classes'
# "frequent" band.
EVERYDAY_CHAR_COUNT = COMMON_BELOW
# A word the articles' own segmentation found (not in jieba's dictionary) is taught to the
# question analyzer when this many passages hold it: once is often a wrong cut, twice is a name.
LIBRARY_WORD_PASSAGES = 2
# Up to this many term columns, _covered looks each up on its own: batching them costs more.
_FEW_LOOKUPS = 4
# A term column of up to this many passages is also kept as sets (its rows, their articles),
# cached by column (WORD_CACHE of each representation): when every column of a question is this
# short, which rows hold which of its words is looked up in Python, not by numpy calls on arrays
# of a few dozen. Bounds the sets at some 2 x 8,192 x 256 rows.
SET_COLUMN = 256
# Up to this many rows (a question's judged few, or its first pool) are looked up in the sets.
_SET_ROWS = 64
# Candidates the relevance model judges for the first page (the question must be answered by one).
JUDGED = 5
# Passages whose tokens, terms and sentence windows' texts are kept between questions: enough
# for a question's pool over several pages and its follow-ups. Measured at 200,000 passages (400
# questions, bench/bench_retrieval.py): 4,096 held some 60 MB more than 1,024 for no speed seen.
PASSAGE_CACHE = 1024
# A library of at most this many passages keeps every passage's windows of every term and pair
# (some 14 KB each): all of them fit, so each question only looks its words up; in a larger one
# most passages judged are judged once, and a question looks for its own words alone
# (Retriever._window_places).
WINDOW_CACHE = 256
# Words of questions (with their forms) whose weights and relevance facts are kept between
# questions: a few hundred bytes each; a day's questions use a few thousand distinct words.
WORD_CACHE = 8192
# The ranking looks no deeper than this many best-scoring passages (pages end there): on a big
# corpus of repeated paragraphs, thousands of near-copies must not make one question slow.
MAX_POOL = 4096

_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+")
# A question asking a number or a date (its answer is one), and a numeral in a passage.
_ASKS_NUMBER = re.compile(r"多少|(?<!哪)几(?:个|岁|年|次|位|名|种|部|本|家|届|场|条|项|天|月|号|万|千|百|十)|多大|多久|多长|"
                          r"多高|多重|多远|多深|多宽|哪一年|哪年|何时|什么时候|几时|年龄|年纪|岁数|哪一天|"
                          r"\bhow (?:many|much|old|long)\b|\bwhen\b|\bwhat year\b", re.I)
# A question asking an age, and what an age is said with: a number of years, or the birth it counts
# from. The year of an interview ("在 2023 年的一次采访中", "1 月 29 日") is no age: a question of its
# own (number_missing, a feature among others) and a follow-up (holds_asked_number, where the
# earlier topic covers the question whole) are both held to it.
_ASKS_AGE = re.compile(r"多大了|多大年纪|多大岁数|多少岁|几岁|年龄|年纪|岁数|\bhow old\b", re.I)
_AGE = re.compile(r"岁|歲|年龄|年齡|年纪|年紀|出生|生于|生於|诞生|誕生|\bborn\b|\baged?\b", re.I)
# A numeral: digits that are not part of a name (H20, Yi-34B, GPT-5, 01.AI, Claude 3 Opus), Chinese numerals of two characters or more (二十三, 一百), a numeral before a
# word (六小时, 两个, 五种: a passage that says 十分 too counts, which only answers more often),
# one before a unit (一半, 一小时; not 一种, 一个: "a"), or an ordinal (第二). Passages are read as
# written, so the Traditional forms count too (兩種, 一萬, 三歲) and full-width digits.
_NUMERAL = re.compile(r"(?<![A-Za-z0-9.-])(?!(?<=[A-Za-z] )[0-9０-９]+ [A-Z])[0-9０-９]+(?![0-9０-９]*(?:[A-Za-z]|[.-][A-Za-z]))"
                      r"|[零〇一二两兩三四五六七八九十百千万萬亿億]{2,}"
                      r"|一[岁歲年月日天万萬亿億千百倍半小分秒周週]"
                      r"|[二两兩三四五六七八九十][\u4e00-\u9fff]|第[一二三四五六七八九十]")
# A question asking a price or a sum of money, and a sum: a numeral with a currency or a unit of
# money (600万美元, 557 万美元, 两百元, $5), or a currency sign before digits. Two kinds (两种) are no price.
_ASKS_MONEY = re.compile(r"多少钱|价格|价钱|售价|报价|票价|多贵|花了多少|花费多少|成本是多少|成本多少|"
                         r"\bhow much\b.*\b(?:cost|costs|pay|paid|price|spend|spent)\b|\bprice\b", re.I)
_MONEY = re.compile(r"(?:[0-9０-９][0-9０-９,.]*|[零〇一二两兩三四五六七八九十百千万萬亿億]+)\s*(?:[万萬亿億千百]\s*)?"
                    r"(?:美元|美金|元|块|欧元|英镑|日元|港元|港币|台币|新台币|人民币|卢布|dollars?|usd|rmb|yuan)"
                    r"|[$￥¥€£]\s*[0-9０-９]", re.I)
# A passage's last sentence is a question; a turn's label ("Caroline Hyde: ...") names its speaker.
_ENDS_ASKING = re.compile(r"[?？][”’\"'」』）)】\]]*\s*$")
_TURN_LABEL = re.compile(r"^([^，,。！？!?:：\n]{1,30})[:：]")
# A demonstrative standing for the question's subject: 该书, 此剧, 其地理位置, 这位作家.
_ANAPHORA = re.compile(r"(?:该|此|其(?![他它中实余次])|这(?:个|些|种|位|部|本|首|座|场|次|项|条|家|所|名|支))")

log = logging.getLogger(__name__)

_UNKNOWN = object()  # a fast path's sets not computed yet (Retriever._held_sets)


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    snippet: str                      # the passage text, or its best sentences with … marks
    matched_terms: tuple[str, ...]    # substrings of snippet to highlight, longest first
    speaker: str | None = None        # who said it, for a notable quotation
    relevance: float = 0.0            # the relevance model's probability that it answers
    nearby: bool = False              # no answer itself: of the best answer's section (search(nearby=True))


@dataclass(frozen=True)
class Query:
    """A question made ready for ranking: its words, their forms, and its bigram weights."""
    terms: tuple[QueryTerm, ...]
    words: tuple[Word, ...]
    word_weights: tuple[dict[int, float], ...]   # per word: {word column: ranking weight}
    bigram_weights: dict[int, float]             # {bigram column: weight}
    unseen_bigrams: int                          # distinct pairs of the question the library lacks
    ideal_score: float
    anaphoric: bool = False                      # it names its subject only by 该 / 此 / 其 / 这个
    asks_number: bool = False                    # it asks a number or a date (多少, 几个, 什么时候)
    asks_money: bool = False                     # the number it asks is a price or a sum (多少钱, 价格)
    asks_age: bool = False                       # the number it asks is an age (多大年纪, 几岁)


class Retriever:
    """Owns the index over one corpus; built once at start-up, then searched synchronously.

    For benchmarks and reference checks it also exposes:
      analyzer       the Analyzer (tokenize a query with retriever.analyzer.tokenize(text))
      idf            dict term -> idf of the words representation under our rule
      token_lists()  every passage body's word terms (a bag: order not kept)
      score_all(q)   numpy array of every passage's words score for tokens or (token, weight) pairs
    Ties rank by passage order (lower index first).
    """

    def __init__(self, corpus: Corpus, config: RetrievalConfig, model: Model | None = None,
                 analyzer: Analyzer | None = None, counts: IndexCounts | None = None) -> None:
        """Load or build the index; a fitting script may pass a model, analyzer and counts."""
        self.config = config
        # The cache's passages stay lazy (a Passage is made for the few a question touches).
        self.passages: Sequence[Passage] = corpus.passages if isinstance(corpus.passages, Passages) \
            else tuple(corpus.passages)
        self.analyzer = analyzer or Analyzer(config)
        self.model = model or load_model(config.model_file)
        self.necessity = Necessity(self.model.necessity, self.analyzer)
        self.relevance = Relevance(self.model.relevance)
        self.cache_hit = False
        # Before the index: passages and questions are cut with the titles' names whole (a
        # fitting script passing its counts has taught its analyzer the same before counting).
        self.analyzer.learn_titles(corpus.titles())
        if counts is None:
            arrays, self.cache_hit = serving_arrays(corpus, self.analyzer, self.model, config.cache_dir)
        else:
            arrays = _arrays_of(counts, self.model)
        self._install(arrays)
        # Passages' token spans are needed only for the few passages shown.
        self._spans = functools.lru_cache(maxsize=PASSAGE_CACHE)(self._passage_tokens)
        self._terms = functools.lru_cache(maxsize=PASSAGE_CACHE)(self._passage_terms)
        self._window_norms = functools.lru_cache(maxsize=PASSAGE_CACHE)(self._passage_window_norms)
        # A cache's passage is made from its arrays each time it is asked for (Passages), and a
        # question asks for each of its few several times (judging, ordering, showing); a
        # library's own tuple is read as it is.
        self._passage = (functools.lru_cache(maxsize=PASSAGE_CACHE)(self.passages.__getitem__)
                         if isinstance(self.passages, Passages) else self.passages.__getitem__)
        self._every_window_place = None
        # A judged passage's windows' shares of the question's words by the compiled loop when built.
        loops = compiled_loops()
        self._window_shares = loops.window_shares if loops is not None else None
        self._text_shares = loops.text_shares if loops is not None else None   # _shares_in, compiled
        self._sets_covered = loops.covered_by_sets if loops is not None else None   # _covered_by_sets'
        # Near-duplicate tests sum shared terms' idf roughly first (duplicates.repeats), compiled.
        self._rough = functools.partial(loops.idf_sum, self.words.idf) if loops is not None else None
        self._rough_idf = self._terms_rough_idf if loops is not None else None
        if len(self.passages) <= WINDOW_CACHE:
            self._every_window_place = functools.lru_cache(maxsize=WINDOW_CACHE)(self._passage_window_places)
        # What depends on a word alone, kept between questions: words recur (names, topics).
        self._word = functools.lru_cache(maxsize=WORD_CACHE)(self._word)
        self._token_pair_columns = functools.lru_cache(maxsize=WORD_CACHE)(self._token_pair_columns)
        self._word_sets = functools.lru_cache(maxsize=WORD_CACHE)(functools.partial(self._column_sets, self.words))
        self._pair_sets = functools.lru_cache(maxsize=WORD_CACHE)(functools.partial(self._column_sets, self.bigrams))
        self._row_head = functools.lru_cache(maxsize=PASSAGE_CACHE)(self._row_head)
        self._head_terms = functools.lru_cache(maxsize=4096)(
            lambda head: (frozenset(self.analyzer.tokenize(head)), frozenset(self.analyzer.bigrams(head))))

    def _install(self, arrays: dict[str, np.ndarray]) -> None:
        """BM25F weights of both representations; each passage's word terms for duplicates."""
        ranking = self.model.ranking
        vocab = {name: tuple(json.loads(bytes(arrays[f"{name}.vocab"]).decode("utf-8"))) for name in REPRESENTATIONS}
        self.words = TermColumns(None, ranking.words, arrays=_prefixed(arrays, "words."), vocab=vocab["words"])
        self.bigrams = TermColumns(None, ranking.bigrams, arrays=_prefixed(arrays, "bigrams."), vocab=vocab["bigrams"])
        self._article_first, self._article_end = _article_bounds(self.passages)
        self._leads = np.flatnonzero(self._article_first == np.arange(len(self.passages)))
        boost = None
        if ranking.lead_boost > 0:
            boost = np.ones(len(self.passages))
            boost[self._leads] *= 1.0 + ranking.lead_boost
        self._scorer = Scorer(self.words, self.bigrams, ranking.bigram_weight, TIE_SHARE, boost)
        self.vocab = self.words.vocab
        self.analyzer.learn_library_words([vocab["words"][j] for j in arrays["library_words"]])
        self._rows = _Rows(arrays["rows.indptr"], arrays["rows.indices"], arrays["rows.data"])
        self._signature = arrays["signatures"]
        # The passages' token spans when the index keeps them (not for counts a fitting script
        # passes): read, not cut again (_passage_tokens).
        self._word_terms = vocab["words"]
        self._token_spans = None
        if _spans_problem(arrays, len(self.passages)) is None:
            self._token_spans = tuple(arrays[name] for name, _ in _SPAN_ARRAYS)

    @functools.cached_property
    def _row_of(self) -> dict[str, int]:
        """Passage id -> row, for passages made in memory; built on first use."""
        return {p.id: i for i, p in enumerate(self.passages)}

    def _row(self, passage_id: str) -> int | None:
        """The row of a passage id, or None."""
        if isinstance(self.passages, Passages):
            return self.passages.row_of(passage_id)
        return self._row_of.get(passage_id)

    # --- public --------------------------------------------------------------------------

    @property
    def idf(self) -> dict[str, float]:
        """term -> idf of the words representation, for a plain reference implementation."""
        return {t: float(self.words.idf[j]) for t, j in self.vocab.items()}

    def token_lists(self) -> list[list[str]]:
        """Every passage body's word terms with their counts (order not kept)."""
        csr = self._rows
        terms = list(self.vocab)
        out = []
        for i in range(len(csr.indptr) - 1):
            start, end = csr.indptr[i], csr.indptr[i + 1]
            out.append([terms[j] for j, c in zip(csr.indices[start:end], csr.data[start:end]) for _ in range(c)])
        return out

    def row_of(self, passage_id: str) -> int:
        """The index of a passage in the corpus order."""
        row = self._row(passage_id)
        if row is None:
            raise KeyError(passage_id)
        return row

    def score_all(self, query: Sequence[str] | Sequence[tuple[str, float]]) -> np.ndarray:
        """Words score of every passage for a token list or (token, weight) pairs."""
        weights: dict[int, float] = {}
        for item in query:
            token, weight = (item, 1.0) if isinstance(item, str) else item
            j = self.vocab.get(token)
            if j is not None:
                weights[j] = weights.get(j, 0.0) + weight
        scores = np.zeros(len(self.passages))
        self.words.add_to(scores, weights)
        return scores

    def search(self, query: str, top_k: int = 3, offset: int = 0,
               context: str | None = None, avoid: Sequence[str] = (), nearby: bool = False) -> list[Hit]:
        """The best passages for query from rank offset on; [] when nothing is relevant.

        context is the earlier question of a follow-up: its terms count at lower weight. avoid
        holds ids of passages left out (what an earlier question showed, for a contrast). With
        nearby, the pages go on past the passages that answer into the other passages of the best
        answer's section that hold a word of the question (Hit.nearby): what 更多 brings once the
        answers are all shown.
        """
        if not self.passages or top_k <= 0:
            return []
        prepared = self.prepare(query, context)
        if not prepared.words:
            return []
        scores: dict[int, float] = {}
        avoided = frozenset(row for row in map(self._row, avoid) if row is not None)
        needed = offset + top_k
        ranked = self._rank(prepared, scores, needed=needed, avoided=avoided)
        highlight = self._highlight_weights(prepared) if ranked else {}
        hits = [self._hit(i, scores[i], p, highlight) for i, p in ranked[offset:needed]]
        if nearby and ranked and len(ranked) < needed:
            around = self._nearby(prepared, ranked, scores, needed - len(ranked), avoided)
            skip = max(0, offset - len(ranked))
            hits += [replace(self._hit(i, scores[i], 0.0, highlight), nearby=True)
                     for i in around[skip:skip + top_k - len(hits)]]
        return hits

    def passage_hit(self, passage_id: str, query: str) -> Hit | None:
        """A passage as a hit for query (its snippet and highlights), ranked by nothing: what the
        engine shows of a passage it adds to the ranking (a speaker's quotation). None: no such passage."""
        i = self._row(passage_id)
        if i is None:
            return None
        return self._hit(i, 0.0, 0.0, self._highlight_weights(self.prepare(query)))

    def names_in(self, question: str) -> list[str]:
        """The names of a question that the library holds (the library's own, or Latin names), as
        the question writes them: what a no-match reply can say the articles do mention."""
        query = self.prepare(question)
        held = {j for word in query.words if word.name and word.in_library for j, _ in word.forms}
        tokens = [t.token for t in query.terms if t.kind == "word" and self.vocab.get(t.token) in held]
        norm, where = self.analyzer.normalize_with_map(question)
        spans = sorted({(k, k + len(token)) for token in tokens if (k := norm.find(token)) >= 0})
        merged: list[list[int]] = []
        for start, end in spans:   # Sarah + Guo: one name, as written
            if merged and not norm[merged[-1][1]:start].strip():
                merged[-1][1] = end
            else:
                merged.append([start, end])

        def original(start: int, end: int) -> str:
            return question[where[start]:where[end - 1] + 1] if where else question[start:end]
        return list(dict.fromkeys(original(start, end) for start, end in merged))

    def prepare(self, query: str, context: str | None = None) -> Query:
        """The question's terms, words and weights (with an earlier question's at lower weight)."""
        # Normalized once: the terms, the pairs and the anaphora test all read the same text.
        norm = self.analyzer.normalize_question(query)
        terms = self.analyzer.normalized_query_terms(norm)
        pairs = self.analyzer.question_bigrams(norm)
        texts = [(pairs, 1.0)]
        if context:
            own = {t.token for t in terms}
            first_group = max((t.group for t in terms), default=-1) + 1
            context_norm = self.analyzer.normalize_question(context)
            for term in self.analyzer.normalized_query_terms(context_norm):
                if term.token not in own:
                    terms.append(QueryTerm(term.token, term.weight * CONTEXT_WEIGHT, first_group + term.group,
                                           term.kind, from_context=True))
            texts.append((self.analyzer.question_bigrams(context_norm), CONTEXT_WEIGHT))
        words, word_weights, peaks = self._words(terms)
        bigram_weights = self._bigram_weights(terms, texts)
        unseen = len({p for p in pairs if p not in self.bigrams.vocab})
        # The score of a passage of average length holding each term once, in body and head.
        ideal = self.words.peak * sum(peaks)
        ideal += self.model.ranking.bigram_weight * self.bigrams.peak * sum(
            weight * float(self.bigrams.idf[j]) for j, weight in bigram_weights.items())
        anaphoric = bool(_ANAPHORA.search(norm))
        asks_number = bool(_ASKS_NUMBER.search(norm))
        asks_money = asks_number and bool(_ASKS_MONEY.search(norm))
        asks_age = asks_number and bool(_ASKS_AGE.search(norm))
        return Query(tuple(terms), tuple(words), tuple(word_weights), bigram_weights, unseen, ideal, anaphoric,
                     asks_number, asks_money, asks_age)

    # --- the question's words --------------------------------------------------------------

    def _words(self, terms: list[QueryTerm]) -> tuple[list[Word], list[dict[int, float]], list[float]]:
        """Per word of the question: what the relevance model needs, its ranking weights, and the
        largest of its forms' weight x idf (what it adds to an ideal passage's score)."""
        by_group: dict[int, list[tuple[str, float, str]]] = {}
        for term in terms:
            by_group.setdefault(term.group, []).append((term.token, term.weight, term.kind))
        # In a Chinese question a Latin word is a name or a title (《Real world》, Sierra) as the
        # articles write it: its translation may stand beside it, never in its place.
        chinese = any(term.kind == "word" and _CJK_CHAR.match(term.token) for term in terms)
        words, weights, peaks = [], [], []
        for members in by_group.values():
            word, ranking, peak = self._word(tuple(members), chinese, self.analyzer.dictionary_version)
            if word is not None:
                words.append(word)
                weights.append(dict(ranking))
                peaks.append(peak)
        return words, weights, peaks

    def _word(self, forms_asked: tuple[tuple[str, float, str], ...], chinese: bool = False,
              dictionary_version: int = 0) -> tuple[Word | None, tuple[tuple[int, float], ...], float]:
        """One word of a question from its forms (token, weight, kind), in the question's order: what
        the relevance model needs of it, its ranking weights and their peak (as _words); None when
        it tells nothing. Depends on the forms and on whether the question is Chinese alone, not
        on the rest of the question, so it is cached: words recur. (dictionary_version, the
        analyzer's, keys the cache too: a word taught to a shared analyzer since changes its class.)"""
        members = [QueryTerm(token, weight, 0, kind) for token, weight, kind in forms_asked]
        power = self.model.ranking.necessity_power
        head = _head_word(members)
        necessity = self._necessity(head, members)
        factor = necessity ** power if power else 1.0
        # A word the corpus lacks still counts (it is evidence of another topic) unless a
        # translation or synonym the corpus has stands in for it.
        resolved = any(t.kind in ("translation", "synonym") and t.token in self.vocab for t in members)
        informative = 0.0
        forms: dict[int, float] = {}
        surfaces: dict[str, int] = {}
        ranking: dict[int, float] = {}
        own = self.vocab.get(head.token) if head is not None and head.kind == "word" else None
        own_idf = float(self.words.idf[own]) if own is not None else None
        # An English word the library holds translated stands for its translation: that it
        # also occurs in English somewhere ("「Open」的 AI 公司") is chance, not the concept.
        english = head is not None and _LATIN_WORD.fullmatch(head.token) is not None
        translated = (english and not chinese
                      and any(t.kind == "translation" and t.token in self.vocab for t in members))
        untranslated = (english and not translated and any(t.kind == "translation" for t in members)
                        and self.analyzer.english.is_verb(head.token))
        for t in members:
            j = self.vocab.get(t.token)
            if translated and t.kind in ("word", "subword") and _LATIN_WORD.fullmatch(t.token):
                j = None
            if j is not None:
                idf = float(self.words.idf[j])
                forms[j] = max(forms.get(j, 0.0), t.weight * idf)
                surfaces[t.token] = j
                # A rarer synonym must not outweigh the word the question used (封闭 for
                # 闭源): it counts at most as much as the word itself would.
                cap = min(1.0, own_idf / idf) if t.kind == "synonym" and own_idf else 1.0
                ranking[j] = max(ranking.get(j, 0.0), t.weight * factor * cap)
                # A synonym's full idf is what the question asked for; finding it covers less.
                informative = max(informative, (1.0 if t.kind == "synonym" else t.weight) * idf)
            elif t.kind == "word" and not resolved:
                # An English verb the dictionary translates, in senses the library never uses,
                # weighs as a sub-word: the articles may well say it otherwise (choose: 选择
                # is not among its senses). A noun (pizza) names a thing they would mention.
                unseen = self.words.unseen_idf * (SUBWORD_WEIGHT if untranslated else 1.0)
                informative = max(informative, t.weight * unseen)
        pairs, pair_count = self._pairs(head.token) if head is not None else ((), 0)
        if informative <= 0:
            return None, (), 0.0
        specific = any(t.kind in ("word", "translation") and t.token in self.vocab
                       and self.analyzer.is_specific(t.token) for t in members)
        asked = [t.token for t in members if t.kind == "word"]
        # A lone everyday character (多, 高, 说) is grammar more than topic; a rare one (蓍,
        # the name of a plant) is the topic itself.
        weak = not specific and bool(asked) and all(
            len(token) == 1 and _CJK_CHAR.match(token)
            and self.analyzer.general_count(token) >= EVERYDAY_CHAR_COUNT for token in asked)
        rarity = self._rarity(members)
        shares = tuple((token, min(forms[j], informative) / informative) for token, j in surfaces.items())
        texts = _pair_texts(head.token) if pair_count else ()
        name = specific or (head is not None and _LATIN_WORD.fullmatch(head.token) is not None
                            and not any(t.kind == "translation" for t in members))
        peak = max((w * float(self.words.idf[j]) for j, w in ranking.items()), default=0.0)
        return (Word(informative, necessity, rarity, tuple(forms.items()), shares, pairs, pair_count,
                     texts, specific, weak, name), tuple(ranking.items()), peak)

    def _necessity(self, head: QueryTerm | None, members: list[QueryTerm]) -> float:
        """The word's necessity; an English word's is its translation's (a word's role, not its script)."""
        if head is None:
            return 1.0
        if _LATIN_WORD.fullmatch(head.token):
            translations = [t.token for t in members if t.kind == "translation"]
            held = [t for t in translations if t in self.vocab]
            if held or translations:
                return self.necessity((held or translations)[0])
        return self.necessity(head.token)

    def _pairs(self, word: str) -> tuple[tuple[int, ...], int]:
        """The bigram columns the library has of a Chinese word's pairs, and how many pairs it has."""
        if len(word) < 2 or not _CJK_CHAR.match(word):
            return (), 0
        columns = [self.bigrams.vocab.get(pair) for pair in _pair_texts(word)]
        return tuple(c for c in columns if c is not None), len(columns)

    def _rarity(self, members: list[QueryTerm]) -> float:
        """How rare the word is in general Chinese (0 to 1), by its rarest Chinese form."""
        chinese = [t.token for t in members if _CJK_CHAR.match(t.token) and t.kind != "subword"]
        if not chinese:
            # An English word without a translation, or a Latin name: as rare as unknown words.
            return 1.0
        return max(self.analyzer.rarity(token) for token in chinese) / self.analyzer.max_rarity

    def _bigram_weights(self, terms: list[QueryTerm], texts: list[tuple[list[str], float]]) -> dict[int, float]:
        """{bigram column: weight}: the question's own pairs (texts: each text's pairs and weight),
        then its translations' and synonyms'."""
        out: dict[int, float] = {}

        def add(columns: Sequence[int], weight: float) -> None:
            for j in columns:
                out[j] = max(out.get(j, 0.0), weight)

        vocab = self.bigrams.vocab
        for pairs, weight in texts:
            add([vocab[p] for p in pairs if p in vocab], weight)
        for term in terms:
            if term.kind in ("translation", "synonym"):
                add(self._token_pair_columns(term.token), term.weight)
        return out

    def _token_pair_columns(self, token: str) -> tuple[int, ...]:
        """The bigram columns of a term's pairs (with repeats, in order): a word's own, so cached."""
        vocab = self.bigrams.vocab
        return tuple(vocab[p] for p in self.analyzer.bigrams(token) if p in vocab)

    # --- ranking ---------------------------------------------------------------------------

    def scores(self, query: Query) -> np.ndarray:
        """words + bigram_weight x bigrams, each word of the question by its best form.

        Every passage's score, the plain way: the ranking takes its best passages from
        `bot.retrieval.topk` instead, which gives the same numbers for them.
        """
        scores = np.zeros(len(self.passages))
        for forms in query.word_weights:
            if len(forms) == 1:
                self.words.add_to(scores, forms)
                continue
            best = np.zeros(len(self.passages))
            total = np.zeros(len(self.passages))
            for j, weight in forms.items():
                rows, values = self.words.column(j)
                contribution = weight * values
                total[rows] += contribution
                best[rows] = np.maximum(best[rows], contribution)
            scores += best + TIE_SHARE * (total - best)
        if query.bigram_weights and self.model.ranking.bigram_weight > 0:
            bigram = np.zeros(len(self.passages))
            self.bigrams.add_to(bigram, query.bigram_weights)
            scores += self.model.ranking.bigram_weight * bigram
        if self.model.ranking.lead_boost > 0:
            # An article's lead says what the article is about: definitions and summaries live there.
            scores[self._leads] *= 1.0 + self.model.ranking.lead_boost
        return scores

    def coverage(self, query: Query, rows: np.ndarray, covered: np.ndarray | None = None) -> np.ndarray:
        """The share of the question's necessity-weighted weight each row holds (the page test);
        covered is _covered(query's words, rows) when already computed."""
        words = list(query.words)
        if not words or not len(rows):
            return np.zeros(len(rows))
        if covered is None:
            covered = self._covered(words, rows)
        weight = np.array([0.0 if w.weak else w.informative * w.necessity for w in words])
        total = weight.sum()
        return covered @ weight / total if total > 0 else np.zeros(len(rows))

    def _covered(self, words: list[Word], rows: np.ndarray, sets=_UNKNOWN) -> np.ndarray:
        """rows x words: the share of each word's weight the passage holds (a form, or its pairs);
        sets: _held_sets(words), when known."""
        if len(rows) <= _SET_ROWS:
            if sets is _UNKNOWN:
                sets = self._held_sets(words)
            return self._covered_by_sets(words, rows.tolist(), *(sets or self._held_among(words, rows)))
        return self._covered_by_columns(words, rows)

    def _covered_by_columns(self, words: list[Word], rows: np.ndarray) -> np.ndarray:
        """_covered from the term columns themselves (numpy searches)."""
        if sum(len(word.forms) + len(word.pairs) for word in words) <= _FEW_LOOKUPS:
            return self._covered_one_by_one(words, rows)
        covered = np.zeros((len(rows), len(words)))
        # Which rows hold each form and each pair, in one look-up per representation; then each
        # word's best form, and the share of its pairs, for all rows at once.
        with_forms = [g for g, word in enumerate(words) if word.forms]
        if with_forms:
            present = self.words.present_many([j for g in with_forms for j, _ in words[g].forms], rows)
            shares = np.array([min(value, words[g].informative) / words[g].informative
                               for g in with_forms for _, value in words[g].forms])
            starts = np.cumsum([0] + [len(words[g].forms) for g in with_forms[:-1]])
            best = np.maximum.reduceat(np.where(present, shares[:, None], 0.0), starts, axis=0)
            covered[:, with_forms] = np.maximum(covered[:, with_forms], best.T)
        with_pairs = [g for g, word in enumerate(words) if word.pairs]
        if with_pairs:
            present = self.bigrams.present_many([j for g in with_pairs for j in words[g].pairs], rows)
            starts = np.cumsum([0] + [len(words[g].pairs) for g in with_pairs[:-1]])
            found = np.add.reduceat(present.astype(np.int64), starts, axis=0)
            held = found / np.array([words[g].pair_count for g in with_pairs])[:, None]
            covered[:, with_pairs] = np.maximum(covered[:, with_pairs], (PAIR_SHARE * held).T)
        return covered

    def _column_sets(self, columns: TermColumns, j: int) -> tuple[frozenset[int], frozenset[int]] | None:
        """A short term column's rows and the first rows of their articles, as sets; None for a
        column of more than SET_COLUMN passages. Cached by column (_word_sets, _pair_sets)."""
        start, end = int(columns.indptr[j]), int(columns.indptr[j + 1])
        if end - start > SET_COLUMN:
            return None
        rows = columns.indices[start:end]
        return frozenset(rows.tolist()), frozenset(self._article_first[rows].tolist())

    def _held_sets(self, words: list[Word]) -> tuple[list[list[frozenset[int]]], list[list[frozenset[int]]]] | None:
        """Per word, the row sets of its forms' columns and of its pairs' (in their order); None
        when one of them is longer than SET_COLUMN."""
        forms, pairs = [], []
        for word in words:
            held = []
            for j, _ in word.forms:
                sets = self._word_sets(j)
                if sets is None:
                    return None
                held.append(sets[0])
            forms.append(held)
            held = []
            for j in word.pairs:
                sets = self._pair_sets(j)
                if sets is None:
                    return None
                held.append(sets[0])
            pairs.append(held)
        return forms, pairs

    def _held_among(self, words: list[Word], rows: np.ndarray) -> tuple[list[list[frozenset[int]]],
                                                                         list[list[frozenset[int]]]]:
        """_held_sets among rows alone, for columns too long to keep as sets: which of rows each
        form's and pair's column holds (a binary search a row and column, in compiled code)."""
        listed = rows.tolist()
        forms = iter(self.words.present_many([j for word in words for j, _ in word.forms], rows).tolist())
        pairs = iter(self.bigrams.present_many([j for word in words for j in word.pairs], rows).tolist())
        return ([[frozenset(compress(listed, next(forms))) for _ in word.forms] for word in words],
                [[frozenset(compress(listed, next(pairs))) for _ in word.pairs] for word in words])

    def _covered_by_sets(self, words: list[Word], rows: list[int], forms: list[list[frozenset[int]]],
                         pairs: list[list[frozenset[int]]]) -> np.ndarray:
        """_covered from the columns' row sets (_held_sets): the same floats by the same operations
        (each word's largest form share held, then PAIR_SHARE x the share of its pairs held). Only
        the rows a column holds are visited: a row holding none of a word's keeps its 0.0. By the
        compiled loop when built (_scatter.covered_by_sets: each row looked up in each set)."""
        width = len(words)
        if self._sets_covered is not None:
            if len(set(rows)) < len(rows):
                return self._covered_by_columns(words, np.asarray(rows, dtype=np.int64))
            covered = np.zeros((len(rows), width))
            self._sets_covered(covered, rows, [(word.form_share_values, forms[g], word.pair_count, pairs[g])
                                               for g, word in enumerate(words)], PAIR_SHARE)
            return covered
        out = [0.0] * (len(rows) * width)   # row by row (row n, word g at n * width + g)
        place = {i: n * width for n, i in enumerate(rows)}
        wanted = frozenset(place)
        if len(wanted) < len(rows):
            return self._covered_by_columns(words, np.asarray(rows, dtype=np.int64))
        for g, word in enumerate(words):
            for (_, value), held in zip(word.forms, forms[g]):
                share = min(value, word.informative) / word.informative
                for i in held & wanted:
                    at = place[i] + g
                    if share > out[at]:
                        out[at] = share
            if word.pairs:
                found: dict[int, int] = {}
                for held in pairs[g]:
                    for i in held & wanted:
                        found[i] = found.get(i, 0) + 1
                for i, count in found.items():
                    share = PAIR_SHARE * (count / word.pair_count)
                    at = place[i] + g
                    if share > out[at]:
                        out[at] = share
        return np.array(out, dtype=np.float64).reshape(len(rows), width)

    def _covered_one_by_one(self, words: list[Word], rows: np.ndarray) -> np.ndarray:
        """_covered, one term column at a time: cheaper for a question of a word or two."""
        covered = np.zeros((len(rows), len(words)))
        for g, word in enumerate(words):
            for j, value in word.forms:
                share = min(value, word.informative) / word.informative
                covered[:, g] = np.maximum(covered[:, g], np.where(self.words.present(j, rows), share, 0.0))
            if word.pairs:
                held = np.sum([self.bigrams.present(j, rows) for j in word.pairs], axis=0) / word.pair_count
                covered[:, g] = np.maximum(covered[:, g], PAIR_SHARE * held)
        return covered

    def judge(self, query: Query, rows: np.ndarray, scores: np.ndarray,
              covered: np.ndarray | None = None, sets=_UNKNOWN) -> np.ndarray:
        """The relevance model's probability for each candidate row (sets: _held_sets of its words,
        when known)."""
        if query.words and len(rows) <= _SET_ROWS:
            return self.relevance.probability(feature_lists(list(query.words),
                                                            self._evidence(query, rows, scores, covered, True, sets)))
        return self.relevance.probability(self.features(query, rows, scores, covered))

    def features(self, query: Query, rows: np.ndarray, scores: np.ndarray,
                 covered: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The relevance features of each candidate row (bot.retrieval.relevance); covered is
        _covered(query's words, rows) when already computed (each row's is its own alone)."""
        return features(list(query.words), self._evidence(query, rows, scores, covered))

    def _evidence(self, query: Query, rows: np.ndarray, scores: np.ndarray | TopScores,
                  covered: np.ndarray | None = None, listed_values: bool = False, sets=_UNKNOWN) -> Evidence:
        """What the relevance features of rows are computed from (features, feature_lists); with
        listed_values, its scores and bigram coverage are lists (feature_lists reads them so).

        A question judges a handful of rows, so most of this is plain Python over lists (and the
        columns' row sets, when short): numpy's cost per call would dominate arrays of five. Each
        value is computed by the same float operations in the same order as elementwise numpy
        would (the sums stay in numpy)."""
        words = list(query.words)
        if covered is None:
            covered = self._covered(words, rows)
        listed = rows.tolist()
        if len(listed) > _SET_ROWS:
            sets = None
        elif sets is _UNKNOWN:
            sets = self._held_sets(words)
        # Each pair's weight x idf, added in the question's order; a row's found ones likewise.
        pair_idf = self.bigrams.idf[list(query.bigram_weights)].tolist() if query.bigram_weights else []
        idfs = [weight * idf for weight, idf in zip(query.bigram_weights.values(), pair_idf)]
        bigram_total = 0.0
        for idf in idfs:
            bigram_total += idf
        found = []
        pair_sets = self._bigram_sets(query.bigram_weights) if sets is not None else None
        if pair_sets is not None:
            # Each row's found pairs added in the question's order: pair by pair, to the rows holding it.
            shares = dict.fromkeys(listed, 0.0)
            wanted = frozenset(listed)
            for idf, held in zip(idfs, pair_sets):
                for i in held & wanted:
                    shares[i] += idf
            found = [shares[i] for i in listed]
        else:
            for held in self.bigrams.present_many(list(query.bigram_weights), rows).T.tolist():
                share = 0.0
                for idf, present in zip(idfs, held):
                    if present:
                        share += idf
                found.append(share)
        # Pairs of the question the library lacks count as missing, like unseen words.
        bigram_total += query.unseen_bigrams * self.bigrams.unseen_idf
        specs = _share_specs(words)
        wanted = _wanted(specs)
        windows = [self._window_coverage(i, specs, wanted) for i in listed]
        # Rows of one article's section share their head: its shares are found once.
        heads: dict[tuple[frozenset[str], frozenset[str]], list[float]] = {}
        for i in listed:
            terms = self._row_head(i)
            if terms not in heads:
                heads[terms] = (self._text_shares(*terms, specs, PAIR_SHARE) if self._text_shares is not None
                                else _shares_in(*terms, specs))
        head = np.array([share for i in listed for share in heads[self._row_head(i)]], dtype=np.float64)
        wanted_number = _AGE if query.asks_age else _MONEY if query.asks_money else _NUMERAL
        numerals = [query.asks_number and not wanted_number.search(self._passage(i).text) for i in listed]
        article = self._article_coverage(words, rows, sets)
        if listed_values:
            bigram = [share / bigram_total for share in found] if bigram_total > 0 else [0.0] * len(listed)
            picked = [scores.by_row[i] for i in listed] if isinstance(scores, TopScores) else scores[rows].tolist()
        else:
            bigram = np.array(found, dtype=np.float64) / bigram_total if bigram_total > 0 else np.zeros(len(rows))
            picked = scores[rows]
        return Evidence(covered, windows, head.reshape(len(rows), len(words)), article, bigram, picked,
                        query.ideal_score, query.anaphoric, numerals)

    def _bigram_sets(self, bigram_weights: dict[int, float]) -> list[frozenset[int]] | None:
        """The row sets of the question's pair columns, in order; None when one is longer than SET_COLUMN."""
        out = []
        for j in bigram_weights:
            sets = self._pair_sets(j)
            if sets is None:
                return None
            out.append(sets[0])
        return out

    def _article_coverage(self, words: list[Word], rows: np.ndarray, sets: tuple | None = None) -> np.ndarray:
        """rows x words: the share of each word the article of each row holds (by its forms);
        sets: _held_sets(words), when every column is short (their articles' sets are read)."""
        width = len(words)
        if sets is not None and self._sets_covered is not None:
            # As a row's own words from the columns' row sets, with each row's article's first row
            # for the row and each form's articles for its set (no pairs).
            covered = np.zeros((len(rows), width))
            self._sets_covered(covered, self._article_first[rows].tolist(),
                               [(word.form_share_values, [self._word_sets(j)[1] for j, _ in word.forms], 0, [])
                                for word in words], PAIR_SHARE)
            return covered
        out = [0.0] * (len(rows) * width)   # row by row (row n, word g at n * width + g)
        forms = [(g, min(value, word.informative) / word.informative, j)
                 for g, word in enumerate(words) for j, value in word.forms]
        if forms and sets is not None:
            firsts = self._article_first[rows].tolist()
            for g, share, j in forms:
                articles = self._word_sets(j)[1]
                for at, first in enumerate(firsts):
                    if first in articles and share > out[at * width + g]:
                        out[at * width + g] = share
        elif forms:
            for (g, share, _), held in zip(forms, self._in_article([j for _, _, j in forms], rows).tolist()):
                for at, present in enumerate(held):
                    if present and share > out[at * width + g]:
                        out[at * width + g] = share
        return np.array(out, dtype=np.float64).reshape(len(rows), width)

    def _in_article(self, columns: list[int], rows: np.ndarray) -> np.ndarray:
        """columns x rows: whether term column j occurs anywhere in the article of each of rows."""
        out = np.zeros((len(columns), len(rows)), dtype=bool)
        if not len(rows):
            return out
        indptr, indices = self.words.indptr, self.words.indices
        # Same dtype as the columns, or numpy would copy each column to compare.
        bounds = np.concatenate((self._article_first[rows], self._article_end[rows])).astype(indices.dtype)
        for n, j in enumerate(columns):
            # A column's rows are sorted: some row of the article holds the term iff fewer of
            # them come before the article's start than before its end.
            at = indices[indptr[j]:indptr[j + 1]].searchsorted(bounds)
            out[n] = at[:len(rows)] < at[len(rows):]
        return out

    def _window_coverage(self, i: int, specs: list[tuple], wanted: tuple[frozenset[str], tuple[str, ...]]) -> np.ndarray:
        """windows x words: the share of each word (specs: _share_specs) one or two adjacent
        sentences of passage i hold: what _shares_in gives each window, from the windows that
        hold each term and pair (a window holding none of a word's keeps its 0.0); wanted: the
        specs' terms and pairs (_wanted)."""
        if self._every_window_place is not None:
            count, terms, pairs = self._every_window_place(i)
        else:
            count, terms, pairs = self._window_places(i, *wanted)
        if not count:
            return np.zeros((0, len(specs)))
        if self._window_shares is not None and specs:
            out = np.zeros((count, len(specs)))
            self._window_shares(out, specs, terms, pairs, PAIR_SHARE)
            return out
        return _window_shares(count, specs, terms, pairs)

    def _window_places(self, i: int, tokens: frozenset[str], pairs: tuple[str, ...]
                       ) -> tuple[int, dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """How many windows passage i has (_passage_windows), and which of them hold each of
        tokens and each of pairs (in order; those held by none left out): what reading
        _passage_windows window by window gives. A window [start, end) holds a term at [s, e)
        when start <= s and e <= end; the sentences are in order and apart, so only the sentence
        a term starts in (the last starting at or before it), the pair of it and the next, and
        the pair of the one before and it can. Only the question's terms and pairs are looked
        for: a passage has hundreds, and most passages judged are judged once."""
        sentences, norms = self._window_norms(i)
        last = len(sentences) - 1
        starts = [start for start, _ in sentences]
        held: dict[str, set[int]] = {}
        for token, s, e, _ in self._spans_of(i, tokens):
            k = bisect.bisect_right(starts, s) - 1
            if k < 0:
                continue
            windows = held.get(token)
            if windows is None:
                windows = held[token] = set()
            if e <= sentences[k][1]:
                windows.add(k)                      # its sentence
                if k > 0:
                    windows.add(last + k)           # the one before and its sentence
            if k < last and e <= sentences[k + 1][1]:
                windows.add(last + k + 1)           # its sentence and the next
        terms = {token: tuple(sorted(windows)) for token, windows in held.items() if windows}
        return len(norms), terms, self.analyzer.pair_windows(norms, pairs)

    def _passage_window_places(self, i: int) -> tuple[int, dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """_window_places of every term and every character pair passage i holds."""
        sentences, norms = self._window_norms(i)
        pairs: dict[str, list[int]] = {}
        for w, norm in enumerate(norms):
            for pair in dict.fromkeys(self.analyzer.normalized_bigrams(norm)):
                pairs.setdefault(pair, []).append(w)
        tokens = frozenset(token for token, _, _, _ in self._spans(i))
        count, terms, _ = self._window_places(i, tokens, ())
        return count, terms, {pair: tuple(ws) for pair, ws in pairs.items()}

    def _passage_window_norms(self, i: int) -> tuple[list[tuple[int, int]], list[str]]:
        """Passage i's sentences and the normalized text of each window (Analyzer.window_norms)."""
        text = self._passage(i).text
        sentences = sentence_spans(text) or [(0, len(text))]
        return sentences, self.analyzer.window_norms(text, sentences)

    def _row_head(self, i: int) -> tuple[frozenset[str], frozenset[str]]:
        """The terms and character pairs of row i's head (its article's title and its section)."""
        return self._head_terms(head_text(self._passage(i)))

    def _passage_windows(self, i: int) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
        """Each sentence, and each two adjacent ones, of passage i: (its terms, its character pairs)."""
        text = self._passage(i).text
        tokens = self._spans(i)
        sentences = sentence_spans(text) or [(0, len(text))]
        spans = sentences + [(a[0], b[1]) for a, b in zip(sentences, sentences[1:])]
        return tuple((frozenset(tok for tok, s, e, _ in tokens if start <= s and e <= end),
                      frozenset(self.analyzer.bigrams(text[start:end]))) for start, end in spans)

    def _rank(self, query: Query, scores: dict[int, float], needed: int,
              avoided: frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        """(passage index, relevance) by score, near-duplicates and unlikely ones dropped; [] to abstain.

        scores gets the score of every passage ranked. The relevance model reads the candidates'
        text (sentences, heads), so it judges them a few at a time, as far down the ranking as the
        pages asked for need. Avoided rows are left out as if they did not exist.
        """
        top = self._scorer.top(query.word_weights, query.bigram_weights,
                               min(MAX_POOL, max(8 * needed, 32)) + len(avoided))
        if avoided:
            keep = np.array([int(r) not in avoided for r in top.rows], dtype=bool)
            top = replace(top, rows=top.rows[keep], scores=top.scores[keep])
        if len(top.rows) == 0:
            return []
        scores.update(top.by_row)
        params = self.model.relevance
        order = top.rows
        # Which words each candidate holds: the judged few's now, the rest of the pool's only when
        # the pages reach past them (most questions' first page is filled from the judged rows).
        words = list(query.words)
        sets = self._held_sets(words)
        covered = self._covered(words, order[:JUDGED], sets)
        judged = self.judge(query, order[:JUDGED], top, covered, sets)
        if judged.max(initial=0.0) < params.threshold:
            return []
        # Exact repeats (same terms) go first: a row is fresh when no better one has its
        # signature (a big corpus may hold thousands of copies of one paragraph). Found row by
        # row as the pages reach them: most questions' pages are filled from the first few.
        signatures = self._signature[order].tolist()
        seen: set[int] = set()
        kept: list[tuple[int, float]] = []
        known = len(covered)
        # The question is answered: its best-scoring passage leads, whatever its own judgement
        # (a passage the model judged best may score lower); after it, a passage the model judged
        # likely to answer is shown, and any other must cover enough of the question (its page
        # coverage, found for the judged rows only when one of them is judged unlikely).
        likely = judged.tolist()
        coverage: list[float] | None = None
        # A passage that ends by asking (an interviewer's question) restates the topic in the
        # question's own words but answers nothing: it comes after the passages that do.
        asking: list[tuple[int, float]] = []
        for n, i in enumerate(order.tolist()):
            fresh = signatures[n] not in seen
            seen.add(signatures[n])
            if n == known:
                rest = self._covered(words, order[known:], sets)
                coverage = self.coverage(query, order, np.concatenate((covered, rest))).tolist()
            if not fresh:
                continue
            if n > 0 and not (n < len(likely) and likely[n] >= params.threshold):
                if coverage is None:
                    coverage = self._first_coverage(query, order, covered)
                if not coverage[n] >= params.page_coverage:
                    continue
            if any(duplicates.repeats(self._terms(i), self._terms(j), self._terms_idf, self._rough_idf)
                   for j, _ in kept + asking):
                continue
            ranked = (i, likely[n] if n < len(likely) else coverage[n])
            if self._only_asks(query, i):
                asking.append(ranked)
                continue
            kept.append(ranked)
            if len(kept) >= needed:
                return kept
        # The whole pool was read: the rows not fresh are those beyond its distinct signatures.
        if len(order) < MAX_POOL and top.more and (len(order) - len(seen)) * 2 >= len(order):
            # The pool ran out before the pages did because most of it repeated one paragraph
            # (a big corpus may hold thousands of copies): look deeper, to the bound. Otherwise
            # deeper passages score lower still and would not pass either.
            kept = self._rank_deeper(query, scores, needed, len(order), kept, params.page_coverage, top)
        return kept + asking[:max(0, needed - len(kept))]

    def _first_coverage(self, query: Query, order: np.ndarray, covered: np.ndarray) -> list[float]:
        """coverage(query, order)'s values for the first len(covered) rows of order (covered: theirs;
        the others' are not computed): the pool's product with the other rows zero, since each
        row's product is its own (matrix times vector), and the pool's shape stays the same."""
        if len(covered) == len(order):
            return self.coverage(query, order, covered).tolist()
        padded = np.zeros((len(order), covered.shape[1]))
        padded[:len(covered)] = covered
        return self.coverage(query, order, padded).tolist()[:len(covered)]

    def _only_asks(self, query: Query, i: int) -> bool:
        """Whether passage i ends in a question and the question asked is not about its asker
        ("Caroline Hyde 问了什么" wants her question): the words of the passage's speaker (its
        turn's label, or the speaker it continues) are not among the question's."""
        passage = self._passage(i)
        if not _ENDS_ASKING.search(passage.text):
            return False
        label = _TURN_LABEL.match(passage.text)
        speaker = label.group(1) if label else passage.speaker
        asked = {t.token for t in query.terms if not t.from_context}
        return not (speaker and asked & set(self.analyzer.tokenize(speaker)))

    def _nearby(self, query: Query, ranked: list[tuple[int, float]], scores: dict[int, float],
                 needed: int, avoided: frozenset[int]) -> list[int]:
        """Rows of the best answer's section, not answers themselves, that hold a word of the
        question, the ones holding more of it first, then in the article's order: a section
        keeps to one subject, so its other passages on the question's words are the nearest
        reading once the answers run out. (Only the best answer's: a weaker one may be a chance
        match, and its section another subject.) Costs the section's rows, not the library's."""
        shown = {i for i, _ in ranked}
        best = ranked[0][0]
        section = self._place(best)
        first, end = best, best + 1
        while first > 0 and self._place(first - 1) == section:
            first -= 1
        while end < len(self.passages) and self._place(end) == section:
            end += 1
        rows = np.array([i for i in range(first, end) if i not in shown and i not in avoided], dtype=np.int64)
        if not len(rows):
            return []
        covered = self.coverage(query, rows)
        known = set(self._signature[list(shown)].tolist())
        out: list[int] = []
        for n in np.lexsort((rows, -covered)).tolist():
            i, c = int(rows[n]), float(covered[n])
            if c <= 0 or self._signature[i] in known:
                continue
            known.add(self._signature[i])
            scores.setdefault(i, 0.0)
            out.append(i)
            if len(out) >= needed:
                break
        return out

    def _place(self, i: int) -> tuple[str, str]:
        """(source id, section) of row i; from the cache's arrays without making the passage."""
        if isinstance(self.passages, Passages):
            return self.passages.place(i)
        passage = self._passage(i)
        return passage.source_id, passage.section

    def _rank_deeper(self, query: Query, scores: dict[int, float], needed: int, seen: int,
                     kept: list[tuple[int, float]], page_coverage: float, first: TopScores) -> list[tuple[int, float]]:
        """Continue the ranking past the first pool (first), up to MAX_POOL candidates."""
        top = self._scorer.deeper(first, query.word_weights, query.bigram_weights, MAX_POOL)
        scores.update(top.by_row)
        order = top.rows[seen:]
        known = set(self._signature[[i for i, _ in kept]].tolist()) if kept else set()
        coverage = self.coverage(query, order)
        passing = [(i, c) for i, c in zip(order.tolist(), coverage.tolist()) if c >= page_coverage]
        # Thousands of near-copies may pass: they are compared with the kept passages a batch at
        # a time (the first batch small: the pages are usually filled early). A row whose
        # signature is known is an exact repeat, skipped first; any other holds other terms than
        # every kept passage, as duplicates.Candidates needs.
        start, size = 0, 64
        while start < len(passing):
            batch = passing[start:start + size]
            start, size = start + size, size * 4
            rows = np.array([i for i, _ in batch], dtype=np.int64)
            begin, end = self._rows.indptr[rows], self._rows.indptr[rows + 1]
            # A candidate's terms are read only when the kept passages' columns cannot decide.
            candidates = duplicates.Candidates(
                end - begin,
                lambda places, begin=begin, end=end: gather(self._rows.indices, begin[places], end[places]),
                self.words.idf, lambda terms, places, rows=rows: self.words.present_many(terms, rows[places]),
                self.words.headless)
            repeating = np.zeros(len(batch), dtype=bool)

            def against(j: int) -> None:
                held = self._terms(j)
                repeating[:] |= candidates.repeating(
                    held, self._terms_idf(held), lambda n: duplicates.repeats(self._terms(batch[n][0]), held,
                                                                              self._terms_idf), repeating)

            for j, _ in kept:
                against(j)
            for n, (i, c) in enumerate(batch):
                if self._signature[i] in known or repeating[n]:
                    continue
                known.add(self._signature[i])
                kept.append((i, c))
                if len(kept) >= needed:
                    return kept
                against(i)
        return kept

    def _terms_idf(self, terms: frozenset[int]) -> float:
        """The summed idf of word terms (index columns); a passage's is kept with its terms."""
        known = getattr(terms, "idf", None)
        if known is not None:
            return known
        total = float(self.words.idf[list(terms)].sum()) if terms else 0.0
        if isinstance(terms, _Terms):
            terms.idf = total
        return total

    def _terms_rough_idf(self, terms: frozenset[int]) -> float:
        """The terms' idf summed in their set's order (compiled: duplicates.repeats' rough sum); a
        passage's is kept with its terms."""
        known = getattr(terms, "rough", None)
        if known is not None:
            return known
        total = self._rough(terms)
        if isinstance(terms, _Terms):
            terms.rough = total
        return total

    def _passage_terms(self, i: int) -> frozenset[int]:
        """A passage's distinct word terms (index columns), read from the index: no tokenizing."""
        return _Terms(self._rows.indices[self._rows.indptr[i]:self._rows.indptr[i + 1]].tolist())

    # --- hits ------------------------------------------------------------------------------

    def _highlight_weights(self, query: Query) -> dict[str, float]:
        """{term: weight x idf} of the question's terms the library holds: what a snippet weighs."""
        held = [t for t in query.terms if t.token in self.vocab]
        idf = self.words.idf[[self.vocab[t.token] for t in held]].tolist() if held else []
        return {t.token: t.weight * value for t, value in zip(held, idf)}

    def _hit(self, i: int, score: float, relevance: float, weight: dict[str, float]) -> Hit:
        """A passage with its snippet and the query terms found in it (weight: _highlight_weights)."""
        passage = self._passage(i)
        weights = self._snippet_weights(i, weight)
        spans = [(s, e, weights[tok]) for tok, s, e, _ in self._spans_of(i, weights)]
        start, end = snippets.snippet(passage.text, spans)
        text = passage.text
        shown = ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")
        inside = [(s, e) for s, e, _ in spans if start <= s and e <= end]
        return Hit(passage=passage, score=score, snippet=shown, matched_terms=snippets.surfaces(text, inside),
                   relevance=relevance)

    def _snippet_weights(self, i: int, weight: dict[str, float]) -> dict[str, float]:
        """weight, with the terms row i's head holds weighing the model's head share: what
        chooses the sentences of a long passage shown (every match is still highlighted)."""
        share = self.model.snippets.head_share
        if share == 1.0 or len(self._passage(i).text) <= snippets.SNIPPET_CHARS:
            return weight
        head = self._row_head(i)[0]
        return {tok: w * share if tok in head else w for tok, w in weight.items()}

    def _spans_of(self, i: int, tokens: Container[str]) -> Iterator[tuple[str, int, int, bool]]:
        """Passage i's terms with their spans (_passage_tokens), those among tokens alone, in order.
        Picked without a Python step a term: a passage holds hundreds, a question a dozen."""
        spans = self._spans(i)
        return compress(spans, map(tokens.__contains__, map(itemgetter(0), spans)))

    def _passage_tokens(self, i: int) -> tuple[tuple[str, int, int, bool], ...]:
        """A passage's terms with their spans in its original text (and whether a whole word)."""
        if self._token_spans is not None:
            # What the build's cut gave (the same analyzer's tokens, read back).
            indptr, terms, starts, ends, whole = self._token_spans
            begin, end = int(indptr[i]), int(indptr[i + 1])
            vocab = self._word_terms
            return tuple(zip([vocab[j] for j in terms[begin:end].tolist()], starts[begin:end].tolist(),
                             ends[begin:end].tolist(), [w == 1 for w in whole[begin:end].tolist()]))
        return tuple((t.text, t.start, t.end, t.whole) for t in self.analyzer.tokens(self._passage(i).text))


class _Terms(frozenset):
    """A passage's word terms, which keep their summed idf once it is asked for (Retriever._terms_idf):
    near-duplicate tests compare each candidate with every passage kept before it."""
    idf: float | None = None
    rough: float | None = None   # the same sum in the set's order (Retriever._terms_rough_idf)


@dataclass(frozen=True)
class _Rows:
    """Each passage's word terms and their counts, row by row (CSR arrays)."""
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


# Read a passage at a time (cache.FileArray): each passage's terms, for the few candidates compared.
_ON_DEMAND = ("rows.indices", "rows.data")
# Each passage's body terms in order with their spans, as Analyzer.tokens gives them: kept beside
# the index (keyed by the counts' key, so by the passages and the analyzer), made from the build's
# own cut, so a question's judged and shown passages are not cut by jieba again (_passage_tokens).
# Bump when what they hold changes.
SPANS_VERSION = "1"
_SPAN_ARRAYS = (("spans.indptr", np.int64), ("spans.terms", np.int32), ("spans.start", np.int32),
                ("spans.end", np.int32), ("spans.whole", np.uint8))
# A question reads a few passages' spans: read so, not mapped (cache.FileArray).
_SPANS_ON_DEMAND = ("spans.terms", "spans.start", "spans.end", "spans.whole")


def serving_arrays(corpus: Corpus, analyzer: Analyzer, model: Model,
                   cache_dir: Path | None) -> tuple[dict[str, np.ndarray], bool]:
    """What serving reads, memory-mapped from the cache or computed (and cached); and whether cached.

    Keyed by the counts' key and the ranking's numbers: a refitted model recomputes the weights
    from the cached counts without tokenizing again. A build makes one representation at a time
    (count, weigh, write its arrays as they are made, free), so a big library's counts and
    weights are never all in memory at once.
    """
    key = index_key(corpus, analyzer)
    weights_key = derived_key(key, f"weights {WEIGHTS_VERSION}.{SERVING_VERSION} long {LONG_COLUMN}/{HIGH_TIER_SHARE}",
                              repr(model.ranking.words), repr(model.ranking.bigrams))
    started = time.perf_counter()
    spans_key = derived_key(key, f"spans {SPANS_VERSION}")
    arrays = load_arrays(cache_dir, weights_key, on_demand=_ON_DEMAND)
    if arrays is not None:
        log.info("index of %d passages loaded from cache in %.2f s", len(corpus.passages),
                 time.perf_counter() - started)
        arrays.update(token_spans(corpus.passages, analyzer, cache_dir, spans_key))
        return arrays, True
    cached = load_index(cache_dir, key, len(corpus.passages))
    if cached is not None:
        log.info("index of %d passages loaded from cache in %.2f s", len(corpus.passages),
                 time.perf_counter() - started)
        arrays = _arrays_of(cached, model)
        del cached
        if save_arrays(cache_dir, weights_key, arrays) is not None:
            # Served from the files just written: mapped pages, not a second copy in memory.
            arrays = load_arrays(cache_dir, weights_key, on_demand=_ON_DEMAND) or arrays
        arrays.update(token_spans(corpus.passages, analyzer, cache_dir, spans_key))
        return arrays, True
    counts_out = ArraysWriter(cache_dir, key, "index", keep=False)
    weights_out = ArraysWriter(cache_dir, weights_key, "weights")
    spans_out = ArraysWriter(cache_dir, spans_key, "spans")
    for name in REPRESENTATIONS:
        rows = _RowsOut(weights_out) if name == "words" else None
        spans = _SpansOut(spans_out) if name == "words" else None
        field = build_field(corpus.passages, analyzer, name, on_rows=rows, on_spans=spans)
        _write_field(weights_out, name, field, model)
        save_field(counts_out, name, field)
        del field
    counts_out.finish()
    arrays, path = weights_out.finish()
    log.info("index of %d passages built in %.2f s", len(corpus.passages), time.perf_counter() - started)
    if path is not None:
        # Served as a restart serves it: each passage's terms read a passage at a time.
        arrays = load_arrays(cache_dir, weights_key, on_demand=_ON_DEMAND) or arrays
    arrays.update(_finished_spans(spans_out, cache_dir, spans_key))
    return arrays, False


def token_spans(passages: Sequence[Passage], analyzer: Analyzer, cache_dir: Path | None,
                key: str) -> dict[str, np.ndarray]:
    """The passages' token spans (_SPAN_ARRAYS) from the cache, or cut again and cached when
    absent or unusable (an index cached before they were kept, a damaged file)."""
    spans = load_arrays(cache_dir, key, "spans", on_demand=_SPANS_ON_DEMAND)
    if spans is not None:
        problem = _spans_problem(spans, len(passages))
        if problem is None:
            return spans
        log.warning("token spans cache %s is unusable (%s); rebuilding", weights_path(cache_dir, key, "spans"),
                    problem)
    started = time.perf_counter()
    out = ArraysWriter(cache_dir, key, "spans")
    build_field(passages, analyzer, "words", on_spans=_SpansOut(out))
    spans = _finished_spans(out, cache_dir, key)
    log.info("token spans of %d passages built in %.2f s", len(passages), time.perf_counter() - started)
    return spans


def _spans_problem(spans: dict[str, np.ndarray], passages: int) -> str | None:
    """What makes loaded token spans unusable for this many passages, or None."""
    missing = [name for name, _ in _SPAN_ARRAYS if name not in spans]
    if missing:
        return f"{missing[0]} missing"
    indptr = spans["spans.indptr"]
    if len(indptr) != passages + 1 or indptr[0] != 0:
        return f"spans.indptr holds {len(indptr)} entries for {passages} passages"
    total = int(indptr[-1])
    short = [name for name, _ in _SPAN_ARRAYS[1:] if len(spans[name]) != total]
    if short:
        return f"{short[0]} holds {len(spans[short[0]])} entries, not {total}"
    return None


def _finished_spans(writer: ArraysWriter, cache_dir: Path | None, key: str) -> dict[str, np.ndarray]:
    """The spans a writer made: served from the cache folder a passage at a time, or in memory."""
    spans, path = writer.finish()
    if path is not None:
        spans = load_arrays(cache_dir, key, "spans", on_demand=_SPANS_ON_DEMAND) or spans
    return spans


class _SpansOut:
    """Each passage's body terms in order with their spans (_SPAN_ARRAYS), written chunk by chunk."""

    def __init__(self, writer: ArraysWriter) -> None:
        self.writer, self.at = writer, 0
        for name, dtype in _SPAN_ARRAYS:
            writer.declare(name, dtype)
        writer.append("spans.indptr", np.zeros(1, dtype=np.int64))

    def __call__(self, spans: tuple[np.ndarray, ...]) -> None:
        lengths, terms, starts, ends, whole = spans
        self.writer.append("spans.indptr", np.cumsum(lengths, dtype=np.int64) + self.at)
        for (name, _), array in zip(_SPAN_ARRAYS[1:], (terms, starts, ends, whole)):
            self.writer.append(name, array)
        self.at += int(np.sum(lengths))


class _RowsOut:
    """Each passage's word terms (CSR, as rows.*) and their signatures, written chunk by chunk."""

    def __init__(self, writer: ArraysWriter) -> None:
        self.writer, self.at = writer, 0
        for name, dtype in (("rows.indptr", np.int64), ("rows.indices", np.int32), ("rows.data", np.int32),
                            ("signatures", np.uint64)):
            writer.declare(name, dtype)
        writer.append("rows.indptr", np.zeros(1, dtype=np.int64))

    def __call__(self, rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        indptr, indices, data = rows
        self.writer.append("rows.indptr", indptr[1:] + self.at)
        self.writer.append("rows.indices", indices)
        self.writer.append("rows.data", data)
        # A passage's signature is of its own row alone: a chunk's rows give its passages' own.
        self.writer.append("signatures", duplicates.signatures(indices, indptr))
        self.at += int(indptr[-1])


def _write_field(writer: ArraysWriter, name: str, field, model: Model) -> None:
    """One representation's serving arrays (but the rows) into writer."""
    write_weights(field, getattr(model.ranking, name), writer, f"{name}.")
    writer.add(f"{name}.vocab", np.frombuffer(json.dumps(list(field.vocab), ensure_ascii=False).encode("utf-8"),
                                              dtype=np.uint8))
    if name == "words":
        writer.add("library_words", np.asarray(library_word_columns(field), dtype=np.int64))


def index_key(corpus: Corpus, analyzer: Analyzer) -> str:
    """The counts' cache key: the corpus's own key when it was loaded from files, else its texts';
    with the analyzer's and the counting code's fingerprints (how bodies and heads are tokenized)."""
    if getattr(corpus, "key", None):
        return derived_key(f"index {CACHE_VERSION}", analyzer.fingerprint, counting_fingerprint(), corpus.key)
    return texts_key(corpus.passages, analyzer)


def texts_key(passages: Sequence[Passage], analyzer: Analyzer) -> str:
    """The counts' cache key of passages made in memory: their ids, texts and heads, hashed."""
    return cache_key(((p.id, p.text, head_text(p)) for p in passages),
                     derived_key(analyzer.fingerprint, counting_fingerprint()))


def _arrays_of(counts: IndexCounts, model: Model) -> dict[str, np.ndarray]:
    """The serving arrays of counts under the model's ranking numbers."""
    writer = ArraysWriter(None, "", "weights")
    for name in REPRESENTATIONS:
        _write_field(writer, name, counts.field(name), model)
    rows = counts.words.body.tocsr()
    rows.sort_indices()
    _RowsOut(writer)((rows.indptr.astype(np.int64), rows.indices.astype(np.int32, copy=False),
                      rows.data.astype(np.int32, copy=False)))
    return writer.finish()[0]


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {name[len(prefix):]: array for name, array in arrays.items() if name.startswith(prefix)}


def index_counts(passages: Sequence[Passage], analyzer: Analyzer,
                 cache_dir: Path | None, key: str | None = None) -> tuple[IndexCounts, bool]:
    """The passages' term counts from the cache, or tokenized now and cached; and whether cached."""
    if key is None:
        key = texts_key(passages, analyzer)
    started = time.perf_counter()
    counts = load_index(cache_dir, key, len(passages))
    hit = counts is not None
    if counts is None:
        counts = build_counts(passages, analyzer)
        save_index(cache_dir, key, counts)
    log.info("index of %d passages %s in %.2f s", len(passages),
             "loaded from cache" if hit else "built", time.perf_counter() - started)
    return counts, hit


def _article_bounds(passages: Sequence[Passage]) -> tuple[np.ndarray, np.ndarray]:
    """For each passage, the first row of its article and the row after its article's last."""
    n = len(passages)
    # Rows where a new article starts (a run of one source), and where each run ends.
    if isinstance(passages, Passages):
        sources = passages.source_indices()
        starts = np.concatenate(([0], np.flatnonzero(sources[1:] != sources[:-1]) + 1)).astype(np.int64)
    else:
        ids = [p.source_id for p in passages]
        starts = np.array([0] + [i for i in range(1, n) if ids[i] != ids[i - 1]], dtype=np.int64)
    if not n:
        starts = np.zeros(0, dtype=np.int64)
    ends = np.append(starts[1:], n).astype(np.int64)
    lengths = ends - starts
    return np.repeat(starts, lengths), np.repeat(ends, lengths)


def holds_asked_number(question: str, text: str) -> bool:
    """Whether text could answer the number a normalized question asks (True when it asks none):
    a numeral, for an age an age, for a price a sum of money (a follow-up's check; see _ASKS_AGE)."""
    if not _ASKS_NUMBER.search(question):
        return True
    wanted = _AGE if _ASKS_AGE.search(question) else _MONEY if _ASKS_MONEY.search(question) else _NUMERAL
    return bool(wanted.search(text))


def _pair_texts(word: str) -> tuple[str, ...]:
    """A word's adjacent character pairs."""
    return tuple(word[i:i + 2] for i in range(len(word) - 1))


def library_words(counts) -> list[str]:
    """Words of the articles jieba's dictionary lacks, found in at least LIBRARY_WORD_PASSAGES passages.

    A word the HMM made up once is often a wrong cut (刘七是); one the articles repeat is a name.
    """
    return [counts.vocab[j] for j in library_word_columns(counts)]


def library_word_columns(counts) -> np.ndarray:
    """The columns of library_words(counts)."""
    return np.flatnonzero(counts.body_df >= LIBRARY_WORD_PASSAGES)


def _share_specs(words: Sequence[Word]) -> list[tuple[tuple[tuple[str, float], ...], tuple[str, ...], int]]:
    """Per word, what _shares_in reads: its forms' shares, largest first, its pairs and their count."""
    return [word.share_spec for word in words]


def _wanted(specs: list[tuple]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The terms and the character pairs specs read (_share_specs), the pairs in order."""
    tokens = frozenset(token for shares, _, _ in specs for token, _ in shares)
    pairs = tuple(dict.fromkeys(pair for _, texts, _ in specs for pair in texts))
    return tokens, pairs


def _window_shares(count: int, specs: list[tuple], terms: dict[str, tuple[int, ...]],
                   pairs: dict[str, tuple[int, ...]]) -> np.ndarray:
    """Retriever._window_coverage's windows x words in Python, where the compiled loop
    (_scatter.window_shares, the same operations) is not built."""
    width = len(specs)
    out = [0.0] * (count * width)   # row by row (window w, word g at w * width + g)
    for g, (shares, texts, pair_count) in enumerate(specs):
        # The largest share of a form a window holds (the first held, largest first).
        for token, form_share in shares:
            for w in terms.get(token, ()):
                if form_share > out[w * width + g]:
                    out[w * width + g] = form_share
        if pair_count:
            found: dict[int, int] = {}
            for pair in texts:
                for w in pairs.get(pair, ()):
                    found[w] = found.get(w, 0) + 1
            for w, held in found.items():
                share = out[w * width + g]
                if share < 1.0:
                    out[w * width + g] = max(share, PAIR_SHARE * held / pair_count)
    return np.array(out, dtype=np.float64).reshape(count, width)


def _shares_in(held: frozenset[str], pairs: frozenset[str], specs: list[tuple]) -> list[float]:
    """The share of each word a text holds, given its terms and its character pairs: its largest
    form held (0 without one) or, when more, PAIR_SHARE x the share of its pairs held (jieba may cut
    a name in one text as it pleases)."""
    out = []
    for shares, texts, count in specs:
        share = 0.0
        for token, form_share in shares:
            if token in held:
                share = form_share
                break
        if share < 1.0 and count:
            found = 0
            for pair in texts:
                if pair in pairs:
                    found += 1
            share = max(share, PAIR_SHARE * found / count)
        out.append(share)
    return out


def _head_word(members: list[QueryTerm]) -> QueryTerm | None:
    """The word a group stands for: its longest whole word (a translation for an English word)."""
    for kinds in (("word",), ("translation",), ("synonym", "subword")):
        chosen = [t for t in members if t.kind in kinds]
        if chosen:
            return max(chosen, key=lambda t: (len(t.token), t.weight))
    return None


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the count best scores, best first, ties by lower index."""
    if count >= len(scores):
        candidates = np.arange(len(scores))
    else:
        threshold = np.partition(scores, len(scores) - count)[len(scores) - count]
        candidates = np.flatnonzero(scores >= threshold)
    order = np.lexsort((candidates, -scores[candidates]))
    chosen = candidates[order][:count]
    return chosen[scores[chosen] > 0]
