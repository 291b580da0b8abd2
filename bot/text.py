"""Turn passages and questions into search terms: normalize, segment with jieba, expand aliases.

Passages and questions go through the same `Analyzer.tokenize`, so a question matches a passage
whatever its width (full/half), case or script (Traditional/Simplified).  Questions additionally go
through `Analyzer.query_terms`, which adds synonyms and English -> Chinese translations at weights
taken from config/aliases.yaml.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bot.jieba_import import jieba

from bot import numerals, prefixdict
from bot.config import RetrievalConfig
from bot.english import EnglishDictionary
from bot.normalize import Normalizer, replace_variants, simplified_chars
from bot.yamlfile import read_yaml

# Bump when tokenization changes in a way that changes the index: it is part of the cache key.
TEXT_VERSION = "1"

# Sub-words of a long word (出口 and 管制 inside 出口管制) count at this weight in a question, so a
# passage with the whole word ranks above one with only a part of it.
SUBWORD_WEIGHT = 0.5
# Sub-words are looked for up to this length: a compound rarely holds a longer dictionary word.
MAX_SUBWORD_CHARS = 6

# Distinct jieba words whose terms are kept (_word_tokens): a question's and a shown passage's
# words recur; some 200 bytes each.
WORD_CACHE = 8192
# Texts whose jieba cut is kept: enough for the question being prepared, cut for its terms and
# again for its pairs (and a follow-up's earlier question); a page of 更多 asks it again at once.
JIEBA_RECENT = 4
# Runs of characters jieba's dictionary has no word for whose HMM cut (jieba.finalseg) is kept:
# a name jieba does not know recurs; a few dozen bytes each.
HMM_CACHE = 8192
# Fragments whose count in jieba's prefix dictionary is kept in a small dict of their own (emptied
# when full): the cut looks up every prefix of every word, and the prefix dictionary's half a
# million entries are mostly out of the processor's cache; a few hundred fragments a question.
FRAGMENT_CACHE = 65536

# A lone Chinese character in a question (用, 说, 花) is weaker evidence than a word: the same
# character sits inside many words that jieba keeps whole, so its idf as a token overstates it.
SINGLE_CHAR_WEIGHT = 0.5
CHAR_WEIGHT = 0.25

# A run of Latin letters and digits, with inner - _ . + kept: "deepseek-v3", "01.ai", "1.5b".
_LATIN_RUN = re.compile(r"[a-z0-9]+(?:[-_.+][a-z0-9]+)*")
_LATIN_PART = re.compile(r"[-_.+]")
_CONTENT_CHAR = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_ENGLISH_WORD = re.compile(r"[a-z]{3,}")
_HAS_LATIN = re.compile(r"[a-z]")
# How a question is put to the bot, before and after what it asks (normalized text): a request
# (请问, 麻烦帮我查一下, 我想知道, 能不能告诉我, 你知道…), thanks at the end (谢谢, 多谢). The
# words are the asking, never its topic: "帮我查一下 Sarah Guo 的观点" asks her view, and 查 is
# in no passage. Only at the ends: 查 or 看 inside a question is what it asks about.
_REQUEST_OPENER = re.compile(
    r"(?:请问|请教(?:一下)?|想请教(?:一下)?|麻烦(?:你|您)?|劳驾|打扰一下|"
    r"我?想(?:知道|问(?:一下|下)?|了解(?:一下)?)|"
    r"(?:你|您)?(?:能不能|能否|可不可以|可以)?(?:帮我|帮忙|给我|替我)?"
    r"(?:(?:查|找|搜|问|说|讲|介绍)(?:一下|一查|一找|一搜|下)|查查|找找|搜搜|告诉我|说说|讲讲)|"
    r"(?:你|您)知道)[\s,，:：]*")
_REQUEST_THANKS = re.compile(r"[\s,，.。!！~]*(?:谢谢(?:你|您|啦|了)?|多谢|感谢|thx|thanks)[\s.。!！~]*$", re.I)


def without_request(text: str) -> str:
    """A question without how it is put to the bot (请问, 帮我查一下, 謝謝: Traditional too), when
    something is left to ask; as written otherwise."""
    asked = _asked_part(text)
    return asked if _has_words(asked) else text


def only_request(text: str) -> bool:
    """Whether a message is only the asking, with nothing asked (帮我查一下, 请问？); 谢谢 alone is
    thanks, which is something said."""
    asked = _asked_part(text)
    return asked != text.strip() and not _has_words(asked) and _REQUEST_THANKS.search(simplified_chars(text)) is None


def _asked_part(text: str) -> str:
    probe = simplified_chars(text)   # one for one: its offsets are text's
    thanks = _REQUEST_THANKS.search(probe)
    start, end = 0, thanks.start() if thanks else len(probe)
    for _ in range(3):   # 请问 + 能不能 + 帮我查一下
        opener = _REQUEST_OPENER.match(probe, start, end)
        if opener is None or opener.end() == start:
            break
        start = opener.end()
    return text[start:end].strip()


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


# A question's reference to the library it asks (normalized text): "in the article(s)" (文章里,
# 这几篇文章中, 原文里, 文中), "this article" opening it (这篇文章, 本文), or the articles as the
# ones saying something (文章提到, 有没有文章讲). Not an article someone wrote (Dario 的文章, Eric
# Schmidt 那篇文章): that one is a topic.
_LIBRARY_REFERENCE = re.compile(
    r"(?:[这那本各该]?(?:几|[一两二三四五六七八九十]|\d+)?[篇些]?)(?:文章|原文)(?:里面|当中|里|中|内)"
    r"|文中|本文|该文"
    r"|(?:^|(?<=[\s，,。？?！!：:；;]))(?:这|本)(?:几|[一两二三四五六七八九十])?[篇些]文章"
    r"|(?:^|(?<=[\s，,。？?！!：:；;有]))(?:这些)?文章(?=(?:都|还|也)?(?:说|提到|提及|讲|谈到|谈|写|认为|指出|介绍))")

# "US" and "U.S." written in capitals, a word of their own: the United States.
_US = re.compile(r"(?<![A-Za-z.])U\.?S\.?(?![A-Za-z])")
# A title that is a name: Chinese characters only, no longer than a name runs; a closing
# qualifier in brackets (电视剧) and the dots of a transliterated name (海梅·雷耶斯) set aside.
_TITLE_NAME = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,8}")
_QUALIFIER = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_NAME_DOT = re.compile(r"[·・•‧]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")

log = logging.getLogger(__name__)


class AnalyzerError(Exception):
    """A user dictionary, stop-word or alias file is missing or malformed."""


# Token and QueryTerm are named tuples, not frozen dataclasses: a question makes a few dozen, and
# a frozen dataclass's __init__ (a setattr per field) cost most of a microsecond each.
class Token(NamedTuple):
    text: str    # the normalized search term
    start: int   # span of the surface text in the original string
    end: int
    whole: bool  # False for a sub-word emitted inside a longer word or a hyphenated Latin name


class QueryTerm(NamedTuple):
    token: str
    weight: float   # 1.0 for the question's own words; lower for sub-words, synonyms, context
    group: int      # terms standing for the same word of the question share a group
    kind: str = "word"  # word | subword | synonym | translation
    from_context: bool = False  # it comes from the earlier question a follow-up leans on


@dataclass(frozen=True)
class Aliases:
    """The parsed aliases file: spellings, synonym groups, opposites and an English glossary."""
    spellings: dict[str, str]                 # variant -> canonical spelling (normalized)
    synonym_groups: tuple[tuple[str, ...], ...]
    synonym_weight: float
    glossary: dict[str, tuple[str, ...]]      # normalized English phrase -> Chinese terms
    glossary_weight: float
    opposites: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word -> its opposites


class Analyzer:
    """Normalizes, segments and expands text; built once at start-up from the retrieval config."""

    def __init__(self, config: RetrievalConfig) -> None:
        # jieba's logger prints "Building prefix dict..." to stderr at DEBUG; the CLI's output
        # must stay clean, so only its warnings get through.
        logging.getLogger("jieba").setLevel(logging.WARNING)
        # A word's terms depend on the dictionary: _add_word empties the cache.
        self._word_tokens = functools.lru_cache(maxsize=WORD_CACHE)(self._word_tokens)
        self._jieba_words = functools.lru_cache(maxsize=JIEBA_RECENT)(self._jieba_words)
        self._hmm_words = functools.lru_cache(maxsize=HMM_CACHE)(_hmm_words)
        self._fragments: dict[str, int | None] = {}
        # Counts the words taught to jieba: what a cache of words' facts elsewhere is keyed by too.
        self.dictionary_version = 0
        self.stopwords = _read_stopwords(config.stopwords_file)
        # Whether a word is a term depends on the word (and the stop words, read once) alone.
        self._keep = functools.lru_cache(maxsize=WORD_CACHE)(self._keep)
        # The stop words of three characters or more, by their first character: a question none of
        # them is in holds no such word, whatever jieba makes of it (question_bigrams).
        self._long_stopwords: dict[str, tuple[str, ...]] = {}
        for word in sorted(self.stopwords):
            if len(word) >= 3:
                self._long_stopwords[word[0]] = self._long_stopwords.get(word[0], ()) + (word,)
        self.aliases = _read_aliases(config.aliases_file)
        self._jieba = jieba.Tokenizer()
        prefixdict.initialize(self._jieba, config.cache_dir)
        self._normalizer = Normalizer(self._jieba.FREQ)
        # Words this analyzer adds to jieba: not evidence of general Chinese (general_count).
        self._added: set[str] = set()
        # The articles' titles that are names (learn_titles): what a pronoun may stand for.
        self.title_names: frozenset[str] = frozenset()
        for word in self._normalizer.phrase_targets:
            if not self._jieba.FREQ.get(word):
                self._add_word(word)
        self._load_userdict(config.userdict_file)
        self._synonyms = self._prepare_synonyms()
        self.english = EnglishDictionary(config.english_file)
        self._library_words: frozenset[str] = frozenset()
        self._longest_library_word = 0
        self.function_words, self.adverbs = _read_function_words(config.function_words_file)
        self._glossary = self._prepare_glossary()
        self.fingerprint = _fingerprint(config)

    # --- normalization ---------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """NFKC (full-width to half-width), lower-case, Traditional to Simplified."""
        return self._normalize_with_map(text)[0]

    def normalize_question(self, text: str) -> str:
        """normalize for a question: an English question's "US" or "U.S." is the country, which
        lower case would make the pronoun "us" (a stop word), so it is read as "USA" first. How
        it is put to the bot (请问, 帮我查一下, 谢谢: without_request) is no word of it, and a
        reference to the library itself (文章里, 文中, 本文, 这篇文章, 文章提到) is taken out: it
        says where to look, which is everywhere, and passages that say 文章 of something else
        ("Eric Schmidt 联合撰写了一篇文章") are no answer to "文章里怎么说开源的好处？"."""
        norm = self.normalize(_US.sub("USA", text) if "U" in text else text)
        norm = without_request(norm)
        return _LIBRARY_REFERENCE.sub(" ", norm).strip() if "文" in norm else norm

    def normalize_with_map(self, text: str) -> tuple[str, list[int] | None]:
        """normalize, with each normalized character's index in text when the length changed."""
        return self._normalize_with_map(text)

    def _normalize_with_map(self, text: str) -> tuple[str, list[int] | None]:
        """The normalized text and, when its length changed, each normalized char's source index."""
        return self._normalizer.normalize_with_map(text)

    # --- tokenization ----------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """The search terms of text: words and their sub-words, without stop words or punctuation."""
        return [t.text for t in self.tokens(text)]

    def bigrams(self, text: str) -> list[str]:
        """Every pair of adjacent Chinese characters of text (a lone character stands for itself).

        Pairs cross word boundaries on purpose: 国际象棋大赛 yields 棋大, which rewards a passage
        where the question's words stand together. A pair that is a stop word (什么) is dropped; a
        pair holding one (的原 in 的原因) is kept: measured, such pairs still tell phrases apart.
        """
        return self.normalized_bigrams(self.normalize(text))

    def normalized_bigrams(self, norm: str) -> list[str]:
        """bigrams of a text already normalized (a question's, normalized once for all its uses)."""
        out: list[str] = []
        stop = self.stopwords
        for run in _CJK_RUN.findall(norm):
            if len(run) == 1:
                if run not in stop:
                    out.append(run)
                continue
            pairs = [run[i:i + 2] for i in range(len(run) - 1)]
            out.extend(pairs if stop.isdisjoint(pairs) else [pair for pair in pairs if pair not in stop])
        return out

    def window_norms(self, text: str, sentences: Sequence[tuple[int, int]]) -> list[str]:
        """normalize(text[start:end]) of each sentence (start, end) in order, then of each two
        adjacent ones (from the first's start to the second's end). Where the two, and what is
        between them, are normalized as each alone (Normalizer.joins), the two's are theirs and
        the between's joined: no second normalizing."""
        local = self._normalizer.local_form
        pieces = []          # each sentence's (text, local form or None)
        out = []
        for start, end in sentences:
            piece = text[start:end]
            form = local(piece)
            pieces.append((piece, form))
            out.append(replace_variants(form) if form is not None else self.normalize(piece))
        for k in range(len(sentences) - 1):
            (first, first_form), (second, second_form) = pieces[k], pieces[k + 1]
            between = text[sentences[k][1]:sentences[k + 1][0]]
            between_form = local(between) if between else ""
            if (first_form is not None and second_form is not None and between_form is not None
                    and self._normalizer.joins([first, between, second], [first_form, between_form, second_form])):
                out.append(out[k] + replace_variants(between_form) + out[k + 1])
            else:
                out.append(self.normalize(text[sentences[k][0]:sentences[k + 1][1]]))
        return out

    def pair_windows(self, norms: Sequence[str], pairs: Sequence[str]) -> dict[str, tuple[int, ...]]:
        """pair -> the windows (indices of norms, normalized texts) whose normalized_bigrams hold
        it, in order, for each of pairs that some window holds. A pair of two Chinese characters
        that is no stop word is among a text's bigrams exactly when the text holds it (its two
        characters are then of one run), so most are found without cutting the windows in pairs;
        a stop word or a text that is not Chinese never is."""
        out: dict[str, tuple[int, ...]] = {}
        # Most of a question's pairs are in none of a passage's windows: one search over them all
        # (apart, so no pair spans two) rules those out.
        everything = "\n".join(norms)
        for pair in pairs:
            if pair not in everything or pair in out or pair in self.stopwords or not _CJK_RUN.fullmatch(pair):
                continue
            if len(pair) == 2:
                held = tuple(w for w, norm in enumerate(norms) if pair in norm)
            else:   # a lone character stands for itself only where it is a run of its own
                held = tuple(w for w, norm in enumerate(norms) if pair in self.normalized_bigrams(norm))
            if held:
                out[pair] = held
        return out

    def question_bigrams(self, norm: str) -> list[str]:
        """normalized_bigrams of a question, without the pairs inside a stop word (为什 of 为什么):
        it frames the question, it is not its topic, and its pairs would favour any heading that
        asks the same way. Pairs across its edges (么要) stay: measured, they tell phrases apart."""
        inside: set[str] = set()
        # jieba's words are pieces of the text: without a long stop word in it, none is one, and a
        # question mixing Latin and Chinese (cut by stretches for its terms) is not cut again whole.
        if self._holds_long_stopword(norm):
            for word, start, end in self._jieba_words(norm):
                if end - start >= 3 and word in self.stopwords:
                    inside.update(word[i:i + 2] for i in range(len(word) - 1))
        pairs = self.normalized_bigrams(norm)
        return [p for p in pairs if p not in inside] if inside else pairs

    def _holds_long_stopword(self, norm: str) -> bool:
        """Whether a stop word of three characters or more is in the text."""
        return any(word in norm for ch in self._long_stopwords.keys() & set(norm) for word in self._long_stopwords[ch])

    def tokens(self, text: str) -> list[Token]:
        """Like tokenize, with each term's span in the original text (for highlighting)."""
        norm, index = self._normalize_with_map(text)
        out: list[Token] = []
        for token in self._segment(norm):
            if index is not None:
                start = index[token.start]
                end = index[token.end - 1] + 1
                token = Token(token.text, start, end, token.whole)
            out.append(token)
        return out

    def _segment(self, norm: str) -> list[Token]:
        """Latin runs by regex (jieba would split deepseek-v3 at '-'), the rest by jieba."""
        out: list[Token] = []
        pos = 0
        for match in _LATIN_RUN.finditer(norm):
            if match.start() > pos:
                out.extend(self._segment_cjk(norm, pos, match.start()))
            out.extend(self._latin_tokens(match.group(), match.start()))
            pos = match.end()
        if pos < len(norm):
            out.extend(self._segment_cjk(norm, pos, len(norm)))
        return out

    def _latin_tokens(self, word: str, start: int) -> list[Token]:
        """A Latin run kept whole, plus its hyphen/dot parts so 'DeepSeek V3' meets 'DeepSeek-V3'."""
        out = []
        if self._keep(word):
            out.append(Token(self._canonical(word), start, start + len(word), True))
        if _LATIN_PART.search(word):
            offset = 0
            for part in _LATIN_PART.split(word):
                begin = word.index(part, offset)
                offset = begin + len(part)
                if self._keep(part):
                    out.append(Token(self._canonical(part), start + begin, start + offset, False))
        return out

    def _segment_cjk(self, norm: str, begin: int, end: int) -> list[Token]:
        """jieba's words of one non-Latin stretch, each followed by its dictionary sub-words."""
        out = []
        for word, start, _ in self._jieba_words(norm[begin:end]):
            start += begin
            for text, offset, length, whole in self._word_tokens(word):
                out.append(Token(text, start + offset, start + offset + length, whole))
        return out

    def _jieba_words(self, text: str) -> tuple[tuple[str, int, int], ...]:
        """jieba's (word, start, end) of text. The last few texts' are kept (JIEBA_RECENT): a
        question of Chinese only is cut whole for its terms and again for its pairs."""
        if len(self._fragments) > FRAGMENT_CACHE:
            self._fragments.clear()
        return jieba_tokenize(self._jieba, text, self._hmm_words, self._fragments)

    def _word_tokens(self, word: str) -> tuple[tuple[str, int, int, bool], ...]:
        """The terms one jieba word gives: (term, offset in the word, length, whether whole); the
        word itself unless dropped, then its dictionary sub-words. Cached by word (WORD_CACHE)."""
        out = []
        if self._keep(word):
            out.append((self._canonical(word), 0, len(word), True))
        for sub, offset in self._subwords(word):
            if self._keep(sub):
                out.append((self._canonical(sub), offset, len(sub), False))
        return tuple(out)

    def _subwords(self, word: str) -> list[tuple[str, int]]:
        """Dictionary words inside a longer word: 2- and 3-grams as jieba's search mode finds
        them, and longer ones too (阿里巴巴 inside 阿里巴巴公司, a name inside a compound)."""
        if len(word) <= 2 or not _CJK.match(word) or word in self.aliases.spellings:
            return []  # a name's misspelling would add sub-words its right spelling lacks
        freq = self._jieba.FREQ
        out = []
        for size in range(2, min(len(word), MAX_SUBWORD_CHARS + 1)):
            for i in range(len(word) - size + 1):
                gram = word[i:i + size]
                if freq.get(gram):
                    out.append((gram, i))
        return out

    def _keep(self, word: str) -> bool:
        """A word is a term unless it is a stop word, punctuation or a lone Latin letter, or a
        stop word said over and over (啊啊啊, 哈哈哈: jieba keeps the run as one unknown word,
        which a question would then seem to ask about)."""
        if word in self.stopwords or not _CONTENT_CHAR.search(word):
            return False
        if len(word) > 1 and word[0] in self.stopwords and word == word[0] * len(word):
            return False
        return not (len(word) == 1 and "a" <= word <= "z")

    def is_specific(self, token: str) -> bool:
        """Whether a term names something particular to the corpus rather than general language.

        True for the user dictionary's and aliases' names and terms, and for Chinese words jieba's
        general dictionary does not know (闭源, 算力); a question naming one is about the corpus.
        """
        if token in self.user_words or token in self._added:
            return True
        return bool(_CJK.match(token)) and len(token) > 1 and not self._jieba.FREQ.get(token)

    def cut(self, text: str) -> list[str]:
        """jieba's words of the normalized text, stop words and punctuation included."""
        return [word for word, _, _ in self._jieba_words(self.normalize(text))]

    def word_tag(self, word: str) -> str:
        """jieba's part-of-speech tag of a word ("eng" for Latin, "x" when unknown).

        The tags of jieba's dictionary are read on first use: only follow-ups need them.
        """
        if _LATIN_RUN.fullmatch(word):
            return "eng"
        if word in self._user_tags:
            return self._user_tags[word]
        return self._dictionary_tags.get(word, "x")

    @functools.cached_property
    def _dictionary_tags(self) -> dict[str, str]:
        path = Path(jieba.__file__).resolve().parent / "dict.txt"
        tags = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 3:
                    tags[parts[0]] = parts[2]
        return tags

    def opposites(self, word: str) -> tuple[str, ...]:
        """The words the aliases file names as opposites of a (normalized) word: 支持 -> 反对."""
        return self.aliases.opposites.get(word, ())

    def general_count(self, word: str) -> int:
        """How often jieba's general dictionary counts the word; 0 for words it lacks or we added."""
        return 0 if word in self._added else self._jieba.FREQ.get(word, 0)

    def rarity(self, token: str) -> float:
        """How unusual a word is in general Chinese: log of jieba's dictionary total over its count."""
        return math.log(self._jieba.total / (self.general_count(token) + 1))

    @property
    def max_rarity(self) -> float:
        """The rarity of a word general Chinese never uses: the top of the scale."""
        return math.log(self._jieba.total)

    def _canonical(self, word: str) -> str:
        """The one spelling under which all spellings of a name are indexed."""
        return self.aliases.spellings.get(word, word)

    def name_key(self, name: str) -> str:
        """One key for every spelling of a name as written (梁文峰, 梁文锋: the aliases file's spellings)."""
        return self._canonical(self.normalize(name))

    # --- query expansion -------------------------------------------------------------------

    def query_terms(self, text: str) -> list[QueryTerm]:
        """A question's terms with weights: its words, their synonyms and English translations."""
        return self.normalized_query_terms(self.normalize(text))

    def normalized_query_terms(self, norm: str) -> list[QueryTerm]:
        """query_terms of a question already normalized."""
        tokens = []
        for token in self._join_library_names(self._segment(norm)):
            pieces = self._library_pieces(token) if token.whole and token.text not in self.user_words else None
            tokens.extend(pieces if pieces is not None else [token])
        groups = _Groups()
        terms: list[QueryTerm] = []
        for token in tokens:
            group = groups.at(token.start, token.end)
            if token.whole:
                weight = SINGLE_CHAR_WEIGHT if len(token.text) == 1 and _CJK.match(token.text) else 1.0
                terms.append(QueryTerm(token.text, weight, group, "word"))
                if len(token.text) == 2 and _CJK.match(token.text) and token.text not in self.aliases.spellings:
                    for ch in token.text:
                        if self._keep(ch):
                            terms.append(QueryTerm(ch, CHAR_WEIGHT, group, "subword"))
            else:
                terms.append(QueryTerm(token.text, SUBWORD_WEIGHT, group, "subword"))
        if _CJK.search(norm):
            _join_latin_names(norm, tokens, groups)
        glossary, taken = self._glossary_terms(norm, groups)
        terms.extend(glossary)
        # The general dictionary translates English questions. In a Chinese question, Latin words
        # are names and titles (《Real world》, DeepSeek, Sierra), kept as they are written.
        if _CJK.search(norm):
            translated, function_words = [], set()
        else:
            translated, function_words = self._dictionary_terms(tokens, taken, groups)
        terms.extend(translated)
        # An English word whose first sense is a Chinese stop word (might -> 可能) is one too.
        terms = [t for t in terms if not (t.kind == "word" and t.token in function_words)]
        terms.extend(self._synonym_terms(norm, tokens, groups))
        return _merge_terms(terms, groups)

    def expand(self, tokens: list[str]) -> list[tuple[str, float]]:
        """Each token with weight 1, plus its synonyms at the configured synonym weight."""
        out = {t: 1.0 for t in tokens}
        for token in tokens:
            for other in self._synonyms.get(token, ()):
                out.setdefault(other, self.aliases.synonym_weight)
        return list(out.items())

    def _glossary_terms(self, norm: str, groups: "_Groups") -> tuple[list[QueryTerm], list[tuple[int, int]]]:
        """Chinese terms for the English words and phrases of a question, and the spans translated."""
        terms = []
        taken: list[tuple[int, int]] = []
        if not _HAS_LATIN.search(norm):
            return terms, taken  # the glossary is English: a Chinese question skips its patterns
        for n in self._glossary_candidates(norm):
            if self._glossary_stems[n] not in norm:
                continue  # the phrase's first word is not there: its pattern cannot match
            pattern, translations = self._glossary[n]
            for match in pattern.finditer(norm):
                span = match.span()
                if any(s < span[1] and span[0] < e for s, e in taken):
                    continue  # a longer phrase already covers these words
                taken.append(span)
                group = groups.at(*span)
                for chinese in translations:
                    for token in self._segment(chinese):
                        weight = self.aliases.glossary_weight * (1.0 if token.whole else SUBWORD_WEIGHT)
                        terms.append(QueryTerm(token.text, weight, group, "translation"))
        return terms, taken

    def _glossary_candidates(self, norm: str) -> list[int]:
        """The glossary patterns (by place, in order) that may match in norm: a match starts where
        no letter or digit precedes it, with its stem's first character; most questions hold few
        such characters, so most of the glossary is never tried."""
        # Where no [a-z0-9] precedes (a range test a character: a regex match each cost more).
        firsts = {ch for before, ch in zip(" " + norm, norm) if not ("a" <= before <= "z" or "0" <= before <= "9")}
        found = [n for ch in firsts for n in self._glossary_by_first.get(ch, ())]
        return sorted(found + self._glossary_by_first.get("", []))

    def _dictionary_terms(self, tokens: list[Token], taken: list[tuple[int, int]],
                          groups: "_Groups") -> tuple[list[QueryTerm], set[str]]:
        """Chinese translations from the general dictionary for English words the glossary lacks.

        Also returns the English words that are function words (their first sense is a stop word).
        """
        english = [t for t in tokens if t.whole and _ENGLISH_WORD.fullmatch(t.text)
                   and not any(s < t.end and t.start < e for s, e in taken)]
        terms = []
        function_words: set[str] = set()
        # Runs of adjacent words, so a two-word phrase ("stock market") is looked up whole.
        runs: list[list[Token]] = []
        for token in english:
            if runs and token.start - runs[-1][-1].end <= 1:
                runs[-1].append(token)
            else:
                runs.append([token])
        for run in runs:
            for first, last, translations in self.english.translate([t.text for t in run]):
                chinese = [self._canonical(self.normalize(c)) for c in translations]
                if chinese[0] in self.stopwords:
                    function_words.update(t.text for t in run[first:last])
                    continue
                group = groups.at(run[first].start, run[last - 1].end)
                terms.extend(QueryTerm(c, self.aliases.glossary_weight, group, "translation") for c in chinese)
        return terms, function_words

    def _synonym_terms(self, norm: str, tokens: list[Token], groups: "_Groups") -> list[QueryTerm]:
        """The other members of every synonym group a question's word or phrase belongs to."""
        terms = []
        weight = self.aliases.synonym_weight
        whole = {t.text: t for t in tokens if t.whole}
        for phrase, others in self._synonym_phrases:
            start = norm.find(phrase)
            if start < 0:
                continue
            group = groups.at(start, start + len(phrase))
            terms.extend(QueryTerm(o, weight, group, "synonym") for o in others)
        for word, token in whole.items():
            for other in self._synonyms.get(word, ()):
                terms.append(QueryTerm(other, weight, groups.at(token.start, token.end), "synonym"))
            # A number in the other script (23 / 二十三): the same word, so at the word's weight.
            ordinal = token.start > 0 and norm[token.start - 1] == "第"
            for other in (*numerals.other_forms(word), *(numerals.ordinal_forms(word) if ordinal else ())):
                terms.append(QueryTerm(other, 1.0, groups.at(token.start, token.end), "synonym"))
        return terms

    def learn_library_words(self, words: list[str]) -> int:
        """Remember the library's own words, so a question cuts a name as the articles do.

        The articles were segmented with jieba's HMM, which finds names its dictionary lacks (刘七,
        魏舒); a question about them is short and gives the HMM little to go on (刘七是怎么死的
        becomes 刘七是 / 死). A question's word the library lacks is cut into the library's words
        it is made of (`_library_pieces`). Passages are not affected: they keep the tokens they
        were indexed with. Returns how many words were remembered.
        """
        self._library_words = frozenset(w for w in words if _CJK.match(w) and len(w) >= 2
                                        and not self._jieba.FREQ.get(w))
        self._longest_library_word = max(map(len, self._library_words), default=0)
        return len(self._library_words)

    def learn_titles(self, titles: Sequence[str]) -> int:
        """Teach jieba the articles' titles that are names, before the library is indexed.

        An article about a person, place or work is titled with its name (史继偕, 宇宙奇兵), the
        one word of the library that is surely one word; jieba cuts a name it does not know as
        it pleases (史继 / 偕 in the article, 史继偕著 in "史继偕著有哪些书册传世"). A title is taken
        when it is all Chinese characters (the parts of a transliterated name between its dots
        count one by one), after a closing qualifier in brackets (电视剧, 1979年出生); a headline
        has punctuation or runs longer than a name. Returns how many words were taught.
        """
        taught = 0
        names = set(self.title_names)
        for title in titles:
            name = _QUALIFIER.sub("", self.normalize(title)).strip()
            if _TITLE_NAME.fullmatch(name):
                names.add(name)   # 黄蝉 is the name of what its article is about, known to jieba or not
            for part in _NAME_DOT.split(name):
                if (_TITLE_NAME.fullmatch(part) and part not in self._added
                        and not self._jieba.FREQ.get(part)):
                    self._add_word(part)
                    taught += 1
        self.title_names = frozenset(names)
        return taught

    def _join_library_names(self, tokens: list[Token]) -> list[Token]:
        """Runs of lone characters joined where they spell one of the library's words.

        jieba cuts a name it does not know into characters (萱侬律 as 萱 / 侬 / 律); the articles,
        where the name recurs, gave the HMM enough to keep it whole.
        """
        if not self._library_words:
            return tokens
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            joined = None
            if tokens[i].whole and len(tokens[i].text) == 1:
                run = i
                while run < len(tokens) and tokens[run].whole and len(tokens[run].text) == 1 \
                        and (run == i or tokens[run].start == tokens[run - 1].end):
                    run += 1
                for end in range(run, i + 1, -1):
                    word = "".join(t.text for t in tokens[i:end])
                    if word in self._library_words:
                        joined = (Token(word, tokens[i].start, tokens[end - 1].end, True), end)
                        break
            if joined is None:
                out.append(tokens[i])
                i += 1
            else:
                out.append(joined[0])
                i = joined[1]
        return out

    def _library_pieces(self, token: Token) -> list[Token] | None:
        """A question's unknown word as a library word plus what is left (刘七是 -> 刘七, 是), or None."""
        word = token.text
        if (not self._library_words or len(word) < 3 or not _CJK.match(word)
                or word in self._library_words or self._jieba.FREQ.get(word)):
            return None
        for size in range(min(len(word) - 1, self._longest_library_word), 1, -1):
            for start in (0, len(word) - size):
                if word[start:start + size] in self._library_words:
                    pieces = [(start, start + size)]
                    if start:
                        pieces.insert(0, (0, start))
                    if start + size < len(word):
                        pieces.append((start + size, len(word)))
                    return [Token(self._canonical(word[a:b]), token.start + a, token.start + b, True)
                            for a, b in pieces if self._keep(word[a:b])]
        return None

    # --- loading ---------------------------------------------------------------------------

    def _load_userdict(self, path: Path) -> None:
        """Add the corpus's names and terms (and every alias spelling) to this jieba instance."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AnalyzerError(f"{path}: cannot read user dictionary ({exc.__class__.__name__})") from None
        words = []
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            word = self._normalize_with_map(parts[0])[0]
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
            words.append((word, freq, tag))
        words.extend((w, None, None) for w in self.aliases.spellings)
        self.user_words = frozenset(self._canonical(w) for w, _, _ in words)
        self._user_tags = {self._canonical(w): tag for w, _, tag in words if tag}
        for word, freq, tag in words:
            if _CJK.search(word) and not _LATIN_RUN.fullmatch(word):
                self._add_word(word, freq, tag)

    def _add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        """Teach this analyzer's jieba a word, remembering it is ours."""
        self._added.add(word)
        self._jieba.add_word(word, freq, tag)
        self._word_tokens.cache_clear()
        self._jieba_words.cache_clear()
        self._hmm_words.cache_clear()
        self._fragments.clear()
        self.dictionary_version += 1

    def _prepare_synonyms(self) -> dict[str, tuple[str, ...]]:
        """word -> the other words of its synonym groups (single-token members only)."""
        table: dict[str, list[str]] = {}
        phrases: list[tuple[str, tuple[str, ...]]] = []
        for group in self.aliases.synonym_groups:
            members = [(m, [t.text for t in self._segment(m) if t.whole]) for m in group]
            # A member is one word only when its one token is all of it: 怎么看 leaves 看 once
            # 怎么 is dropped as a stop word, and a lone 看 is no synonym of 观点.
            single = [toks[0] for m, toks in members if len(toks) == 1 and toks[0] == self._canonical(m)]
            for _, toks in members:
                if len(toks) == 1 and toks[0] in single:
                    table.setdefault(toks[0], []).extend(o for o in single if o != toks[0])
            for member, toks in members:
                if member and not (len(toks) == 1 and toks[0] in single):
                    phrases.append((member, tuple(single)))
        self._synonym_phrases = phrases
        return {k: tuple(dict.fromkeys(v)) for k, v in table.items()}

    def _prepare_glossary(self) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
        """Compiled English phrases, longest first, each tolerant of plural endings."""
        out = []
        # Each pattern's literal start (its first word without the plural ending), for a quick
        # test that skips the patterns a question cannot match.
        self._glossary_stems: list[str] = []
        for phrase in sorted(self.aliases.glossary, key=len, reverse=True):
            raw = [w for w in re.split(r"[\s\-]+", phrase) if w]
            words = [_plural(w) for w in raw]
            pattern = re.compile(r"(?<![a-z0-9])" + r"[\s\-]*".join(words) + r"(?![a-z0-9])")
            out.append((pattern, self.aliases.glossary[phrase]))
            self._glossary_stems.append(_plural_stem(raw[0]) if raw else "")
        self._glossary_by_first: dict[str, list[int]] = {}
        for n, stem in enumerate(self._glossary_stems):
            self._glossary_by_first.setdefault(stem[:1], []).append(n)
        return out


