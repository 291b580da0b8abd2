"""Deep links that open the bot on a question: t.me/<bot>?start=<payload>.

Telegram passes the payload to the bot as "/start <payload>"; it may hold up to 64 characters
from A-Z, a-z, 0-9, _ and - (Bot API, "Deep linking"). A question travels as "q" followed by its
UTF-8 bytes in unpadded URL-safe base64, which leaves room for 47 bytes: about 15 Chinese
characters or 47 Latin letters. Make one with

    python -m bot.telegram.links YourBot "DeepSeek 为什么开源？"
"""

from __future__ import annotations

import base64
import binascii
import re
import sys

MAX_PAYLOAD_CHARS = 64
QUESTION_PREFIX = "q"
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def start_payload(question: str) -> str | None:
    """The /start payload that asks question, or None when it does not fit in 64 characters."""
    question = " ".join(question.split())
    if not question:
        return None
    encoded = base64.urlsafe_b64encode(question.encode("utf-8")).decode("ascii").rstrip("=")
    payload = QUESTION_PREFIX + encoded
    return payload if len(payload) <= MAX_PAYLOAD_CHARS else None


def question_from_payload(payload: str) -> str | None:
    """The question a /start payload asks, or None for a payload of another kind or a broken one."""
    if not _PAYLOAD.match(payload or "") or not payload.startswith(QUESTION_PREFIX):
        return None
    body = payload[len(QUESTION_PREFIX):]
    try:
        question = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    # A link is anyone's to write: it can only ask, never run a command.
    question = " ".join(question.split()).lstrip("/")
    return question or None


def start_link(bot_username: str | None, question: str) -> str | None:
    """https://t.me/<bot>?start=<payload> for a question, or None if there is no name or it is too long."""
    payload = start_payload(question)
    if not bot_username or payload is None:
        return None
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def main(argv: list[str]) -> int:
    """Print the deep link for a bot's username and a question."""
    if len(argv) != 2:
        print("usage: python -m bot.telegram.links BOT_USERNAME QUESTION", file=sys.stderr)
        return 2
    link = start_link(argv[0], argv[1])
    if link is None:
        print(f"quotebot: the question is too long for a link (at most {MAX_PAYLOAD_CHARS} characters "
              "once encoded, about 15 Chinese characters)", file=sys.stderr)
        return 2
    print(link)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
