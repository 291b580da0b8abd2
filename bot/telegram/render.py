"""Turn the engine's Reply into Telegram messages: escaped HTML, within Telegram's limits, with buttons.

Every text the user or an article wrote is escaped; the only tags are <blockquote>, <b> and <i>.
The best quote of a reply is shown open; the others, and the neighbours in the context view, are
<blockquote expandable> when long. Each quote ends with its source line. A message never exceeds
4096 UTF-16 code units: a long reply is split between passages and a single passage too long for
one message is cut with "…". Callback data stays within 64 bytes; a 分享 button opens inline mode
in a chat the user picks, on a query that names the passage (#tag), so it comes first there.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import (InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle,
                      InputTextMessageContent, LinkPreviewOptions, SwitchInlineQueryChosenChat)

from bot.conversation import Reply, ReplyKind, SourceInfo
from bot.corpus import Passage
from bot.messages import EXAMPLES, say
from bot.retrieval import Hit
from bot.telegram.rules import MAX_CALLBACK_DATA_BYTES, MAX_MESSAGE_UTF16, utf16_len, visible_text

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Room kept free in each message so a trimming mark always fits.
SAFETY_MARGIN = 16
INLINE_DESCRIPTION_CHARS = 120
INLINE_TITLE_CHARS = 64
MORE_PREFIX = "more:"
CONTEXT_PREFIX = "ctx:"
CONTEXT_HASH_PREFIX = "ctx#"
EXAMPLE_PREFIX = "ex:"
# Telegram shows a <blockquote expandable> folded to three lines. A quote after a reply's first is
# folded when longer than this: six lines on a phone (some 20 Chinese characters a line), so the
# fold hides at least half of it. Retrieval's snippets stop near 160 characters.
EXPANDABLE_CHARS = 120
# The question's words in a 分享 query are cut to this: with the tag, the query stays far below
# the 256 characters an inline query may hold (Bot API, InlineQuery.query).
SHARE_WORDS_CHARS = 60
_SHARE_TAG = re.compile(r"(?:^|\s)#([0-9a-f]{24})\s*$")
DIGEST_PREFIX = "dig:"          # an article's digest: "dig:<source id>" or "dig#<hash>"
DIGEST_HASH_PREFIX = "dig#"
SOURCES_PREFIX = "src:"         # a further page of /sources: "src:<lang>:<offset>"
# /sources lists this many articles a message, each with a digest button: ten buttons in two rows
# fit a phone's width, where a library of hundreds would exceed Telegram's 100 buttons a keyboard.
SOURCES_PAGE = 10
# Buttons in one keyboard row: five short labels ("上下文 10") still fit a phone's width.
BUTTONS_PER_ROW = 5
_DISCUSSION_KINDS = frozenset({ReplyKind.OVERVIEW, ReplyKind.SPEAKERS, ReplyKind.COMPARISON,
                               ReplyKind.WHO_SAID, ReplyKind.DIGEST, ReplyKind.WHERE_FROM})

# Control and format characters (NUL, escape, bidi overrides) are stripped from what is sent.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Outgoing:
    """One message to send: Telegram HTML and an optional inline keyboard."""
    text: str
    keyboard: InlineKeyboardMarkup | None = None


class CallbackKeys:
    """Callback data for passage buttons, short enough for Telegram's 64 bytes, and back again.

    A passage id that fits is used as it is (readable, and valid across restarts); a longer one
    (long or non-Latin file names) becomes a hash, resolved through the corpus's passage ids.
    """

    def __init__(self, passage_ids: Iterable[str], source_ids: Iterable[str] = ()) -> None:
        self._by_hash = {_short_hash(pid): pid for pid in passage_ids}
        self._source_by_hash = {_short_hash(sid): sid for sid in source_ids}

    def digest_data(self, source_id: str) -> str:
        """The callback data of an article's digest button (under /sources and overviews)."""
        data = DIGEST_PREFIX + source_id
        if len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            return data
        return DIGEST_HASH_PREFIX + _short_hash(source_id)

    def source_id(self, data: str) -> str | None:
        """The article a digest button's callback data stands for (None: unknown)."""
        if data.startswith(DIGEST_HASH_PREFIX):
            return self._source_by_hash.get(data[len(DIGEST_HASH_PREFIX):])
        if data.startswith(DIGEST_PREFIX):
            return data[len(DIGEST_PREFIX):]
        return None

    def context_data(self, passage_id: str) -> str:
        """The callback data of the "上下文" button for a passage."""
        data = CONTEXT_PREFIX + passage_id
        if len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            return data
        return CONTEXT_HASH_PREFIX + _short_hash(passage_id)

    def passage_id(self, data: str) -> str | None:
        """The passage id a "上下文" button's callback data stands for (None: unknown)."""
        if data.startswith(CONTEXT_HASH_PREFIX):
            return self._by_hash.get(data[len(CONTEXT_HASH_PREFIX):])
        if data.startswith(CONTEXT_PREFIX):
            return data[len(CONTEXT_PREFIX):]
        return None

    def share_tag(self, passage_id: str) -> str:
        """The tag that names a passage in a 分享 button's inline query."""
        return _short_hash(passage_id)

    def shared_passage(self, tag: str) -> str | None:
        """The passage id a 分享 tag names (None: unknown, e.g. the articles changed)."""
        return self._by_hash.get(tag)


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


