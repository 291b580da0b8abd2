"""The transport-free conversation engine: commands, questions, follow-ups and paging."""

from __future__ import annotations

import asyncio
import enum
import html
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace

from bot.config import Config
from bot.corpus import Corpus, Passage
from bot.discussion import PAGED, Discussion, Group, Intent, Kind, Page
from bot.followup import FollowUps, Resolution, gives_time
from bot.history import HistoryStore, NewTurn, Turn
from bot.messages import DISCUSSION_EXAMPLES, EXAMPLES, detect_lang, say
from bot.normalize import in_script_of, simplified_chars
from bot.quotes import find_notable_quotes, quotation_speakers
from bot.retrieval import Hit, Retriever, holds_asked_number
from bot.text import only_request, without_request

# Only the first characters of a message are searched: a question is short, and a pasted article
# would otherwise cost time and drown the question's own words. The reply says so.
MAX_QUESTION_CHARS = 500
# What is kept of a user's message in the history (the search uses at most MAX_QUESTION_CHARS).
MAX_TURN_CHARS = 2000
# The earlier questions a follow-up leans on are kept to this length (they chain: 那她呢 after 那他呢).
MAX_CONTEXT_CHARS = 300
HISTORY_TURNS_SHOWN = 10
# Articles whose quotations' speakers are kept worked out (the oldest is dropped past this).
QUOTATION_SOURCES_KEPT = 256
# jieba's tags of a person's, an organisation's, a place's or another proper name, and Latin words.
_SOMEONE_TAGS = ("nr", "ns", "nt", "nz", "eng")
# How far back the follow-up notice looks for the last question asked (past pages of 更多).
LAST_ASKED_TURNS = 12
# Turns looked back through, past replies about a shown passage (谁说的, 出处呢), for the answer
# they were about.
LOOK_BACK_TURNS = 12
KEYWORDS_PER_SOURCE = 5
KEYWORD_PASSAGES = 2000
NOTABLE_QUOTES_POOL = 30

COMMANDS = ("/start", "/help", "/quote", "/more", "/sources", "/history", "/forget")

_COMMAND = re.compile(r"^/(?P<name>[^\s@]+)(?:@(?P<bot>\S+))?(?:\s+(?P<args>.*))?$", re.S)
# What people type for the next page: 更多, 再来几段, 还有吗, 继续, more, next page, ... alone.
_MORE = re.compile(r"^(?:更多|更多的|下一页|继续|接着来|(?:继续|接着)(?:说|讲|看)?|(?:然后|后来|接下来|之后)呢|"
                   r"多来(?:点|一点|几段|几条)|再来(?:点|一点|一些|几段|几条|一页)?"
                   r"|还有(?:吗|呢|没有|别的吗|其他的吗)|(?:show |give me )?more|next(?: page)?)[\s。.!！?？~～…]*$", re.I)
