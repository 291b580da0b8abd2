"""Follow-ups: what a short question leans on in the conversation, and how it is searched.

A question leans on the previous one when it points back (他, 它, 这么, 那 … 呢, "he", "what
about") or says nothing of its own (为什么？, 为了什么？: only words that frame a question). How it
is searched then depends on what it brings:
  - a proper name in place of one of the earlier question's, of the same kind ("那中国呢？" after
    "美国为什么要封锁芯片？") replaces it: the new name is searched at full weight with the rest of
    the earlier question as context (美国 dropped), leaving out what the earlier question showed;
  - a pronoun with words of its own (他怎么看商业化？) is searched with the earlier question's names
    put in for the pronoun, at full weight, and the rest of the earlier question as context at
    lower weight; a thing it names (城市 in "他住在哪个城市？") must be in the passage that answers
    it, so the earlier topic cannot make an attribute the articles never mention look answered;
  - a question with no words of its own (为什么？, 他的建议是什么？) is the earlier one asked again;
  - a question that brings only opposites of the earlier question's words (the aliases file's
    opposites: "哪些公司反对？" after "哪些公司支持开源？") asks for the other side: the earlier
    question with the words swapped, leaving out what it showed. When the articles never use
    the opposite (they quote no one "反对" anything), another of its words is turned round
    instead: the companies against open source are those that stay closed (哪些公司支持闭源？).
    Not for which people take a side (谁反对？ after 谁支持开源？): a person's side is in what they
    said, and the engine shows those quoted on the topic instead.
A short question asking when what was just shown happened (这是什么时候的事？, "When was that?") is
answered by the passages shown that give a date, when one does; one asking what it means (什么意思？,
作者想说明什么？) by the first passage shown in its place in the article, with its neighbours.
A question bringing only another gain or cost of the topic (EVALUATIONS: "那好处呢？" after
"开源有什么风险？") is the earlier question asked of it, read as a contrast.
Words that only frame what is asked do not count as the question's own (ASPECT_NOUNS: 效果, 理由;
time words: 当时; a demonstrative and its measure word: 这件; a question word jieba glued to a
neighbour: 哪来): "效果怎么样？" brings nothing of its own, and 理由 need not be in the answer.
A question that does not lean on anything is a new question; when it finds nothing alone and is
short, it is searched once more leaning on the earlier one (as_follow_up), unless it names
something the articles never mention (京东的快递几天能到？).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.normalize import simplified_chars
from bot.retrieval.relevance import NECESSARY as FRAME_NECESSITY
from bot.text import Analyzer

# A question this long or longer is a question of its own, whatever pronoun it holds.
MAX_LEANING_CHARS = 40
# A bare opposite leans on the earlier question with at most this many characters more: a
# question word (谁反对？, 什么缺点？), or words the earlier question holds too. With a topic of its own (开源有什么好处？) it stands alone.
BARE_EXTRA_CHARS = 2

# Pointing back: a pronoun or demonstrative at the start ("他怎么看"), 呢 or a pronoun at the end
# ("DeepSeek 呢", "怎么评价他"), or a demonstrative adverb anywhere ("为什么要这么做").
# A conjunction at the start (和 DeepSeek 什么关系？, 跟 OpenAI 比呢) leaves out its subject: the earlier one.
_LEAD = re.compile(r"^(?:那么|那|他们|她们|它们|这个|那个|这些|那些|他|她|它|这|其(?![他它中实余次])|(?:和|跟|与)(?!此|其))")
_TAIL = re.compile(r"(?:他们|她们|它们|这个|那个|这些|那些|(?<!其)他|她|(?<!其)它|这|那|呢)$")
_ANYWHERE = re.compile(r"这么|那么做|这样做|这样|那样|如此|此事|这件事|这一点|"
                       # A pronoun after a preposition (DeepSeek 对它有什么威胁, 谁支持他): the
                       # question's own subject would be 自己 there, so it is someone earlier; not
                       # a possessive (梁文锋和他的团队).
                       r"(?:对|给|跟|和|与|同|把|被|让|比|向|替|支持|反对|批评|评价)(?:他们|她们|它们|他|她|它)(?!的)")
# 这么 / 那么 point back only as the manner of doing, saying or thinking (为什么要这么做, 他为什么这么
# 说, 你怎么这么看): before a quality, a quantity or a feeling they are degree (这么低, 那么多, 这么怕,
# 这么重视), and "为啥美国这么怕 DeepSeek" is a question of its own.
_DEGREE_ADVERBS = ("这么", "那么")
_MANNER_VERBS = frozenset(("做", "干", "搞", "弄", "办", "说", "讲", "写", "想", "看", "认为", "觉得", "看待",
                           "评价", "形容", "描述", "称呼", "叫", "回答", "解释", "处理", "安排", "决定", "选择",
                           "操作", "对待", "应对", "设计", "规定"))
# General verbs of doing and the complements saying they came off: 做到, 搞定, 办成, 做好. A word
# made of the two says only that something was achieved, what is asked is the rest (这么便宜).
# Grammar of Chinese, not of a library: jieba's tags (v) and counts cannot tell 做到 from 快递.
_DOING_VERBS = "做干搞弄办"
_RESULT_COMPLEMENTS = "到成好完定出"


def _done(word: str) -> bool:
    """Whether a word is a doing verb with its result complement (做到, 搞定)."""
    return len(word) == 2 and word[0] in _DOING_VERBS and word[1] in _RESULT_COMPLEMENTS


# 还 with a question word asks for something else: 他还说过什么, 还有谁, 她还投了哪些公司 (not
# 他还支持开源吗, "still").
_ELSE = re.compile(r"还[^，,。？?！!]{0,6}?(?:什么|啥|谁|哪些|哪里|哪儿|别的|别人|其他|其它)|还有(?:吗|没有|呢)")
# Nouns that ask for an aspect of whatever is being discussed, not for a thing of their own: a
# reason, an effect, a prospect, a view. "效果怎么样？" after a question on export controls asks
# how well they worked, and "那他支持闭源的理由是什么？" needs no passage saying 理由. General
# Chinese, for any library; words with an opposite (优点 / 缺点) stay words, as a contrast turns them.
ASPECT_NOUNS = frozenset(("原因", "理由", "缘故", "缘由", "目的", "用意", "动机", "效果", "成效", "结果",
                          "后果", "影响", "作用", "意义", "前景", "进展", "现状", "反应", "态度", "看法",
                          "评价", "细节", "详情", "情况", "经过", "过程", "措施", "办法", "依据", "根据",
                          # what someone says or stands for: "他的建议是什么？" after a question on
                          # Eric Schmidt asks what he said, in whatever words the article uses
                          "建议", "观点", "主张", "立场", "意见", "说法", "见解", "想法", "回应", "表态",
                          # a part played, and an instance of what was discussed
                          "角色", "地位", "定位", "例子", "实例", "特点", "方式", "方法",
                          # how it stands to something else: "和 DeepSeek 什么关系？"
                          "关系", "联系", "区别", "差别", "差异"))
# What is weighed of a topic: its gains, costs and dangers. A follow-up that only brings one of
# them ("那好处呢？" after "这样做有什么风险？", "成本呢？") asks the earlier question of that one
# instead. General Chinese, for any library.
EVALUATIONS = frozenset(("好处", "坏处", "益处", "优点", "缺点", "优势", "劣势", "长处", "短处", "利弊",
                         "风险", "隐患", "危害", "威胁", "挑战", "难点", "困难", "问题", "代价", "成本",
                         "机会", "机遇", "价值", "意义", "影响", "作用", "前景", "局限", "不足",
                         # and in English ("And the benefits?" after "What are the risks of …?")
                         *(w + s for w in ("benefit", "advantage", "disadvantage", "upside", "downside",
                                           "drawback", "risk", "danger", "threat", "cost", "challenge",
                                           "problem", "limitation", "opportunity", "pro", "con")
                           for s in ("", "s")), "impact", "impacts", "effects", "value"))
# Verbs that only carry an aspect noun (扮演…角色, 发挥…作用, 产生…影响, 提出…建议): with one in
# the question they frame it too, where alone (他扮演过谁) they are the question's own.
_SUPPORT_VERBS = frozenset(("扮演", "发挥", "起到", "起", "产生", "带来", "造成", "提出", "发表", "给出",
                            "作出", "做出", "采取", "持", "抱"))
# Verbs of holding a view, in a question asking how (怎么看待, 如何评价, 咋看): "what does X think
# of Y". The answer is X's words on Y, which seldom say 看待.
_OPINION_VERBS = frozenset(("看待", "看", "评价", "评论", "认为", "觉得", "理解", "定义"))
_ASKS_HOW = re.compile(r"怎么|怎样|怎么样|如何|咋")
_TELL_MORE_EN = re.compile(r"^(?:please |can you |could you )*(?:tell me more|more details?|go on|elaborate|"
                           r"explain (?:more|further)|(?:give me |show me )?an example|examples?|for example|"
                           r"for instance|such as|like what|e\.?g)(?: please)?$", re.I)
# A request's polite question ending (能详细说说吗, 举个例子好吗): it asks nothing of its own.
_POLITE_ENDING = re.compile(r"(?:好吗|可以吗|行吗|吗|呢|吧)$")
# Asking to be told more of what was discussed (详细说说, 举个例子, 展开讲讲, 比如呢): a request with no
# question word still leans on the earlier question, where 好的 or 谢谢 leans on nothing.
_TELL_MORE = re.compile(r"说说|讲讲|谈谈|聊聊|说一下|讲一下|介绍一下|解释一下|展开|详细|具体|细说|多说|举[个些几一]|举例|"
                        r"(?:比如|例如|譬如)说?")
_ASKS = re.compile(r"[?？]|为什么|为啥|为何|怎|如何|咋|何时|何地|哪|谁|什么|啥|吗|呢|多少|几|"
                   r"\b(?:why|how|what|who|whom|whose|when|where|which)\b", re.I)
_EN = re.compile(r"^(?:and|what about|how about|compared (?:to|with)|versus|vs\.?)\b|\b(?:he|she|they|him|her|them|his|hers|their|it|its|that|this)\b",
                 re.I)
_HAN = re.compile(r"[\u3400-\u9fff]")
# What a name put in place of another says besides the name: "那 OpenAI 呢？", "OpenAI 呢".
_IN_PLACE = re.compile(r"(?:那么|那)?(?:呢)?")
_PRONOUN = re.compile(r"(?<!其)他|她|(?<!其)它")
# A pronoun as a name's stand-in, with its plural (他们 for 李彦宏 and 梁文锋 is one side too).
_CJK_PRONOUN = re.compile(r"(?:(?<!其)他|她|(?<!其)它)们?")
_EN_PRONOUN = re.compile(r"\b(?:he|she|they|him|her|them|his|hers|their|it|its)\b", re.I)
_TRAILING = re.compile(r"[\s\W_]+$")
_LEADING = re.compile(r"^[\s\W_]+")
# jieba tags of words that name something (a person, place, organisation, thing): these replace
# one another in "那 X 呢".
_NAMING_TAGS = ("n", "nr", "ns", "nt", "nz", "ng", "nrt", "nrfg", "eng")
# A question word and at most two characters jieba cut with it (哪来, 从哪儿, 啥时候, 几种, 多久):
# it asks, it names nothing. Longer, the rest is a topic (什么游戏).
_GLUED_QUESTION = re.compile(r"^(?=.{2,3}$)(?:.*(?:哪|谁|啥|什么|怎|咋).*|几(?![乎何]).|多[少大久长高远])$")
# A demonstrative with its measure word (这件, 那些): it points, as 这 does.
_DEMONSTRATIVE = re.compile(r"^[这那此该][个件种些项类次位家条样点回场批本部篇首款座所支只株棵台]$")
# jieba glues some to their noun (那本书, 这家店): the phrase as one word.
_GLUED_DEMONSTRATIVE = re.compile(r"^[这那此该][个件种位家条本部篇首款座所支只株棵台].+$")
# Measure words of what a name names: organisations and people (这家公司, 这位创始人), works (那本书,
# 这部电影), places (这座城市, 这所学校), living things (这株植物): the phrase stands for the name, as
# a pronoun does; those of events and kinds (这次攻击, 这种做法, 这个问题) name a topic.
_NAMED_MEASURES = frozenset("家位名本部篇首款座所支只株棵台")
_PEOPLE_MEASURES = frozenset("位名")
# A place's pro-form (那里有什么设施？ after a question on a park): it stands for the earlier names.
_PLACE_PRONOUN = re.compile(r"那里|这里|那儿|这儿|该地|当地")
# The measure word of a firm, a shop or a household (这家公司, 这家店): no person, no country.
_FIRM_MEASURE = "家"
# jieba's tag of time words (当时, 后来, 现在, 今年).
_TIME_TAG = "t"
_DOING_TAGS = ("v", "a", "ad", "d")
_VERB_ONLY_CHARS = 8
# A question asking who (谁说…, 哪位, who): its answer names the person a later 他 stands for.
_ASKS_WHO = re.compile(r"谁|哪位|哪一位|\bwho\b", re.I)
# A question asking which people (not which companies): a person's side is in what they said,
# which the speakers on the topic show; a company's is in what it does, which passages describe
# (仍坚持闭源), so "哪些公司反对？" is turned round and searched.
_ASKS_PEOPLE = re.compile(r"谁|哪位|哪一位|哪几位|哪些(?:人|专家|学者|人士|人物|大佬)|什么人|有没有人|有人|\bwho\b", re.I)
# jieba's tags of people's names.
_PERSON_TAGS = ("nr", "nrfg", "nrt")
# Both of what was discussed, and a word of difference or of which is more: "两边有什么不同？",
# "二者的区别", "这两家公司哪里不一样", "它们谁更厉害？".
_BOTH = re.compile(r"两边|两者|二者|双方|两国|两家|两人|两位|两种|两个|这两|它们俩|他们俩|她们俩|它们|他们|她们")
# 他们 alone is both only when nothing else is named: "他们和 OpenAI 有什么不同" compares them with OpenAI.
_PLURAL_PRONOUN = re.compile(r"它们|他们|她们")
_WITH = re.compile(r"和|跟|与|同|比")
_BOTH_NOUNS = frozenset(("公司", "国家", "人", "企业", "机构", "方面", "模型", "一下"))
_DIFFERENCE = re.compile(r"不同|区别|差别|差异|异同|不一样|分歧|相比|对比|比较|(?:谁|哪个|哪一个|哪家|哪边|哪方|哪国)更")
# Tags of someone (a person, an organisation), whom 他 or 她 stands for.
_SOMEONE_TAGS = ("nr", "nrt", "nrfg", "nt")
# Pronouns of someone, not something (它).
_ANIMATE = re.compile(r"他|她|\b(?:he|she|him|her|his|hers)\b", re.I)
# Tags of proper names (a person, place, organisation, other name), which a pronoun stands for.
_NAME_TAGS = ("nr", "nrt", "nrfg", "ns", "nt", "nz")


# A question on a detail of what was just shown: its subject a demonstrative (这是, 这件事, 此事,
# 那是, "this", "that") and what it asks when that was. The passages just shown say it when one
# holds a date: "这是什么时候的事？" after an answer quoting the attack of 1 月 28 日 asks that
# date, not passages on another topic holding 时候. (Where, or who, is not read off a passage as
# surely: 中国 is a place in most of these articles' passages, and jieba tags few companies.)
_SHOWN_SUBJECT = re.compile(r"^(?:这|那|此)(?:是|件事|事|个|些|一切)?|\b(?:this|that|it)\b", re.I)
_ASKS_WHEN = re.compile(r"什么时候|啥时候|何时|哪一?年|哪一?天|几月|几号|几时|\bwhen\b|\bwhat year\b", re.I)
# A date or a time a passage gives: a year, a month, a day, or a word for one (去年, 近日).
_TIME = re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*[日号]|[一二三四五六七八九十]{1,3}月|[今去前明]年|近日|日前|"
                   r"昨天|前天|上周|本周|上个月|(?<!\d)(?:19|20)\d{2}(?!\d)|\b(?:january|february|march|april|may|june|"
                   r"july|august|september|october|november|december)\b", re.I)

# A question on what was just shown means (什么意思？, 作者想说明什么？, 怎么理解？, "What does that
# mean?"): the bot writes no explanation of its own, so the honest answer is the passage in its
# place in the article, with what the author wrote before and after it. Searching the words again
# would show the same passages, and 说明 or 意思 alone finds passages about something else. What
# it implies (这意味着什么？, 这说明了什么？) is another question: the article may say so anywhere, so
# it is searched, leaning on the earlier question.
_ASKS_MEANING = re.compile(r"什么意思|啥意思|何意|意思是什么|意思是啥|(?:想|要|是想|到底想|究竟想)"
                           r"(?:说明|表达|表明|说)(?:的是)?(?:什么|啥)|(?:怎么|如何|咋|怎样)(?:理解|解读|看懂)|"
                           # The evidence for it (有证据吗？, 依据是什么？): if the article gives any, it
                           # is beside the claim.
                           r"有(?:什么|没有|何)?(?:证据|依据|根据|数据支持|数据支撑)|(?:证据|依据|根据)(?:呢|是什么|是啥|在哪)|"
                           r"\b(?:any|what(?:'s| is) the) (?:evidence|proof|source)\b|"
                           r"\bwhat (?:does|did) (?:that|this|it|he|she|the author) (?:mean|say)\b|"
                           r"\bwhat (?:is|was) (?:he|she|the author) (?:saying|trying to say)\b|\bmeaning\b", re.I)
# Words that only name the text or its writer (作者想说明什么？, 这段话什么意思？), or stress the asking
# (到底什么意思？): no topic of their own.
_TEXT_WORDS = frozenset(("作者", "笔者", "文章", "本文", "原文", "文中", "这句话", "这段话", "这话", "这句", "这段",
                         "那句话", "那段话", "一句", "一段", "段话", "句话", "这里", "此处", "这儿", "到底", "究竟"))


@dataclass(frozen=True)
class Resolution:
    """How to search a question in its conversation."""
    query: str                 # what is searched
    context: str | None        # the earlier question leaned on, at lower weight (None: none)
    leaning: bool              # whether it leans on the earlier turn at all
    replaced: str | None       # the earlier question's word this one's replaced, if any
    must_hold: tuple[str, ...] = ()  # a passage must hold one of these to answer it
    contrast: str | None = None  # the earlier question turned round, when this one asks the other side
    besides: bool = False      # it asks for something else (他还说过什么): what was shown is left out
    swaps: tuple[tuple[str, str], ...] = ()  # a contrast's (earlier word, its opposite)
    # Words put in place of the earlier question's (腾讯 for 华为): when nothing else answers, a
    # passage the earlier question showed that holds one answers this one too.
    keeps: tuple[str, ...] = ()
    # The names a pronoun or a demonstrative stands for (它 -> 月季): of the passages found, only
    # those about them (naming one, or in an article titled with one) are shown, when any is.
    subject: tuple[str, ...] = ()


def _asks_else(question: str) -> bool:
    """Whether a question asks for something else (他还说过什么, 還有誰)."""
    return bool(_ELSE.search(simplified_chars(question)))


def has_pronoun(question: str) -> bool:
    """Whether a question holds a third-person pronoun (他, 它们, "he", "their")."""
    question = simplified_chars(question)
    return bool(_PRONOUN.search(question) or _EN_PRONOUN.search(question))


def asks(question: str) -> bool:
    """Whether a message asks something: a question mark or a question word (为什么, 吗, why)."""
    question = simplified_chars(question)
    return bool(_ASKS.search(question))


def points_back(question: str) -> bool:
    """Whether a question points back at the conversation: a pronoun, 呢, "what about"."""
    question = simplified_chars(question)
    core = _LEADING.sub("", _TRAILING.sub("", question))
    if len(core) >= MAX_LEANING_CHARS:
        return False
    return bool(_LEAD.search(core) or _TAIL.search(core) or _ANYWHERE.search(core) or _EN.search(core)
                or _ELSE.search(core))


class FollowUps:
    """Resolves follow-ups with the analyzer's words, classes and necessity."""

    def __init__(self, analyzer: Analyzer, necessity, in_library) -> None:
        self._analyzer = analyzer
        self._necessity = necessity          # word -> probability an answer holds it
        self._in_library = in_library        # word -> whether the library holds it

    def own_words(self, question: str) -> list[str]:
        """The words a question brings: whole words that are neither function words nor frame
        words (those an answer seldom holds, and the aspect nouns)."""
        return [token.text for token in self._own_tokens(question)]

    def own_written(self, question: str) -> list[str]:
        """own_words as the question writes them (Eric Schmidt, not ericschmidt)."""
        return [question[token.start:token.end] for token in self._own_tokens(question)]

    def _own_tokens(self, question: str) -> list:
        words = []
        tokens = [t for t in self._analyzer.tokens(question) if t.whole]
        framed = any(t.text in ASPECT_NOUNS for t in tokens)
        opinion = _ASKS_HOW.search(simplified_chars(question)) is not None
        for token in tokens:
            if token.text in self._analyzer.function_words:
                continue
            if (self._frames(token.text) or (framed and token.text in _SUPPORT_VERBS)
                    or (opinion and token.text in _OPINION_VERBS)):
                continue
            if self._necessity(token.text) < FRAME_NECESSITY:
                continue  # 原因, 作用, 何时: the frame of a question, not what it is about
            words.append(token)
        return words

    def asks_when_shown(self, question: str) -> bool:
        """Whether a short question asks when what was just shown happened (这是什么时候的事？,
        那是哪一年？, "When was that?"): with at most one word of its own (发生), it asks about
        the passage, not a topic."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        return (len(core) < MAX_LEANING_CHARS and _SHOWN_SUBJECT.search(core) is not None
                and _ASKS_WHEN.search(core) is not None and len(self.own_words(core)) <= 1)

    def asks_meaning_shown(self, question: str) -> bool:
        """Whether a short question asks what was just shown means (什么意思？, 作者想说明什么？,
        怎么理解？, "What does that mean?") or what backs it (有证据吗？): besides the asking, it
        names at most the text or its writer, no topic of its own ("怎么理解 DeepSeek 是个信号" is a
        question of its own)."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        match = _ASKS_MEANING.search(core)
        if match is None or len(core) >= MAX_LEANING_CHARS // 2:
            return False
        rest = core[:match.start()] + " " + core[match.end():]
        return all(len(word) == 1 or word in _TEXT_WORDS for word in self.own_words(rest))

    def tells_more(self, question: str) -> bool:
        """Whether a message only asks to be told more of what was discussed (详细说说, 举个例子,
        能展开讲讲吗, "tell me more"): it brings no word of its own and asks nothing but that."""
        core = _TRAILING.sub("", simplified_chars(question))
        if _TELL_MORE_EN.match(core):
            return True
        if not _TELL_MORE.search(core):
            return False
        core = _POLITE_ENDING.sub("", core)
        return not asks(core) and all(len(word) == 1 for word in self.own_words(core))

    def _frames(self, word: str) -> bool:
        """Whether a word frames what is asked rather than bringing a topic: an aspect noun (原因,
        效果), a time word (当时, 后来, 现在: the time of what is being discussed), a question
        word jieba glued to its neighbour (哪来, 从哪, 啥时候, 几种), a demonstrative with its
        measure word (这件, 那些: they point, as 这 does), or function words glued together
        (是从), or a general verb of doing with its result (做到, 搞定, 办成: "为什么能做到这么
        便宜？" asks why it is cheap, not about achieving). A word with an opposite (过去 / 未来)
        stays a word, as a contrast turns it."""
        if self._analyzer.opposites(word):
            return False
        return (word in ASPECT_NOUNS or _done(word) or bool(_TELL_MORE.fullmatch(word))
                or self._analyzer.word_tag(word) == _TIME_TAG
                or bool(_GLUED_QUESTION.search(word)) or bool(_DEMONSTRATIVE.match(word))
                or bool(_GLUED_DEMONSTRATIVE.match(word))
                or all(ch in self._analyzer.function_words or ch in self._analyzer.stopwords
                       for ch in word))   # 是从: grammar glued

    def asks_people(self, question: str) -> bool:
        """Whether a question asks which people (谁, 哪些人, who), not which companies."""
        return _ASKS_PEOPLE.search(simplified_chars(question)) is not None

    def knows(self, word: str) -> bool:
        """Whether the library holds the word, or a translation or synonym of it."""
        return self._in_library(word) or any(self._in_library(t.token) for t in self._analyzer.query_terms(word)
                                             if t.kind in ("translation", "synonym"))

    def new_things(self, words: list[str]) -> tuple[str, ...]:
        """Of a follow-up's words, those naming a thing (城市, 天气, 老家): what it asks about."""
        return tuple(w for w in words if self._analyzer.word_tag(w).startswith(_NAMING_TAGS[:-1])
                     and len(w) > 1)

    def opinion_of_name(self, question: str, own: list[str]) -> bool:
        """Whether a short question asks only what someone thinks (美国怎么看？, 李彦宏如何评价？):
        a name and a verb of viewing, no topic, so the topic is the earlier question's."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        if len(core) > MAX_LEANING_CHARS // 2 or not own or _ASKS_HOW.search(core) is None:
            return False
        words = {t.text for t in self._analyzer.tokens(core) if t.whole}
        return bool(words & _OPINION_VERBS) and all(self._names_someone(w) for w in own)

    def _person_or_place(self, name: str) -> bool:
        words = self._analyzer.tokenize(self._analyzer.normalize(name))
        return bool(words) and self._analyzer.word_tag(words[0]).startswith(("nr", "ns"))

    def _names_someone(self, word: str) -> bool:
        return self._analyzer.word_tag(word).startswith((*_NAME_TAGS, "eng"))

    def names_nothing(self, question: str, own: list[str]) -> bool:
        """Whether a short question brings only a verb or an adjective, no thing (怎么解决？,
        有用吗？, 能成功吗？): what it asks of is the earlier question's topic. Not who does it
        (谁反对？): those quoted on the topic answer that."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        return (len(core) <= _VERB_ONLY_CHARS and bool(own) and not self.asks_people(core)
                and all(self._analyzer.word_tag(w).startswith(_DOING_TAGS) for w in own))

    def points_back(self, question: str) -> bool:
        """points_back, except where its only sign is 这么 or 那么 of degree (这么低); or a
        demonstrative before a noun anywhere (美国人怎么看这家公司？)."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        if not points_back(question):
            return len(core) < MAX_LEANING_CHARS and self.names_by_demonstrative(core)
        if _LEAD.search(core) or _TAIL.search(core) or _EN.search(core) or _ELSE.search(core):
            return True
        if any(m.group() not in _DEGREE_ADVERBS for m in _ANYWHERE.finditer(core)):
            return True
        words = [w for w in self._analyzer.cut(core) if w.strip()]
        return any(word in _DEGREE_ADVERBS and (k + 1 == len(words) or words[k + 1] in _MANNER_VERBS)
                   for k, word in enumerate(words))

    def names_by_demonstrative(self, question: str) -> bool:
        """Whether a question names its subject by a demonstrative and a noun (这家公司, 这位创始人,
        该公司, 这个问题): what the conversation is about, as a pronoun would."""
        return self._demonstrative_phrase(question) is not None

    def _demonstrative_phrase(self, question: str) -> str | None:
        """The demonstrative and its noun a question names its subject by (这家公司), as the
        normalized question writes them; None if none. Not after a name it stands beside
        ("DeepSeek 这家公司是做什么的？" names its subject itself)."""
        words = [w for w in self._analyzer.cut(question) if w.strip()]
        for k, word in enumerate(words):
            if _GLUED_DEMONSTRATIVE.match(word) and not (k > 0 and self._names_someone(words[k - 1])):
                return word   # 那本书, one word of jieba's
            if k + 1 == len(words) or not (_DEMONSTRATIVE.match(word) or word == "该"):
                continue
            if not self._analyzer.word_tag(words[k + 1]).startswith(("n", "v")):
                continue   # 这次是 ..., 该不该: no noun it points with
            if k > 0 and self._names_someone(words[k - 1]):
                continue   # DeepSeek 这家公司: the name is the subject
            return word + words[k + 1]
        return None

    def resolve(self, question: str, previous: str | None, answer: str | None = None) -> Resolution:
        """How to search question, given the chat's last answered question (None: no conversation)
        and the first passage that answered it (answer: what a pronoun after a who-question
        stands for)."""
        if not previous:
            return Resolution(question, None, False, None)
        own = self.own_words(question)
        if not own and not asks(question):
            # Nothing of its own and no question either (嗯, 哈哈, ok): it leans on nothing.
            return Resolution(question, None, False, None)
        if not own and has_pronoun(question) and (people := self._answered_who(previous, answer)):
            # "他还说了啥？" after "谁说开源是智商税？": the person the answer named, the earlier question as context.
            return Resolution(f"{question} {' '.join(people)}", previous, True, None, besides=_asks_else(question))
        if not own and has_pronoun(question) and _asks_else(question) and (names := self.names(previous)):
            # "他还说过什么？" after "李彦宏怎么看开源？": what else he said, not the topic again.
            return Resolution(f"{question} {' '.join(self.names(previous, who=True))}", previous, True, None,
                              besides=True)
        weighed = self._evaluation_swap(question, own, previous)
        if weighed is not None:
            return weighed
        if not own:
            # Nothing of its own (为什么？, 他的建议是什么？): the earlier question asked again.
            # Not with this one's frame beside it: an answer need not use the frame's word (he
            # 呼吁 what he proposes), and a passage lacking it would count as missing a word.
            return Resolution(previous, None, True, None, besides=_asks_else(question))
        contrast = self._contrast(question, own, previous)
        if contrast is not None:
            return contrast
        pointing = self.points_back(question) or self.opinion_of_name(question, own)
        if not pointing and self.names_nothing(question, own):
            # 怎么解决？ after 开源有什么风险？: its verb is asked of the earlier question whole, as
            # a frame is (at the context's weight, 解决 alone found 解决方案 elsewhere).
            return Resolution(f"{previous} {question}", None, True, None, besides=_asks_else(question))
        if not pointing:
            return Resolution(question, None, False, None)
        words = [w for w in own if len(w) > 1]  # a lone 看 or 说 is the question's grammar
        if words and not any(self.knows(w) for w in words):
            # Everything it brings is unknown to the articles ("哪些公司反对？" where they never say
            # 反对): the earlier topic cannot answer it.
            return Resolution(question, None, True, None, tuple(words))
        swap = self._replacement(own, previous, question) if _HAN.search(question) else None
        if swap is not None:
            # The earlier question, without the word this one replaces, is the context: the new
            # name at full weight, the rest of the earlier topic at the context's weight.
            old, new = swap
            # 美国政府 is one word of jieba's: 中国 takes the place of its 美国, and 政府 stays.
            rest = self._rest_of_name(old, new)
            context = " ".join(rest if w == old else w for w in self.own_words(previous) if w != old or rest)
            return Resolution(question, context or _without(previous, old, self._analyzer), True, old, keeps=(new,))
        # A pronoun stands for the earlier question's names: they join the question at full
        # weight (他 -> Eric Schmidt), the rest of the earlier question is context. Without a
        # pronoun ("那梁文锋怎么看？") the earlier question is context only.
        names, searched = self._stand_ins(question, previous, answer)
        if searched != question:
            question, own = searched, self.own_words(searched)
        query = f"{question} {' '.join(names)}" if names else question
        return Resolution(query, previous, True, None, self.new_things(own), besides=_asks_else(question),
                          subject=tuple(names))

    def _stand_ins(self, question: str, previous: str, answer: str | None) -> tuple[list[str], str]:
        """The names a follow-up's pronoun, demonstrative (这家公司, 那本书) or place word (那里)
        stands for, and the question as it is then searched: a demonstrative naming what a name
        names gives the name its place. ([], question) when it has no such word."""
        phrase = self._demonstrative_phrase(simplified_chars(question))
        pronoun = has_pronoun(question)
        if not (pronoun or phrase or _PLACE_PRONOUN.search(simplified_chars(question))):
            return [], question
        # After a who-question, 他 and 这位 stand for the person its answer named; 那本书 for the
        # book asked about, not its author; 那里 for the place.
        of_someone = pronoun or (phrase is not None and phrase[1:2] in _PEOPLE_MEASURES)
        names = ((of_someone and self._answered_who(previous, answer))
                 or self.names(previous, who=_ANIMATE.search(question) is not None))
        if phrase and phrase[1:2] == _FIRM_MEASURE and not pronoun:
            # 这家公司 after "梁文锋怎么看 DeepSeek 为什么要开源" is DeepSeek, not him (jieba calls
            # people and places nr and ns; a company it may call either, so only a preference).
            names = [n for n in names if not self._person_or_place(n)] or names
        if names and phrase and phrase[1:2] in _NAMED_MEASURES:
            # 这家公司 stands for 深度求索 as 他 does for a person: the name in its place, so 公司 in a
            # passage on another company ("这家公司通过 AI 技术…") is no match. Not 这次攻击: the
            # attack is the topic, and stays.
            question = _without_phrase(question, phrase, self._analyzer)
        return names, question

    def as_follow_up(self, question: str, previous: str | None) -> Resolution | None:
        """A short question that found nothing alone, read as leaning on the earlier one (None
        when it cannot lean): "攻击是从哪来的？" after "DeepSeek 什么时候被攻击了？" asks where the
        attack came from. The earlier question is context; a thing it names must still be in the
        passage that answers it, so "上海明天会下雨吗？" asked in between stays unanswered."""
        core = _LEADING.sub("", _TRAILING.sub("", simplified_chars(question)))
        if not previous or len(core) >= MAX_LEANING_CHARS or not asks(question):
            return None
        own = self.own_words(question)
        if not own:
            return None   # resolve() already leant it
        if not all(self.knows(w) for w in own if len(w) > 1):
            return None   # it asks about something the articles never mention (京东的快递)
        # Its own words only: the frame that found nothing alone (哪来, 从哪) is left out.
        return Resolution(" ".join(own), previous, True, None, self.new_things(own))

    def _contrast(self, question: str, own: list[str], previous: str) -> Resolution | None:
        """The earlier question turned round, when every word this one brings is the opposite of
        one of the earlier question's words and it leans on the earlier one (it points back, or
        it is the bare opposite with at most a question word: 谁反对？); None otherwise."""
        core = _LEADING.sub("", _TRAILING.sub("", question))
        earlier = self.own_words(previous)
        if not self.points_back(question) and len(core) > sum(map(len, own)) + BARE_EXTRA_CHARS:
            return None
        swaps = []
        # Words both questions hold (模型 in "那闭源模型呢？" after "开源模型有什么优势？") are shared.
        for new in (w for w in own if w not in earlier):
            old = next((w for w in earlier if new in self._analyzer.opposites(w)), None)
            if old is None:
                return None
            swaps.append((old, new))
        if not swaps:
            return None
        if not all(self.knows(new) for _, new in swaps) and not self.asks_people(previous):
            # The articles never say it: turn round another word the articles do hold the
            # opposite of, keeping the asked word's own (哪些公司反对开源 -> 哪些公司支持闭源). Not
            # for which people take the side (谁反对？ after 谁支持开源？): the engine shows those
            # quoted on the topic, in their words.
            asked = {old for old, _ in swaps}
            swaps = [(w, o) for w in earlier if w not in asked
                     for o in self._analyzer.opposites(w) if self.knows(o)][:1] or swaps
        # As for a name put in place of another: the words put in at full weight, the rest of the
        # earlier question as context; the notice shows the earlier question turned round.
        turned, rest = previous, previous
        for old, new in swaps:
            turned = _swapped(turned, old, new, self._analyzer)
            rest = _without(rest, old, self._analyzer)
        query = " ".join(new for _, new in swaps)
        return Resolution(query, rest, True, swaps[0][0], contrast=turned, swaps=tuple(swaps),
                          keeps=tuple(new for _, new in swaps))

    def _evaluation_swap(self, question: str, own: list[str], previous: str) -> Resolution | None:
        """The earlier question asked of another gain or cost ("那好处呢？" after "开源有什么风险？"
        -> 开源有什么好处？), when this one brings nothing but that word and the earlier one
        weighed something else; None otherwise. Read as a contrast: the earlier question turned
        round, leaving out what it showed."""
        tokens = [t for t in self._analyzer.tokens(question)
                  if t.whole and t.text not in self._analyzer.function_words and not _ASKS.fullmatch(t.text)]
        if len(tokens) != 1 or tokens[0].text not in EVALUATIONS or any(w != tokens[0].text for w in own):
            return None
        new = tokens[0].text
        old = next((t.text for t in self._analyzer.tokens(previous)
                    if t.whole and t.text in EVALUATIONS and t.text != new), None)
        if old is None:
            return None
        # The word as the question wrote it (風險 in a Traditional conversation), for the notice.
        written = question[tokens[0].start:tokens[0].end]
        turned = _swapped(previous, old, written, self._analyzer)
        return Resolution(turned, None, True, old, contrast=turned, swaps=((old, written),), keeps=(new,))

    def turned(self, question: str, swaps: tuple[tuple[str, str], ...]) -> str | None:
        """question with a contrast's words turned round, or None when it holds none of them."""
        turned = question
        for old, new in swaps:
            turned = _swapped(turned, old, new, self._analyzer)
        return turned if turned != question else None

    def proper_names(self, question: str) -> list[str]:
        """The proper names of a question (a person, place, organisation; a Latin name), as written:
        the sides "两边有什么不同？" compares. The library's terms (开源) are none."""
        spans: list[list[int]] = []
        for token in self._analyzer.tokens(question):
            surface = question[token.start:token.end]
            if not token.whole or not (self._analyzer.word_tag(token.text) in _NAME_TAGS or surface[:1].isupper()):
                continue
            if (spans and surface.isascii() and question[spans[-1][0]:spans[-1][1]].isascii()
                    and not question[spans[-1][1]:token.start].strip()):
                spans[-1][1] = token.end   # Sarah + Guo: one name, as written
            else:
                spans.append([token.start, token.end])
        return list(dict.fromkeys(question[start:end] for start, end in spans))

    def both_sides(self, question: str) -> str | None:
        """"两边有什么不同？", "这两家公司的区别": a comparison of the two last named, with what this
        question adds as its topic ("" for none); None when it is no such question."""
        core = _TRAILING.sub("", simplified_chars(question))
        if len(core) >= MAX_LEANING_CHARS or not _BOTH.search(core) or not _DIFFERENCE.search(core):
            return None
        rest = _DIFFERENCE.sub(" ", _BOTH.sub(" ", core))
        if _PLURAL_PRONOUN.fullmatch(_BOTH.search(core).group()) and (_WITH.search(rest) or self.names(rest)):
            return None
        return " ".join(w for w in self.own_words(rest) if len(w) > 1 and w not in _BOTH_NOUNS)

    def names(self, question: str, who: bool = False) -> list[str]:
        """The words of a question that name someone or something: the antecedents of a pronoun.
        who: of someone only (他, 她), when the question names anyone: a person, an organisation,
        a Latin name; not the library's terms (开源 in "李彦宏怎么看开源？")."""
        out, someone = [], []
        seen: set[str] = set()   # normalized: 梁文鋒 twice in a chain of follow-ups is one name
        latin_span = None   # (start, end) of the last name taken when Latin: Sarah + Guo is one name
        for token in self._analyzer.tokens(question):
            if not token.whole or token.text in seen:
                continue
            seen.add(token.text)
            surface = question[token.start:token.end]
            tag = self._analyzer.word_tag(token.text)
            if (tag.startswith(_NAME_TAGS) or surface[:1].isupper() or token.text in self._analyzer.user_words
                    or token.text in self._analyzer.title_names):
                latin = tag == "eng"
                if latin and latin_span and not question[latin_span[1]:token.start].strip():
                    joined = question[latin_span[0]:token.end]
                    if someone and someone[-1] == out[-1]:
                        someone[-1] = joined
                    out[-1] = joined
                    latin_span = (latin_span[0], token.end)
                    continue
                out.append(surface)
                if tag in _SOMEONE_TAGS or surface[:1].isupper():
                    someone.append(surface)
                latin_span = (token.start, token.end) if latin else None
        return (someone or out) if who else out

    def with_antecedent(self, question: str, previous: str | None, answer: str | None = None) -> str | None:
        """question with its pronoun replaced by the name it stands for (他和梁文锋有什么不同？
        after 谁说开源是智商税？ -> 李彦宏和梁文锋有什么不同？): the person the earlier answer named
        after a who-question, else the earlier question's names; None without a pronoun or a name."""
        match = _CJK_PRONOUN.search(simplified_chars(question))
        if not previous or match is None:
            return None
        names = self._answered_who(previous, answer) or self.names(previous, who=True)
        if not names:
            return None
        return question[:match.start()] + names[0] + question[match.end():]

    def _answered_who(self, previous: str, answer: str | None) -> list[str]:
        """After a question asking who (谁说开源是智商税？), the people its first answer names: whom
        a later 他 stands for, rather than a word of the question. [] otherwise."""
        if not answer or not _ASKS_WHO.search(simplified_chars(previous)):
            return []
        return self.people(answer)

    def people(self, text: str) -> list[str]:
        """The people a text names (jieba's person tags), in order, at most two."""
        out: list[str] = []
        for token in self._analyzer.tokens(text):
            if token.whole and token.text not in out and self._analyzer.word_tag(token.text) in _PERSON_TAGS:
                out.append(text[token.start:token.end])
        return out[:2]

    def _rest_of_name(self, old: str, new: str) -> str:
        """What an earlier word holds besides a name of the new word's kind at its start (政府 of 美国政府
        for 中国): "" when it holds none, or is that name."""
        kind = self._analyzer.word_tag(new)
        for token in self._analyzer.tokens(old):
            if (not token.whole and token.start == 0 and token.end < len(old)
                    and self._analyzer.word_tag(token.text) == kind):
                return old[token.end:]
        return ""

    def _replacement(self, own: list[str], previous: str, question: str = "") -> tuple[str, str] | None:
        """(earlier word, new word) when one of the question's words names what an earlier one did."""
        earlier = [w for w in self.own_words(previous)]
        # Once each: a chain of follow-ups repeats the name it leant on (他对钱怎么看 梁文锋 梁文锋为什么…).
        earlier_names = list(dict.fromkeys(w for w in earlier if self._analyzer.word_tag(w) in _NAME_TAGS))
        for new in own:
            kind = self._analyzer.word_tag(new)
            # Proper names only (a place for a place, a person for a person): a common noun
            # ("股票交易" after "是什么公司") asks something new about the same subject.
            # A Latin name (OpenAI, Sarah Guo) is one too, when it is all the question brings ("那
            # OpenAI 呢？"): beside other words it is as often a subject of its own (DeepSeek 对它…).
            latin = kind == "eng" and own == [new] and _IN_PLACE.fullmatch(
                "".join(_HAN.findall(simplified_chars(question)))) is not None
            if (kind not in _NAME_TAGS and not latin) or new in earlier or not self._in_library(new):
                continue
            for old in earlier_names:
                if old != new and self._analyzer.word_tag(old) == kind:
                    return old, new
            # jieba's kinds of names are rough (华为 a person, 阿里 a transliteration, 阿里巴巴 an
            # organisation): when the earlier question names one thing only, a name in its place
            # ("那阿里呢？" after "华为为什么支持开源？") stands for it, whatever kind each was given.
            if len(earlier_names) == 1 and earlier_names[0] != new:
                return earlier_names[0], new
        return None


def _without(question: str, word: str, analyzer: Analyzer) -> str:
    """question with its word (as normalized) taken out."""
    return _swapped(question, word, "", analyzer)


def _without_phrase(question: str, phrase: str, analyzer: Analyzer) -> str:
    """question with a phrase of its normalized text (这家公司) taken out, as it was written."""
    norm, where = analyzer.normalize_with_map(question)
    k = norm.find(phrase)
    if k < 0:
        return question
    start, end = (where[k], where[k + len(phrase) - 1] + 1) if where else (k, k + len(phrase))
    return (question[:start] + question[end:]).strip()


def _swapped(question: str, word: str, new: str, analyzer: Analyzer) -> str:
    """question with its word (as normalized) replaced by new."""
    for token in analyzer.tokens(question):
        if token.whole and token.text == word:
            return (question[:token.start] + new + question[token.end:]).strip()
    return question


def gives_time(text: str) -> bool:
    """Whether a passage gives a date or a time (2019年, 1 月 28 日, 去年, 近日)."""
    return _TIME.search(text) is not None
