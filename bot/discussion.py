"""Discuss the library as a whole: overviews, who is quoted, comparisons, who said it, one article.

`bot.shapes` recognizes these questions; `Discussion.page` builds the reply: verbatim passages
(Hits) arranged in labelled groups. Nothing is paraphrased; every passage keeps its source. The
engine (bot.conversation) records the turn and turns it into a Reply; the adapters render it.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace

from bot.corpus import Corpus, Passage, Source, sentence_spans
from bot.messages import say
from bot.normalize import simplified_chars
from bot.quotes import Quote, find_statements, statement_score
from bot.retrieval import Hit, Retriever
from bot.shapes import PAGED, Intent, Kind, QuestionShapes, squash

__all__ = ["PAGE_ITEMS", "PAGED", "Discussion", "Group", "Intent", "Kind", "Page"]

# Items (articles, speakers, sections) on one page: five quotes of at most SNIPPET_CHARS with
# their labels make about one phone screen, far below Telegram's 4096 characters a message.
PAGE_ITEMS = 5
# Passages shown for each side of a comparison: a position and its reason, and both sides still
# fit one screen.
PER_SIDE = 2
# Passages a side's search looks through for ones that name the side: a side's name is often a
# common word of the corpus (DeepSeek), so its passages on the topic can rank below the topic's
# best passages that do not name it.
SIDE_POOL = 30
# English sides whose translations are kept (a comparison asks each of them for every passage it weighs).
SIDE_TRANSLATIONS_KEPT = 64
# Passages on a topic looked through for who is quoted there ("哪些人谈到了开源？"): the answers
# to a question seldom go deeper.
SPEAKERS_POOL = 30
# Passages searched for the words of "who said it" when they are not found as written.
WHO_SAID_POOL = 5
# A quote shown for an item is cut to its first sentences within this length (the retriever's
# snippet length, so every kind of reply reads alike).
SNIPPET_CHARS = 160
# An article's summary is announced in its first passages ("本文介绍了…"); further in, "本文" is
# part of the argument.
LEAD_WINDOW = 3
# A statement shorter than this is a scare-quoted word, not something said (the quote finder's
# own minimum for a notable quotation).
MIN_STATEMENT_CHARS = 8
# A sentence shorter than this is a heading-like fragment, not a key sentence, when the item has
# a longer one.
MIN_KEY_SENTENCE_CHARS = 10


@dataclass(frozen=True)
class Group:
    """Quotes under one label: an article's title, a speaker, a side of a comparison, a section."""
    label: str
    hits: tuple[Hit, ...]
    heading: bool = False      # True: the label heads its quotes (a side); False: it names one item
    show_source: bool = True   # False: the label or the reply's first line already names the source
    note: str = ""             # said instead of quotes when there are none (a side with nothing)


@dataclass(frozen=True)
class Page:
    """One reply's worth of a discussion: intro sentences and the groups of quotes."""
    kind: Kind
    lines: tuple[str, ...]
    groups: tuple[Group, ...]
    offset: int = 0            # the first item's rank among all items (articles, speakers, sections)
    has_more: bool = False

    @property
    def hits(self) -> tuple[Hit, ...]:
        """Every quoted passage, in the order shown."""
        return tuple(h for g in self.groups for h in g.hits)


# The patterns below are written in Simplified Chinese: a text is matched as simplified_chars reads
# it, so an article in Traditional script is read alike.
# An article's own summary, announced as such.
_SUMMARY_MARK = re.compile(
    r"^(?:摘要|导语|导读|编者按|概要|简介|内容提要|tl;?dr|summary|abstract)\s*[:：]|"
    r"(?:本文|这篇文章|本篇|全文)(?:将|主要|简要|重点)?(?:介绍|讲述|探讨|分析|梳理|总结|讨论|聚焦|回顾|概述|阐述|解读|带你|"
    r"记录|整理|盘点)", re.I)
# A section whose name says it sums the article up.
_SUMMARY_SECTION = re.compile(r"^(?:摘要|导读|导语|亮点|要点|概要|概述|简介|核心观点|内容提要|highlights|summary|"
                              r"key points|key takeaways|takeaways|tl;?dr|abstract|overview)$", re.I)
