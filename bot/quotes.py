"""Find who says what in the corpus: quotations, reported speech and interview turns, with speakers.

Notable quotations (bare /quote) are statements in quotation marks said by a named person or
organisation. `find_statements` adds the sentences that report someone's words without quotation
marks ("Sarah Guo 指出，……") and the turns of an interview transcript ("Sarah Guo: ……"), for the
"who is quoted" and "who said it" replies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.corpus import Corpus, Passage, sentence_spans
from bot.normalize import simplified_chars

# A statement worth showing on its own is a sentence, not a scare-quoted word or a whole speech.
_MIN_CHARS = 8
_GOOD_MIN_CHARS = 15
_GOOD_MAX_CHARS = 120
# How far from a quotation its speaker may be named, in characters of the same sentence.
_VERB_TO_QUOTE = 20
_AFTER_WINDOW = 50
# A speaker's third and later quotations go after everyone else's, so the list is varied.
_PER_SPEAKER = 2
# Reported speech names its speaker near the start of the sentence ("在 2023 年的一次采访中，CEO
# 梁文锋表示…" puts 20 characters before the name); a name deeper in is part of the statement.
_REPORT_LEAD = 24
# An interview turn starts with the speaker's name and a colon; a longer lead is a sentence.
_TURN_NAME_CHARS = 24

# Common Chinese surnames, without the ones that are also everyday function words (曾, 向, 于,
# 余, 任): a Chinese name is a surname plus one or two characters right before a speech verb.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘蒋蔡杜叶程苏魏吕丁"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武"
    "戴莫孔汤雪常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符"
    "舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆"
    "农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾"
    "隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# The third character is part of the name unless it is a word that follows names ("王明也表示").
_CN_NAME = rf"[{_SURNAMES}][\u4e00-\u9fff](?:(?![就也曾则还更又都在向的是和与对说称表指认强警透直呼回解坦写提补宣声])[\u4e00-\u9fff])?"
# An organisation speaking as such: a Chinese name with its kind of organisation ("幻方量化公司强调"),
# its name short (a longer run is a phrase, not a name).
_CN_ORG = r"[\u4e00-\u9fff]{2,6}?(?:公司|集团)"
# Words an organisation's name follows in apposition ("量化对冲基金幻方量化公司"): the name is proper.
_ORG_DESCRIPTORS = ("基金", "公司", "集团", "机构", "巨头", "企业", "厂商", "平台", "媒体", "银行", "实验室")
# A name of three characters or more, standing alone, is taken as proper; two ("量化公司") are
# too often a kind of company.
_MIN_ALONE_ORG_CHARS = 3
# Characters that make a run a phrase or a reference rather than a name ("王明在公司", "该公司").
_NOT_IN_ORG = re.compile(r"[的之和与及等在对向从给被把让是也都就还又曾将]")
_ORG_DETERMINERS = tuple("该这那此本其一多某各两几每他她它我你贵")
# Capitalised words with a lower-case letter ("Eric Schmidt", "OpenAI"; not "CEO" or "AI"). One
# word may be a person or an organisation, so it ranks a little lower.
_LATIN_WORD = r"[A-Z](?=[A-Za-z.'-]*[a-z])[A-Za-z.'-]+"
_LATIN_NAME = rf"{_LATIN_WORD}(?:[ \u00b7·]{_LATIN_WORD})*"
# Between a name and its verb: a stretch of the same clause ("就曾直言不讳地", "在文章中",
# "向北京商报记者"); a Latin name may be followed by a longer one ("在 2019 年的那句名言").
_CN_GAP = r"[^，,。！？!?“”「」『』:：\n]{0,12}?"
_LATIN_GAP = r"[^，,。！？!?“”「」『』:：\n]{0,20}?"
_SPEECH_VERB = (
    r"(?:表示|说道|说|称(?!为)|指出|认为|强调|警告称|警告|透露|直言|呼吁|回答|解释说|解释|坦言|写道|提到|"
    r"补充道|宣称|声称|表达了?|名言|原话)"
)
# After a quotation only a plain attribution counts ("」他说", "」Eric Schmidt 称"); "他的回答"
# after a quoted question introduces the answer, not the question's speaker.
_AFTER_VERB = r"(?:表示|说道|说|称(?!为)|指出|强调|写道|补充道)"


def _name_then(verb: str, latin_gap: str = _LATIN_GAP) -> re.Pattern[str]:
    """A name, a short gap in the same clause, then a verb of speech."""
    return re.compile(
        rf"(?P<latin>{_LATIN_NAME})\s*(?P<lgap>{latin_gap})\s*{verb}|(?P<cn>{_CN_NAME})\s*(?P<cgap>{_CN_GAP})\s*{verb}"
    )


def _org_then(verb: str) -> re.Pattern[str]:
    """An organisation's name with its kind, a short gap in the same clause, then a verb of speech."""
    return re.compile(rf"(?P<org>{_CN_ORG})\s*(?P<cgap>{_CN_GAP})\s*{verb}")


