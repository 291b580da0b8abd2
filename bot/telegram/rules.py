"""Telegram's rules for what a bot may send: its HTML subset, message length, callback data size.

One checker serves the renderer's tests and the test proxy that stands in for Telegram, so both
judge a message the way Telegram would. Errors carry Telegram's own wording ("Bad Request: ...").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MAX_MESSAGE_UTF16 = 4096         # text after entity parsing, counted in UTF-16 code units
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_CHARS = 200
MAX_INLINE_RESULTS = 50
MAX_INLINE_QUERY_CHARS = 256     # InlineQuery.query: "up to 256 characters"

# Tag -> attributes Telegram accepts on it; a tag missing here is "Unsupported start tag".
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(), "strong": frozenset(), "i": frozenset(), "em": frozenset(),
    "u": frozenset(), "ins": frozenset(), "s": frozenset(), "strike": frozenset(),
    "del": frozenset(), "tg-spoiler": frozenset(), "pre": frozenset(),
    "span": frozenset({"class"}), "a": frozenset({"href"}), "code": frozenset({"class"}),
    "tg-emoji": frozenset({"emoji-id"}), "blockquote": frozenset({"expandable"}),
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z][A-Za-z0-9-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*(/?)>")
_ATTR = re.compile(r"([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));")


class RuleViolation(ValueError):
    """A message Telegram would refuse; str() is Telegram's description of the error."""


