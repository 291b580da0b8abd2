"""Discuss the library as a whole: overviews, who is quoted, comparisons, who said it, one article.

`Discussion.recognize` tells these questions apart from ordinary ones by their shape, not their
words: an overview or a "who is quoted" question consists of nothing but frame words (the
library, question words, verbs of saying) — "这些文章都讲了什么" — while "DeepSeek 开源的原因" has a
topic of its own and stays an ordinary question; a comparison names two sides around a separator
and a word of difference ("A 和 B 有什么不同", "A vs B", "difference between A and B"); "who said
it" asks 谁说 about a statement; a digest names one article (《title》, in full or in part).

`Discussion.page` builds the reply: verbatim passages (Hits) arranged in labelled groups. Nothing
is paraphrased; every passage keeps its source. The engine (bot.conversation) records the turn and
turns it into a Reply; the adapters render it.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

from bot.corpus import Corpus, Passage, Source, sentence_spans
from bot.messages import say
from bot.quotes import Quote, find_statements, statement_score
from bot.retrieval import Hit, Retriever

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
# Passages searched for the words of "who said it" when they are not found as written.
WHO_SAID_POOL = 5
# A quote shown for an item is cut to its first sentences within this length (the retriever's
# snippet length, so every kind of reply reads alike).
SNIPPET_CHARS = 160
# An article's summary is announced in its first passages ("本文介绍了…"); further in, "本文" is
# part of the argument.
LEAD_WINDOW = 3
# A side or a title longer than this is a clause, not a name ("A 和 B 的区别" names two things).
MAX_SIDE_CHARS = 24
# A title fragment must be this long to pick an article (two characters match too many titles).
MIN_TITLE_FRAGMENT = 2
# A statement shorter than this is a scare-quoted word, not something said (the quote finder's
# own minimum for a notable quotation).
MIN_STATEMENT_CHARS = 8
# A sentence shorter than this is a heading-like fragment, not a key sentence, when the item has
# a longer one.
MIN_KEY_SENTENCE_CHARS = 10


class Kind(enum.Enum):
    OVERVIEW = "overview"      # one passage standing for each article
    SPEAKERS = "speakers"      # who is quoted, with each one's most notable statement
    COMPARISON = "comparison"  # passages per side, labelled with the side's name
    WHO_SAID = "who_said"      # a statement with its speaker named
    DIGEST = "digest"          # one article's sections (or paragraphs) with their key sentences


PAGED = frozenset({Kind.OVERVIEW, Kind.SPEAKERS, Kind.DIGEST})


@dataclass(frozen=True)
class Intent:
    """What a question about the material asks for."""
    kind: Kind
    sides: tuple[str, ...] = ()   # COMPARISON: the two sides as the question names them
    topic: str = ""               # COMPARISON: what they are compared on ("": everything)
    statement: str = ""           # WHO_SAID: the words asked about ("": the last answer's passage)
    source_id: str | None = None  # DIGEST: the article (None: the article of the last answer)


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


# --- recognizing the kind of a question --------------------------------------------------------

def _words(*groups: str) -> str:
    """One alternation of '|'-separated words, longest first (so 文章里 beats 文章)."""
    words = {w for g in groups for w in g.split("|") if w}
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


# The library and its parts, as a question names them.
_LIBRARY_ZH = ("文章|文档|材料|资料|文本|文库|资料库|库|篇|全文|文中|文内|文里|这些|那些|这几|那几|这个|那个|所有|全部|"
               "各篇|每篇|你这|你这里|这里|收录")
_CONTENT_ZH = ("内容|主题|话题|观点|要点|重点|主旨|大意|梗概|摘要|简介|概况|核心|思想|论点|信息|知识|东西|方面|领域|"
               "范围|方向|事情|事")
_TELL_ZH = ("讲|说|写|谈|聊|涉及|介绍|包括|包含|覆盖|关于|概括|总结|概述|概览|总览|综述|讲讲|说说|谈谈|聊聊|看看|"
            "知道|了解|懂|告诉|讨论|探讨|论述|阐述|描述|报道|记录|讲述|叙述|谈论|说明|反映")
_ASK_ZH = ("什么|啥|哪些|哪几|哪|是|有|都|各|主要|大概|大致|大体|简单|简要|一下|下|请|请问|麻烦|帮我|给我|我|你|您|"
           "你们|想|想知道|能|能否|可以|会|吗|呢|吧|啊|呀|了|的|地|得|些|一些|里|里面|里头|中|当中|之中|过|分别|"
           "总共|一共|如何|怎么样|怎样|个|几|在|正在")
_OVERVIEW_ANCHOR_ZH = re.compile(_words(_LIBRARY_ZH, _CONTENT_ZH, _TELL_ZH))
_OVERVIEW_FRAME_ZH = re.compile(_words(_LIBRARY_ZH, _CONTENT_ZH, _TELL_ZH, _ASK_ZH))
_LIBRARY_EN = ("articles?|documents?|texts?|papers?|pieces?|posts?|library|collection|corpus|materials?|"
               "sources?|stories|essays?")
_CONTENT_EN = "topics?|themes?|subjects?|points?|ideas?|overview|summary|summari[sz]e|gist|outline|contents?"
_ASK_EN = ("what|whats|whos|which|are|is|were|was|do|does|did|the|this|these|those|all|your|you|about|cover|"
           "covers|covered|discuss|discussed|discusses|say|says|said|talk|talks|main|key|give|me|an?|of|in|"
           "on|here|can|could|would|tell|brief|briefly|quick|quickly|please|each|every|one|there|have|has|"
           "know|contain|contains|include|included|includes|kind|kinds|sort|general|generally|mostly|"
           "overall|they|them|us|i|want|to|and|or|be|whole|entire|set|for|with|up|sum|get|an|deal|deals|"
           "go|goes|over")
_OVERVIEW_ANCHOR_EN = re.compile(rf"\b(?:{_LIBRARY_EN}|{_CONTENT_EN})\b")
_OVERVIEW_FRAME_EN = re.compile(rf"\b(?:{_LIBRARY_EN}|{_CONTENT_EN}|{_ASK_EN})\b")

# Who is quoted: a word for people (or organisations) and a word for what they said.
_PEOPLE_ZH = "人|人物|谁|哪位|哪几位|几位|专家|名人|大佬|嘉宾|人士|受访者|发言人|机构|组织|公司"
_SAYING_ZH = ("引用|引述|援引|引语|引言|说|讲|话|的话|言论|观点|看法|意见|见解|评论|主张|立场|表态|发言|名言|金句|"
              "语录|原话|说法|采访|受访|提到|提及|谈到|发表|表示|声音|出现|出场|登场")
# Words for quotations themselves: "文章里有哪些名言" asks who is quoted without naming people.
_QUOTE_NOUN_ZH = re.compile("名言|金句|引语|语录|原话")
_PEOPLE_EN = ("who|whom|whose|people|persons?|names?|speakers?|experts?|figures|voices|individuals|"
              "companies|organi[sz]ations")
_SAYING_EN = ("quoted|quote|quotes|quotation|quotations|cited|cite|cites|said|say|says|speak|speaks|spoke|"
              "statements?|views|words|opinions|mentioned|mentions?|interviewed|appear|appears")
_PEOPLE_ANCHOR_ZH = re.compile(_words(_PEOPLE_ZH))
_SAYING_ANCHOR_ZH = re.compile(_words(_SAYING_ZH))
_SPEAKERS_FRAME_ZH = re.compile(_words(_PEOPLE_ZH, _SAYING_ZH, _LIBRARY_ZH, _ASK_ZH, "被|最多|最|多|其|及|和|与|以及|各种|各自|列|列出|列举|一下|他们|她们"))
_PEOPLE_ANCHOR_EN = re.compile(rf"\b(?:{_PEOPLE_EN})\b")
_SAYING_ANCHOR_EN = re.compile(rf"\b(?:{_SAYING_EN})\b")
_SPEAKERS_FRAME_EN = re.compile(rf"\b(?:{_PEOPLE_EN}|{_SAYING_EN}|{_LIBRARY_EN}|{_ASK_EN}|by|from|being|been|"
                                rf"list|show|any|their|who's|most|often)\b")

# Who said it.
_QUOTED = re.compile(r"[“\"「『‘'](?P<s>[^“”\"「」『』‘’']{2,300})[”\"」』’']")
_WHO = r"(?:谁|哪位|哪个人|什么人|何人)"
_SAY = r"(?:说过|说|讲过|讲|提出过|提出|提到过|提到|表示过|表示|称|写道)"
_THIS_SAYING = r"(?:这句话|这话|此话|这句|这一说法|这个说法|这种说法|这番话|这段话|这个观点|这一观点)"
_WHO_SAID_ZH = (
    # "谁说的？", "这句话是谁说的" about the last answer
    re.compile(rf"^(?P<s>{_THIS_SAYING}|这|那)?\s*(?:是)?\s*{_WHO}{_SAY}(?:的|过)?$"),
    # "谁说过“这与金融无关”", "是谁说开源是智商税的" (是…的 frames the statement)
    re.compile(rf"^(?:请问)?(?P<shi>是)?{_WHO}(?:曾经?)?{_SAY}(?:了|的|过)?[:,]?\s*(?P<s>.+?)(?(shi)的?)$"),
    # "“……”这句话是谁说的", "……是谁的话", "……出自谁（之口）"
    re.compile(rf"^(?P<s>.+?)[,]?\s*{_THIS_SAYING}?\s*(?:(?:是)?\s*{_WHO}(?:{_SAY}(?:出来)?(?:的|过的)?(?:话)?|的话)|"
               rf"(?:是)?(?:出自|来自)(?:于)?\s*{_WHO}(?:之口)?)$"),
)
_WHO_SAID_EN = (
    re.compile(r"^who\s+(?:said|says|say|wrote|writes|claimed|claims|stated|argued|argues|is quoted as saying|"
               r"was quoted as saying)\s+(?:that\s+)?(?P<s>.+)$"),
    re.compile(r"^whose\s+(?:words|quote|line|statement)\s+(?:is|are|was)\s+(?P<s>.+)$"),
    re.compile(r"^(?P<s>.+?)[,:]?\s*[-—]*\s*who\s+said\s+(?:that|this|it)$"),
)
# What "谁说的" asks about when it names no statement: the last answer's passage.
_THIS = re.compile(rf"^(?:{_THIS_SAYING}|这|那|这个|那个|它|this|that|it|this one|that one)?$")

# Comparisons. Separators are tried in this order, each only where it stands as a word of its own
# (和 in 和平 or 共和国, 及 in 埃及 separate nothing).
_SEPARATORS_ZH = ("和", "与", "跟", "还是", "以及", "及", "同", "相比于", "相比", "相较于", "相较", "比起", "对比")
# (A "的" before the difference word stays with side B and is dropped there unless it ends a word: 目的.)
_DIFF_ZH = (r"\s*(?:有(?:什么|啥|哪些|何|什么样的)?(?:不同|区别|差别|差异|异同|分别|分歧|不一样)(?:的地方)?|"
            r"(?:不同|区别|差别|差异|异同|分歧|(?<=的)分别)(?:是什么|是啥|在哪里|在哪儿|在哪|在于什么|在什么地方|有哪些|何在|"
            r"有多大|大吗)?|(?:什么|啥|哪些|何)?不一样(?:的地方)?(?:在哪里|在哪)?|(?:是)?一样(?:的)?吗|相同吗|"
            r"相似吗|像吗|(?:有)?什么共同点|孰优孰劣|谁好谁坏|哪个好)"
            # "有什么不同看法", "有哪些不同之处"
            r"(?:的)?(?:看法|观点|意见|立场|态度|之处|地方)?")
_COMPARE_VERB_ZH = re.compile(r"^(?:请问?)?\s*(?:比较|对比|比一比|对照|区分)(?:一下)?\s*")
# What may follow "A 和": side B and a word of difference, or a which/who with the topic after it.
_AFTER_SEP_ZH = (
    re.compile(rf"^\s*(?P<b>.+?)\s*{_DIFF_ZH}$"),
    # "A 和 B 谁的模型便宜", "A 和 B 哪个更强", "A 和 B 分别怎么看开源"
    # (not "A 和 B 的收入分别是多少": a question of fact about each)
    re.compile(r"^\s*(?P<b>[^,]+?)\s*(?:之间)?\s*(?:谁|哪个|哪家|哪一个|哪一方|分别|各自)(?:的|更|比较|会)?"
               r"(?!是?(?:多少|哪里|哪儿|哪|什么时候|何时|几|谁|什么))(?P<x>.+)$"),
)
# "比较一下 A 和 B（在 X 上）": after a verb of comparing, the rest is side B (and its topic).
_AFTER_SEP_VERB_ZH = re.compile(r"^\s*(?P<b>.+)$")
_VERSUS = re.compile(r"^(?P<a>.+?)\s*(?:\bvs\.?|\bversus\b|\bv\.s\.|对阵|对比|\bpk\b)\s*(?P<b>.+)$")
_ON_EN = r"(?:on|about|in|regarding|over|when it comes to|in terms of|with respect to|concerning)"
_COMPARE_EN = (
    re.compile(rf"^(?:what(?:'s| is| are|'re)?\s+)?(?:the\s+)?(?:main\s+|key\s+|biggest\s+)?(?:differences?|contrasts?)"
               rf"\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^how\s+(?:does|do|did|is|are|was|were)\s+(?P<a>.+?)\s+(?:differ|different)\s+from\s+(?P<b>.+?)"
               rf"(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^how\s+(?:do|did|does)\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+differ(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^(?:please\s+)?compare\s+(?P<a>.+?)\s+(?:and|with|to|vs\.?|versus)\s+(?P<b>.+?)"
               rf"(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^(?:what|how)\s+do\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:think|say|see|feel)\s+differently"
               rf"(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^(?:are|is|were|was)\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:different|the same|alike|similar)"
               rf"(?:\s+{_ON_EN}\s+(?P<x>.+?))?$"),
    re.compile(rf"^(?P<a>.+?)\s+(?:vs\.?|versus|v\.s\.)\s+(?P<b>.+?)(?:(?:\s*:\s*|\s+{_ON_EN}\s+)(?P<x>.+?))?$"),
)
# A topic given before the sides: "在开源上，A 和 B 有什么不同", "on open source, how do A and B differ".
_LEADING_TOPIC_ZH = re.compile(r"^(?:在|对于|对|关于|就)(?P<x>.+?)(?:这个问题上|问题上|方面|上)?\s*,\s*(?P<rest>.+)$")
_LEADING_TOPIC_EN = re.compile(rf"^{_ON_EN}\s+(?P<x>.+?),\s*(?P<rest>.+)$")
# Within side B: where the topic starts ("Eric Schmidt 对开源的看法", "DeepSeek 在成本上").
_TOPIC_MARK_ZH = re.compile(r"^(?P<side>.+?)\s*(?:在|对于|对|关于|针对|就)\s*(?P<x>.+?)$")
# Words for a view or a difference, which say how to compare, not on what.
_ASPECT = re.compile(r"(?:的)?(?:看法|观点|态度|立场|想法|主张|说法|意见|评价|认识|理解|见解|角度|方面|"
                     r"(?:这件事|这个问题|这一点|问题)?上|这件事|这个问题|这一点|问题)$")
_ASPECT_EN = re.compile(r"(?:'s|’s|s')?\s*(?:views?|opinions?|positions?|stances?|thoughts|takes?|approach(?:es)?)?$")
_SIDE_TAIL = re.compile(r"\s*(?:之间|两者之间|相比之下|相比较|相比|比较起来|比起来|对比|比)?\s*,?\s*$")
_SIDE_LEAD = re.compile(r"^(?:文章|这些文章|文中|文章中|文章里|在文章里|在文章中)(?:里|中)?\s*")
# A side must name something by itself: "他的著作" leans on an earlier sentence.
_PRONOUN_SIDE = re.compile(r"^(?:他|她|它|其|这|那|两者|二者|前者|后者)|^(?:it|they|them|this|that|he|she|his|her|their)$")

# One article: a title in 《》 or quotation marks, a title before 这篇/一文, an ordinal, or "this article".
_BOOK_TITLE = re.compile(r"《(?P<t>.+)》")
_TITLE_BEFORE_ARTICLE = re.compile(r"^(?P<t>.+?)\s*(?:这篇文章|那篇文章|这篇|那篇|这一篇|该篇|一文)")
_TITLE_EN = re.compile(r"(?:article|piece|post|essay|paper|story)\s+(?:called\s+|titled\s+|named\s+)?[“\"‘'](?P<t>.+?)[”\"’']")
# In an English question, any quoted words may be a title ("the key points of 'DeepSeek 开源 LLM'").
_QUOTED_EN = re.compile(r"[“\"‘'](?P<t>[^“”\"‘’']{2,})[”\"’']")
# "关于出口管制的", "讲 Sarah Guo 访谈的": a topic describing which article is meant.
_ABOUT = re.compile(r"^(?:关于|讲|写|谈|介绍|分析|有关)?\s*(?P<x>.+?)\s*的?$")
_ORDINAL_ZH = re.compile(r"第\s*(?P<n>[一二三四五六七八九十百\d]+)\s*篇")
_ORDINAL_EN = re.compile(r"\b(?:the\s+)?(?P<w>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|"
                         r"\d+(?:st|nd|rd|th))\s+(?:article|piece|post|text|document)\b|\barticle\s+(?:no\.?\s*)?(?P<d>\d+)\b")
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_THIS_ARTICLE = re.compile(r"这篇文章|那篇文章|这篇|那篇|该文|本文|此文|这一篇|this article|that article|the article")
_DIGEST_FRAME_ZH = re.compile(_words(
    "这篇文章|那篇文章|这篇|那篇|这一篇|该篇|一文|文章|本文|该文|此文|篇|的|要点|重点|主要内容|内容|讲了什么|讲了些什么|"
    "讲的是什么|讲什么|说了什么|写了什么|讲了啥|主要讲|主要说|大意|概要|摘要|总结|概括|梗概|主旨|核心观点|核心|"
    "观点|是什么|有哪些|哪些|什么|啥|一下|请|请问|帮我|给我|简单|简要|介绍|说说|讲讲|了|吗|呢|下|都|主要|关键|"
    "讲|说|写|是|有|在|里|中|能|可以|你|我|想|知道|概述|精华|提纲|大纲|讲的|说的|谈|谈了|"
    "第|一|二|三|四|五|六|七|八|九|十|百|0|1|2|3|4|5|6|7|8|9"))
_DIGEST_FRAME_EN = re.compile(r"\b(?:what|what's|whats|is|are|was|the|this|that|article|piece|post|essay|paper|story|"
                              r"about|summary|summari[sz]e|key|main|points?|ideas?|gist|of|give|me|a|an|in|say|"
                              r"says|does|do|tell|brief|briefly|overview|outline|takeaways?|highlights?|digest|"
                              r"please|called|titled|named|sum|up|can|you|could|first|second|third|fourth|"
                              r"fifth|sixth|seventh|eighth|ninth|tenth|last|no|\d+(?:st|nd|rd|th)?)\b")
# An explicit request for an article's gist: a digest word, so a bare 《title》 inside another
# question stays that question.
_DIGEST_WORD = re.compile(r"讲了|讲的|讲什么|讲讲|说说|谈谈|聊聊|介绍|说了什么|写了什么|要点|重点|内容|大意|概要|摘要|总结|概括|梗概|主旨|"
                          r"核心|观点|概述|精华|提纲|大纲|about|summary|summari[sz]e|key points|main points|"
                          r"gist|takeaways|highlights|outline|digest|overview")

_PUNCT_END = re.compile(r"[\s?？!！。.~～…,，;；:：]+$")
_PUNCT_START = re.compile(r"^[\s,，;；:：]+")
_SQUASH = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_TAIL_SIDE = re.compile(r"^(?P<side>[a-z0-9][a-z0-9 .·'&+_-]*?)\s*(?P<x>[\u4e00-\u9fff].*)$")
# An article's own summary, announced as such.
_SUMMARY_MARK = re.compile(
    r"^(?:摘要|导语|导读|编者按|概要|简介|内容提要|tl;?dr|summary|abstract)\s*[:：]|"
    r"(?:本文|这篇文章|本篇|全文)(?:将|主要|简要|重点)?(?:介绍|讲述|探讨|分析|梳理|总结|讨论|聚焦|回顾|概述|阐述|解读|带你|"
    r"记录|整理|盘点)", re.I)
# A section whose name says it sums the article up.
_SUMMARY_SECTION = re.compile(r"^(?:摘要|导读|导语|亮点|要点|概要|概述|简介|核心观点|内容提要|highlights|summary|"
                              r"key points|key takeaways|takeaways|tl;?dr|abstract|overview)$", re.I)
# Passages opening with these answer the passage before them: the article's own comparison.
# Words by which a passage compares what it names ("白葡萄酒比红葡萄酒含有更多…", "与非洲野驴有些分别").
_COMPARING = re.compile(r"不同|区别|差别|差异|异同|分别|相比|相较|对比|比起|不如|优于|胜过|类似|相似|相同|一样|同样|"
                        r"比\S{1,12}?(?:更|还|要)")
_CONTRAST_OPENING = re.compile(r"^(?:相比之下|相较之下|对比之下|与此相对|与之相对|与此相反|与之相反|与此不同|不同的是|"
                               r"相反|反观|然而|而|但是|但|不过|另一方面)")
# An encyclopedia title's disambiguation: "杨昊 (足球运动员)".
_DISAMBIGUATION = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_ASKS_OR_LEADS = re.compile(r"[？?][”」』]?\s*$|[：:]\s*$")
_CN_NUMERALS = {ch: i for i, ch in enumerate("零一二三四五六七八九", 0)}


class Discussion:
    """Recognizes questions about the material as a whole and builds their replies from the corpus.

    Built once with the corpus and its retriever; statements (who said what), article digests and
    representative passages are worked out on first use and kept.
    """

    def __init__(self, corpus: Corpus, retriever: Retriever) -> None:
        self._corpus = corpus
        self._retriever = retriever
        self._analyzer = retriever.analyzer
        # Articles with passages, in the library's order: what an overview lists and pages through.
        self._sources = tuple(s for s in corpus.sources if s.passages)
        self._titles = tuple((s, _squash(self._analyzer.normalize(s.title))) for s in self._sources)
        self._lock = threading.RLock()
        self._statements: list[Quote] | None = None
        self._squashed: list[str] = []            # each statement's text, normalized, for who-said
        self._by_passage: dict[str, list[Quote]] = {}
        self._speakers: list[tuple[str, Quote]] | None = None
        self._representative = functools.lru_cache(maxsize=4096)(self._representative_of)
        self._digest_items = functools.lru_cache(maxsize=256)(self._items_of)

    # --- recognizing ------------------------------------------------------------------------

    def recognize(self, question: str) -> Intent | None:
        """The kind of discussion a question asks for, or None for an ordinary question."""
        text = _PUNCT_START.sub("", _PUNCT_END.sub("", self._analyzer.normalize(question or "")))
        if not text:
            return None
        for recognizer in (self._digest_intent, self._who_said_intent, self._speakers_intent,
                           self._comparison_intent, self._overview_intent):
            intent = recognizer(text)
            if intent is not None:
                if intent.sides:  # recognized in lower case: name the sides as the question wrote them
                    written = unicodedata.normalize("NFKC", question)
                    intent = dataclasses.replace(intent, sides=tuple(_as_written(side, written) for side in intent.sides))
                return intent
        return None

    def _overview_intent(self, text: str) -> Intent | None:
        """"这些文章都讲了什么" / "what are these articles about": nothing but the library and asking."""
        if _CJK.search(text):
            if _OVERVIEW_ANCHOR_ZH.search(text) and _only_frame(text, _OVERVIEW_FRAME_ZH, _OVERVIEW_FRAME_EN):
                return Intent(Kind.OVERVIEW)
        elif _OVERVIEW_ANCHOR_EN.search(text) and _only_frame(text, _OVERVIEW_FRAME_EN):
            return Intent(Kind.OVERVIEW)
        return None

    def _speakers_intent(self, text: str) -> Intent | None:
        """"文章里引用了哪些人的话" / "who is quoted": people, saying and the library, nothing else."""
        if _CJK.search(text):
            people = _PEOPLE_ANCHOR_ZH.search(text) or _QUOTE_NOUN_ZH.search(text)
            if (people and (_SAYING_ANCHOR_ZH.search(text) or _OVERVIEW_ANCHOR_ZH.search(text))
                    and _only_frame(text, _SPEAKERS_FRAME_ZH, _SPEAKERS_FRAME_EN)):
                return Intent(Kind.SPEAKERS)
        elif (_PEOPLE_ANCHOR_EN.search(text) and _SAYING_ANCHOR_EN.search(text)
              and _only_frame(text, _SPEAKERS_FRAME_EN)):
            return Intent(Kind.SPEAKERS)
        return None

    def _who_said_intent(self, text: str) -> Intent | None:
        """"谁说过“……”" / "“……”是谁说的" / "who said ...": the statement asked about."""
        for pattern in (*_WHO_SAID_ZH, *_WHO_SAID_EN):
            match = pattern.match(text)
            if match is None:
                continue
            statement = (match.group("s") or "").strip()
            quoted = _QUOTED.search(statement)
            statement = quoted.group("s") if quoted else statement.strip("“”\"「」『』‘’' ")
            statement = _PUNCT_END.sub("", statement).strip()
            if _THIS.match(statement):
                return Intent(Kind.WHO_SAID, statement="")
            if _only_frame(statement, _SPEAKERS_FRAME_ZH, _SPEAKERS_FRAME_EN):
                return None  # "谁说了什么": who is quoted, not one statement
            return Intent(Kind.WHO_SAID, statement=statement)
        return None

    def _comparison_intent(self, text: str) -> Intent | None:
        """Two sides around a separator and a word of difference; the topic, when one is given."""
        chinese = bool(_CJK.search(text))
        topic = ""
        lead = (_LEADING_TOPIC_ZH if chinese else _LEADING_TOPIC_EN).match(text)
        if lead:
            topic, text = lead.group("x"), lead.group("rest")
        for a, b, trailing in (self._sides_zh(text) if chinese else self._sides_en(text)):
            a = _SIDE_LEAD.sub("", a.strip())
            b, inner = self._split_side(a, b.strip())
            a, b = self._without_de(_clean_side(a)), self._without_de(_clean_side(b))
            inner = self._without_de(inner)
            if _valid_sides(a, b):
                whole = " ".join(t for t in (topic, inner, trailing) if t)
                return Intent(Kind.COMPARISON, sides=(a, b), topic=_clean_topic(whole))
        return None

    def _sides_zh(self, text: str):
        """(side A, the rest with side B, a trailing topic) for each way a Chinese question splits."""
        verb = _COMPARE_VERB_ZH.match(text)
        body = text[verb.end():] if verb else text
        inside_words = [(t.start, t.end) for t in self._analyzer.tokens(body) if t.whole and len(t.text) > 1]
        for separator in _SEPARATORS_ZH:
            for found in re.finditer(re.escape(separator), body):
                start, end = found.span()
                if start == 0 or any(s < end and start < e for s, e in inside_words):
                    continue  # at the start, or inside a word (和平, 埃及)
                rest = body[end:]
                for pattern in _AFTER_SEP_ZH:
                    match = pattern.match(rest)
                    if match:
                        yield body[:start], match.group("b"), (match.groupdict().get("x") or "").strip()
                whole = _AFTER_SEP_VERB_ZH.match(rest)
                if verb and whole:
                    yield body[:start], whole.group("b"), ""
        versus = _VERSUS.match(text)
        if versus:
            yield versus.group("a"), versus.group("b"), ""

    def _sides_en(self, text: str):
        """(side A, side B, the topic) for each English comparison pattern that fits."""
        for pattern in _COMPARE_EN:
            match = pattern.match(text)
            if match:
                yield match.group("a"), match.group("b"), (match.groupdict().get("x") or "").strip()

    def _without_de(self, text: str) -> str:
        """A side without what ties it to the difference word: "闭源的" before 区别, "B 之间", "B 相比"
        (a final 的 stays when it ends a word: 目的)."""
        for _ in range(2):  # "B 之间的": 的, then 之间
            text = _SIDE_TAIL.sub("", text).strip()
            if not text.endswith("的"):
                return text
            words = [t for t in self._analyzer.tokens(text) if t.whole]
            if words and words[-1].end == len(text) and len(words[-1].text) > 1:
                return text
            text = text[:-1].rstrip()
        return text

    def _split_side(self, a: str, b: str) -> tuple[str, str]:
        """Side B and the topic that follows it ("Eric Schmidt 对开源的看法" -> Eric Schmidt, 开源)."""
        if not _CJK.search(b):
            return b, ""  # English patterns put the topic in its own group
        b = self._without_de(b)
        if "的" in a:
            return _ASPECT.sub("", b).strip() or b, ""  # sides are phrases ("A 的开源和 B 的闭源")
        marked = _TOPIC_MARK_ZH.match(b)
        if marked:
            return marked.group("side"), marked.group("x")
        latin = _LATIN_TAIL_SIDE.match(b)
        if latin:
            return latin.group("side"), latin.group("x")
        return self._split_by_words(a, b)

    def _split_by_words(self, a: str, b: str) -> tuple[str, str]:
        """In "B…的…", side B as many words long as side A and the rest its topic ("百度开源的目的"
        after "阿里巴巴": 百度 / 开源的目的); the two sides name things of a kind, so they segment alike."""
        aspect_free = _ASPECT.sub("", b)
        if "的" not in aspect_free:
            return aspect_free, ""  # "普通咖啡": no "X 的 Y" phrase, so no topic after the side
        words = [t for t in self._analyzer.tokens(aspect_free) if t.whole]
        size = max(1, len([t for t in self._analyzer.tokens(a) if t.whole]))
        if len(words) <= size:
            return aspect_free, ""
        cut = words[size - 1].end
        return aspect_free[:cut], aspect_free[cut:]

    def _digest_intent(self, text: str) -> Intent | None:
        """One article named by its title (in full or in part), its number, or "this article"."""
        titled = _BOOK_TITLE.search(text) or _TITLE_EN.search(text)
        quoted = _QUOTED_EN.search(text)
        if titled is None and quoted and (text[:quoted.start()] + text[quoted.end():]).isascii():
            titled = quoted
        rest = text
        source = None
        if titled:
            source = self._source_by_title(titled.group("t"))
            if source is None:
                return None  # a title the library does not hold (the articles may cite it)
            rest = text[:titled.start()] + " " + text[titled.end():]
            if rest.strip() and not _DIGEST_WORD.search(rest):
                return None  # "《…》里 Sarah Guo 怎么看开源": a question about that article
        else:
            ordinal = _ORDINAL_ZH.search(text) or _ORDINAL_EN.search(text)
            if ordinal is not None:
                source = self._source_by_ordinal(ordinal)
                if source is None:
                    return None
                rest = text[:ordinal.start()] + " " + text[ordinal.end():]
            else:
                before = _TITLE_BEFORE_ARTICLE.match(text)
                if before and _DIGEST_WORD.search(text[before.end():]):
                    source = (self._source_by_title(before.group("t"))
                              or self._source_by_topic(before.group("t")))
                    if source is not None:
                        rest = text[before.end():]
            if source is None and (not _THIS_ARTICLE.search(text) or not _DIGEST_WORD.search(text)):
                return None
        if not _only_frame(rest, _DIGEST_FRAME_ZH, _DIGEST_FRAME_EN):
            return None
        return Intent(Kind.DIGEST, source_id=source.id if source else None)

    def _source_by_title(self, fragment: str) -> Source | None:
        """The article whose title holds the fragment (or is held by it); the longest match wins."""
        wanted = _squash(self._analyzer.normalize(fragment))
        if len(wanted) < MIN_TITLE_FRAGMENT:
            return None
        best: tuple[int, int] | None = None
        chosen = None
        for index, (source, title) in enumerate(self._titles):
            if wanted == title:
                return source
            if wanted in title or (title and title in wanted):
                score = (min(len(wanted), len(title)), -index)
                if best is None or score > best:
                    best, chosen = score, source
        return chosen

    def _source_by_topic(self, phrase: str) -> Source | None:
        """"关于出口管制的那篇文章": the article of the best passage on what the phrase says it is about."""
        about = _ABOUT.match(phrase)
        if about is None:
            return None
        hits = self._retriever.search(about.group("x"), top_k=1)
        return self._corpus.source(hits[0].passage.source_id) if hits else None

    def _source_by_ordinal(self, match: re.Match[str]) -> Source | None:
        """The n-th article of the library (第二篇, the second article, article 2)."""
        groups = match.groupdict()
        raw = groups.get("n") or groups.get("d") or groups.get("w") or ""
        if raw == "last":
            n = len(self._sources)
        elif raw in _ORDINAL_WORDS:
            n = _ORDINAL_WORDS.index(raw) + 1
        else:
            n = _number(re.sub(r"(?:st|nd|rd|th)$", "", raw))
        return self._sources[n - 1] if n and 1 <= n <= len(self._sources) else None

    # --- building pages ---------------------------------------------------------------------

    def page(self, intent: Intent, lang: str, offset: int = 0, previous: Passage | None = None) -> Page:
        """The reply to a recognized question, from rank `offset` on for the kinds that page.

        previous is the first passage of the chat's last answer, which "谁说的" and "这篇文章讲了什么"
        refer to.
        """
        if intent.kind is Kind.OVERVIEW:
            return self._overview(lang, offset)
        if intent.kind is Kind.SPEAKERS:
            return self._speakers_page(lang, offset)
        if intent.kind is Kind.COMPARISON:
            return self._comparison(intent.sides, intent.topic, lang)
        if intent.kind is Kind.WHO_SAID:
            return self._who_said(intent.statement, lang, previous)
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

    def _speakers_page(self, lang: str, offset: int) -> Page:
        """The people and organisations quoted, each with their most notable statement."""
        speakers = self.speakers()
        shown = speakers[offset:offset + PAGE_ITEMS]
        if not shown:
            return Page(Kind.SPEAKERS, (say("no_quotes", lang),) if not speakers else (), ())
        groups = tuple(Group(name, (_quote_hit(quote, name),)) for name, quote in shown)
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
            if _SUMMARY_MARK.search(passage.text):
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
            if _SUMMARY_SECTION.match(passage.section.rsplit(" / ", 1)[-1]):
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
                self._squashed = [_squash(self._analyzer.normalize(q.text)) for q in statements]
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
                by_key.setdefault(self._speaker_key(quote.speaker), []).append(quote)
        ranked = []
        for order, quotes in enumerate(by_key.values()):
            best = max(quotes, key=statement_score)  # max keeps the first of equals: corpus order
            # Named as the passage shown names them (梁文锋 there, though 梁文峰 elsewhere).
            ranked.append(((-statement_score(best), -len(quotes), order), best.speaker, best))
        return [(name, best) for _, name, best in sorted(ranked, key=lambda r: r[0])]

    def _speaker_key(self, name: str) -> str:
        """One key for every spelling of a name (the aliases file's spellings)."""
        norm = self._analyzer.normalize(name)
        return self._analyzer.aliases.spellings.get(norm, norm)

    # --- who said it ------------------------------------------------------------------------

    def _who_said(self, statement: str, lang: str, previous: Passage | None) -> Page:
        """The passage holding a statement, with its speaker named."""
        if not statement:
            if previous is None:
                return Page(Kind.WHO_SAID, (say("who_said_nothing", lang),), ())
            quote = self._speaker_in(previous, "")
            return self._who_said_page(previous, quote, True, lang)
        wanted = _squash(self._analyzer.normalize(statement))
        statements = self.statements()
        for quote, text in zip(statements, self._squashed):
            if quote.speaker and wanted and wanted in text:
                start = quote.passage.text.find(quote.text)
                return self._who_said_page(quote.passage, quote, True, lang,
                                           _around(quote.passage, start, start + len(quote.text)))
        hits = self._retriever.search(statement, top_k=WHO_SAID_POOL)
        for hit in hits:  # the words as written, in a passage that does not say who said them
            if wanted and wanted in _squash(self._analyzer.normalize(hit.passage.text)):
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
        shared: dict[str, Hit] = {}
        for hit in (h for pair in itertools.zip_longest(*pools) for h in pair if h):  # best of either first
            if hit.passage.id not in shared and all(self._names(hit.passage, side) for side in sides):
                shared[hit.passage.id] = hit
        # Passages naming both sides are where the articles discuss them together; those that compare
        # them in so many words ("白葡萄酒比红葡萄酒含有更多…") first.
        ranked = sorted(shared.values(), key=lambda h: not _COMPARING.search(h.passage.text))  # stable
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
        start, end = min(spans, key=lambda se: not _COMPARING.search(text[se[0]:se[1]]))
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
            on_topic = not forms or bool(forms & set(self._analyzer.tokenize(hit.passage.text)))
            speaks = self._speaks(hit.passage, side) or (own is not None and hit.passage.source_id == own.id)
            return not on_topic, not speaks
        return sorted(pool, key=key)

    def _article_named(self, side: str) -> Source | None:
        """The article whose title is the side's name ("马飚", or "杨昊 (足球运动员)" for 杨昊)."""
        wanted = _squash(self._analyzer.normalize(side))
        for source, title in self._titles:
            if title == wanted or _squash(self._analyzer.normalize(_DISAMBIGUATION.sub("", source.title))) == wanted:
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
                    if after.position != hit.passage.position + 1 or not _CONTRAST_OPENING.match(after.text):
                        continue
                    if self._mentions(after.text, sides[1 - first]) and not self._mentions(after.text, sides[first]):
                        answer = _passage_hit(after, SNIPPET_CHARS)
                        return (hit, answer) if first == 0 else (answer, hit)
        return None

    def _mentions(self, text: str, side: str) -> bool:
        """Whether a passage names a side: as written, by all its words, or a person by surname."""
        side_norm = self._analyzer.normalize(side)
        if _squash(side_norm) in _squash(self._analyzer.normalize(text)):
            return True
        words = {t.text for t in self._analyzer.tokens(side) if t.whole}
        present = set(self._analyzer.tokenize(text))
        if words and words <= present:
            return True
        latin = side_norm.split()
        # "Eric Schmidt" is "Schmidt" after the first mention.
        return len(latin) > 1 and latin[-1].isascii() and len(latin[-1]) >= 3 and latin[-1] in present

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

def _only_frame(text: str, *frames: re.Pattern[str]) -> bool:
    """Whether the text is nothing but frame words (and punctuation) once they are taken out."""
    rest = re.sub(r"['’]", "", text)   # "what's" is the frame word whats
    for frame in frames:
        rest = frame.sub(" ", rest)
    return not re.search(r"[^\W_]", rest)


def _as_written(side: str, question: str) -> str:
    """A side's name with the capitals the question gave it ("sarah guo" -> "Sarah Guo")."""
    found = re.search(re.escape(side).replace(r"\ ", r"\s*"), question, re.I)
    return found.group() if found else side


def _squash(text: str) -> str:
    """Text without spaces and punctuation, for matching titles and statements as written."""
    return _SQUASH.sub("", text)


def _clean_side(side: str) -> str:
    """A side's name without surrounding punctuation, possessives and view words."""
    side = side.strip(" ,，:：“”\"'「」《》()（）")
    side = _ASPECT_EN.sub("", side).strip() if side.isascii() else side
    return side.strip()


def _clean_topic(topic: str) -> str:
    """A topic without view words ("开源的看法" -> 开源) and stray punctuation."""
    topic = _ASPECT.sub("", topic.strip(" ,，:：")).strip(" ,，:：")
    topic = re.sub(r"^的", "", topic)   # "B 的开源" after the side is cut off
    if topic.isascii():
        topic = re.sub(r"^(?:the|a|an)\s+", "", _ASPECT_EN.sub("", topic).strip())
    return topic.strip()


def _valid_sides(a: str, b: str) -> bool:
    """Two different, named sides of a sensible length."""
    if not a or not b or a == b:
        return False
    if len(a) > MAX_SIDE_CHARS or len(b) > MAX_SIDE_CHARS:
        return False
    return not (_PRONOUN_SIDE.match(a) or _PRONOUN_SIDE.match(b))


def _number(raw: str) -> int:
    """An ordinal's number: digits or Chinese numerals up to 九十九 (0 when unreadable)."""
    if raw.isdigit():
        return int(raw)
    if raw == "十":
        return 10
    if "十" in raw:
        tens, _, ones = raw.partition("十")
        return _CN_NUMERALS.get(tens, 1) * 10 + _CN_NUMERALS.get(ones, 0) if tens in _CN_NUMERALS or not tens else 0
    return _CN_NUMERALS.get(raw, 0) if len(raw) == 1 else 0


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