# --- text helpers -----------------------------------------------------------------------------

def clean(text: str) -> str:
    """Text safe to put in a message: lone surrogates repaired, control characters dropped."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _UNSENDABLE.sub("", text)


def escape(text: str) -> str:
    """Cleaned and HTML-escaped text."""
    return html.escape(clean(text), quote=False)


def cut(text: str, limit: int) -> str:
    """text shortened to at most `limit` UTF-16 units, ending with … when cut."""
    if utf16_len(text) <= limit:
        return text
    out = []
    used = 1  # the … mark
    for ch in text:
        used += utf16_len(ch)
        if used > limit:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


def highlight(snippet: str, terms: Sequence[str]) -> str:
    """snippet escaped, with each occurrence of the matched terms in <b> (longest term wins)."""
    snippet = clean(snippet)
    spans: list[tuple[int, int]] = []
    for term in sorted({clean(t) for t in terms if t and t.strip()}, key=len, reverse=True):
        for match in re.finditer(re.escape(term), snippet, re.IGNORECASE):
            start, end = match.span()
            if all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
    out, at = [], 0
    for start, end in _merge_adjacent(sorted(spans)):
        out.append(html.escape(snippet[at:start], quote=False))
        out.append(f"<b>{html.escape(snippet[start:end], quote=False)}</b>")
        at = end
    out.append(html.escape(snippet[at:], quote=False))
    return "".join(out)


def _merge_adjacent(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Touching spans as one (成本价格, not 成本 then 价格 in two bold runs)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def source_line(passage: Passage, lang: str, speaker: str | None = None) -> str:
    """The italic line under a quote: who said it (for a quotation), the title and the section."""
    if passage.section:
        line = say("tg_source_section", lang, title=passage.source_title, section=passage.section)
    else:
        line = say("tg_source", lang, title=passage.source_title)
    if speaker:
        line = say("quote_speaker", lang, speaker=speaker, source=line.lstrip("—– "))
    return f"<i>{escape(line)}</i>"


def quote_block(hit: Hit, lang: str, limit: int = MAX_MESSAGE_UTF16 - SAFETY_MARGIN, fold: bool = False,
                with_source: bool = True) -> str:
    """One passage as a blockquote with the matched terms in bold, its source as the last line.

    fold: a quote that is not the reply's first is expandable when long. with_source=False when a
    label above already names the source (an overview's title, a digest's section).
    """
    source = source_line(hit.passage, lang, hit.speaker) if with_source else ""
    room = limit - utf16_len(visible_text(source)) - 1
    snippet = cut(clean(hit.snippet or hit.passage.text), max(room, 1))
    quote = f"{blockquote_tag(snippet, fold)}{highlight(snippet, hit.matched_terms)}</blockquote>"
    return f"{quote}\n{source}" if source else quote


def blockquote_tag(text: str, fold: bool = True) -> str:
    """<blockquote expandable> for a quote that may fold and is longer than EXPANDABLE_CHARS, else <blockquote>."""
    return "<blockquote expandable>" if fold and utf16_len(text) > EXPANDABLE_CHARS else "<blockquote>"


# --- packing into messages --------------------------------------------------------------------

def pack(blocks: Sequence[str], limit: int = MAX_MESSAGE_UTF16, joiner: str = "\n\n") -> list[str]:
    """Join HTML blocks (with blank lines between) into as few messages as fit within limit each."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        block = _fit_block(block, limit)
        length = utf16_len(visible_text(block))
        extra = length + (len(joiner) if current else 0)
        if current and size + extra > limit:
            messages.append(joiner.join(current))
            current, size = [], 0
            extra = length
        current.append(block)
        size += extra
    if current:
        messages.append(joiner.join(current))
    return messages


