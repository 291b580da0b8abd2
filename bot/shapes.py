"""The shapes of questions about the material as a whole, told apart from ordinary questions.

Recognized by their shape, not their words: an overview or a "who is quoted" question consists of
nothing but frame words (the library, question words, verbs of saying) — "这些文章都讲了什么" — while
"DeepSeek 开源的原因" has a topic of its own and stays an ordinary question; a comparison names two
sides around a separator and a word of difference ("A 和 B 有什么不同", "A vs B", "difference
between A and B"); "who said it" asks 谁说 about a statement; a digest names one article
(《title》 in full or in part, its number, or "this article"). Chinese (Simplified or Traditional,
normalized first) and English.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from dataclasses import dataclass

from bot.corpus import Corpus, Source
from bot.normalize import simplified_chars
from bot.retrieval import Retriever

# A side or a title longer than this is a clause, not a name ("A 和 B 的区别" names two things).
MAX_SIDE_CHARS = 24
# A title fragment must be this long to pick an article (two characters match too many titles).
MIN_TITLE_FRAGMENT = 2


class Kind(enum.Enum):
    OVERVIEW = "overview"      # one passage standing for each article
    SPEAKERS = "speakers"      # who is quoted, with each one's most notable statement
    COMPARISON = "comparison"  # passages per side, labelled with the side's name
    WHO_SAID = "who_said"      # a statement with its speaker named
    DIGEST = "digest"          # one article's sections (or paragraphs) with their key sentences
    WHERE_FROM = "where_from"  # the article the last answer's passage comes from, with its link


PAGED = frozenset({Kind.OVERVIEW, Kind.SPEAKERS, Kind.DIGEST})


@dataclass(frozen=True)
class Intent:
    """What a question about the material asks for."""
    kind: Kind
    sides: tuple[str, ...] = ()   # COMPARISON: the two sides as the question names them
    topic: str = ""               # COMPARISON: what they are compared on; SPEAKERS: what they spoke of ("": everything)
    statement: str = ""           # WHO_SAID: the words asked about ("": the last answer's passage)
    source_id: str | None = None  # DIGEST: the article (None: the article of the last answer)
    stance: str = ""              # SPEAKERS: the side asked about (反对 of 谁反对开源), which no passage says


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
_SPEAKERS_FRAME_ZH = re.compile(_words(_PEOPLE_ZH, _SAYING_ZH, _LIBRARY_ZH, _ASK_ZH, "被|最多|最|多|其|及|和|与|以及|各种|各自|列|列出|列举|一下|他们|她们|它们|他|她|它"))
# Who talked about a topic ("哪些人谈到了开源？", "关于出口管制，都有谁发表了看法？"): a question
# word for people, a word of saying after it, and a topic; the words around the topic that only
# place it (关于, 对, 方面) are no part of it.
_WHO_ASKS_ZH = re.compile(r"谁|哪位|哪几位|哪些(?:人|专家|公司|机构|组织|人士|人物|名人|大佬|嘉宾)|什么人|何人")
# Who takes a side asked yes or no (有人反对开源吗？, 有没有人支持闭源？) still asks who: the answer is
# the people. (Not for who spoke of a topic: "有人说 DeepSeek 很便宜吗？" asks whether it is said.)
_WHO_SIDES_ZH = re.compile(r"有没有人|有人|" + _WHO_ASKS_ZH.pattern)
_SPOKE_ZH = re.compile("(?:" + _words(_SAYING_ZH, "谈|谈论|论及|讨论|表达|回应|批评|称赞|评价|点评|发声|表过态") + ")(?:过|了|到|起)?")
_TOPIC_MARKERS_ZH = frozenset(("关于", "对于", "对", "就", "有关", "围绕", "针对", "在", "上", "方面", "问题", "方向",
                               "领域", "还", "还有", "别的", "其他", "其它", "另外", "曾", "曾经", "过", "都", "有",
                               "了", "的", "们", "些", "这", "这个", "事", "事情", "话题", "一事"))
_SPOKE_OF_EN = re.compile(r"^who(?: else)?(?: has| have| had)? (?:talked|talks|spoke|speaks|commented|comments|"
                          r"said anything|says anything|mentioned|mentions|discussed|discusses|weighed in|"
                          r"gave (?:a |an |their )?(?:view|views|opinion|opinions))(?: about| on| of)? (?P<t>.+)$")
# A topic longer than this is a question of its own, not what people were asked about.
MAX_TOPIC_CHARS = 20
# Who takes a side on a topic ("谁反对开源？", "哪些公司支持闭源？", "who opposes export controls?").
# Articles rarely label a side with the asker's verb, and the bot does not judge stances: when
# the passages never say it, those quoted on the topic are shown, to be read in their words.
_STANCE_ZH = re.compile(r"(?:不)?(?:支持|反对|赞成|赞同|同意|看好|质疑|怀疑|担心|担忧|拥护|抵制|抵触|欢迎|力挺|"
                        r"主张|提倡|倡导|推崇|鼓吹|站在|偏向|倾向于|倾向|站队)(?:过|了|着)?")
_STANCE_EN = re.compile(r"^who(?: else)?\s+(?P<v>(?:is |are |'s |was |were )?(?:in favou?r of|favou?rs?|supports?|"
                        r"supported|backs?|backed|opposes?|opposed(?: to)?|against|criticizes?|criticised|criticized|"
                        r"criticises|doubts?|welcomes?|welcomed|champions?|worried about|fears?))\s+(?P<t>.+)$")
# 不看好, 并不支持: the negation goes with the verb, not into the topic.
_NEGATION_ZH = frozenset(("不", "不太", "并不", "没", "没有", "从不"))
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

# Where the last answer comes from: "这是哪篇文章里的", "出自哪里", "出处呢", "原文链接", "source?".
_SHOWN = r"(?:这段话|这段|这句话|这句|这些话|这些|这个|这话|上面这段|上面的|上面|这|那段话|那段|那|它)"
_WHERE_FROM_ZH = (
    re.compile(rf"^(?:请问)?{_SHOWN}?\s*(?:是)?\s*(?:出自|来自|摘自|引自|选自|在)?\s*(?:哪篇|哪一篇|哪个|什么)\s*"
               r"(?:文章|报道|稿子|地方|网站|来源)(?:里|中|上)?(?:的|说的|写的|提到的|看到的)?(?:话)?(?:啊|呀|呢)?$"),
    re.compile(rf"^(?:请问)?{_SHOWN}?\s*(?:是)?\s*(?:出自|来自|摘自|引自|选自)\s*(?:哪里|哪儿|哪|何处|何方)(?:的)?(?:啊|呀|呢)?$"),
    re.compile(rf"^(?:请问)?{_SHOWN}?\s*(?:的)?\s*(?:出处|来源|原文|原文链接|链接|原文地址|文章链接)"
               r"(?:是什么|是哪里|是哪篇|在哪里|在哪儿|在哪|有吗|呢|是)?$"),
)
_WHERE_FROM_EN = re.compile(r"^(?:what(?:'s| is) the |which )?(?:source|link|article)(?: is (?:this|that|it) from)?$|"
                            r"^where (?:is|does) (?:this|that|it) (?:from|come from)$|"
                            r"^which article (?:is|was) (?:this|that|it) (?:from|in)$")

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
_QUESTION_MARKS = re.compile(r"[?？!！。]+")
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

_PUNCT_ONLY = re.compile(r"^[\W_]+$")
_JOIN_CJK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_PUNCT_END = re.compile(r"[\s?？!！。.~～…,，;；:：]+$")
_PUNCT_START = re.compile(r"^[\s,，;；:：]+")
_SQUASH = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_TAIL_SIDE = re.compile(r"^(?P<side>[a-z0-9][a-z0-9 .·'&+_-]*?)\s*(?P<x>[\u4e00-\u9fff].*)$")
_CN_NUMERALS = {ch: i for i, ch in enumerate("零一二三四五六七八九", 0)}


class QuestionShapes:
    """Tells which kind of discussion a question asks for; built once per library."""

    def __init__(self, corpus: Corpus, retriever: Retriever) -> None:
        self._corpus = corpus
        self._retriever = retriever
        self._analyzer = retriever.analyzer
        self._sources = tuple(s for s in corpus.sources if s.passages)
        self._titles = tuple((s, squash(self._analyzer.normalize(s.title))) for s in self._sources)

    def recognize(self, question: str) -> Intent | None:
        """The kind of discussion a question asks for, or None for an ordinary question."""
        text = _PUNCT_START.sub("", _PUNCT_END.sub("", self._analyzer.normalize(question or "")))
        if not text:
            return None
        for recognizer in (self._where_from_intent, self._digest_intent, self._who_said_intent, self._speakers_intent,
                           self._comparison_intent, self._overview_intent):
            intent = recognizer(text)
            if intent is not None:
                written = unicodedata.normalize("NFKC", question)
                if intent.sides:  # recognized in lower case: name the sides as the question wrote them
                    intent = dataclasses.replace(intent, sides=tuple(_as_written(side, written) for side in intent.sides),
                                                 topic=_as_written(intent.topic, written) if intent.topic else "")
                elif intent.kind is Kind.SPEAKERS and intent.topic:
                    intent = dataclasses.replace(intent, topic=_as_written(intent.topic, written))
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
            return self._speakers_on_intent(text)
        elif (_PEOPLE_ANCHOR_EN.search(text) and _SAYING_ANCHOR_EN.search(text)
              and _only_frame(text, _SPEAKERS_FRAME_EN)):
            return Intent(Kind.SPEAKERS)
        elif (on := _SPOKE_OF_EN.match(text)) and len(on.group("t")) <= MAX_TOPIC_CHARS * 3:
            return Intent(Kind.SPEAKERS, topic=on.group("t"))   # "who talked about export controls"
        return None

    def _where_from_intent(self, text: str) -> Intent | None:
        """"这是哪篇文章里的" / "出处呢" / "source?": the article of the last answer's passage."""
        if any(p.match(text) for p in _WHERE_FROM_ZH) or _WHERE_FROM_EN.match(text):
            return Intent(Kind.WHERE_FROM)
        return None

    def _speakers_on_intent(self, text: str) -> Intent | None:
        """"哪些人谈到了开源？": who spoke of a topic. The words that ask, say and place it are taken
        out word by word (jieba's words, so 中国 keeps its 中); what is left is the topic."""
        found = self._who_verb_topic(text, _SPOKE_ZH)
        if found is None:
            return None   # "王玉圆说谁最先赚到钱" asks what was said, not who spoke; 话语权 is no 话
        _, topic = found
        if not topic:
            return Intent(Kind.SPEAKERS)   # "还有谁表态了": everyone quoted
        return Intent(Kind.SPEAKERS, topic=topic) if len(topic) <= MAX_TOPIC_CHARS else None

    def stance(self, question: str) -> Intent | None:
        """"谁反对开源？" / "who opposes export controls?": who takes a side on a topic, as the
        speakers on that topic (Intent.stance: the side as asked, 反对); None for another question.
        Not a kind recognize() gives: the question is searched first, since an article may name
        a side in the asker's words (开源模型的支持者认为)."""
        text = _PUNCT_START.sub("", _PUNCT_END.sub("", self._analyzer.normalize(question or "")))
        if _CJK.search(text):
            found = self._who_verb_topic(text, _STANCE_ZH, _WHO_SIDES_ZH)
            if found is None or not found[1] or len(found[1]) > MAX_TOPIC_CHARS:
                return None
            stance, topic = found
        else:
            match = _STANCE_EN.match(text)
            if match is None or len(match.group("t")) > MAX_TOPIC_CHARS * 3:
                return None
            stance, topic = match.group("v"), match.group("t")
        written = unicodedata.normalize("NFKC", question)
        return Intent(Kind.SPEAKERS, topic=_as_written(topic, written), stance=stance)

    def bare_stance(self, question: str) -> str | None:
        """The side of a who-takes-a-side question that names no topic (谁反对？, 有人支持吗？): 反对,
        支持; None for any other question. Such a question asks it of the topic being discussed."""
        text = _PUNCT_START.sub("", _PUNCT_END.sub("", self._analyzer.normalize(question or "")))
        found = self._who_verb_topic(text, _STANCE_ZH, _WHO_SIDES_ZH) if _CJK.search(text) else None
        return found[0] if found is not None and not found[1] else None

    def _who_verb_topic(self, text: str, verbs: re.Pattern, asks_who: re.Pattern = _WHO_ASKS_ZH) -> tuple[str, str] | None:
        """(the verb, the topic) of "哪些人 <verb> <topic>": a word asking who (asks_who), one of
        verbs after it, and what is left once the words that ask, say and place the topic are out
        ("" when nothing is); None without the question word or the verb."""
        who = asks_who.search(text)
        if who is None:
            return None
        after = self._analyzer.cut(text[who.end():])
        at = next((i for i, w in enumerate(after) if verbs.fullmatch(w)), None)
        if at is None:
            return None
        negated = at > 0 and after[at - 1] in _NEGATION_ZH
        verb = after[at - 1] + after[at] if negated else after[at]
        # 哪些人谈过: 人谈过 is no word of jieba's, so the question word is cut out first.
        words = [*self._analyzer.cut(text[:who.start()]), *after[:at - 1 if negated else at], *after[at:]]
        kept = [w for w in words if w.strip() and not _PUNCT_ONLY.match(w)
                and w not in _TOPIC_MARKERS_ZH and not _SPEAKERS_FRAME_ZH.fullmatch(w) and not verbs.fullmatch(w)]
        return verb, _JOIN_CJK.sub("", " ".join(kept)).strip()

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
        wanted = squash(self._analyzer.normalize(fragment))
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