# Words by which a passage compares what it names ("白葡萄酒比红葡萄酒含有更多…", "与非洲野驴有些分别").
_COMPARING = re.compile(r"不同|区别|差别|差异|异同|分别|相比|相较|对比|比起|不如|优于|胜过|类似|相似|相同|一样|同样|"
                        r"比\S{1,12}?(?:更|还|要)")
# Passages opening with these answer the passage before them: the article's own comparison.
_CONTRAST_OPENING = re.compile(r"^(?:相比之下|相较之下|对比之下|与此相对|与之相对|与此相反|与之相反|与此不同|不同的是|"
                               r"相反|反观|然而|而|但是|但|不过|另一方面)")
# An encyclopedia title's disambiguation: "杨昊 (足球运动员)".
_DISAMBIGUATION = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_ASKS_OR_LEADS = re.compile(r"[？?][”」』]?\s*$|[：:]\s*$")


class Discussion:
    """Recognizes questions about the material as a whole (bot.shapes) and builds their replies.

    Built once with the corpus and its retriever; statements (who said what), article digests and
    representative passages are worked out on first use and kept.
    """

    def __init__(self, corpus: Corpus, retriever: Retriever) -> None:
        self._corpus = corpus
        self._retriever = retriever
        self._analyzer = retriever.analyzer
        # Articles with passages, in the library's order: what an overview lists and pages through.
        self._sources = tuple(s for s in corpus.sources if s.passages)
        self._titles = tuple((s, squash(self._analyzer.normalize(s.title))) for s in self._sources)
        self._shapes = QuestionShapes(corpus, retriever)
        self._lock = threading.RLock()
        self._statements: list[Quote] | None = None
        self._squashed: list[str] = []            # each statement's text, normalized, for who-said
        self._by_passage: dict[str, list[Quote]] = {}
        self._speakers: list[tuple[str, Quote]] | None = None
        self._side_translations: dict[str, frozenset[str]] = {}   # _translations, kept for a few sides
        self._representative = functools.lru_cache(maxsize=4096)(self._representative_of)
        self._digest_items = functools.lru_cache(maxsize=256)(self._items_of)

    def recognize(self, question: str) -> Intent | None:
        """The kind of discussion a question asks for, or None for an ordinary question."""
        return self._shapes.recognize(question)

    def stance(self, question: str) -> Intent | None:
        """Who takes a side on a topic (谁反对开源？), as the speakers on it; None otherwise."""
        return self._shapes.stance(question)

    def bare_stance(self, question: str) -> str | None:
        """The side of "谁反对？" (no topic named), for the topic being discussed; None otherwise."""
        return self._shapes.bare_stance(question)

    def speakers_query(self, topic: str, lang: str) -> str:
        """A question recognize() reads as "who spoke of topic" (recorded so that 更多 pages on)."""
        return f"Who talked about {topic}" if lang == "en" else f"哪些人谈到了{topic}"

    # --- building pages ---------------------------------------------------------------------

    def page(self, intent: Intent, lang: str, offset: int = 0, previous: Passage | None = None) -> Page:
        """The reply to a recognized question, from rank `offset` on for the kinds that page.

        previous is the first passage of the chat's last answer, which "谁说的" and "这篇文章讲了什么"
        refer to.
        """
        if intent.kind is Kind.OVERVIEW:
            return self._overview(lang, offset)
        if intent.kind is Kind.SPEAKERS:
            return self._speakers_page(lang, offset, intent.topic)
        if intent.kind is Kind.COMPARISON:
            return self._comparison(intent.sides, intent.topic, lang)
        if intent.kind is Kind.WHO_SAID:
            return self._who_said(intent.statement, lang, previous)
        if intent.kind is Kind.WHERE_FROM:
            return self._where_from(lang, previous)
        source = self._corpus.source(intent.source_id) if intent.source_id else None
        if source is None and previous is not None:
            source = self._corpus.source(previous.source_id)
        if source is None and len(self._sources) == 1:
            source = self._sources[0]
        if source is None:  # "这篇文章" with no article in view: ask which one
            return Page(Kind.DIGEST, (say("digest_which", lang, example=f"《{self._sources[0].title}》"),), ())
        return self.digest(source, lang, offset)

    def _overview(self, lang: str, offset: int) -> Page:
        """One representative passage per article, with its title, PAGE_ITEMS articles a page."""
        shown = self._sources[offset:offset + PAGE_ITEMS]
        groups = tuple(Group(s.title, (self._representative(s.id),), show_source=False) for s in shown)
        if not groups:
            return Page(Kind.OVERVIEW, (), ())
        line = say("overview_intro", lang, total=len(self._sources), first=offset + 1, last=offset + len(shown))
        return Page(Kind.OVERVIEW, (line,), groups, offset, offset + len(shown) < len(self._sources))

    def _speakers_page(self, lang: str, offset: int, topic: str = "") -> Page:
        """The people and organisations quoted, each with their most notable statement; on a
        topic, those quoted in the passages on it, each with their words there."""
        speakers = self.speakers_on(topic) if topic else self.speakers()
        shown = speakers[offset:offset + PAGE_ITEMS]
        if not shown:
            nothing = say("no_quotes_on", lang, topic=topic) if topic else say("no_quotes", lang)
            return Page(Kind.SPEAKERS, (nothing,) if not speakers else (), ())
        groups = tuple(Group(name, (_quote_hit(quote, name),)) for name, quote in shown)
        if topic:
            line = say("speakers_on_intro", lang, topic=topic, total=len(speakers), first=offset + 1,
                       last=offset + len(shown))
        else:
            line = say("speakers_intro", lang, total=len(speakers), first=offset + 1, last=offset + len(shown))
        return Page(Kind.SPEAKERS, (line,), groups, offset, offset + len(shown) < len(speakers))

    def digest(self, source: Source, lang: str, offset: int = 0) -> Page:
        """An article's sections (or paragraphs) in order, each with its key sentence, paged."""
        items = self._digest_items(source.id)
        shown = items[offset:offset + PAGE_ITEMS]
        if not shown:
            return Page(Kind.DIGEST, (), ())
        groups = tuple(Group(_item_label(label, offset + i, lang), (hit,), show_source=False)
                       for i, (label, hit) in enumerate(shown))
        unit = "digest_paragraphs" if items[0][0] is None else "digest_sections"
        line = say("digest_intro", lang, title=source.title, total=len(items),
                   unit=say(unit, lang), first=offset + 1, last=offset + len(shown))
        return Page(Kind.DIGEST, (line,), groups, offset, offset + len(shown) < len(items))

    def digest_query(self, source: Source) -> str:
        """A question that asks for this article's digest (recorded for 更多 after a button press)."""
        return f"《{source.title}》"

    # --- overview ---------------------------------------------------------------------------

    def _representative_of(self, source_id: str) -> Hit:
        """The passage that best stands for an article: its own summary or lead, else its most central."""
        source = self._corpus.source(source_id)
        passages = source.passages
        lead = self._lead(source)
        passage = lead if lead is not None else passages[self._most_central(passages)]
        return _passage_hit(passage, SNIPPET_CHARS)

    def _lead(self, source: Source) -> Passage | None:
        """An article's summary: announced as one, its opening paragraph, or a summary section's first."""
        passages = source.passages
        for passage in passages[:LEAD_WINDOW]:
            if _SUMMARY_MARK.search(simplified_chars(passage.text)):
                return passage
        first = passages[0]
        # The article starts with its title, and the first paragraph comes before any heading: its
        # opening is there, and an opening paragraph introduces (a Wikipedia lead, a blog's intro)
        # unless it asks a question (an interview's first). Without a title line the file may start
        # anywhere (a repost cut mid-article).
        if (not first.section and source.text and not source.text.startswith(first.text)
                and not _ASKS_OR_LEADS.search(first.text)):
            return first
        for passage in passages:
            if _SUMMARY_SECTION.match(simplified_chars(passage.section.rsplit(" / ", 1)[-1])):
                return passage
        return None

    def _most_central(self, passages: tuple[Passage, ...]) -> int:
        """Index of the passage whose words the rest of the article shares most (cosine to the rest)."""
        bags = [self._bag(p.text) for p in passages]
        spread = Counter(t for bag in bags for t in bag)
        # Questions and lead-ins (ending in ？ or ：) point elsewhere; they stand for nothing alone.
        statements = [i for i, p in enumerate(passages) if not _ASKS_OR_LEADS.search(p.text)]
        best, best_score = 0, -1.0
        for i in statements or range(len(passages)):
            bag = bags[i]
            score = self._cosine(bag, spread, bag)
            if score > best_score:
                best, best_score = i, score
        return best

    def _bag(self, text: str) -> frozenset[str]:
        """The distinct content words of a text (whole words of two characters or more, no numbers)."""
        return frozenset(t.text for t in self._analyzer.tokens(text)
                         if t.whole and len(t.text) >= 2 and not t.text.replace(".", "").isdigit())

    def _cosine(self, bag: frozenset[str], counts: Counter, own: frozenset[str]) -> float:
        """Cosine between a text's words and the counts of the others' (own words removed once).

        Words weigh by their rarity in general Chinese, so an article's own terms count and words
        that every text uses do not.
        """
        if not bag:
            return 0.0
        weight = {t: self._analyzer.rarity(t) for t in counts}
        rest = {t: c - (1 if t in own else 0) for t, c in counts.items()}
        dot = sum(weight[t] ** 2 * rest[t] for t in bag if t in rest)
        norm_bag = math.sqrt(sum(weight.get(t, self._analyzer.rarity(t)) ** 2 for t in bag))
        norm_rest = math.sqrt(sum((weight[t] * c) ** 2 for t, c in rest.items()))
        return dot / (norm_bag * norm_rest) if norm_bag and norm_rest else 0.0

    # --- who is quoted ----------------------------------------------------------------------

    def statements(self) -> list[Quote]:
        """Every quotation and reported statement of the corpus (found on first use, then kept).

        Finding them reads every passage (about 0.1 ms each: seconds on a library of 100,000), so
        the engine builds pages in a worker thread; the lock makes that work happen once.
        """
        with self._lock:
            if self._statements is None:
                statements = find_statements(self._corpus)
                by_passage: dict[str, list[Quote]] = {}
                for quote in statements:
                    by_passage.setdefault(quote.passage.id, []).append(quote)
                self._squashed = [squash(self._analyzer.normalize(q.text)) for q in statements]
                self._by_passage, self._statements = by_passage, statements
        return self._statements

    def speakers(self) -> list[tuple[str, Quote]]:
        """(name, most notable statement) of everyone quoted, most notable first.

        Spellings of one name (梁文锋, 梁文峰) count as one speaker, named as the statement shown
        spells it. Speakers whose best statement is best come first, then those quoted most often.
        """
        with self._lock:
            if self._speakers is None:
                self._speakers = self._rank_speakers()
        return self._speakers

    def _rank_speakers(self) -> list[tuple[str, Quote]]:
        """speakers(), worked out: statements grouped by speaker, each group's best, ranked."""
        by_key: dict[str, list[Quote]] = {}
        for quote in self.statements():
            if quote.speaker and len(quote.text) >= MIN_STATEMENT_CHARS:
                by_key.setdefault(self._analyzer.name_key(quote.speaker), []).append(quote)
        ranked = []
        for order, quotes in enumerate(by_key.values()):
            best = max(quotes, key=statement_score)  # max keeps the first of equals: corpus order
            # Named as the passage shown names them (梁文锋 there, though 梁文峰 elsewhere).
            ranked.append(((-statement_score(best), -len(quotes), order), best.speaker, best))
        return [(name, best) for _, name, best in sorted(ranked, key=lambda r: r[0])]

    def speakers_on(self, topic: str) -> list[tuple[str, Quote]]:
        """(name, statement) of everyone quoted in the passages that answer a topic, in the order
        of those passages; each speaker once, with the statement of theirs holding most of the
        topic's words (the first, between equals)."""
        self.statements()
        wanted = self._bag(topic)
        seen: set[str] = set()
        out = []
        for hit in self._retriever.search(topic, top_k=SPEAKERS_POOL):
            quotes = [q for q in self._by_passage.get(hit.passage.id, [])
                      if q.speaker and len(q.text) >= MIN_STATEMENT_CHARS]
            for quote in sorted(quotes, key=lambda q: -len(wanted & self._bag(q.text))):
                key = self._analyzer.name_key(quote.speaker)
                if key not in seen:
                    seen.add(key)
                    out.append((quote.speaker, quote))
        return out

    # --- who said it ------------------------------------------------------------------------

    def _who_said(self, statement: str, lang: str, previous: Passage | None) -> Page:
        """The passage holding a statement, with its speaker named."""
        if not statement:
            if previous is None:
                return Page(Kind.WHO_SAID, (say("who_said_nothing", lang),), ())
            quote = self._speaker_in(previous, "")
            return self._who_said_page(previous, quote, True, lang)
        wanted = squash(self._analyzer.normalize(statement))
        statements = self.statements()
        for quote, text in zip(statements, self._squashed):
            if quote.speaker and wanted and wanted in text:
                start = quote.passage.text.find(quote.text)
                return self._who_said_page(quote.passage, quote, True, lang,
                                           _around(quote.passage, start, start + len(quote.text)))
        hits = self._retriever.search(statement, top_k=WHO_SAID_POOL)
        for hit in hits:  # the words as written, in a passage that does not say who said them
            if wanted and wanted in squash(self._analyzer.normalize(hit.passage.text)):
                found = re.search(re.escape(statement), hit.passage.text, re.I)
                shown = _around(hit.passage, *found.span()) if found else hit
                return self._who_said_page(hit.passage, self._speaker_in(hit.passage, statement), True, lang, shown)
        for hit in hits:
            quote = self._speaker_in(hit.passage, statement)
            if quote is not None:
                return self._who_said_page(hit.passage, quote, False, lang, hit)
        if hits:
            return self._who_said_page(hits[0].passage, None, False, lang, hits[0])
        return Page(Kind.WHO_SAID, (), ())

    def _where_from(self, lang: str, previous: Passage | None) -> Page:
        """The last answer's first passage, with the article it comes from: title, date, link."""
        if previous is None:
            return Page(Kind.WHERE_FROM, (say("where_from_nothing", lang),), ())
        source = self._corpus.source(previous.source_id)
        if source is None:
            return Page(Kind.WHERE_FROM, (say("digest_missing", lang),), ())
        lines = [say("where_from", lang, title=source.title)]
        if source.date:
            lines.append(say("where_from_date", lang, date=source.date))
        if source.url:
            lines.append(say("where_from_link", lang, url=source.url))
        return Page(Kind.WHERE_FROM, tuple(lines), (Group("", (_passage_hit(previous, SNIPPET_CHARS),)),))

    def _speaker_in(self, passage: Passage, statement: str) -> Quote | None:
        """The statement of a passage with a speaker that best holds the words asked about."""
        self.statements()
        quotes = [q for q in self._by_passage.get(passage.id, []) if q.speaker]
        if not quotes:
            return None
        wanted = set(self._bag(statement)) if statement else set()
        return max(quotes, key=lambda q: (len(wanted & self._bag(q.text)), statement_score(q)))

    def _who_said_page(self, passage: Passage, quote: Quote | None, exact: bool, lang: str,
                       hit: Hit | None = None) -> Page:
        """The reply naming who said it (or that the article does not say)."""
        speaker = quote.speaker if quote else None
        shown = hit or _passage_hit(passage, SNIPPET_CHARS)
        shown = Hit(shown.passage, shown.score, shown.snippet, shown.matched_terms, speaker)
        if speaker:
            line = say("who_said" if exact else "who_said_closest", lang, speaker=speaker)
        else:
            line = say("who_said_unnamed" if exact else "who_said_closest_unnamed", lang)
        return Page(Kind.WHO_SAID, (line,), (Group("", (shown,), show_source=True),))

    # --- comparison -------------------------------------------------------------------------

    def _comparison(self, sides: tuple[str, ...], topic: str, lang: str) -> Page:
        """Passages for each side, labelled with its name; a side with nothing says so.

        Passages naming both sides come first, under both names: there the articles compare them
        themselves. Each side's own passages name that side only, on the topic when one is given.
        """
        forms = self._topic_forms(topic)
        pools = [self._side_hits(side, topic, forms) for side in sides]
        if topic and not any(self._on_topic(hit, forms) for pool in pools for hit in pool):
            # Neither side is found with the topic ("华为和腾讯谁更厉害？": the articles judge
            # neither): what each is quoted for, under a line saying the topic was not found.
            page = self._comparison(sides, "", lang)
            if not page.groups or not any(group.hits for group in page.groups):
                return page
            unsaid = say("comparison_topic_unsaid", lang, a=sides[0], b=sides[1], topic=topic)
            return replace(page, lines=(unsaid, *page.lines))
        shared: dict[str, Hit] = {}
        for hit in (h for pair in itertools.zip_longest(*pools) for h in pair if h):  # best of either first
            if hit.passage.id not in shared and all(self._names(hit.passage, side) for side in sides):
                shared[hit.passage.id] = hit
        # Passages naming both sides are where the articles discuss them together; those that compare
        # them in so many words ("白葡萄酒比红葡萄酒含有更多…") first.
        ranked = sorted(shared.values(), key=lambda h: not _COMPARING.search(simplified_chars(h.passage.text)))  # stable
        both = ranked[:PER_SIDE]
        own = [[h for h in pool if h.passage.id not in shared] for pool in pools]
        chosen: list[list[Hit]] = [[], []]
        # A passage on one side answered by the next one ("相比之下，DeepSeek…") puts both sides in
        # the article's words: it leads the two sides.
        pair = self._contrast_pair(sides, own)
        if pair is not None:
            for side, hit in enumerate(pair):
                chosen[side].append(hit)
        used = {h.passage.id for hits in chosen for h in hits}
        for side, pool in enumerate(own):
            for hit in pool:
                if len(chosen[side]) < PER_SIDE and hit.passage.id not in used:
                    chosen[side].append(hit)
                    used.add(hit.passage.id)
        both = [self._where_both(hit, sides) for hit in both]
        labels = [self._surface(side, [*both, *hits, *pool]) for side, hits, pool in zip(sides, chosen, pools)]
        on = say("comparison_on", lang, topic=topic) if topic else ""
        groups = []
        if both:
            groups.append(Group(say("comparison_both", lang, a=labels[0], b=labels[1]), tuple(both), heading=True))
        for side, hits in enumerate(chosen):
            note = ""
            if not hits:
                other = labels[1 - side]
                key = "comparison_side_only_both" if both else "comparison_side_empty"
                note = say(key, lang, side=labels[side], other=other, on=on)
            groups.append(Group(labels[side], tuple(hits), heading=True, note=note))
        line = say("comparison_intro", lang, a=labels[0], b=labels[1], on=on)
        return Page(Kind.COMPARISON, (line,), tuple(groups))

    def _where_both(self, hit: Hit, sides: tuple[str, ...]) -> Hit:
        """A passage naming both sides, shown from the sentence that names both (one comparing them
        first): "乌尔巴克齿龙与拜伦龙的差异在于……"."""
        text = hit.passage.text
        spans = [(s, e) for s, e in sentence_spans(text) if all(self._mentions(text[s:e], side) for side in sides)]
        if not spans:
            return hit
        start, end = min(spans, key=lambda se: not _COMPARING.search(simplified_chars(text[se[0]:se[1]])))
        shown = _around(hit.passage, start, end)
        return Hit(hit.passage, hit.score, shown.snippet, hit.matched_terms, hit.speaker)

    def _topic_forms(self, topic: str) -> frozenset[str]:
        """The words a passage on the topic holds: the topic's own words, their synonyms and, for an
        English topic, the glossary's Chinese for them."""
        if not topic:
            return frozenset()
        forms = {t.token for t in self._analyzer.query_terms(topic)
                 if t.kind in ("word", "synonym", "translation") and len(t.token) >= 2}
        return frozenset(forms)

    def _side_hits(self, side: str, topic: str, forms: frozenset[str]) -> list[Hit]:
        """Passages the retriever finds for the side and the topic that name the side (or quote
        it), best first: those holding the topic's words, then those where the side speaks (or
        its own article), then in the retriever's order."""
        query = f"{side} {topic}".strip()
        pool = [h for h in self._retriever.search(query, top_k=SIDE_POOL)
                if self._mentions(h.passage.text, side) or self._speaks(h.passage, side)]
        own = self._article_named(side)
        if own is not None and not topic:
            # The side has an article of its own (a library of encyclopedia entries): its lead first.
            lead = self._representative(own.id)
            pool = [lead] + [h for h in pool if h.passage.id != lead.passage.id]

        def key(hit: Hit) -> tuple[bool, bool]:
            on_topic = self._on_topic(hit, forms)
            speaks = self._speaks(hit.passage, side) or (own is not None and hit.passage.source_id == own.id)
            return not on_topic, not speaks
        return sorted(pool, key=key)

    def _on_topic(self, hit: Hit, forms: frozenset[str]) -> bool:
        """Whether a passage holds a word of the topic (any passage, when there is no topic)."""
        return not forms or bool(forms & set(self._analyzer.tokenize(hit.passage.text)))

    def _article_named(self, side: str) -> Source | None:
        """The article whose title is the side's name ("马飚", or "杨昊 (足球运动员)" for 杨昊)."""
        wanted = squash(self._analyzer.normalize(side))
        for source, title in self._titles:
            if title == wanted or squash(self._analyzer.normalize(_DISAMBIGUATION.sub("", source.title))) == wanted:
                return source
        return None

    def _names(self, passage: Passage, side: str) -> bool:
        """Whether a passage names the side or quotes it."""
        return self._mentions(passage.text, side) or self._speaks(passage, side)

    def _speaks(self, passage: Passage, side: str) -> bool:
        """Whether the side is the speaker of a statement in the passage (its own words, reported)."""
        self.statements()
        return any(q.speaker and self._mentions(q.speaker, side) for q in self._by_passage.get(passage.id, ()))

    def _contrast_pair(self, sides: tuple[str, ...], pools: list[list[Hit]]) -> tuple[Hit, Hit] | None:
        """A passage for one side followed by one opening with a contrast for the other, if any."""
        for first in (0, 1):
            # Only a passage among the side's best: a contrast far off the topic answers nothing.
            for hit in pools[first][:2 * PER_SIDE]:  # two pages' worth of the side's own passages
                for after in self._corpus.neighbours(hit.passage.id):
                    if after.position != hit.passage.position + 1 or not _CONTRAST_OPENING.match(simplified_chars(after.text)):
                        continue
                    if self._mentions(after.text, sides[1 - first]) and not self._mentions(after.text, sides[first]):
                        answer = _passage_hit(after, SNIPPET_CHARS)
                        return (hit, answer) if first == 0 else (answer, hit)
        return None

    def _mentions(self, text: str, side: str) -> bool:
        """Whether a passage names a side: as written, by all its words, or a person by surname."""
        side_norm = self._analyzer.normalize(side)
        if squash(side_norm) in squash(self._analyzer.normalize(text)):
            return True
        words = {t.text for t in self._analyzer.tokens(side) if t.whole}
        present = set(self._analyzer.tokenize(text))
        if words and words <= present:
            return True
        latin = side_norm.split()
        # "Eric Schmidt" is "Schmidt" after the first mention.
        if len(latin) > 1 and latin[-1].isascii() and len(latin[-1]) >= 3 and latin[-1] in present:
            return True
        # A side asked in English ("open source vs closed source") is named by its translation
        # (开源), when the glossary or the dictionary gives one: a Chinese article never writes it
        # in English. A name the articles write in Latin letters (OpenAI) has none.
        return side_norm.isascii() and bool(self._translations(side) & present)

    def _translations(self, side: str) -> frozenset[str]:
        """The Chinese words the glossary or the dictionary gives for an English side (asked once
        a side: a comparison tries it on every passage of its pools)."""
        if side not in self._side_translations:
            if len(self._side_translations) >= SIDE_TRANSLATIONS_KEPT:
                self._side_translations.clear()
            self._side_translations[side] = frozenset(t.token for t in self._analyzer.query_terms(side)
                                                      if t.kind == "translation")
        return self._side_translations[side]

    def _surface(self, side: str, hits: list[Hit]) -> str:
        """The side's name as the articles write it (their capitals), else as the question did."""
        for hit in hits:
            match = re.search(re.escape(side).replace(r"\ ", r"\s*"), hit.passage.text, re.I)
            if match:
                return match.group()
        return side

    # --- one article ------------------------------------------------------------------------

    def _items_of(self, source_id: str) -> tuple[tuple[str | None, Hit], ...]:
        """An article's digest items: (section name, key-sentence hit) per section ("" for the opening
        before the first heading), or (None, hit) per paragraph when the article has fewer than two
        headed sections."""
        source = self._corpus.source(source_id)
        sections: list[tuple[str, list[Passage]]] = []
        for passage in source.passages:
            if sections and sections[-1][0] == passage.section:
                sections[-1][1].append(passage)
            else:
                sections.append((passage.section, [passage]))
        article = Counter(t for p in source.passages for t in self._bag(p.text))
        if sum(1 for name, _ in sections if name) < 2:
            return tuple((None, self._key_sentence([p], article)) for p in source.passages)
        return tuple((name, self._key_sentence(passages, article)) for name, passages in sections)

    def _key_sentence(self, passages: list[Passage], article: Counter) -> Hit:
        """The sentence of a section (or paragraph) that best shares the words of its section and
        of the whole article (the section's own words count twice), verbatim."""
        sentences = [(p, s, e) for p in passages for s, e in sentence_spans(p.text)]
        long_enough = [x for x in sentences if x[2] - x[1] >= MIN_KEY_SENTENCE_CHARS] or sentences
        bags = [self._bag(p.text[s:e]) for p, s, e in long_enough]
        counts = article + Counter(t for bag in bags for t in bag)
        best, best_score = 0, -1.0
        for i, bag in enumerate(bags):
            # Ties go to the earlier sentence: a paragraph's topic sentence usually comes first.
            score = self._cosine(bag, counts, bag)
            if score > best_score + 1e-9:
                best, best_score = i, score
        passage, start, end = long_enough[best]
        return _sentence_hit(passage, start, end)