def _fit_block(block: str, limit: int) -> str:
    """A block that fits in one message: a plain-text block too long is cut (quotes fit already)."""
    if utf16_len(visible_text(block)) <= limit:
        return block
    return escape(cut(visible_text(block), limit - SAFETY_MARGIN))


def text_block(lines: Iterable[str]) -> str:
    """Sentences (from bot.messages, or the user's words inside them) as escaped lines."""
    return "\n".join(escape(line) for line in lines if line)


# --- replies ----------------------------------------------------------------------------------

def render_reply(reply: Reply, keys: CallbackKeys, max_hits: int | None = None) -> list[Outgoing]:
    """The engine's reply as Telegram messages; [] when nothing is to be sent (IGNORED)."""
    if reply.kind is ReplyKind.IGNORED:
        return []
    if reply.kind is ReplyKind.SOURCES:
        return render_sources(reply.sources, reply.lang, keys)
    hits = reply.hits[:max_hits] if max_hits is not None and not reply.groups else reply.hits
    blocks = [text_block(reply.lines)] if reply.lines else []
    if reply.groups:
        blocks += group_blocks(reply)
    else:
        blocks += [quote_block(hit, reply.lang, fold=i > 0) for i, hit in enumerate(hits)]
    blocks += _extra_blocks(reply)
    texts = pack([b for b in blocks if b]) or [escape(say("no_match", reply.lang))]
    keyboard = _keyboard(reply, hits, keys)
    return [Outgoing(t) for t in texts[:-1]] + [Outgoing(texts[-1], keyboard)]


def group_blocks(reply: Reply) -> list[str]:
    """A discussion reply's groups: a side's name over its quotes, or a numbered label and its quote."""
    blocks = []
    number = reply.offset
    limit = MAX_MESSAGE_UTF16 - SAFETY_MARGIN
    for group in reply.groups:
        if group.heading:
            head = f"<b>{escape(group.label)}</b>"
            if not group.hits:
                blocks.append(f"{head}\n<i>{escape(group.note)}</i>")
            for i, hit in enumerate(group.hits):
                number += 1
                room = limit - (utf16_len(group.label) + 1 if i == 0 else 0)
                block = quote_block(hit, reply.lang, room, fold=number > reply.offset + 1,
                                    with_source=group.show_source)
                blocks.append(f"{head}\n{block}" if i == 0 else block)
            continue
        for hit in group.hits:
            number += 1
            label = _title(group.label, reply.lang) if reply.kind is ReplyKind.OVERVIEW else group.label
            head = f"{number}. {label}" if label else ""
            block = quote_block(hit, reply.lang, limit - utf16_len(head) - 1, fold=number > reply.offset + 1,
                                with_source=group.show_source)
            blocks.append(f"<b>{escape(head)}</b>\n{block}" if head else block)
    return blocks


def _title(title: str, lang: str) -> str:
    """An article's title as the UI quotes it: 《…》 in Chinese, “…” in English."""
    return f"《{title}》" if lang == "zh" else f"“{title}”"


def render_sources(sources: Sequence[SourceInfo], lang: str, keys: CallbackKeys, offset: int = 0) -> list[Outgoing]:
    """One page of /sources: numbered articles with their keywords, a digest button each, 下一页."""
    shown = sources[offset:offset + SOURCES_PAGE]
    sep = "、" if lang == "zh" else ", "
    lines = [say("sources_intro", lang, count=len(sources))]
    if len(sources) > SOURCES_PAGE:
        lines.append(say("tg_sources_page", lang, first=offset + 1, last=offset + len(shown)))
    lines += [f"{offset + i + 1}. " + say("tg_source_item", lang, title=s.title, count=s.passage_count,
                                          keywords=sep.join(s.keywords))
              for i, s in enumerate(shown)]
    texts = pack([escape(line) for line in lines], joiner="\n")
    buttons = [InlineKeyboardButton(say("tg_button_digest", lang, n=offset + i + 1), callback_data=keys.digest_data(s.id))
               for i, s in enumerate(shown)]
    rows = _rows(buttons)
    if offset + len(shown) < len(sources):
        rows.append([InlineKeyboardButton(say("tg_button_next_sources", lang),
                                          callback_data=f"{SOURCES_PREFIX}{lang}:{offset + len(shown)}")])
    keyboard = InlineKeyboardMarkup(rows) if rows else None
    return [Outgoing(t) for t in texts[:-1]] + [Outgoing(texts[-1], keyboard)]