# A question on what someone says or thinks (李彦宏说了什么, 他怎么看开源, 他还说过什么): their
# quotations that do not name them answer it too.
_ASKS_SPEECH = re.compile(r"说|讲|表示|认为|觉得|看法|观点|态度|怎么看|如何看|看待|评价|立场|主张|想法|意见|回应|表态|谈")
# A message that only acknowledges the last reply (好的, 明白了, 谢谢, ok): no question to search.
_ACKNOWLEDGING = re.compile(r"^(?:(?:好的?|好吧|好滴|行|可以|明白|知道|了解|懂|收到|嗯+|哦+|噢+|是的|没错|谢谢(?:你|您)?|多谢|"
                            r"感谢|thanks?(?: you)?|thx|ok(?:ay)?|got it|i see|cool|great|nice)"
                            r"[\s,，。.!！~～…啦了呀哈啊哦的]*)+$", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
# A question about the bot itself (你是谁？, 你能做什么？, "who are you?"): what /start says.
_ABOUT_BOT = re.compile(r"^(?:请问)?(?:你|您)(?:是谁|是什么|是干什么的|是做什么的|是干嘛的|能做什么|能干什么|会什么|可以做什么|"
                        r"能干嘛|有什么用)|^(?:怎么用|如何使用|怎么使用)(?:你|这个)?|"
                        r"^(?:who|what) are you\b|^what can you do\b|^how do (?:i use|you work)\b", re.I)
# The bot's own view asked for (你怎么看？, 你觉得呢？, "what do you think?"): it has none; it
# shows what those quoted on the topic say.
_BOTS_VIEW = re.compile(r"^(?:那|那么)?(?:你|您)(?:个人)?(?:怎么看|如何看|怎么想|觉得呢|觉得怎么样|觉得如何|认为呢|认为如何|"
                        r"的看法(?:呢|是什么|是啥)?|的观点(?:呢|是什么|是啥)?|有什么看法|同意吗|赞同吗|支持吗)|"
                        r"^(?:and )?what do you think\b|^what(?:'s| is) your (?:view|opinion|take)\b|^do you agree\b|"
                        # Asked to judge what was shown (这个说法对吗？, 有道理吗？, 这个数字靠谱吗？): the
                        # bot judges nothing; the others quoted on it are the reader's to weigh.
                        r"^(?:那|那么)?(?:这|那)?(?:个|种|句|些)?(?:话|观点|说法|看法|判断|结论|数字|数据|说辞)?"
                        r"(?:对吗|对不对|有道理吗|有没有道理|靠谱吗|靠不靠谱|可信吗|可不可信|准确吗|正确吗|是真的吗|真的吗|"
                        r"站得住脚吗|合理吗)|^(?:is (?:that|it|this) (?:true|right|correct)|really)\b", re.I)
_TRAILING_ASK = re.compile(r"[\s?？。.!！~～…呢吧啊呀]+$")
_BOTS_VIEW_TAIL = re.compile(r"^[\s?？。.!！~～…呢吧啊呀]*$")
# The bot's view of a topic it names: 你怎么看开源？, 你对出口管制怎么看？, 你对开源有什么看法？
_BOTS_VIEW_OF = (re.compile(r"^(?:那|那么)?(?:你|您)(?:个人)?(?:怎么看待?|如何看待?|如何评价|怎么评价)(?P<t>.+)$"),
                 re.compile(r"^(?:那|那么)?(?:你|您)(?:个人)?对(?P<t>.+?)(?:怎么看|如何看|有什么看法|有啥看法|的看法|的观点|怎么想)"
                            r"[\s?？。.!！~～…呢吧啊呀]*$"))
# Words joined into a topic: a space between two Latin words, none between two Chinese characters.
_JOIN_CJK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_SPACES = re.compile(r"\s+")


class ReplyKind(enum.Enum):
    ANSWER = "answer"              # hits for a question (or a /more page)
    NO_MATCH = "no_match"          # nothing relevant in the articles: say so, say what they cover
    NO_MORE = "no_more"            # /more with nothing left, or no previous question
    EMPTY = "empty"                # an empty or unusable message: ask for a question
    START = "start"
    HELP = "help"
    SOURCES = "sources"
    HISTORY = "history"
    FORGOTTEN = "forgotten"
    UNKNOWN_COMMAND = "unknown_command"
    QUOTES = "quotes"              # bare /quote: notable quotations (hits whose snippet is the quote)
    IGNORED = "ignored"            # a command addressed to another bot (/quote@OtherBot): send nothing
    # Discussing the material (bot.discussion): hits arranged in labelled groups.
    OVERVIEW = "overview"          # one passage standing for each article, with its title
    SPEAKERS = "speakers"          # who is quoted, each with their most notable statement
    COMPARISON = "comparison"      # passages for each side, labelled with the side's name
    WHO_SAID = "who_said"          # a statement's passage, its speaker named
    DIGEST = "digest"              # one article's sections (or paragraphs) with their key sentences
    WHERE_FROM = "where_from"      # the last answer's passage with its article, date and link


# 反对过, 支持了: the side's verb as the articles would hold it.
_STANCE_SUFFIX = re.compile(r"[过了着]$")


def _refers_back(intent: Intent | None) -> bool:
    """Whether a discussion question asks about the passage the last answer showed (谁说的, 出处)."""
    return intent is not None and (intent.kind is Kind.WHERE_FROM or (intent.kind is Kind.WHO_SAID and not intent.statement))


_DISCUSSION_KINDS = {Kind.OVERVIEW: ReplyKind.OVERVIEW, Kind.SPEAKERS: ReplyKind.SPEAKERS,
                     Kind.COMPARISON: ReplyKind.COMPARISON, Kind.WHO_SAID: ReplyKind.WHO_SAID,
                     Kind.DIGEST: ReplyKind.DIGEST, Kind.WHERE_FROM: ReplyKind.WHERE_FROM}
# Replies that answer a question with passages (the question log counts them as answered).
ANSWERED_KINDS = frozenset({ReplyKind.ANSWER, *_DISCUSSION_KINDS.values()})


@dataclass(frozen=True)
class SourceInfo:
    id: str
    title: str
    passage_count: int
    keywords: tuple[str, ...]
    date: str | None
    url: str | None


@dataclass(frozen=True)
class Exchange:
    """A question and the bot's turn for it: what a reply adds to the chat's history once delivered."""
    user_id: int
    question: str                          # the user's message as stored
    summary: str                           # the bot's turn in one line
    passage_ids: tuple[str, ...]           # what /more continues after
    query: str
    offset: int
    context: str | None
    avoid: tuple[str, ...] = ()            # passages the question's pages leave out

    def turns(self) -> tuple[NewTurn, NewTurn]:
        """The user's turn and the bot's, in the order they are stored."""
        return (NewTurn(self.user_id, "user", self.question),
                NewTurn(0, "bot", self.summary, self.passage_ids, self.query, self.offset, self.context,
                        self.avoid))


@dataclass(frozen=True)
class Reply:
    """What the engine answers; adapters turn it into plain text, JSON or Telegram HTML."""
    kind: ReplyKind
    lang: str                              # "zh" or "en": the language of the UI sentences
    hits: tuple[Hit, ...] = ()
    query: str = ""                        # the question the hits answer (the original for /more)
    offset: int = 0                        # rank of the first hit within that question's results
    has_more: bool = False                 # whether /more would give further passages
    lines: tuple[str, ...] = ()            # user-facing sentences from bot.messages, in lang
    sources: tuple[SourceInfo, ...] = ()   # for SOURCES, and topics offered with NO_MATCH
    turns: tuple[Turn, ...] = ()           # for HISTORY
    context: str | None = None             # the earlier question a follow-up leaned on
    truncated: bool = False                # the question was cut to MAX_QUESTION_CHARS
    exchange: Exchange | None = None       # what Engine.record stores (questions and /more only)
    groups: tuple[Group, ...] = ()         # discussion kinds: `hits` arranged under labels


@dataclass(frozen=True)
class Question:
    """A message made ready for search: cleaned text, or why it cannot be searched."""
    text: str             # cleaned and capped: what is searched
    problem: str | None   # None, or a messages key: "empty" / "unusable"
    truncated: bool


def prepare_question(raw: str) -> Question:
    """Clean a message for search: drop control characters and tags, cap its length."""
    if not raw or not raw.strip():
        return Question("", "empty", False)
    text = html.unescape(_TAG.sub(" ", raw))
    text = _SPACES.sub(" ", strip_controls(text)).strip()
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return Question("", "unusable", False)
    if _looks_binary(raw):
        return Question("", "unusable", False)
    truncated = len(text) > MAX_QUESTION_CHARS
    # 请问, 帮我查一下, 谢谢: how it is put to the bot, not what it asks (a follow-up's 他 starts it).
    return Question(without_request(text[:MAX_QUESTION_CHARS].strip()), None, truncated)


def strip_controls(text: str) -> str:
    """text with control and format characters (NUL, ESC, zero-width, direction overrides) as spaces.

    They carry no words, and echoed back (/history in a terminal) an ESC could restyle the screen.
    """
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n" else ch
                   for ch in text)


def _looks_binary(raw: str) -> bool:
    """Mostly control characters or undecodable bytes (U+FFFD): a file, not a message."""
    sample = raw[:2000]
    junk = sum(1 for ch in sample if ch == "\ufffd" or (unicodedata.category(ch) == "Cc"
                                                          and ch not in "\t\n\r"))
    return junk > 0.3 * len(sample)


def _bots_view_of(text: str) -> str:
    """The topic of a question asking the bot's own view of it (开源 of 你怎么看开源？); "" for another."""
    text = simplified_chars(text.strip())
    for pattern in _BOTS_VIEW_OF:
        match = pattern.match(text)
        if match is not None:
            return _TRAILING_ASK.sub("", match.group("t")).strip()
    return ""


def _asks_alone(pattern: re.Pattern, text: str) -> bool:
    """Whether text is pattern's question and nothing more (你怎么看？, not 你怎么看开源？)."""
    text = simplified_chars(text.strip())
    match = pattern.match(text)
    return match is not None and bool(_BOTS_VIEW_TAIL.match(text[match.end():]))


def is_more(text: str) -> bool:
    """Whether a plain message asks for the next page ("更多", "more", "下一页", with punctuation;
    in Traditional script too: 再來幾段, 下一頁)."""
    return bool(_MORE.match(simplified_chars((text or "").strip())))


@dataclass(frozen=True)
class Command:
    name: str          # lower case, without the slash
    bot: str | None    # the @username it was addressed to, if any
    args: str


def parse_command(text: str) -> Command | None:
    """A /command with its optional @botname and arguments, or None for a plain message."""
    match = _COMMAND.match((text or "").strip())
    if not match:
        return None
    return Command(match["name"].lower(), match["bot"], (match["args"] or "").strip())