# Reported speech: the verbs that introduce someone's words without quotation marks ("被认为" is
# what others think of the one named).
# 说 and 称 only before a comma or colon: elsewhere they are mostly parts of other words (来说, 称帝,
# 著称, 简称).
_REPORT_VERB = (
    r"(?<!被)(?:表示|说道|(?<!来)说(?=\s*[,，:：])|称(?=\s*[,，:：])|指出|认为|强调|警告称|警告|透露|直言|"
    r"呼吁|坦言|写道|提到|补充道|宣称|声称|解释说|解释|分享了?)"
)
# Between a reported speaker and the verb only an adverbial phrase fits: when, where, to whom
# ("近期在 Bloomberg Technology 节目中", "就曾直言不讳地", "向北京商报记者"). Anything else ("古代史|料|提到")
# means the "name" was the start of some other word.
_REPORT_GAP_STARTS = ("在", "于", "近期", "近日", "最近", "此前", "日前", "早前", "随后", "同时", "曾", "就",
                      "也", "还", "又", "更", "都", "则", "特别", "直接", "公开", "明确", "再次", "一再", "多次",
                      "进一步", "发文", "撰文", "接受", "向", "对", "跟")
_PLACE_PHRASE_END = re.compile(r"(?:中|上|里|时|期间)$")
# A reported statement may name where it was said between the name and the verb ("Sarah Guo 近期在
# Bloomberg Technology 节目中分享了"), longer than the gap before a quotation.
_LATIN_REPORT_GAP = r"[^，,。！？!?“”「」『』:：\n]{0,30}?"
# A name right after these is the object of a preposition ("在 Bloomberg Technology 节目中提到"), not
# the one speaking.
_PREPOSITIONS = ("在", "于", "据", "从", "对", "向", "和", "与", "跟", "同")
_NAMED_SPEECH = _name_then(_SPEECH_VERB)
_NAMED_AFTER = _name_then(_AFTER_VERB)
_ORG_SPEECH = _org_then(_SPEECH_VERB)
_ORG_AFTER = _org_then(_AFTER_VERB)
_PRONOUN_SPEECH = re.compile(rf"(?P<cn>他|她)\s*(?P<cgap>{_CN_GAP})\s*{_SPEECH_VERB}")
_PRONOUN_AFTER = re.compile(rf"(?P<cn>他|她)(?P<cgap>)\s*{_AFTER_VERB}")
_NAMED_REPORT = _name_then(_REPORT_VERB, _LATIN_REPORT_GAP)
_ORG_REPORT = _org_then(_REPORT_VERB)
_PRONOUN_REPORT = re.compile(rf"(?P<cn>他|她)\s*(?P<cgap>{_CN_GAP})\s*{_REPORT_VERB}")
# "在她看来，……": the view of the one named inside.
_IN_VIEW = re.compile(rf"在(?P<latin>{_LATIN_NAME})?(?P<cn>{_CN_NAME}|他|她)?(?P<cgap>)看来")
# Pattern tiers, strongest first: a name (person or organisation), then a pronoun.
_BEFORE_TIERS = ((_NAMED_SPEECH, _ORG_SPEECH), (_PRONOUN_SPEECH,))
_AFTER_TIERS = ((_NAMED_AFTER, _ORG_AFTER), (_PRONOUN_AFTER,))
_REPORT_TIERS = ((_NAMED_REPORT, _ORG_REPORT, _IN_VIEW), (_PRONOUN_REPORT,))
# A paragraph opening with a short label and a colon ("记者：", "问：") is someone else's turn.
_LABEL = re.compile(r"^[^，,。！？!?:：\n]{1,12}[:：]")
_TURN = re.compile(rf"^(?P<name>{_LATIN_NAME}|{_CN_NAME})\s*[:：]\s*(?=\S)")
# A Chinese name starts after punctuation, a space, Latin text or a title ("创始人李彦宏",
# "CEO 梁文锋"); in the middle of running Chinese ("从单纯回答", "他解释说") it is not a name.
_TITLES = ("创始人", "总裁", "总监", "董事长", "首席执行官", "执行官", "秘书", "教授", "主席", "部长",
           "经理", "负责人", "研究员", "分析师", "工程师", "记者", "总经理", "总编", "院士", "博士", "先生", "女士")