def parse_sources_page(data: str) -> tuple[str, int] | None:
    """(lang, offset) of a /sources 下一页 button, or None for data of another shape."""
    try:
        lang, offset = data[len(SOURCES_PREFIX):].split(":")
        return (lang if lang in EXAMPLES else "zh"), max(0, int(offset))
    except ValueError:
        return None


def _rows(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Buttons in rows of BUTTONS_PER_ROW."""
    return [list(buttons[i:i + BUTTONS_PER_ROW]) for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def _extra_blocks(reply: Reply) -> list[str]:
    """The lists a few kinds of reply carry (the chat's turns), in chunks that fit a message."""
    lines = []
    if reply.kind is ReplyKind.HISTORY:
        for turn in reply.turns:
            role = say("tg_role_user" if turn.role == "user" else "tg_role_bot", reply.lang)
            lines.append(f"{role}: {cut(' '.join(turn.text.split()), 200)}")
    # Chunks a little under the limit, so each still fits beside the reply's first lines.
    return pack([escape(line) for line in lines], limit=MAX_MESSAGE_UTF16 // 2, joiner="\n")


def _keyboard(reply: Reply, hits: Sequence[Hit], keys: CallbackKeys) -> InlineKeyboardMarkup | None:
    """Buttons under a reply: 上下文 per passage and 更多 for answers; examples under /start."""
    if reply.kind is ReplyKind.START:
        return example_keyboard(reply.lang)
    if reply.kind in _DISCUSSION_KINDS and hits:
        return _discussion_keyboard(reply, hits, keys)
    if reply.kind not in (ReplyKind.ANSWER, ReplyKind.QUOTES) or not hits:
        return None
    rows = [[InlineKeyboardButton(say("tg_button_context", reply.lang, n=reply.offset + i + 1),
                                  callback_data=keys.context_data(hit.passage.id))
             for i, hit in enumerate(hits)]]
    last = [share_button(reply, hits[0], keys)]
    if reply.kind is ReplyKind.ANSWER and reply.has_more:
        last.insert(0, InlineKeyboardButton(say("tg_button_more", reply.lang),
                                            callback_data=more_data(reply.lang, reply.offset + len(hits), reply.query)))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def share_button(reply: Reply, hit: Hit, keys: CallbackKeys) -> InlineKeyboardButton:
    """分享: inline mode in a chat the user picks, on a query whose first result is this passage."""
    return InlineKeyboardButton(
        say("tg_button_share", reply.lang),
        switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
            query=share_query(reply.query, keys.share_tag(hit.passage.id)),
            allow_user_chats=True, allow_group_chats=True, allow_channel_chats=True))


def share_query(question: str, tag: str) -> str:
    """The inline query a 分享 button types: the question's words (cut), then the passage's #tag."""
    words = " ".join(clean(question or "").split())
    return f"{cut(words, SHARE_WORDS_CHARS)} #{tag}".strip()


def split_share_tag(query: str) -> tuple[str, str | None]:
    """An inline query's words and the #tag of a shared passage at its end (None: no tag)."""
    match = _SHARE_TAG.search(query or "")
    if match is None:
        return (query or "").strip(), None
    return query[:match.start()].strip(), match.group(1)


def _discussion_keyboard(reply: Reply, hits: Sequence[Hit], keys: CallbackKeys) -> InlineKeyboardMarkup:
    """Under an overview a digest button per article; under the other kinds 上下文 per passage; 更多."""
    first = reply.offset + 1
    if reply.kind is ReplyKind.OVERVIEW:
        buttons = [InlineKeyboardButton(say("tg_button_digest", reply.lang, n=first + i),
                                        callback_data=keys.digest_data(hit.passage.source_id))
                   for i, hit in enumerate(hits)]
    else:
        buttons = [InlineKeyboardButton(say("tg_button_context", reply.lang, n=first + i),
                                        callback_data=keys.context_data(hit.passage.id))
                   for i, hit in enumerate(hits)]
    rows = _rows(buttons)
    if reply.has_more:
        rows.append([InlineKeyboardButton(say("tg_button_more", reply.lang),
                                          callback_data=more_data(reply.lang, reply.offset + len(hits), reply.query))])
    return InlineKeyboardMarkup(rows)


@dataclass(frozen=True)
class MorePress:
    """What a 更多 button stands for: its language, and the page it continues."""
    lang: str
    offset: int        # rank the next page starts at
    query_key: str     # short hash of the question the button's message answered

    def continues(self, query: str | None, next_offset: int) -> bool:
        """Whether the chat's last answer (its question, where its next page starts) is this button's."""
        return query is not None and query_key(query) == self.query_key and next_offset == self.offset


def query_key(query: str) -> str:
    """A short, stable stand-in for a question, to tell a current 更多 button from a stale one."""
    return hashlib.blake2b(query.encode("utf-8"), digest_size=5).hexdigest()


def more_data(lang: str, offset: int, query: str) -> str:
    """The 更多 button's callback data: language, where the next page starts, which question."""
    return f"{MORE_PREFIX}{lang}:{offset}:{query_key(query)}"


def parse_more(data: str) -> MorePress | None:
    """The 更多 button's meaning, or None for data of another shape."""
    try:
        lang, offset, key = data[len(MORE_PREFIX):].split(":")
        return MorePress(lang if lang in EXAMPLES else "zh", int(offset), key)
    except ValueError:
        return None


def example_keyboard(lang: str) -> InlineKeyboardMarkup:
    """One button per example question; pressing it asks that question."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(cut(question, 60), callback_data=f"{EXAMPLE_PREFIX}{lang}:{i}")]
                                 for i, question in enumerate(EXAMPLES[lang])])


def example_question(data: str) -> tuple[str, str] | None:
    """(question, lang) for an example button's callback data, or None when it is stale."""
    try:
        lang, index = data[len(EXAMPLE_PREFIX):].split(":")
        return EXAMPLES[lang][int(index)], lang
    except (ValueError, KeyError, IndexError):
        return None


def without_more_button(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard with its 更多 button removed (after it was used), None when nothing is left."""
    if markup is None:
        return None
    rows = [[b for b in row if not (b.callback_data or "").startswith(MORE_PREFIX)]
            for row in markup.inline_keyboard]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def render_context(passages: Sequence[Passage], focus_id: str, lang: str) -> list[Outgoing]:
    """A passage with its neighbours: the passage itself quoted, the neighbours as plain text."""
    if not passages:
        return [Outgoing(escape(say("tg_context_missing", lang)))]
    blocks = [f"<i>{escape(say('tg_context_header', lang, title=passages[0].source_title))}</i>"]
    for passage in passages:
        body = cut(clean(passage.text), MAX_MESSAGE_UTF16 - SAFETY_MARGIN)
        if passage.id == focus_id:
            blocks.append(f"<blockquote>{html.escape(body, quote=False)}</blockquote>")
        else:  # the neighbours are there to be opened if wanted
            blocks.append(f"{blockquote_tag(body)}{html.escape(body, quote=False)}</blockquote>")
    return [Outgoing(t) for t in pack(blocks)]


def render_notice(key: str, lang: str, **values: object) -> Outgoing:
    """A one-sentence message of the adapter's own (throttle notice, apology, hints)."""
    return Outgoing(escape(say(key, lang, **values)))


# --- inline mode ------------------------------------------------------------------------------

def render_inline_results(hits: Sequence[Hit], lang: str, ask_link: str | None = None,
                          limit: int = 10) -> list[InlineQueryResultArticle]:
    """Inline results: the title, a snippet as description, and the quote with its source as the message.

    ask_link: a t.me deep link asking the same question, shown as a button under the sent quote.
    limit: a page holds 10 results, and the first page of a 分享 query one more (the shared quote).
    """
    keyboard = (InlineKeyboardMarkup([[InlineKeyboardButton(say("tg_button_ask_bot", lang), url=ask_link)]])
                if ask_link else None)
    results = []
    seen = set()
    for hit in hits:
        passage = hit.passage
        if passage.id in seen or len(results) == limit:
            continue
        seen.add(passage.id)
        title = passage.source_title + (f" · {passage.section}" if passage.section else "")
        results.append(InlineQueryResultArticle(
            id=_short_hash(passage.id),
            title=cut(clean(title), INLINE_TITLE_CHARS),
            description=cut(" ".join(clean(hit.snippet).split()), INLINE_DESCRIPTION_CHARS),
            input_message_content=InputTextMessageContent(
                quote_block(hit, lang), parse_mode="HTML", link_preview_options=NO_PREVIEW),
            reply_markup=keyboard))
    return results