# How jieba's default cut splits a text into blocks it segments and stretches it passes through.
_JIEBA_HAN = jieba.re_han_default
_JIEBA_SKIP = jieba.re_skip_default


def _add_single_run(words: list[str], run: str, freq: dict, hmm) -> None:
    """A run of characters the route took one by one (jieba's __cut_DAG): a lone one as it is,
    a run the dictionary lacks cut by the HMM, one it holds character by character."""
    if len(run) == 1:
        words.append(run)
    elif not freq.get(run):
        words.extend(hmm(run))
    else:
        words.extend(run)


def jieba_tokenize(tokenizer: jieba.Tokenizer, text: str, hmm_words=None,
                   fragments: dict[str, int | None] | None = None,
                   compiled_route=None) -> tuple[tuple[str, int, int], ...]:
    """tuple(tokenizer.tokenize(text)): jieba's default cut with its HMM, the same words, computed
    the same way in one pass (jieba 0.42.1's Tokenizer.cut, get_DAG, calc and __cut_DAG) without
    its generators, slices and second dictionary look-ups. hmm_words, if given, is _hmm_words
    cached (the HMM's cut of a run of characters depends on the run alone); fragments, if given,
    keeps the prefix dictionary's counts (None: absent) of the fragments looked up, for a
    dictionary that does not change meanwhile. The best route through a block is found by the
    compiled loop when it was built (_compiled_route; compiled_route=False: by _route in Python).
    tests/test_fast_paths.py checks it against jieba on every passage and question."""
    tokenizer.check_initialized()
    freq = tokenizer.FREQ
    known = fragments if fragments is not None else {}
    logtotal = math.log(tokenizer.total)
    words: list[str] = []
    hmm = hmm_words if hmm_words is not None and not jieba.finalseg.Force_Split_Words else _hmm_words
    # The compiled loop reads plain dicts (jieba's FREQ is one).
    route = _route if compiled_route is False or type(freq) is not dict or type(known) is not dict \
        else _compiled_route() or _route
    for block in _JIEBA_HAN.split(text):
        if not block:
            continue
        if not _JIEBA_HAN.match(block):
            for part in _JIEBA_SKIP.split(block):
                if _JIEBA_SKIP.match(part):
                    words.append(part)
                else:
                    words.extend(part)
            continue
        # The best route from the right (jieba's calc), each position's words read as it is reached.
        route_end = route(block, freq, known, logtotal)
        n = len(block)
        x = 0
        buf = ""
        while x < n:
            y = route_end[x] + 1
            if y - x == 1:
                buf += block[x]
            else:
                if buf:
                    _add_single_run(words, buf, freq, hmm)
                    buf = ""
                words.append(block[x:y])
            x = y
        if buf:
            _add_single_run(words, buf, freq, hmm)
    out = []
    start = 0
    for word in words:
        end = start + len(word)
        out.append((word, start, end))
        start = end
    return tuple(out)