_QUOTATION = re.compile(r"“(?P<a>[^“”]+)”|「(?P<b>[^「」]+)」|『(?P<c>[^『』]+)』")
_SENTENCE_END = re.compile(r"[。！？!?][”」』]?")
# A paragraph that is one quotation and nothing else (its closing punctuation aside).
_WHOLE_QUOTATION = re.compile(r"^\s*(?:“[^“”]+”|「[^「」]+」|『[^『』]+』)[。！？!?…]*\s*$")
# Words that end a noun phrase, not a name: "量化公司强调" names a company, not a person.
_NOT_A_NAME_END = ("公司", "集团", "基金", "政府", "部门", "官员", "人士", "专家", "记者", "机构", "团队",
                   "平台", "媒体", "白皮书", "报告", "文章", "声明")


@dataclass(frozen=True)
class Quote:
    passage: Passage
    text: str               # the words inside the quotation marks, as in the passage
    speaker: str | None     # the named person (or organisation) who said it, when found
    # False: the speaker's own words (in quotation marks, or an interview turn "Name: ..."); True: a
    # sentence reporting them ("Sarah Guo 指出，……"). Either way `text` is verbatim from the passage.
    reported: bool = False


@dataclass(frozen=True)
class _Candidate:
    quote: Quote
    score: int
    order: tuple[int, int]  # (passage index, offset): the deterministic tie-break


def find_notable_quotes(corpus: Corpus, limit: int = 10) -> list[Quote]:
    """The corpus's best quotations said by named people, best first, at most `limit`."""
    passages, originals = _in_simplified(corpus.passages)
    candidates = [c for c in _direct_candidates(passages, _known_names(passages))
                  if c.quote.speaker and len(c.quote.text) >= _MIN_CHARS]
    ranked = sorted(candidates, key=lambda c: (-c.score, c.order))
    return [_as_written(c.quote, originals) for c in _vary_speakers(ranked)][:limit]


def find_statements(corpus: Corpus) -> list[Quote]:
    """Every quotation, reported statement and interview turn, in corpus order, with its speaker.

    Quotations are all of them (speaker None when none is named); reported statements and turns
    always have a speaker. A sentence holding a real quotation is not reported a second time.
    """
    passages, originals = _in_simplified(corpus.passages)
    names = _known_names(passages)
    candidates = _direct_candidates(passages, names) + _reported_candidates(passages, names)
    return [_as_written(c.quote, originals) for c in sorted(candidates, key=lambda c: c.order)]


def quotation_speakers(passages: Sequence[Passage]) -> dict[str, str]:
    """Of one article's passages, in order: passage id -> who speaks, for each passage that is a
    quotation alone, its speaker named in the sentence before ("“开源模型打不过闭源模型……”" after
    "李彦宏……表示：……"). Shown alone, such a quotation would name nobody."""
    passages, originals = _in_simplified(passages)
    out: dict[str, str] = {}
    for candidate in _direct_candidates(passages, _known_names(passages)):
        quote = candidate.quote
        if quote.speaker and quote.passage.id not in out and _WHOLE_QUOTATION.match(quote.passage.text):
            out[quote.passage.id] = _as_written(quote, originals).speaker
    return out


def _in_simplified(passages: Sequence[Passage]) -> tuple[tuple[Passage, ...], "_Originals"]:
    """passages with their text in Simplified characters, one for one, so that the patterns here
    (written in Simplified Chinese: 表示, 认为, 创始人) read a Traditional article too; and the
    originals of those that changed."""
    out, originals = [], _Originals()
    for passage in passages:
        text = simplified_chars(passage.text)
        if text != passage.text:
            read = replace(passage, text=text)
            originals.add(read, passage)
            passage = read
        out.append(passage)
    return tuple(out), originals


