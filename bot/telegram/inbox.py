"""The inbox: every update is recorded in the database before it is acted on, and done once.

python-telegram-bot confirms a batch of updates to Telegram with its next getUpdates, before it
has answered them, and Telegram never sends a confirmed update again: an update fetched when the
bot is killed would be lost. So `InboxQueue.put` (through which the poller and the webhook pass
every update) writes it to the inbox first, and the next poll only happens after that commit.
`UpdateProcessor` then runs each update once: an update already done (Telegram redelivered it,
or the inbox replayed it and Telegram sent it too) is skipped, one too old to be useful is
marked expired, and whatever its handlers did not finish is finished when they return.
At start-up, `replay` queues what the last run left pending.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from bot.history import HistoryStore, InboxEntry

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; a done entry is kept a week, so a
# redelivered update is always recognised, then pruned at start-up.
KEEP_DONE_SECONDS = 7 * 24 * 3600


@dataclass
class Ticket:
    """One update being processed: what its handlers sent and how it ended."""
    update_id: int
    asked_at: float
    sent_before: tuple[int, ...] = ()     # messages a previous run already sent for it
    done: bool = False                    # finished in the database
    outcome: str | None = None            # set by handlers when they finish without a reply
    detail: str | None = None
    abandoned: bool = False               # the bot is stopping: leave it pending for the restart
    sent: list[int] = field(default_factory=list)


def update_kind(update: Update) -> str:
    """The update's kind as the Bot API names it (message, edited_message, callback_query...)."""
    for name in ("message", "edited_message", "callback_query", "inline_query", "chosen_inline_result",
                 "channel_post", "edited_channel_post", "my_chat_member", "chat_member"):
        if getattr(update, name, None) is not None:
            return name
    return "other"


def asked_at(update: Update, received: float) -> float:
    """When the user acted: the message's date (an edit's edit_date), else when it arrived."""
    message = update.edited_message or update.message
    if message is not None:
        moment = message.edit_date if update.edited_message and message.edit_date else message.date
        if moment is not None:
            return moment.timestamp()
    return received


