"""Which messages are for the bot, Telegram's rules checker, the throttle, the token and its redaction."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.config import Config
from bot.telegram.app import TokenError, TokenRedactor, read_token
from bot.telegram.routing import Action, Route, mentions_bot, route_group, route_private, strip_mention
from bot.telegram.rules import RuleViolation, check_inline_results, check_message, visible_text
from bot.telegram.throttle import Throttle, Verdict

BOT = "TestNameBot"
TOKEN = "123456789:AAH4f1gT0kenT0kenT0kenT0kenT0kenXy"


# --- routing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, route", [
    ("开源有什么好处？", Route(Action.ENGINE, "开源有什么好处？")),
    ("/quote 开源", Route(Action.ENGINE, "/quote 开源")),
    ("/quote@TestNameBot 开源", Route(Action.ENGINE, "/quote 开源")),
    ("/start@testnamebot", Route(Action.ENGINE, "/start")),
    ("/quote@OtherBot 开源", Route(Action.IGNORE)),
    ("更多", Route(Action.ENGINE, "更多")),
    ("/start q5byA5rqQ", Route(Action.QUESTION, "开源")),           # a t.me/<bot>?start= link
    ("/start somebody-elses-payload", Route(Action.ENGINE, "/start")),
])
def test_private_messages_go_to_the_engine_unless_for_another_bot(text: str, route: Route) -> None:
    assert route_private(text, BOT) == route


@pytest.mark.parametrize("text, replied, route", [
    ("/quote 出口管制", None, Route(Action.QUOTE, "出口管制")),
    ("/quote@TestNameBot 出口管制", None, Route(Action.QUOTE, "出口管制")),
    ("/quote", "DeepSeek 花了多少钱？", Route(Action.QUOTE, "DeepSeek 花了多少钱？")),
    ("/quote 开源", "别的话", Route(Action.QUOTE, "开源")),
    ("/quote", None, Route(Action.NOTABLE)),
    ("/quote@OtherBot 出口管制", None, Route(Action.IGNORE)),
    ("/forget", None, Route(Action.FORGET)),
    ("/forget@OtherBot", None, Route(Action.IGNORE)),
    ("/help@TestNameBot", None, Route(Action.ENGINE, "/help")),
    ("今天中午吃什么？", None, Route(Action.IGNORE)),
    ("更多", None, Route(Action.IGNORE)),
    ("@TestNameBot 出口管制有什么影响", None, Route(Action.ASK, "出口管制有什么影响")),
    ("请问 @testnamebot，开源呢？", None, Route(Action.ASK, "请问 ，开源呢？")),
    ("@TestNameBotFan 你好", None, Route(Action.IGNORE)),
])
def test_group_messages_only_commands_for_this_bot_and_mentions(text: str, replied: str | None,
                                                                route: Route) -> None:
    assert route_group(text, BOT, replied) == route


def test_mentions() -> None:
    assert mentions_bot("hi @TestNameBot!", BOT)
    assert not mentions_bot("hi @TestNameBot_2", BOT)
    assert not mentions_bot("mail me: x@TestNameBot.example", "") is True
    assert strip_mention("@TestNameBot   开源  @testnamebot", BOT) == "开源"


# --- Telegram's rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code> <pre><code class=\"language-python\">x</code></pre>",
    "<blockquote>q</blockquote><blockquote expandable>q</blockquote>",
    '<a href="https://example.org/?a=1&amp;b=2">link</a> <span class="tg-spoiler">s</span>',
    "&lt;&gt;&amp;&quot;&#39;&#x1F600; > ok",
])
def test_rules_accept_telegram_html(html: str) -> None:
    assert check_message(html)


@pytest.mark.parametrize("html, reason", [
    ("line<br>break", 'Unsupported start tag "br"'),
    ("<b>open", "Can't find end tag"),
    ("<b><i>x</b></i>", 'Unexpected end tag "b"'),
    ("a & b", "must be escaped"),
    ("&nbsp;", "must be escaped"),
    ("1 < 2", "Unsupported start tag"),
    ("<a>x</a>", 'must have attribute "href"'),
    ("<span>x</span>", "tg-spoiler"),
    ("<b class='x'>x</b>", "Unsupported attribute"),
    ("<blockquote><blockquote>x</blockquote></blockquote>", "can't be nested"),
    ("<code><b>x</b></code>", "inside"),
    ("<b></b>  ", "message text is empty"),
    ("😀" * 2049, "message is too long"),
])
def test_rules_refuse_what_telegram_refuses(html: str, reason: str) -> None:
    with pytest.raises(RuleViolation, match=reason):
        check_message(html)


def test_rules_count_utf16_units_after_parsing() -> None:
    assert check_message("😀" * 2048)
    assert check_message("<b>" + "x" * 4096 + "</b>")
    assert visible_text("<b>a&amp;b</b>") == "a&b"


def test_rules_check_callback_data_size_and_inline_results() -> None:
    button = {"text": "更多", "callback_data": "x" * 64}
    assert check_message("ok", reply_markup={"inline_keyboard": [[button]]})
    with pytest.raises(RuleViolation, match="BUTTON_DATA_INVALID"):
        check_message("ok", reply_markup={"inline_keyboard": [[{**button, "callback_data": "长" * 22}]]})
    with pytest.raises(RuleViolation, match="RESULTS_TOO_MUCH"):
        check_inline_results([{"type": "article", "id": str(i), "title": "t"} for i in range(51)])
    with pytest.raises(RuleViolation, match="can't parse entities"):
        check_inline_results([{"type": "article", "id": "1", "title": "t",
                               "input_message_content": {"message_text": "<x>", "parse_mode": "HTML"}}])


# --- throttle ----------------------------------------------------------------------------------------

def test_throttle_allows_the_limit_then_notifies_once_then_recovers() -> None:
    now = [0.0]
    throttle = Throttle(limit=3, period=60, clock=lambda: now[0])
    assert [throttle.check(1) for _ in range(5)] == [Verdict.ALLOW] * 3 + [Verdict.NOTIFY, Verdict.DROP]
    assert throttle.check(2) is Verdict.ALLOW  # per user
    now[0] = 61.0
    assert throttle.check(1) is Verdict.ALLOW
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.NOTIFY]


# --- token --------------------------------------------------------------------------------------------

def test_token_from_env_wins_over_the_file(config: Config, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN.replace("1234", "9999") + "\n")
    with_file = config.with_overrides(telegram={"token_file": token_file})
    assert read_token(with_file, env={"TELEGRAM_BOT_TOKEN": TOKEN}) == TOKEN
    assert read_token(with_file, env={}) == TOKEN.replace("1234", "9999")


@pytest.mark.parametrize("env", [{}, {"TELEGRAM_BOT_TOKEN": "  "}, {"TELEGRAM_BOT_TOKEN": "abc"},
                                 {"TELEGRAM_BOT_TOKEN": "123:short"}])
def test_missing_or_malformed_token_is_one_sentence_without_the_value(config: Config, env: dict) -> None:
    with pytest.raises(TokenError) as caught:
        read_token(config, env=env)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    assert not env.get("TELEGRAM_BOT_TOKEN", "").strip() or env["TELEGRAM_BOT_TOKEN"] not in message


def test_unreadable_token_file(config: Config, tmp_path: Path) -> None:
    with pytest.raises(TokenError, match="token file"):
        read_token(config.with_overrides(telegram={"token_file": tmp_path / "missing"}), env={})


def test_redactor_hides_the_token_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TokenRedactor(TOKEN))
    logger = logging.getLogger("test-redactor")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Set Bot API URL: %s", f"https://api.telegram.org/bot{TOKEN}")
        logger.warning("quoted %s", TOKEN.replace(":", "%3A"))
        try:
            raise RuntimeError(f"POST /bot{TOKEN}/getMe failed")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "<TOKEN>" in output and "RuntimeError" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