class _Originals:
    """The passages that read differently in Simplified characters: each as read and as written."""

    def __init__(self) -> None:
        self.by_id: dict[str, tuple[Passage, Passage]] = {}
        self.by_article: dict[str, list[tuple[Passage, Passage]]] = {}

    def add(self, read: Passage, original: Passage) -> None:
        self.by_id[original.id] = (read, original)
        self.by_article.setdefault(original.source_id, []).append((read, original))

    def name(self, name: str, source_id: str) -> str:
        """A name found in an article read in Simplified characters, as the article writes it."""
        for read, original in self.by_article.get(source_id, ()):
            if (at := read.text.find(name)) >= 0:
                return original.text[at:at + len(name)]
        return name


def _as_written(quote: Quote, originals: _Originals) -> Quote:
    """A quote found in a passage read in Simplified characters, as its article writes it: the
    same places of the original passage (one character stood for one)."""
    pair = originals.by_id.get(quote.passage.id)
    if pair is None:
        return quote
    read, original = pair
    start = read.text.find(quote.text)
    text = original.text[start:start + len(quote.text)] if start >= 0 else quote.text
    speaker = originals.name(quote.speaker, original.source_id) if quote.speaker else quote.speaker
    return replace(quote, passage=original, text=text, speaker=speaker)


def statement_score(quote: Quote) -> int:
    """How good a statement is to show as what its speaker says (higher is better)."""
    score = _score(quote)
    if quote.reported:
        score -= 1  # the speaker's own words say it best; a report of them comes second
    if re.search(r"[？?]", quote.text):
        score -= 2  # words that ask (an interviewer's turn) take no position
    return score


def _direct_candidates(passages: Sequence[Passage], names: tuple[str, ...]) -> list[_Candidate]:
    """Every quotation in quotation marks of the passages, with its speaker when found."""
    candidates = []
    previous: Quote | None = None
    for index, passage in enumerate(passages):
        before = passages[index - 1] if index and passages[index - 1].source_id == passage.source_id else None
        for quote, offset in _passage_quotes(passage, before, previous, names):
            candidates.append(_Candidate(quote, _score(quote), (index, offset)))
            previous = quote
        if not passage.text.startswith(("“", "「", "『")):
            previous = None  # a speaker carries over only to a quotation that continues the speech
    return candidates


def _reported_candidates(passages: Sequence[Passage], names: tuple[str, ...]) -> list[_Candidate]:
    """Sentences reporting a named speaker's words, and interview turns ("Name: ..."), in order.

    A paragraph after a turn, in the same section, without a name of its own, goes on with that
    speaker's turn.
    """
    candidates = []
    turn_speaker: str | None = None   # the interview turn a paragraph without a name continues
    for index, passage in enumerate(passages):
        before = passages[index - 1] if index and passages[index - 1].source_id == passage.source_id else None
        if before is None or before.section != passage.section:
            turn_speaker = None
        turn = _TURN.match(passage.text)
        if turn and _is_turn_name(turn.group("name")):
            turn_speaker = _resolve(turn.group("name"), "", names)
            quote = Quote(passage, passage.text[turn.end():], turn_speaker)
            candidates.append(_Candidate(quote, statement_score(quote), (index, 0)))
            continue
        if turn_speaker and not _QUOTATION.match(passage.text) and not _LABEL.match(passage.text):
            quote = Quote(passage, passage.text, turn_speaker)
            candidates.append(_Candidate(quote, statement_score(quote), (index, 0)))
            continue
        context = before.text + "\n" if before else ""
        for start, end in sentence_spans(passage.text):
            quote = _reported_sentence(passage, start, end, context, names)
            if quote is not None:
                candidates.append(_Candidate(quote, statement_score(quote), (index, start)))
    return candidates


def _adverbial_gap(gap: str) -> bool:
    """Whether the words between a reported speaker and the verb are an adverbial phrase."""
    gap = gap.strip()
    if not gap:
        return True
    if "的" in gap or not gap.startswith(_REPORT_GAP_STARTS):
        return False  # "DeepSe的模型被认为": the model, not DeepSeek, is the subject
    # "在收到警告…": 在 opens a place or time phrase ("在文章中") or it is not an adverbial at all.
    return "在" not in gap or bool(_PLACE_PHRASE_END.search(gap))


def _is_turn_name(name: str) -> bool:
    """Whether the words before a paragraph's colon name a speaker, not a label or a lead-in."""
    return len(name) <= _TURN_NAME_CHARS and name not in ("他", "她")