class Engine:
    """Answers (chat id, user id, text); the console and Telegram adapters are thin shells over it."""

    def __init__(self, config: Config, corpus: Corpus, retriever: Retriever,
                 history: HistoryStore, bot_username: str | None = None) -> None:
        self._config = config
        self._corpus = corpus
        self._speakers_of: dict[str, dict[str, str]] = {}   # source id -> quotation speakers
        self._retriever = retriever
        self._history = history
        self._top_k = config.retrieval.top_k
        self.bot_username = (bot_username or "").lstrip("@") or None
        self._analyzer = retriever.analyzer
        self._followups = FollowUps(retriever.analyzer, retriever.necessity,
                                    lambda word: word in retriever.vocab)
        self.sources = source_infos(corpus, self._analyzer)
        self._discussion = Discussion(corpus, retriever)
        self._quotes: list[Hit] | None = None        # found on first use, then kept
        self._quote_turn: dict[int, int] = {}         # chat id -> next notable quote to show

    # --- routing ---------------------------------------------------------------------------

    async def handle(self, chat_id: int, user_id: int, text: str,
                     lang: str | None = None, *, record: bool = True) -> Reply:
        """Route a message: a /command (with or without @botname), 更多/more, or a question.

        lang is a hint from the transport (e.g. Telegram's language_code); None: from the text.
        A command addressed to another bot gives a Reply of kind IGNORED: adapters send nothing.
        record=False: the question and the bot's turn are not stored yet; see record().
        """
        text = text or ""
        command = parse_command(text)
        if command is None:
            if is_more(text):
                return await self.more(chat_id, user_id, detect_lang(text, lang), record=record)
            return await self.ask(chat_id, user_id, text, lang, record=record)
        if command.bot and self.bot_username and command.bot.lower() != self.bot_username.lower():
            return Reply(ReplyKind.IGNORED, detect_lang("", lang))
        return await self._run_command(chat_id, user_id, command, lang, record)

    async def _run_command(self, chat_id: int, user_id: int, command: Command,
                           lang: str | None, record: bool = True) -> Reply:
        """Dispatch one parsed command."""
        ui = detect_lang(command.args, lang)
        if command.name == "quote":
            if command.args:
                return await self.ask(chat_id, user_id, command.args, lang, record=record)
            return self.quotes(chat_id, ui)
        if command.name in ("start", "help"):
            return self.welcome(ui) if command.name == "start" else self.help(ui)
        if command.name == "more":
            return await self.more(chat_id, user_id, ui, record=record)
        if command.name == "sources":
            return Reply(ReplyKind.SOURCES, ui, sources=self.sources,
                         lines=(say("sources_intro", ui, count=len(self.sources)),))
        if command.name == "history":
            return await self.recent(chat_id, ui)
        if command.name == "forget":
            return await self.forget(chat_id, ui)
        return Reply(ReplyKind.UNKNOWN_COMMAND, ui, lines=(
            say("unknown_command", ui, command="/" + command.name, commands=" ".join(COMMANDS)),))

    # --- fixed replies ---------------------------------------------------------------------

    def welcome(self, lang: str) -> Reply:
        """The /start reply: what the bot does and a few example questions."""
        examples = " / ".join(EXAMPLES[lang])
        return Reply(ReplyKind.START, lang, lines=(
            say("welcome", lang), say("welcome_examples", lang, examples=examples)))

    def help(self, lang: str) -> Reply:
        """The /help reply: one line per command, with an example."""
        keys = ("help_start", "help_help", "help_quote", "help_more", "help_sources",
                "help_history", "help_forget", "help_followup")
        lines = [say("help_intro", lang)]
        lines += [say(key, lang, example=EXAMPLES[lang][0]) for key in keys]
        lines.append(say("help_discuss", lang))
        title = self.sources[0].title if self.sources else ""
        for kind, example in DISCUSSION_EXAMPLES[lang].items():
            lines.append(say(f"help_{kind}", lang, example=example.format(title=title)))
        return Reply(ReplyKind.HELP, lang, lines=tuple(lines))

    # --- questions -------------------------------------------------------------------------

    async def ask(self, chat_id: int, user_id: int, question: str, lang: str | None = None,
                  top_k: int | None = None, *, record: bool = True) -> Reply:
        """Answer a question (follow-ups lean on the chat's previous question) and record it."""
        lang = detect_lang(question, lang)
        top_k = top_k or self._top_k
        prepared = prepare_question(question)
        if prepared.problem:
            example = EXAMPLES[lang][0]
            return Reply(ReplyKind.EMPTY, lang, lines=(say(prepared.problem, lang, example=example),))
        if _ACKNOWLEDGING.match(simplified_chars(prepared.text)):
            return Reply(ReplyKind.EMPTY, lang, lines=(say("acknowledged", lang),))
        if only_request(prepared.text):
            # "帮我查一下": the asking, with nothing asked yet.
            return Reply(ReplyKind.EMPTY, lang, lines=(say("empty", lang, example=EXAMPLES[lang][0]),))
        if _asks_alone(_ABOUT_BOT, prepared.text):
            return self.welcome(lang)
        if _asks_alone(_BOTS_VIEW, prepared.text) or _bots_view_of(prepared.text):
            return await self._no_view_of_its_own(chat_id, user_id, question, lang, record=record,
                                                  topic=_bots_view_of(prepared.text))
        compared = await self._both_sides(chat_id, prepared.text)
        if compared == ():
            # "两者有什么区别？" with nothing named before: which two (not passages on 区别).
            return Reply(ReplyKind.EMPTY, lang, lines=(
                say("both_which", lang, example=DISCUSSION_EXAMPLES[lang]["comparison"]),))
        if compared:
            # "两边有什么不同？" after questions on 中国 and on 美国: the two compared, in the articles' words.
            return await self._discuss(chat_id, user_id, strip_controls(question[:MAX_TURN_CHARS]).strip(),
                                       compared[0], compared[1], lang, record=record)
        if self._followups.tells_more(prepared.text):
            # 详细说说, 举个例子: what 更多 brings, the next passages on the chat's last question.
            return await self.more(chat_id, user_id, detect_lang(question, lang), record=record,
                                   said=strip_controls(question[:MAX_TURN_CHARS]).strip())
        intent = self._discussion.recognize(prepared.text)
        if intent is not None:
            return await self._discuss(chat_id, user_id, strip_controls(question[:MAX_TURN_CHARS]).strip(),
                                       prepared.text, intent, lang, record=record)
        previous = await self._last_question(chat_id, with_passages=True)
        compared = self._compared_with_antecedent(prepared.text, previous)
        if compared is not None:
            # "他和梁文锋有什么不同？" after a question on 李彦宏: the comparison of the two.
            return await self._discuss(chat_id, user_id, strip_controls(question[:MAX_TURN_CHARS]).strip(),
                                       *compared, lang, record=record)
        # "谁反对？" after a question with no side in it (开源有什么好处？): the side on its topic,
        # asked as a question of its own (谁反对开源); its words alone (反对) are no topic.
        sided_topic = await self._side_of_topic(chat_id, prepared.text, previous) if previous else None
        if sided_topic:
            prepared = replace(prepared, text=sided_topic)
        around = self._in_context(prepared.text, previous)
        if around:
            # "什么意思？": the bot explains nothing itself; the author's words around the passage do.
            said = strip_controls(question[:MAX_TURN_CHARS]).strip()
            exchange = self._exchange(user_id, said, around, previous.query, 0, previous.context, lang)
            if record:
                await self._history.append_turns(chat_id, exchange.turns())
            return Reply(ReplyKind.ANSWER, lang, hits=tuple(around), query=previous.query, offset=0, has_more=False,
                         lines=(say("in_context", lang),), context=previous.context, exchange=exchange)
        resolution = self._followups.resolve(prepared.text, self._earlier_question(previous), self._first_shown(previous))
        if not resolution.leaning and not self._analyzer.tokenize(resolution.query):
            # No word to search and nothing to lean on (嗯, 哈哈, "a"): ask for a question.
            return Reply(ReplyKind.EMPTY, lang, lines=(say("empty", lang, example=EXAMPLES[lang][0]),))
        # A contrast ("那中国呢？") asks for the other side: what the earlier question showed is left out.
        # So does a question for something else ("他还说过什么？").
        shown = await self._shown_for(chat_id, previous) if (resolution.replaced or resolution.besides) else ()
        avoid = shown
        told = self._when_shown(prepared.text, previous, resolution, top_k) if resolution.leaning else []
        if told:
            # "这是什么时候的事？": the passages just shown that say when answer it.
            hits, has_more = told, False
        else:
            hits, has_more = await self._page(resolution.query, 0, top_k, resolution.context, avoid)
        if not hits and avoid and resolution.keeps:
            # Nothing else: a shown passage naming what was put in place of the earlier word
            # answers too ("腾讯呢？" after 华为, where the one passage on 腾讯 names both).
            avoid = self._avoided(shown, resolution)
            hits, has_more = await self._page(resolution.query, 0, top_k, resolution.context, avoid)
        if hits and not self._answers(hits, resolution, prepared.text):
            hits, has_more = [], False
        if hits and resolution.subject:
            hits = self._about_subject(hits, resolution.subject)
        if not hits and not resolution.leaning:
            # Nothing alone: a short question right after an answer may still lean on it.
            retry = self._followups.as_follow_up(prepared.text, self._earlier_question(previous))
            if retry is not None:
                found, more = await self._page(retry.query, 0, top_k, retry.context)
                if found and self._answers(found, retry, prepared.text):
                    resolution, hits, has_more = retry, found, more
        said = strip_controls(question[:MAX_TURN_CHARS]).strip()
        # Read before this exchange is stored: the question leaned on is an earlier one.
        asked = await self._last_asked(chat_id, previous) if resolution.leaning and previous else ""
        # A contrast shows the last question as asked, turned round (not what was searched).
        turned = self._followups.turned(asked, resolution.swaps) if resolution.contrast else None
        if resolution.contrast and (not turned or turned == prepared.text):
            # The last question was itself short ("那好处呢？" before "成本呢？"): what was searched.
            turned = resolution.contrast
        if turned:
            turned = in_script_of(turned, asked or prepared.text)   # 誰反對開源, not 誰反对開源
        notices = [say("too_long", lang, limit=MAX_QUESTION_CHARS)] if prepared.truncated else []
        if sided_topic and not resolution.leaning:
            notices.append(say("topic_side", lang, query=_shorten(sided_topic, 40)))
        if resolution.contrast:
            notices.append(say("contrast", lang, query=_shorten(turned, 40)))
        elif resolution.leaning:
            notices.append(say("followup", lang, previous=_shorten(asked, 40)))
        # Who takes a side, asked alone or as a contrast's turned question (谁反对？ after 谁支持开源？):
        # when nothing answers, or people are asked for and no passage says the side (反对), those
        # quoted on the topic, in their words.
        sided = turned if resolution.contrast else None if resolution.leaning else prepared.text
        stance = self._discussion.stance(sided) if sided and not resolution.besides else None
        if stance is not None and (not hits or (self._followups.asks_people(sided)
                                                and not self._followups.knows(_STANCE_SUFFIX.sub("", stance.stance)))):
            # "谁反对开源？" where no passage says 反对: those quoted on 开源, in their own words.
            return await self._discuss(chat_id, user_id, said, self._discussion.speakers_query(stance.topic, lang),
                                       stance, lang, record=record, notices=tuple(notices),
                                       found=(say("stance_unsaid", lang, stance=stance.stance),), context=sided)
        exchange = self._exchange(user_id, said, hits, resolution.query, 0, resolution.context, lang, avoid)
        if record:
            await self._history.append_turns(chat_id, exchange.turns())
        if not hits:
            about = resolution.query if resolution.leaning else None
            return replace(self._no_match(lang, prepared.text, notices, resolution.context, prepared.truncated,
                                          about, besides=resolution.besides and bool(avoid)), exchange=exchange)
        return Reply(ReplyKind.ANSWER, lang, hits=tuple(hits), query=resolution.query, offset=0,
                     has_more=has_more, lines=tuple(notices), context=resolution.context,
                     truncated=prepared.truncated, exchange=exchange)

    async def more(self, chat_id: int, user_id: int, lang: str | None = None, *,
                   record: bool = True, said: str = "/more") -> Reply:
        """The next page of passages for the chat's last question; said is the message that asked
        for it, as the history keeps it (/more, or "详细说说")."""
        lang = lang or "zh"
        previous = await self._last_question(chat_id)
        if previous is None:
            return Reply(ReplyKind.NO_MORE, lang, lines=(say("no_previous", lang),))
        offset = previous.offset + len(previous.passage_ids)
        intent = self._discussion.recognize(previous.query or "")
        if intent is not None and intent.kind in PAGED and previous.passage_ids:
            return await self._discuss(chat_id, user_id, said, previous.query, intent, lang, offset, record=record,
                                       context=previous.context)
        hits: list[Hit] = []
        has_more = False
        if previous.passage_ids and intent is None:  # nor has an abstained question or a comparison
            hits, has_more = await self._page(previous.query, offset, self._top_k, previous.context, previous.avoid)
        exchange = self._exchange(user_id, said, hits, previous.query, offset, previous.context, lang,
                                  previous.avoid)
        if record:
            await self._history.append_turns(chat_id, exchange.turns())
        if not hits:
            return Reply(ReplyKind.NO_MORE, lang, query=previous.query, offset=offset,
                         lines=(say("no_more", lang),), exchange=exchange)
        # A page past the answers says what it shows: the rest of the best answer's section.
        first_nearby = next((n for n, h in enumerate(hits) if h.nearby), None)
        notice = () if first_nearby is None else (say("nearby", lang),) if first_nearby == 0 else \
            (say("nearby_from", lang, number=offset + first_nearby + 1),)
        return Reply(ReplyKind.ANSWER, lang, hits=tuple(hits), query=previous.query, offset=offset,
                     has_more=has_more, context=previous.context, exchange=exchange,
                     lines=notice)

    async def digest(self, chat_id: int, user_id: int, source_id: str, lang: str | None = None, *,
                     record: bool = True) -> Reply:
        """One article's digest (a button under /sources); 更多 continues it."""
        lang = lang or "zh"
        source = self._corpus.source(source_id)
        if source is None or not source.passages:
            return Reply(ReplyKind.NO_MORE, lang, lines=(say("digest_missing", lang),))
        query = self._discussion.digest_query(source)
        return await self._discuss(chat_id, user_id, query, query, Intent(Kind.DIGEST, source_id=source.id), lang,
                                   record=record)

    async def _discuss(self, chat_id: int, user_id: int, user_text: str, query: str, intent: Intent,
                       lang: str, offset: int = 0, *, record: bool = True, notices: tuple[str, ...] = (),
                       found: tuple[str, ...] = (), context: str | None = None) -> Reply:
        """A discussion reply (bot.discussion), recorded so that 更多 continues it from `query`;
        notices come before the page's own lines, and found after them when the page has any;
        context is recorded with it for a follow-up to lean on (the side a who-question asked)."""
        last = await self._history.last_answer(chat_id, with_passages=True)
        anchor = self._corpus.passage(last.passage_ids[0]) if last and last.passage_ids else None
        # In a worker thread: the first who-is-quoted question reads every passage for statements,
        # seconds on a big library, and the other chats must not wait for it.
        page: Page = await asyncio.to_thread(self._discussion.page, intent, lang, offset, anchor)
        hits = list(page.hits)
        exchange = self._exchange(user_id, user_text, hits, query, offset, context, lang)
        if record:
            await self._history.append_turns(chat_id, exchange.turns())
        if not hits:
            if offset:
                return Reply(ReplyKind.NO_MORE, lang, query=query, offset=offset, lines=(say("no_more", lang),),
                             exchange=exchange)
            if _refers_back(intent):  # "谁说的？" with nothing asked before: ask for a question
                return Reply(ReplyKind.NO_MORE, lang, lines=page.lines, exchange=exchange)
            # A discussion that found nothing says so in its own words (文章里没有找到谁就「…」说过什么).
            return replace(self._no_match(lang, query, list(notices), None, False, said=page.lines), exchange=exchange)
        return Reply(_DISCUSSION_KINDS[page.kind], lang, hits=tuple(hits), query=query, offset=offset,
                     has_more=page.has_more, lines=(*notices, *found, *page.lines), groups=page.groups, exchange=exchange)

    async def _page(self, query: str, offset: int, top_k: int, context: str | None,
                    avoid: tuple[str, ...] = ()) -> tuple[list[Hit], bool]:
        """top_k hits from offset on, and whether more follow (asks for one extra to know).

        Past the passages that answer, the pages go on into the rest of the best one's section
        (Retriever.search's nearby); the first page shows only answers, but tells there is more.
        """
        # In a worker thread: a question that touches much of a big library takes tens of
        # milliseconds, and the other chats' questions must not wait for it.
        hits = await asyncio.to_thread(self._ranked, query, offset, top_k + 1, context, avoid)
        hits = [self._with_speaker(h) for h in hits]
        if offset == 0:
            answers = [h for h in hits if not h.nearby][:top_k]
            return answers, len(hits) > len(answers)
        return hits[:top_k], len(hits) > top_k

    def _ranked(self, query: str, offset: int, count: int, context: str | None,
                avoid: tuple[str, ...]) -> list[Hit]:
        """count hits from rank offset on: the retriever's, or for a question on what someone named
        says, those with their quotations put in (_with_their_quotations)."""
        names = self._retriever.names_in(query) if _ASKS_SPEECH.search(simplified_chars(query)) else []
        if names:
            return self._with_their_quotations(query, names, offset + count, context, avoid)[offset:]
        return self._retriever.search(query, top_k=count, offset=offset, context=context, avoid=avoid, nearby=True)

    def _with_their_quotations(self, query: str, names: list[str], depth: int, context: str | None,
                               avoid: tuple[str, ...]) -> list[Hit]:
        """The first `depth` hits for a question on what someone named says (李彦宏怎么看开源？,
        他还说过什么？), with their quotations that do not name them: a passage that is a quotation
        alone ("“开源模型打不过闭源模型……”") follows the one saying who speaks, so its words never
        match the name. Such quotations (on the question's topic, when it has one) come after the
        hits naming the speaker and before the others; every page is cut from this one order."""
        hits = self._retriever.search(query, top_k=depth, context=context, avoid=avoid, nearby=True)
        sources = dict.fromkeys([h.passage.source_id for h in hits]
                                + [h.passage.source_id for name in names for h in self._retriever.search(name, top_k=5)])
        # Each quotation alone of those articles, in their order, with its speaker's key.
        quoted = {pid: self._analyzer.name_key(speaker)
                  for sid in sources for pid, speaker in self._quotation_speakers(sid).items()}
        # Of the names the question holds (开源 is one of the library's terms), those quoted.
        keys = {self._analyzer.name_key(name) for name in names} & set(quoted.values())
        if not keys:
            return hits[:depth]
        names = [name for name in names if self._analyzer.name_key(name) in keys]
        topic = [w for w in self._followups.own_words(query)   # 说过, 看法: the asking, no topic
                 if len(w) > 1 and self._analyzer.name_key(w) not in keys and not _ASKS_SPEECH.search(w)]
        skip = {h.passage.id for h in hits} | set(avoid)
        theirs = [pid for pid, key in quoted.items() if key in keys]
        extra = []
        for pid in (pid for pid in theirs if pid not in skip):
            hit = self._retriever.passage_hit(pid, query)
            if hit is not None and (not topic or set(topic) & set(self._analyzer.tokenize(hit.passage.text))):
                extra.append(hit)
        norm_names = [self._analyzer.normalize(name) for name in names]
        mine = set(theirs)

        def about(hit: Hit) -> bool:
            text = self._analyzer.normalize(hit.passage.text)
            return hit.passage.id in mine or any(name in text for name in norm_names)
        answers = [h for h in hits if not h.nearby]
        # Without a topic (他还说过什么？) it asks for their words only: the rest are someone else's.
        others = [h for h in answers if not about(h)] if topic else []
        ranked = [h for h in answers if about(h)] + extra + others + [h for h in hits if h.nearby]
        return ranked[:depth]

    def _with_speaker(self, hit: Hit) -> Hit:
        """A quotation shown alone names who said it: the article names them in the sentence
        before, which the quote does not show."""
        if hit.speaker or hit.passage.speaker:
            return hit
        speaker = self._quotation_speakers(hit.passage.source_id).get(hit.passage.id)
        return replace(hit, speaker=speaker) if speaker else hit

    def _quotation_speakers(self, source_id: str) -> dict[str, str]:
        """quotation_speakers of one article, worked out when one of its passages is first shown."""
        if source_id not in self._speakers_of:
            source = self._corpus.source(source_id)
            if len(self._speakers_of) >= QUOTATION_SOURCES_KEPT:
                self._speakers_of.pop(next(iter(self._speakers_of)))
            self._speakers_of[source_id] = quotation_speakers(source.passages) if source else {}
        return self._speakers_of[source_id]

    def _exchange(self, user_id: int, question: str, hits: list[Hit], query: str, offset: int,
                  context: str | None, lang: str, avoid: tuple[str, ...] = ()) -> Exchange:
        """The turns a reply adds: the user's words, and the bot's summary with what /more continues
        (a page past the first that found nothing says the passages ran out, not that none was found)."""
        summary = (say("bot_summary_answer", lang, count=len(hits)) if hits
                   else say("bot_summary_no_more", lang) if offset > 0 else say("bot_summary_none", lang))
        return Exchange(user_id, question, summary, tuple(h.passage.id for h in hits), query, offset, context, avoid)

    # --- two steps, for an adapter that stores a reply only once it was delivered ------------

    async def record(self, chat_id: int, reply: Reply) -> None:
        """Store what a reply made with record=False adds to the history (call it once delivered)."""
        if reply.exchange is not None:
            await self._history.append_turns(chat_id, reply.exchange.turns())

    def _names_someone(self, name: str) -> bool:
        """Whether a name the articles hold is a person's, a company's or a place's (jieba's proper
        name tags, or Latin), someone who can have said something: 开源 is a topic."""
        words = self._analyzer.tokenize(self._analyzer.normalize(name))
        return bool(words) and self._analyzer.word_tag(words[0]).startswith(_SOMEONE_TAGS)

    def _no_match(self, lang: str, query: str, notices: list[str], context: str | None,
                  truncated: bool, about: str | None = None, besides: bool = False,
                  said: tuple[str, ...] = ()) -> Reply:
        """Nothing relevant: say so honestly and name what the articles cover. about: what a
        follow-up was searched as, which names what its pronoun stands for (他多大了 -> 梁文锋);
        besides: it asked for something else than the passages just shown, and they are all;
        said: a discussion's own words for what it did not find, said instead of the plain one."""
        titles = "、".join(f"《{s.title}》" for s in self.sources) if lang == "zh" else \
            "; ".join(f"“{s.title}”" for s in self.sources)
        # A name the articles know, asked something they never say of it (李彦宏多大年纪): say so.
        names = self._retriever.names_in(about or query)
        listed = "、".join(names) if lang == "zh" else ", ".join(names)
        if besides:
            return Reply(ReplyKind.NO_MATCH, lang, query=query, lines=(*notices, say("nothing_else", lang)),
                         sources=self.sources, context=context, truncated=truncated)
        speakers = [name for name in names if self._names_someone(name)]
        named = ((say("named_elsewhere", lang, names=listed, first=speakers[0]),) if speakers else
                 (say("named_elsewhere_topic", lang, names=listed),) if names else ())
        lines = (*notices, *(said or (say("no_match", lang),)), *named, say("topics", lang, titles=titles))
        return Reply(ReplyKind.NO_MATCH, lang, query=query, lines=lines, sources=self.sources,
                     context=context, truncated=truncated)

    def _compared_with_antecedent(self, text: str, previous: Turn | None) -> tuple[str, Intent] | None:
        """A comparison one of whose sides is a pronoun, with the name it stands for put in (他和梁文锋
        有什么不同？ -> 李彦宏和梁文锋有什么不同？), as a question and its intent; None otherwise."""
        if previous is None:
            return None
        question = self._followups.with_antecedent(text, self._earlier_question(previous), self._first_shown(previous))
        intent = self._discussion.recognize(question) if question else None
        return (question, intent) if intent is not None and intent.kind is Kind.COMPARISON else None

    async def _both_sides(self, chat_id: int, text: str) -> tuple[str, Intent] | tuple[()] | None:
        """For "两边有什么不同？": the comparison of the two names the chat's last questions named
        (中国, then 美国), on the topic of the first of them (or the one this question gives), as a
        question and its intent; () when the chat named no two; None when this is no such question."""
        topic = self._followups.both_sides(text)
        if topic is None:
            return None
        names: list[str] = []
        seen: set[str] = set()   # their keys: 梁文峰 and 梁文锋 are one name
        earlier = ""
        for turn in reversed(await self._history.recent_turns(chat_id, LOOK_BACK_TURNS)):
            if turn.role != "user" or turn.text.startswith("/"):
                continue
            for name in self._followups.proper_names(turn.text):
                if self._analyzer.name_key(name) not in seen:
                    seen.add(self._analyzer.name_key(name))
                    names.append(name)
            if len(names) >= 2:
                earlier = turn.text
                break
        if len(names) < 2:
            return ()
        second, first = names[0], names[1]
        if not topic:
            sides = (self._analyzer.normalize(first), self._analyzer.normalize(second))
            topic = "".join(w for w in self._followups.own_words(earlier)
                            if len(w) > 1 and not any(w in side for side in sides))   # sarah of Sarah Guo
        question = f"{first}和{second}在{topic}上有什么不同" if topic else f"{first}和{second}有什么不同"
        intent = self._discussion.recognize(question)
        return (question, intent) if intent is not None and intent.kind is Kind.COMPARISON else ()

    async def _last_question(self, chat_id: int, with_passages: bool = False) -> Turn | None:
        """The chat's last answer to a question: past a reply about that answer's passage ("谁说的？",
        "出自哪篇文章？"), which asked nothing new, to the answer it was about, so that a follow-up
        leans on that question and 更多 goes on with its pages."""
        last = await self._history.last_answer(chat_id, with_passages=with_passages)
        if last is None or not self._about_shown(last.query):
            return last
        turns = await self._history.recent_turns(chat_id, LOOK_BACK_TURNS)
        for turn in reversed(turns):
            if (turn.role == "bot" and turn.query is not None and (turn.passage_ids or not with_passages)
                    and not self._about_shown(turn.query)):
                return turn
        return last

    def _about_shown(self, query: str | None) -> bool:
        """Whether a recorded question asked about the passage shown before it (谁说的, 出处呢)."""
        return _refers_back(self._discussion.recognize(query or ""))

    async def _last_asked(self, chat_id: int, previous: Turn) -> str:
        """The last question the chat asked, in the user's own words, for the follow-up notice.

        previous.query is what was searched: a follow-up's is its question joined with what it
        leaned on (他还说过什么 梁文锋), which reads as no question. A page (更多) asked nothing,
        and neither did a message answered with the question before it again (有证据吗 shown the
        first passage's surroundings, a bare 为什么？): the question asked is the one before.
        """
        turns = await self._history.recent_turns(chat_id, LAST_ASKED_TURNS)
        asked = [(user, bot) for user, bot in zip(turns, turns[1:])
                 if user.role == "user" and bot.role == "bot" and bot.query and bot.offset == 0]
        for k in range(len(asked) - 1, -1, -1):
            user, bot = asked[k]
            if not bot.passage_ids or self._about_shown(bot.query):
                continue
            if k > 0 and bot.query in (asked[k - 1][1].query, self._earlier_question(asked[k - 1][1])):
                continue   # the question before (with what it leaned on), answered again
            # A side asked as a contrast (谁反对？) is recorded as it was read (谁反对开源), and
            # so is one asked of the topic (谁支持？ searched as 谁支持出口管制).
            if bot.context and self._discussion.stance(bot.context):
                return bot.context
            return bot.query if self._discussion.bare_stance(user.text) else user.text
        return previous.query or ""

    async def _side_of_topic(self, chat_id: int, question: str, previous: Turn) -> str | None:
        """A who-takes-a-side question naming no topic (谁反对？, 有人支持吗？), asked of the chat's
        last question's own words (开源 of 开源有什么好处？): 谁反对开源. None for another question,
        when the last question brings no word of its own, or when it was a follow-up."""
        side = self._discussion.bare_stance(question)
        if side is None or previous.context:
            # A last question that leaned itself ("那美国呢？") has no topic of its own words.
            return None
        topic = await self._topic_of_last(chat_id, previous)
        return in_script_of(f"谁{side}{topic}", question) if topic else None

    async def _topic_of_last(self, chat_id: int, previous: Turn) -> str:
        """The topic of the chat's last question, in its own words, without whom it asked about:
        有人不同意吗？ / 你怎么看？ after 李彦宏对开源是什么态度？ are of 开源, not of him (who would
        be the one quoted); a name alone stays ("" when the question brings no word at all)."""
        asked = await self._last_asked(chat_id, previous)
        if not self._followups.own_words(asked):
            # The last question was a bare 为什么？: its topic is what it was searched with.
            asked = previous.query
        words = self._followups.own_written(asked)
        named = set(self._followups.names(asked, who=True))
        words = [w for w in words if w not in named] or words
        return _JOIN_CJK.sub("", " ".join(words))

    async def _no_view_of_its_own(self, chat_id: int, user_id: int, question: str, lang: str, *,
                                  record: bool, topic: str = "") -> Reply:
        """"你怎么看？": the bot has no view; those quoted on the topic (the one named, else the
        chat's last) have theirs."""
        previous = await self._last_question(chat_id, with_passages=True)
        named = bool(topic)
        if topic:
            topic = _JOIN_CJK.sub("", " ".join(self._followups.own_written(topic)))
        elif previous is not None and previous.query:
            topic = await self._topic_of_last(chat_id, previous)
        if not topic:
            return Reply(ReplyKind.EMPTY, lang, lines=(say("own_view_alone", lang, example=EXAMPLES[lang][0]),))
        said = strip_controls(question[:MAX_TURN_CHARS]).strip()
        reply = await self._discuss(chat_id, user_id, said, topic, Intent(Kind.SPEAKERS, topic=topic), lang,
                                    record=False, notices=(say("own_view", lang),))
        if reply.kind is ReplyKind.NO_MATCH and not named and previous is not None and previous.query:
            # No one quoted on it ("这个数字靠谱吗？" after the training cost): what else the
            # articles say on the question just answered, past what it showed (that the figure
            # is underestimated), is the articles' word on it.
            elsewhere = await self._said_elsewhere(chat_id, user_id, said, previous, lang)
            if elsewhere is not None:
                reply = elsewhere
        if record and reply.exchange is not None:
            await self._history.append_turns(chat_id, reply.exchange.turns())
        return reply

    async def _said_elsewhere(self, chat_id: int, user_id: int, said: str, previous: Turn, lang: str) -> Reply | None:
        """The chat's last question's other passages, those it did not show, as the articles' word
        on what was shown (recorded by the caller); None when it showed all there are."""
        shown = await self._shown_for(chat_id, previous)
        hits, has_more = await self._page(previous.query, 0, self._top_k, previous.context, shown)
        if not hits:
            return None
        exchange = self._exchange(user_id, said, hits, previous.query, 0, previous.context, lang, shown)
        return Reply(ReplyKind.ANSWER, lang, hits=tuple(hits), query=previous.query, offset=0, has_more=has_more,
                     lines=(say("own_view_elsewhere", lang),), context=previous.context, exchange=exchange)

    def _earlier_question(self, previous: Turn | None) -> str | None:
        """The chat's last answered question, with what it leaned on, for a follow-up to lean on."""
        # previous is the last question that found passages: one that found nothing ("今天天气怎么样")
        # is no topic to lean on.
        if previous is None or not previous.query:
            return None
        chain = previous.query if not previous.context else f"{previous.query} {previous.context}"
        return chain[:MAX_CONTEXT_CHARS]

    def _answers(self, hits: list[Hit], resolution: Resolution, question: str) -> bool:
        """Whether a follow-up's hits answer it, not only the earlier topic. What it asks about
        must be in a passage ("他住在哪个城市？" after a question on Dario), and so must a number
        of the kind it asks ("他多大了？" after a question on 梁文锋: the year of an interview is
        no age)."""
        if resolution.must_hold and not any(self._holds(h, resolution.must_hold) for h in hits):
            return False
        return not resolution.leaning or self._holds_number(hits, question)

    def _when_shown(self, question: str, previous: Turn | None, resolution: Resolution, top_k: int) -> list[Hit]:
        """For a question asking when what was just shown happened (FollowUps.asks_when_shown), the
        passages shown that give a date, in the order shown; [] for any other question."""
        if not (previous and previous.passage_ids and self._followups.asks_when_shown(question)):
            return []
        hits = [self._retriever.passage_hit(pid, resolution.query) for pid in previous.passage_ids]
        return [self._with_speaker(h) for h in hits if h is not None and gives_time(h.passage.text)][:top_k]

    def _in_context(self, question: str, previous: Turn | None) -> list[Hit]:
        """For a question asking what was just shown means (FollowUps.asks_meaning_shown), the first
        passage shown, then the passages before and after it in its article (highlighting the
        earlier question's words); [] for any other question. It stays first, so a second 什么意思？
        shows the same place, not one that drifts a passage each time."""
        if not (previous and previous.passage_ids and self._followups.asks_meaning_shown(question)):
            return []
        centre = previous.passage_ids[0]
        around = [centre] + [p.id for p in self._corpus.neighbours(centre) if p.id != centre]
        hits = [self._retriever.passage_hit(pid, previous.query) for pid in around]
        return [self._with_speaker(h) for h in hits if h is not None]

    def _first_shown(self, previous: Turn | None) -> str | None:
        """The text of the first passage the chat's last answer showed (None: none, or gone)."""
        return self._passage_text(previous.passage_ids[0]) if previous and previous.passage_ids else None

    def _passage_text(self, passage_id: str) -> str | None:
        """The text of the library's passage of that id (None when the library no longer has it:
        a reload between the turns)."""
        try:
            return self._retriever.passages[self._retriever.row_of(passage_id)].text
        except KeyError:
            return None

    def _avoided(self, shown: tuple[str, ...], resolution: Resolution) -> tuple[str, ...]:
        """The passages the earlier question showed, but those holding a word put in place of the
        earlier one's."""
        return tuple(pid for pid in shown if not self._passage_holds(pid, resolution.keeps))

    async def _shown_for(self, chat_id: int, previous: Turn | None) -> tuple[str, ...]:
        """Every passage the chat was shown for the question previous answered: its first page and
        the pages 更多 brought ("她还说过什么？" after two pages leaves out both)."""
        if previous is None:
            return ()
        turns = await self._history.recent_turns(chat_id, LOOK_BACK_TURNS)
        pages = [t for t in turns if t.role == "bot" and t.query == previous.query and t.context == previous.context]
        return tuple(dict.fromkeys([pid for t in pages for pid in t.passage_ids] + list(previous.passage_ids)))

    def _passage_holds(self, passage_id: str, words: tuple[str, ...]) -> bool:
        """Whether the library's passage of that id holds one of the words (False when it is gone)."""
        text = self._passage_text(passage_id)
        return text is not None and self._text_holds(text, words)

    def _about_subject(self, hits: list[Hit], names: tuple[str, ...]) -> list[Hit]:
        """The hits about what a follow-up's pronoun stands for (naming it, quoting it, or in an
        article titled with it): "它什么时候开花？" after a question on 月季 is not answered by
        another article's 开花. All of them when none is (the pronoun may be read wrong)."""
        about = [h for h in hits if self._text_holds(self._about_text(h), names)]
        return about or hits

    def _about_text(self, hit: Hit) -> str:
        """What a passage is about, to look for a name in: its text, its article's title, its
        speaker (an interview's turn, a quotation's), and the paragraph before it (a quotation
        continues its lead-in: "李彦宏……表示：")."""
        before = [p.text for p in self._corpus.neighbours(hit.passage.id) if p.position == hit.passage.position - 1]
        return " ".join((hit.passage.text, self._title_of(hit.passage), hit.speaker or "", hit.passage.speaker or "",
                         *before))

    def _title_of(self, passage: Passage) -> str:
        source = self._corpus.source(passage.source_id)
        return source.title if source is not None else ""

    def _holds(self, hit: Hit, words: tuple[str, ...]) -> bool:
        """Whether a hit's passage holds one of the words, or a form standing for most of one
        (a synonym, a translation, the word jieba glued it into: 研究 of 研究会用来)."""
        return self._text_holds(hit.passage.text, words)

    def _text_holds(self, text: str, words: tuple[str, ...]) -> bool:
        """_holds for a passage's text."""
        held = set(self._analyzer.tokenize(text))
        return any(t.token in held for word in words for t in self._analyzer.query_terms(word)
                   if t.kind != "subword" or t.weight >= 0.5)

    def _holds_number(self, hits: list[Hit], question: str) -> bool:
        """Whether a hit holds a number of the kind the question asks (True when it asks none)."""
        asked = self._analyzer.normalize(question)
        return any(holds_asked_number(asked, h.passage.text) for h in hits)

    def is_follow_up(self, question: str) -> bool:
        """Whether a question leans on an earlier one (a pronoun, 呢, or no words of its own)."""
        return self._followups.resolve(question, "…").leaning

    # --- chat state ------------------------------------------------------------------------

    async def recent(self, chat_id: int, lang: str) -> Reply:
        """This chat's last turns (the /history command)."""
        turns = await self._history.recent_turns(chat_id, HISTORY_TURNS_SHOWN)
        line = say("history_intro", lang) if turns else say("history_empty", lang)
        return Reply(ReplyKind.HISTORY, lang, turns=tuple(turns), lines=(line,))

    async def forget(self, chat_id: int, lang: str | None = None) -> Reply:
        """Erase the chat's history."""
        lang = lang or "zh"
        count = await self._history.forget(chat_id)
        self._quote_turn.pop(chat_id, None)
        return Reply(ReplyKind.FORGOTTEN, lang, lines=(say("forgotten", lang, count=count),))

    # --- stateless services ----------------------------------------------------------------

    def context(self, passage_id: str) -> tuple[Passage, ...]:
        """A passage with its neighbours from the article, for a "上下文" button."""
        return self._corpus.neighbours(passage_id)

    def search(self, query: str, top_k: int = 10, offset: int = 0) -> list[Hit]:
        """Stateless search (inline mode, paged from offset): no history is read or written."""
        return search_question(self._retriever, query, top_k, offset)

    async def next_page(self, chat_id: int) -> tuple[str, int] | None:
        """What /more would continue: the chat's last question and the rank its next page starts at."""
        previous = await self._last_question(chat_id)
        if previous is None or previous.query is None:
            return None
        return previous.query, previous.offset + len(previous.passage_ids)

    def notable_quotes(self, limit: int = 10) -> list[Hit]:
        """Quotations by named people in the articles, for bare /quote and empty inline queries."""
        if self._quotes is None:
            self._quotes = [Hit(passage=q.passage, score=0.0, snippet=q.text, matched_terms=(),
                                speaker=q.speaker)
                            for q in find_notable_quotes(self._corpus, NOTABLE_QUOTES_POOL)]
        return self._quotes[:limit]

    def quotes(self, chat_id: int, lang: str, count: int | None = None) -> Reply:
        """Bare /quote: the next count (default top_k) notable quotations, new ones each time in a chat."""
        pool = self.notable_quotes(NOTABLE_QUOTES_POOL)
        if not pool:
            return Reply(ReplyKind.QUOTES, lang, lines=(say("no_quotes", lang),))
        start = self._quote_turn.get(chat_id, 0) % len(pool)
        count = min(count or self._top_k, len(pool))
        self._quote_turn[chat_id] = start + count
        hits = tuple(pool[(start + i) % len(pool)] for i in range(count))
        return Reply(ReplyKind.QUOTES, lang, hits=hits, lines=(say("quotes_intro", lang),))