# --- helpers ------------------------------------------------------------------------------------

def _only_frame(text: str, *frames: re.Pattern[str]) -> bool:
    """Whether the text is nothing but frame words (and punctuation) once they are taken out."""
    rest = re.sub(r"['’]", "", text)   # "what's" is the frame word whats
    for frame in frames:
        rest = frame.sub(" ", rest)
    return not re.search(r"[^\W_]", rest)


def _as_written(side: str, question: str) -> str:
    """A side's name as the question wrote it: its capitals ("sarah guo" -> "Sarah Guo") and its
    script (开源 -> 開源 in a Traditional question, read one character for one)."""
    pattern = re.escape(side).replace(r"\ ", r"\s*")
    found = re.search(pattern, question, re.I) or re.search(pattern, simplified_chars(question), re.I)
    return question[found.start():found.end()] if found else side


def squash(text: str) -> str:
    """Text without spaces and punctuation, for matching titles and statements as written."""
    return _SQUASH.sub("", text)


def _clean_side(side: str) -> str:
    """A side's name without surrounding punctuation, possessives and view words."""
    side = side.strip(" ,，:：“”\"'「」《》()（）")
    side = _ASPECT_EN.sub("", side).strip() if side.isascii() else side
    return side.strip()


def _clean_topic(topic: str) -> str:
    """A topic without view words ("开源的看法" -> 开源), words of difference a second question
    left in it ("DeepSeek和OpenAI的区别是什么？谁更强？": 强, not "区别是什么? 强") and stray
    punctuation."""
    if _CJK.search(topic):
        topic = " ".join(_QUESTION_MARKS.sub(" ", re.sub(_DIFF_ZH, " ", topic)).split())
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
