"""The operator's figures from the question log: volumes, outcomes, reply time, unanswered questions, busy chats."""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass

from bot.conversation import ANSWERED_KINDS, Reply, ReplyKind
from bot.history import OUTCOMES, SECONDS_PER_DAY, HistoryStore

WEEK_DAYS = 7
TOP_UNANSWERED = 10
TOP_CHATS = 5
# Trailing punctuation and spaces do not make a different question ("美国会赢吗" and "美国会赢吗？").
_TRAILING = re.compile(r"[\s?？!！。.,，~～…]+$")


@dataclass(frozen=True)
class Stats:
    """The figures /stats shows; shares and the median cover the last WEEK_DAYS days."""
    today: int                                   # questions since local midnight
    week: int                                    # questions in the last WEEK_DAYS days
    outcomes: dict[str, int]                     # outcome -> count over the week (every outcome present)
    median_reply_seconds: float | None           # None: no answered question this week
    unanswered: tuple[tuple[str, int], ...]      # (question, times asked), most asked first
    busiest_chats: tuple[tuple[int, int], ...]   # (chat id, questions), busiest first

    def share(self, outcome: str) -> float:
        """The fraction of the week's questions that ended this way (0.0 with no questions)."""
        return self.outcomes[outcome] / self.week if self.week else 0.0


def question_outcome(reply: Reply) -> str | None:
    """How a reply ended a question: "answered", "no_match", or None when it was no question."""
    if reply.kind is ReplyKind.NO_MATCH:
        return "no_match"
    if reply.kind in ANSWERED_KINDS and reply.offset == 0:   # offset > 0: a /more page
        return "answered"
    return None


def question_key(text: str) -> str:
    """The form a question is counted under: trailing punctuation and spacing dropped."""
    return _TRAILING.sub("", " ".join((text or "").split()))


async def record_reply(history: HistoryStore, chat_id: int, user_id: int, reply: Reply,
                       seconds: float) -> str | None:
    """Log the reply to a question (not to commands or pages); returns its outcome."""
    outcome = question_outcome(reply)
    if outcome is not None:
        await history.record_question(chat_id, user_id, outcome, seconds, question_key(reply.query))
    return outcome


async def gather_stats(history: HistoryStore, now: float | None = None) -> Stats:
    """Read the figures from the question log (every value a bound parameter)."""
    now = time.time() if now is None else now
    week_start = now - WEEK_DAYS * SECONDS_PER_DAY
    midnight = datetime.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    [(today,)] = await history.read("SELECT COUNT(*) FROM questions WHERE asked_at >= ?",
                                    (midnight.timestamp(),))
    counts = dict(await history.read(
        "SELECT outcome, COUNT(*) FROM questions WHERE asked_at >= ? GROUP BY outcome", (week_start,)))
    outcomes = {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}
    unanswered = await history.read(
        "SELECT query, COUNT(*) AS asked FROM questions WHERE asked_at >= ? AND outcome = 'no_match'"
        " AND query IS NOT NULL GROUP BY query ORDER BY asked DESC, MAX(asked_at) DESC LIMIT ?",
        (week_start, TOP_UNANSWERED))
    chats = await history.read(
        "SELECT chat_id, COUNT(*) AS asked FROM questions WHERE asked_at >= ?"
        " GROUP BY chat_id ORDER BY asked DESC, chat_id LIMIT ?", (week_start, TOP_CHATS))
    return Stats(today=today, week=sum(outcomes.values()), outcomes=outcomes,
                 median_reply_seconds=await _median_reply(history, week_start),
                 unanswered=tuple((q, n) for q, n in unanswered),
                 busiest_chats=tuple((c, n) for c, n in chats))


async def _median_reply(history: HistoryStore, since: float) -> float | None:
    """The median reply time of questions answered (or not) since then; SQLite has no MEDIAN.

    The middle row is read with OFFSET, so only one value crosses into Python however many there are.
    """
    where = " FROM questions WHERE asked_at >= ? AND reply_seconds IS NOT NULL"
    [(count,)] = await history.read("SELECT COUNT(*)" + where, (since,))
    if not count:
        return None
    middle = await history.read("SELECT reply_seconds" + where + " ORDER BY reply_seconds LIMIT ? OFFSET ?",
                                (since, 2 - count % 2, (count - 1) // 2))
    return sum(value for (value,) in middle) / len(middle)