def utf16_len(text: str) -> int:
    """Length of text as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(html: str) -> str:
    """The text a user sees once Telegram has parsed the HTML; raises RuleViolation if it can't."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while True:
        special = _SPECIAL.search(html, i)
        if special is None:
            out.append(html[i:])
            break
        out.append(html[i:special.start()])
        i = special.start()
        if html[i] == "<":
            i = _take_tag(html, i, stack)
        else:
            match = _ENTITY.match(html, i)
            if match is None:
                raise RuleViolation(_cant_parse(html, i, "Character '&' is reserved and must be escaped"))
            out.append(_decode_entity(match))
            i = match.end()
    if stack:
        raise RuleViolation(_cant_parse(html, len(html),
                                        f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'))
    return "".join(out)


def _take_tag(html: str, i: int, stack: list[str]) -> int:
    """Check the tag starting at html[i], update the open-tag stack, return the index after it."""
    match = _TAG.match(html, i)
    if match is None:
        raise RuleViolation(_cant_parse(html, i, "Unsupported start tag"))
    closing, name, attrs, self_closing = match.group(1), match.group(2).lower(), match.group(3), match.group(4)
    if name not in ALLOWED_TAGS or self_closing:
        raise RuleViolation(_cant_parse(html, i, f'Unsupported start tag "{name}"'))
    if closing:
        if not stack or stack[-1] != name:
            raise RuleViolation(_cant_parse(html, i, f'Unexpected end tag "{name}"'))
        stack.pop()
        return match.end()
    _check_attributes(html, i, name, attrs)
    if name == "blockquote" and "blockquote" in stack:
        raise RuleViolation(_cant_parse(html, i, "Blockquote entities can't be nested"))
    if stack and stack[-1] in ("pre", "code") and not (stack[-1] == "pre" and name == "code"):
        raise RuleViolation(_cant_parse(html, i, f'Unsupported start tag "{name}" inside "{stack[-1]}"'))
    stack.append(name)
    return match.end()


def _check_attributes(html: str, i: int, name: str, attrs: str) -> None:
    """Reject attributes Telegram does not know on this tag, and tags missing a required one."""
    found = {m.group(1).lower(): (m.group(2) or "").strip("\"'") for m in _ATTR.finditer(attrs)}
    unknown = set(found) - ALLOWED_TAGS[name]
    if unknown:
        raise RuleViolation(_cant_parse(html, i, f'Unsupported attribute "{sorted(unknown)[0]}" in tag "{name}"'))
    if name == "a" and not found.get("href"):
        raise RuleViolation(_cant_parse(html, i, 'Tag "a" must have attribute "href"'))
    if name == "span" and found.get("class") != "tg-spoiler":
        raise RuleViolation(_cant_parse(html, i, 'Tag "span" must have class "tg-spoiler"'))
    if name == "tg-emoji" and not found.get("emoji-id"):
        raise RuleViolation(_cant_parse(html, i, 'Tag "tg-emoji" must have attribute "emoji-id"'))


def _decode_entity(match: re.Match) -> str:
    """The character an HTML entity stands for."""
    if match.group(1):
        return _NAMED_ENTITIES[match.group(1)]
    code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _cant_parse(html: str, i: int, what: str) -> str:
    """Telegram's wording for an HTML error, with the byte offset it reports."""
    return f"Bad Request: can't parse entities: {what} at byte offset {len(html[:i].encode('utf-8'))}"


def check_text(text: str, parse_mode: str | None = "HTML") -> str:
    """Check a message text as Telegram would; returns the visible text or raises RuleViolation."""
    shown = visible_text(text) if (parse_mode or "").upper() == "HTML" else text
    if not shown.strip():
        raise RuleViolation("Bad Request: message text is empty")
    if utf16_len(shown) > MAX_MESSAGE_UTF16:
        raise RuleViolation("Bad Request: message is too long")
    return shown


def check_reply_markup(markup: Mapping | None) -> None:
    """Check an inline keyboard: button texts present, one action each, callback data ≤ 64 bytes."""
    if not markup or "inline_keyboard" not in markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            _check_button(button)


def _check_button(button: Mapping) -> None:
    """One inline button as Telegram checks it."""
    if not str(button.get("text", "")).strip():
        raise RuleViolation("Bad Request: text buttons are unallowed in the inline keyboard")
    actions = [k for k in ("callback_data", "url", "switch_inline_query",
                           "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                           "copy_text", "login_url", "web_app", "pay", "callback_game") if k in button]
    if len(actions) != 1:
        raise RuleViolation("Bad Request: can't parse inline keyboard button: "
                            "exactly one of the optional fields must be used")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise RuleViolation("Bad Request: BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("https://", "http://", "tg://")):
        raise RuleViolation("Bad Request: BUTTON_URL_INVALID")
    chosen = button.get("switch_inline_query_chosen_chat")
    if chosen is not None:
        # PTB's docs: Telegram raises an error unless at least one kind of chat may be chosen.
        if not any(chosen.get(k) for k in ("allow_user_chats", "allow_bot_chats", "allow_group_chats",
                                          "allow_channel_chats")):
            raise RuleViolation("Bad Request: BUTTON_TYPE_INVALID")
        if len(str(chosen.get("query", ""))) > MAX_INLINE_QUERY_CHARS:
            raise RuleViolation("Bad Request: BUTTON_TYPE_INVALID")


def check_message(text: str, parse_mode: str | None = "HTML", reply_markup: Mapping | None = None) -> str:
    """Check one outgoing message (text and keyboard); returns the visible text or raises."""
    shown = check_text(text, parse_mode)
    check_reply_markup(reply_markup)
    return shown


def check_inline_results(results: Sequence[Mapping]) -> None:
    """Check answerInlineQuery results: count, ids, titles, and each message text."""
    if len(results) > MAX_INLINE_RESULTS:
        raise RuleViolation("Bad Request: RESULTS_TOO_MUCH")
    ids = [str(r.get("id", "")) for r in results]
    if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode("utf-8")) <= 64 for i in ids):
        raise RuleViolation("Bad Request: RESULT_ID_INVALID")
    for result in results:
        if result.get("type") == "article" and not str(result.get("title", "")).strip():
            raise RuleViolation("Bad Request: RESULT_TITLE_EMPTY")
        content = result.get("input_message_content") or {}
        if "message_text" in content:
            check_text(content["message_text"], content.get("parse_mode"))
        check_reply_markup(result.get("reply_markup"))


def problems(text: str, parse_mode: str | None = "HTML", reply_markup: Mapping | None = None) -> list[str]:
    """Every reason Telegram would refuse this message ([] when it would accept it)."""
    found = []
    for check in (lambda: check_text(text, parse_mode), lambda: check_reply_markup(reply_markup)):
        try:
            check()
        except RuleViolation as exc:
            found.append(str(exc))
    return found
