"""Decide what a Telegram message asks of the bot: private vs group, addressed commands, mentions.

Pure functions of the message text, so the rules are unit-tested without Telegram. In a private
chat every message is for the bot (unless it is a command addressed to another bot); in a group
only commands for this bot and messages that mention it are.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.conversation import parse_command
from bot.telegram.links import question_from_payload


class Action(enum.Enum):
    IGNORE = "ignore"    # not for this bot: send nothing
    ENGINE = "engine"    # hand the text to Engine.handle (commands, questions, 更多)
    QUOTE = "quote"      # group /quote with a question: the single best passage
    NOTABLE = "notable"  # bare /quote: a notable quotation
    ASK = "ask"          # a group message mentioning the bot: answered as a question
    QUESTION = "question"  # a private question to ask as it is (a /start link's payload)
    FORGET = "forget"    # group /forget: only for administrators


@dataclass(frozen=True)
class Route:
    action: Action
    text: str = ""


def mention_pattern(bot_username: str) -> re.Pattern:
    """@BotName as a whole word, any letter case (Telegram usernames are case-insensitive)."""
    return re.compile(rf"@{re.escape(bot_username.lstrip('@'))}(?![A-Za-z0-9_])", re.IGNORECASE)


def mentions_bot(text: str, bot_username: str) -> bool:
    """Whether the text mentions @bot_username."""
    return bool(bot_username) and bool(mention_pattern(bot_username).search(text or ""))


def strip_mention(text: str, bot_username: str) -> str:
    """The text without @bot_username, spaces tidied: what the user asks."""
    return " ".join(mention_pattern(bot_username).sub(" ", text or "").split())


def addressed_elsewhere(bot: str | None, bot_username: str) -> bool:
    """Whether a /command@bot names a bot other than this one."""
    return bool(bot) and bot.lower() != bot_username.lstrip("@").lower()


def route_private(text: str, bot_username: str) -> Route:
    """A private message: everything goes to the engine except commands for another bot.

    "/start <payload>" from a deep link (links.py) asks the payload's question.
    """
    command = parse_command(text)
    if command is None:
        return Route(Action.ENGINE, text)
    if addressed_elsewhere(command.bot, bot_username):
        return Route(Action.IGNORE)
    if command.name == "start" and command.args:
        question = question_from_payload(command.args)
        if question:
            return Route(Action.QUESTION, question)
        return Route(Action.ENGINE, "/start")  # a payload of another kind: the plain welcome
    return Route(Action.ENGINE, _plain_command(command.name, command.args))


def route_group(text: str, bot_username: str, replied_text: str | None = None) -> Route:
    """A group message: this bot's commands, or a mention; ordinary chatter is ignored."""
    command = parse_command(text)
    if command is None:
        if mentions_bot(text, bot_username):
            return Route(Action.ASK, strip_mention(text, bot_username))
        return Route(Action.IGNORE)
    if addressed_elsewhere(command.bot, bot_username):
        return Route(Action.IGNORE)
    if command.name == "quote":
        question = command.args or (replied_text or "").strip()
        return Route(Action.QUOTE, question) if question else Route(Action.NOTABLE)
    if command.name == "forget":
        return Route(Action.FORGET)
    return Route(Action.ENGINE, _plain_command(command.name, command.args))


def _plain_command(name: str, args: str) -> str:
    """The command as the engine reads it, without the @botname."""
    return f"/{name} {args}".strip()