_UNSEEN = object()  # jieba_tokenize: a fragment not looked up yet


def _route(block: str, freq: dict, known: dict, logtotal: float) -> list[int]:
    """For each position of a block of Chinese, where the word the best route takes from it ends
    (jieba's calc over get_DAG: each position's words, the prefixes from it that the dictionary
    counts, read as it is reached, from the right); known as jieba_tokenize's fragments."""
    unseen = _UNSEEN
    log = math.log
    n = len(block)
    route_score = [0.0] * (n + 1)
    route_end = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        best, best_end = None, 0
        i = k
        frag = block[k]
        while i < n:
            count = known.get(frag, unseen)
            if count is unseen:
                count = known[frag] = freq.get(frag)
            if count is None:
                break
            if count:
                score = log(count) - logtotal + route_score[i + 1]
                if best is None or score >= best:
                    best, best_end = score, i
            i += 1
            frag = block[k:i + 1]
        if best is None:
            # No word starts here: the character alone, at its count or one.
            best, best_end = log(freq.get(block[k]) or 1) - logtotal + route_score[k + 1], k
        route_score[k], route_end[k] = best, best_end
    return route_end


@functools.lru_cache(maxsize=1)
def _compiled_route():
    """_route by the compiled loop (bot/retrieval/_scatter.c's jieba_route: the same doubles,
    the same route), or None when it was not built."""
    try:
        from bot.retrieval import _scatter
    except ImportError:
        return None
    return _scatter.jieba_route