class Inbox:
    """The inbox service: record, begin, finish; the SQL lives in HistoryStore."""

    def __init__(self, history: HistoryStore, max_age: float, clock: Callable[[], float] = time.time,
                 on_backlog: Callable[[int], object] = lambda count: None) -> None:
        self.history = history
        self.max_age = max_age
        self._clock = clock
        self._active: dict[int, Ticket] = {}
        self._open: set[int] = set()          # received (this run or before) and not done yet
        self._on_backlog = on_backlog         # told how many that is, whenever it changes

    def _opened(self, update_id: int) -> None:
        self._open.add(update_id)
        self._on_backlog(len(self._open))

    def _closed(self, update_id: int) -> None:
        self._open.discard(update_id)
        self._on_backlog(len(self._open))

    async def receive(self, update: Update) -> None:
        """Record an update before anything acts on it (a second copy changes nothing)."""
        message = update.effective_message
        self._opened(update.update_id)
        await self.history.receive(
            update.update_id, update_kind(update), update.to_dict(), asked_at(update, self._clock()),
            chat_id=update.effective_chat.id if update.effective_chat else None,
            message_id=message.message_id if message is not None and update.callback_query is None else None)

    async def begin(self, update: Update) -> Ticket | None:
        """A ticket to process the update, or None when it must not be (done already, or too old)."""
        entry = await self.history.inbox_entry(update.update_id)
        if entry is None:  # not through InboxQueue (e.g. fed to process_update directly)
            await self.receive(update)
            entry = await self.history.inbox_entry(update.update_id)
        if entry.state == "done" or update.update_id in self._active:
            log.debug("update %s already %s: not processed again", update.update_id, entry.outcome or "in progress")
            if entry.state == "done":
                self._closed(update.update_id)
            return None
        age = self._clock() - entry.asked_at
        if age > self.max_age:
            log.warning("update %s not answered: %.0f s old, older than telegram.delivery.max_age_seconds",
                        update.update_id, age)
            await self.history.finish(update.update_id, "expired", f"{age:.0f} s old when processed")
            self._closed(update.update_id)
            return None
        ticket = Ticket(update.update_id, entry.asked_at, entry.reply_ids)
        self._active[update.update_id] = ticket
        return ticket

    def ticket(self, update: object) -> Ticket | None:
        """The ticket of an update being processed (None outside the processor, e.g. in unit tests)."""
        return self._active.get(update.update_id) if isinstance(update, Update) else None

    async def answered(self, ticket: Ticket, chat_id: int | None, turns=(), outcome: str = "answered") -> None:
        """Mark the update done now that its reply was accepted, storing the reply's turns with it."""
        await self.history.finish(ticket.update_id, outcome, reply_ids=[*ticket.sent_before, *ticket.sent],
                                  chat_id=chat_id, turns=turns)
        ticket.done = True
        self._closed(ticket.update_id)

    async def progress(self, ticket: Ticket) -> None:
        """Record the part of a multi-message reply sent so far (a replay sends only the rest)."""
        await self.history.note_sent(ticket.update_id, [*ticket.sent_before, *ticket.sent])

    async def end(self, ticket: Ticket) -> None:
        """After the handlers: finish what they did not (nothing to send, an error), unless abandoned."""
        self._active.pop(ticket.update_id, None)
        if ticket.done:
            return
        if ticket.abandoned:
            log.info("update %s left pending: it is answered after the restart", ticket.update_id)
            return
        outcome = ticket.outcome or ("answered" if ticket.sent else "ignored")
        await self.history.finish(ticket.update_id, outcome, ticket.detail,
                                  reply_ids=[*ticket.sent_before, *ticket.sent])
        self._closed(ticket.update_id)

    async def pending(self, bot: Bot) -> list[Update]:
        """What the last run left pending, as updates to queue again; the too old are marked expired."""
        await self.history.prune_inbox(self._clock() - KEEP_DONE_SECONDS)
        updates, expired = [], 0
        for entry in await self.history.pending_updates():
            reason = self._stale(entry)
            if reason:
                expired += 1
                await self.history.finish(entry.update_id, "expired", reason)
                continue
            updates.append(Update.de_json(entry.payload, bot))
            self._opened(entry.update_id)
        if expired:
            log.warning("%d update(s) left by the last run are too old to answer: marked expired", expired)
        if updates:
            log.warning("answering %d update(s) the last run left unanswered", len(updates))
        return updates

    def _stale(self, entry: InboxEntry) -> str | None:
        """Why a pending entry from the last run is no longer worth acting on (None: it is)."""
        if entry.kind == "inline_query":
            return "inline query from an earlier run (its id has expired)"
        age = self._clock() - entry.asked_at
        if age > self.max_age:
            return f"{age:.0f} s old at start-up"
        return None


class InboxQueue(asyncio.Queue):
    """The application's update queue: an update is recorded in the inbox before it is queued."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: Inbox | None = None   # set in post_init, before any update is fetched

    async def put(self, item: Any) -> None:
        if isinstance(item, Update) and self.inbox is not None:
            await self.inbox.receive(item)
        await super().put(item)


class UpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently, those of one chat in order, each update once.

    A follow-up must not overtake the question it follows, but one slow chat must not hold up the
    others: the concurrency limit is only taken once an update's turn in its chat has come, so a
    chat with a backlog occupies one slot, not one per waiting update.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        # The base class's semaphore only bounds the updates waiting for their chat's turn.
        super().__init__(max(4096, max_concurrent_updates))
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: collections.Counter = collections.Counter()
        self.inbox: Inbox | None = None   # set in post_init
        self.stopping: asyncio.Event | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock, self._slots:
                await self._run_once(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def _run_once(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers unless the inbox says the update is done or too old; then finish it."""
        if self.inbox is None or not isinstance(update, Update):
            await coroutine
            return
        if self.stopping is not None and self.stopping.is_set():
            coroutine.close()  # type: ignore[attr-defined]
            log.debug("update %s left pending: the bot is stopping", update.update_id)
            return
        ticket = await self.inbox.begin(update)
        if ticket is None:
            coroutine.close()  # type: ignore[attr-defined]
            return
        try:
            await coroutine
        finally:
            await self.inbox.end(ticket)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _order_key(update: object) -> object:
    """The chat an update belongs to (inline queries: their user), for ordering."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("other", id(update))