def search_question(retriever: Retriever, query: str, top_k: int, offset: int = 0) -> list[Hit]:
    """The retriever's hits for a user's text after the engine's cleaning; [] for unusable input."""
    prepared = prepare_question(query)
    if prepared.problem:
        return []
    return retriever.search(prepared.text, top_k=top_k, offset=offset)


def source_infos(corpus: Corpus, analyzer) -> tuple[SourceInfo, ...]:
    """Each source's title, passage count and top tf-idf terms (whole words, idf across sources).

    Keywords are read from at most KEYWORD_PASSAGES passages in all, spread over the sources:
    the bundled articles are read whole, while a library of 200,000 passages does not spend a
    minute of start-up re-tokenizing everything for a list of five words a source (beyond the
    budget, a source simply shows no keywords).
    """
    per_source: list[Counter[str]] = []
    surfaces: dict[str, Counter[str]] = {}  # normalized term -> how the articles spell it
    per_source_cap = max(1, KEYWORD_PASSAGES // max(1, len(corpus.sources)))
    budget = KEYWORD_PASSAGES
    for source in corpus.sources:
        counts: Counter[str] = Counter()
        sample = source.passages[:min(per_source_cap, budget)]
        budget -= len(sample)
        for passage in sample:
            for token in analyzer.tokens(passage.text):
                if token.whole and _keyword_like(token.text):
                    counts[token.text] += 1
                    surfaces.setdefault(token.text, Counter())[passage.text[token.start:token.end]] += 1
        per_source.append(counts)
    document_frequency = Counter(t for counts in per_source for t in counts)
    n = len(per_source)
    infos = []
    for source, counts in zip(corpus.sources, per_source):
        # Smoothed idf across the articles, times rarity in general Chinese (jieba's dictionary), so
        # a source's own terms (闭源, 星际之门) beat words it merely uses often (导致, 从而).
        # Sublinear tf: a word repeated in every paragraph of one article is not its topic by itself.
        weight = {t: (1 + math.log(c)) * math.log((1 + n) / document_frequency[t]) * analyzer.rarity(t)
                  for t, c in counts.items()}
        ranked = sorted(weight, key=lambda t: (-weight[t], t))
        keywords = tuple(surfaces[t].most_common(1)[0][0] for t in ranked[:KEYWORDS_PER_SOURCE])
        infos.append(SourceInfo(source.id, source.title, len(source.passages), keywords,
                                source.date, source.url))
    return tuple(infos)


def _keyword_like(term: str) -> bool:
    """A term worth showing as a keyword: two characters or more, not a bare number."""
    return len(term) >= 2 and not term.replace(".", "").isdigit()


def _shorten(text: str | None, limit: int) -> str:
    """text cut to limit characters with … when longer."""
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"