def _reported_sentence(passage: Passage, start: int, end: int, context: str,
                       names: tuple[str, ...]) -> Quote | None:
    """The sentence as a Quote when it reports a named speaker's words, else None."""
    text = passage.text
    sentence = text[start:end]
    if re.search(r"[？?]$", sentence) or any(len(next(g for g in m.groups() if g)) >= _MIN_CHARS
                                              for m in _QUOTATION.finditer(sentence)):
        return None  # a question asked, or a real quotation (found with its speaker already)
    for tier in _REPORT_TIERS:
        hits = [m for pattern in tier for m in _named(pattern, sentence)
                if m.start() <= _REPORT_LEAD and len(sentence) - m.end() >= _MIN_CHARS and _name(m)
                and _adverbial_gap(m.groupdict().get("lgap") or m.group("cgap") or "")]
        if hits:
            first = min(hits, key=lambda m: m.start())
            speaker = _resolve(_name(first), context + text[:start + first.start()], names)
            return Quote(passage, sentence, speaker, reported=True) if speaker else None
    return None


def _known_names(passages: Sequence[Passage]) -> tuple[str, ...]:
    """Names seen anywhere in the passages right before a speech verb, to resolve 他/她."""
    # Only names whose verb follows an adverbial phrase at most ("苏佩维埃尔始终与…称霸" is no one
    # speaking), so a pronoun is never resolved to a fragment of a word.
    found = {_name(m) for p in passages for m in _named(_NAMED_SPEECH, p.text)
             if _adverbial_gap(m.groupdict().get("lgap") or m.group("cgap") or "")}
    return tuple(sorted(found))


def _named(pattern: re.Pattern[str], text: str, start: int = 0) -> list[re.Match[str]]:
    """Matches of a name-and-verb pattern whose name stands where a name can start."""
    hits = []
    pos = start
    while (m := pattern.search(text, pos)) is not None:
        if _is_name(m, text[:m.start()]):
            hits.append(m)
            pos = m.end()
        else:
            pos = m.start() + 1  # the real name may start one character later
    return hits


def _name(m: re.Match[str]) -> str:
    """The speaker's name in a name-and-verb match (an organisation without its 公司/集团)."""
    groups = m.groupdict()
    if groups.get("org"):
        return groups["org"][:-2]
    return groups.get("latin") or groups.get("cn") or ""


def _is_name(m: re.Match[str], before: str) -> bool:
    """Whether a match's speaker is a person's name rather than a noun phrase or part of a word."""
    gap = (m.groupdict().get("lgap") or m.group("cgap") or "").strip()
    # A gap opening with 向/对/跟 names the one spoken to ("向北京商报记者透露"), not the speaker.
    gap = re.sub(r"^[就也曾还又都]*[向对跟].*$", "", gap)
    if m.groupdict().get("latin") and re.search(rf"(?<![A-Za-z.'-]){_LATIN_WORD}[ \u00b7·]?$", before):
        return False  # the tail of a longer name ("Technology" in "Bloomberg Technology")
    if before.rstrip().endswith(_PREPOSITIONS):
        return False  # "在 Bloomberg Technology 节目中提到": where it was said, not who said it
    if m.groupdict().get("org"):
        return _is_org(_name(m), gap, before)
    if _name(m).endswith(_NOT_A_NAME_END) or gap.endswith(_NOT_A_NAME_END) or any(t in gap for t in _TITLES):
        return False  # "华为…总裁曾警告称", "为 DeepSeek 提供资金的…公司强调": someone else speaks
    if m.groupdict().get("latin") or _name(m) in ("他", "她"):
        return True  # Latin names are told apart by their capitals; pronouns are resolved later
    return not before or not re.search(r"[\u4e00-\u9fff]$", before) or before.endswith(_TITLES)


def _is_org(name: str, gap: str, before: str) -> bool:
    """Whether an organisation match names one: a proper name, speaking itself (no title between)."""
    if _NOT_IN_ORG.search(name) or name.startswith(_ORG_DETERMINERS) or name.endswith(_ORG_DESCRIPTORS):
        return False
    if gap.endswith(_NOT_A_NAME_END) or any(t in gap for t in _TITLES):
        return False  # "某公司的专家表示": the expert speaks
    if before.endswith(_ORG_DESCRIPTORS):
        return True   # in apposition: "对冲基金幻方量化公司"
    at_start = not before or not re.search(r"[\u4e00-\u9fff]$", before)
    return at_start and len(name) >= _MIN_ALONE_ORG_CHARS