def _hmm_words(run: str) -> tuple[str, ...]:
    """jieba's HMM cut of a run of characters its dictionary cut into single ones (finalseg.cut)."""
    return tuple(jieba.finalseg.cut(run))


class _Groups:
    """Assigns one group number per question word, merging words that one phrase spans."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int, int]] = []
        self._parent: dict[int, int] = {}

    def at(self, start: int, end: int) -> int:
        """The group of the words overlapping [start, end), merged into one; a new one if none."""
        hit = [g for s, e, g in self._spans if s < end and start < e]
        if not hit:
            group = len(self._parent)
            self._parent[group] = group
            self._spans.append((start, end, group))
            return group
        roots = {self.find(g) for g in hit}
        root = min(roots)
        for r in roots:
            self._parent[r] = root
        self._spans.append((start, end, root))
        return root

    def find(self, group: int) -> int:
        """The representative of a group after merges."""
        while self._parent[group] != group:
            group = self._parent[group]
        return group


def _join_latin_names(norm: str, tokens: list[Token], groups: "_Groups") -> None:
    """In a Chinese question, Latin words standing side by side with only spaces between them are
    one name or title (Sam Altman, Sarah Guo, 《Real world》): one word of the question, so a name
    of two words weighs as one, not twice as much as what is asked about it ("Sam Altman 结婚了吗"
    asks 结婚 of one person). Each part stays a form of the word, with its share of it: a passage
    holding only Altman holds the name, one holding only DeepSeek of "DeepSeek R1" holds little."""
    latin = [t for t in tokens if t.whole and _HAS_LATIN.search(t.text) and _LATIN_RUN.fullmatch(t.text)]
    for left, right in zip(latin, latin[1:]):
        if left.end < right.start and not norm[left.end:right.start].strip():
            groups.at(left.start, right.end)


def _merge_terms(terms: list[QueryTerm], groups: _Groups) -> list[QueryTerm]:
    """One entry per token, at its highest weight, with groups resolved after merges."""
    best: dict[str, QueryTerm] = {}
    for term in terms:
        group = groups.find(term.group)
        if group != term.group:
            term = QueryTerm(term.token, term.weight, group, term.kind, term.from_context)
        old = best.get(term.token)
        if old is None or term.weight > old.weight:
            best[term.token] = term
    return list(best.values())


def _plural_stem(word: str) -> str:
    """What every match of _plural(word) starts with."""
    return word[:-1] if len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou" else word


def _plural(word: str) -> str:
    """A regex for an English word and its plural or third-person form (company, companies)."""
    if len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou":
        return re.escape(word[:-1]) + r"(?:y|ies)"
    return re.escape(word) + r"(?:s|es)?"


def _read_words(path: Path, what: str) -> frozenset[str]:
    """One word a line; '#' starts a comment line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnalyzerError(f"{path}: cannot read {what} ({exc.__class__.__name__})") from None
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _read_function_words(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(function words, adverbs) of a "word tag" list: jieba's closed-class words, and its adverbs."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnalyzerError(f"{path}: cannot read function words ({exc.__class__.__name__})") from None
    function, adverbs = set(), set()
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise AnalyzerError(f"{path}, line {n}: expected a word and its jieba tag")
        (adverbs if parts[1].startswith("d") else function).add(parts[0])
    return frozenset(function), frozenset(adverbs)


def _read_stopwords(path: Path) -> frozenset[str]:
    """One stop word a line; '#' starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnalyzerError(f"{path}: cannot read stop words ({exc.__class__.__name__})") from None
    words = set()
    for line in lines:
        word = line.split("#", 1)[0].strip()
        if word:
            words.add(unicodedata.normalize("NFKC", word).lower())
    return frozenset(words)


def _read_aliases(path: Path) -> Aliases:
    """Parse and check the aliases YAML (format documented at the top of config/aliases.yaml)."""
    raw = read_yaml(path, "aliases file", AnalyzerError) or {}
    if not isinstance(raw, dict):
        raise AnalyzerError(f"{path}: expected a mapping at the top level")
    known = {"spellings", "synonyms", "synonym_weight", "opposites", "glossary", "glossary_weight"}
    unknown = set(raw) - known
    if unknown:
        raise AnalyzerError(f"{path}: unknown key '{sorted(unknown)[0]}' (expected one of: {', '.join(sorted(known))})")

    def norm(word: object) -> str:
        if not isinstance(word, (str, int, float)):
            raise AnalyzerError(f"{path}: expected a word, got {word!r}")
        return unicodedata.normalize("NFKC", str(word)).lower().strip()

    spellings: dict[str, str] = {}
    for group in _groups(raw.get("spellings"), path, "spellings"):
        canonical = norm(group[0])
        for variant in group:
            spellings[norm(variant)] = canonical
    synonyms = tuple(tuple(norm(w) for w in g) for g in _groups(raw.get("synonyms"), path, "synonyms"))
    glossary_raw = raw.get("glossary") or {}
    if not isinstance(glossary_raw, dict):
        raise AnalyzerError(f"{path}: 'glossary' must map English phrases to Chinese terms")
    glossary = {}
    for english, chinese in glossary_raw.items():
        targets = chinese if isinstance(chinese, list) else [chinese]
        glossary[norm(english)] = tuple(norm(c) for c in targets)
    opposites: dict[str, list[str]] = {}
    for group in _groups(raw.get("opposites"), path, "opposites"):
        if len(group) != 2:
            raise AnalyzerError(f"{path}: each of 'opposites' must be a pair of words, got {group!r}")
        a, b = norm(group[0]), norm(group[1])
        opposites.setdefault(a, []).append(b)
        opposites.setdefault(b, []).append(a)
    return Aliases(spellings, synonyms, _weight(raw, "synonym_weight", 0.6, path), glossary,
                   _weight(raw, "glossary_weight", 1.0, path), {w: tuple(o) for w, o in opposites.items()})


def _groups(value: object, path: Path, key: str) -> list[list[object]]:
    """A YAML list of lists, each of at least two words."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(g, list) and len(g) >= 2 for g in value):
        raise AnalyzerError(f"{path}: '{key}' must be a list of lists of two or more words")
    return value


def _weight(raw: dict, key: str, default: float, path: Path) -> float:
    """A weight between 0 and 1."""
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise AnalyzerError(f"{path}: '{key}' must be a number in (0, 1], got {value!r}")
    return float(value)


def _fingerprint(config: RetrievalConfig) -> str:
    """A hash of everything that shapes tokens: this code, jieba's version, the three files."""
    digest = hashlib.sha256()
    digest.update(f"text {TEXT_VERSION} jieba {jieba.__version__}\n".encode())
    # This module's own source too: a change to tokenization can never meet a stale index.
    digest.update(Path(__file__).read_bytes())
    digest.update((Path(__file__).parent / "normalize.py").read_bytes())
    for path in (config.userdict_file, config.stopwords_file, config.aliases_file):
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