# --- helpers ------------------------------------------------------------------------------------

def _item_label(label: str | None, index: int, lang: str) -> str:
    """A digest item's label: its section, the opening before the first heading, or the paragraph's number."""
    if label is None:
        return say("digest_paragraph", lang, n=index + 1)
    return label or say("digest_opening", lang)


def _passage_hit(passage: Passage, limit: int) -> Hit:
    """A passage as a quote: whole when short, else its first sentences within limit, with …."""
    text = passage.text
    if len(text) <= limit:
        return Hit(passage, 0.0, text, ())
    ends = [e for _, e in sentence_spans(text) if e <= limit]
    end = ends[-1] if ends else limit
    if end < limit // 2:
        end = limit  # a short first sentence ("罗保铭，天津人。") says too little: go on into the next
    return Hit(passage, 0.0, text[:end].rstrip() + "…", ())


def _around(passage: Passage, start: int, end: int) -> Hit:
    """The sentences of a passage holding text[start:end], as a quote with … where it was cut."""
    text = passage.text
    spans = [(s, e) for s, e in sentence_spans(text) if s < end and e > start] or [(start, end)]
    first, last = spans[0][0], spans[-1][1]
    if last - first > SNIPPET_CHARS and end - start <= SNIPPET_CHARS:
        first, last = start, end  # the sentences are long: just the words asked about
    snippet = ("…" if first > 0 else "") + text[first:last] + ("…" if last < len(text) else "")
    return Hit(passage, 0.0, snippet, ())


def _sentence_hit(passage: Passage, start: int, end: int) -> Hit:
    """One sentence of a passage as a quote, with … where the passage goes on around it."""
    text = passage.text
    if end - start > SNIPPET_CHARS:
        end = start + SNIPPET_CHARS
    snippet = ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")
    return Hit(passage, 0.0, snippet, ())


def _quote_hit(quote: Quote, speaker: str) -> Hit:
    """A statement as a quote with its speaker: the words as the passage has them."""
    text = quote.text
    if len(text) > SNIPPET_CHARS:
        cut = [e for _, e in sentence_spans(text) if e <= SNIPPET_CHARS]
        end = cut[-1] if cut else SNIPPET_CHARS
        text = text[:end].rstrip() + "…"
    return Hit(quote.passage, 0.0, text, (), speaker)