def _passage_quotes(passage: Passage, before: Passage | None, previous: Quote | None,
                    names: tuple[str, ...]) -> list[tuple[Quote, int]]:
    """Each quotation of a passage with the speaker found around it."""
    text = passage.text
    quotes = []
    for m in _QUOTATION.finditer(text):
        inner = next(g for g in m.groups() if g is not None)
        speaker = (
            _speaker_before(text, m.start(), names)
            or _speaker_after(text, m.end(), names)
            or _speaker_of_lead_in(text, m.start(), before, previous, names)
        )
        quotes.append((Quote(passage=passage, text=inner, speaker=speaker), m.start()))
    return quotes


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding position pos begins."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, pos)]
    return ends[-1] if ends else 0


def _speaker_before(text: str, quote_start: int, names: tuple[str, ...]) -> str | None:
    """A name with a speech verb in the same sentence, just before the quotation."""
    window = text[_sentence_start(text, quote_start):quote_start]
    for tier in _BEFORE_TIERS:
        hits = [m for pattern in tier for m in _named(pattern, window)
                if len(window) - m.end() <= _VERB_TO_QUOTE and not re.search(r"[“”「」]", window[m.end():])]
        if hits:
            return _resolve(_name(max(hits, key=lambda m: m.end())), text[:quote_start], names)
    return None


def _speaker_after(text: str, quote_end: int, names: tuple[str, ...]) -> str | None:
    """A name with a speech verb right after the quotation, before the sentence ends."""
    rest = text[quote_end:quote_end + _AFTER_WINDOW]
    stop = re.search(r"[。！？!?“「『]", rest)
    rest = rest[:stop.start()] if stop else rest
    for tier in _AFTER_TIERS:
        hits = [m for pattern in tier for m in _named(pattern, rest)]
        if hits:
            return _resolve(_name(min(hits, key=lambda m: m.start())), text[:quote_end], names)
    return None


def _speaker_of_lead_in(text: str, quote_start: int, before: Passage | None, previous: Quote | None,
                        names: tuple[str, ...]) -> str | None:
    """For a quotation opening its sentence: the speaker named in the sentence that leads into it."""
    if text[_sentence_start(text, quote_start):quote_start].strip():
        return None
    # The same passage by its id: a library read from the cache makes a Passage each time one is asked for.
    if quote_start == 0 and previous is not None and before is not None and previous.passage.id == before.id:
        return previous.speaker  # a speech quoted over several paragraphs
    context = text[:quote_start] if quote_start else (before.text if before else "")
    lead = context[_sentence_start(context, max(0, len(context.rstrip()) - 1)):]
    lead = lead or context
    for tier in _BEFORE_TIERS:
        hits = [m for pattern in tier for m in _named(pattern, lead)]
        if hits:
            return _resolve(_name(max(hits, key=lambda m: m.end())), context, names)
    return None


def _resolve(name: str, context: str, names: tuple[str, ...]) -> str | None:
    """A name as found, or for 他/她 the last known name mentioned before it."""
    if name in ("他", "她"):
        # The name ending last before the pronoun; of "Schmidt" and "Eric Schmidt", the longer.
        positions = [(context.rfind(n) + len(n), len(n), n) for n in names if n in context]
        if not positions:
            return None
        name = max(positions)[2]
    # "Schmidt" after "Eric Schmidt" is the same person: use the full name.
    full = [n for n in names if n.endswith(" " + name)]
    return full[0] if len(full) == 1 else name


def _score(quote: Quote) -> int:
    """How good a quotation is to show on its own: a named speaker and one or two full sentences."""
    text = quote.text
    score = 0
    if quote.speaker:
        score += 3 if (" " in quote.speaker or re.search(r"[\u4e00-\u9fff]", quote.speaker)) else 2
    if _GOOD_MIN_CHARS <= len(text) <= _GOOD_MAX_CHARS:
        score += 2
    if re.search(r"[。！!…]$", text) or re.search(r"[，,]", text):
        score += 1  # a full statement, not a phrase
    if re.search(r"[？?]$", text):
        score -= 2  # a question asked is not a position taken
    return score


def _vary_speakers(ranked: list[_Candidate]) -> list[_Candidate]:
    """Ranked candidates with each speaker's quotations beyond the first few moved to the end."""
    seen: dict[str, int] = {}
    head, tail = [], []
    for c in ranked:
        count = seen.get(c.quote.speaker or "", 0)
        seen[c.quote.speaker or ""] = count + 1
        (head if count < _PER_SPEAKER else tail).append(c)
    return head + tail
