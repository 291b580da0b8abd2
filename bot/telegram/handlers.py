"""Telegram handlers, one per trigger: each routes the update, asks the engine, delivers the rendered reply.

Nothing about answering lives here: the engine decides what to say, render.py how it looks,
routing.py whether a message is for this bot at all, delivery.py how it gets through, and the
inbox (inbox.py) that each update is done once. The engine is asked with record=False: a reply's
turns reach the history in the same transaction that marks its update answered, once Telegram
has accepted every message of it.
"""

from __future__ import annotations

import asyncio

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.conversation import Engine, Exchange, Reply
from bot.history import HistoryStore
from bot.library import Library
from bot.messages import EXAMPLES, detect_lang, say
from bot.retrieval import Hit
from bot.telegram import monitor
from bot.telegram.delivery import Abandoned, Delivery, Expired, FailureLog, describe
from bot.telegram.inbox import Inbox, Ticket
from bot.telegram.links import start_link
from bot.telegram.pacing import RESERVE_ONE, GroupBacklog
from bot.telegram.render import (NO_PREVIEW, CallbackKeys, MorePress, Outgoing, example_question, parse_more,
                                 parse_sources_page, render_context, render_inline_results, render_notice,
                                 render_reply, render_sources, split_share_tag, without_more_button)
from bot.telegram.routing import Action, Route, route_group, route_private
from bot.telegram.throttle import Throttle, Verdict

log = logging.getLogger(__name__)

SERVICES = "services"
GROUP_TOP_K = 1          # a group gets the single best passage: chats stay readable
INLINE_RESULTS = 10      # results per inline page
INLINE_DEPTH = 50        # inline paging stops here: Telegram's own cap on one answer's results
# A button's answer only stops its spinner, and an inline query's answer only matters while the
# user is typing: after this long, retrying them is pointless.
SHORT_LIVED_SECONDS = 15.0


@dataclass
class Services:
    """What the handlers use, built once in post_init and kept in bot_data."""
    library: Library
    history: HistoryStore
    throttle: Throttle
    inbox: Inbox
    delivery: Delivery
    backlog: GroupBacklog
    failures: FailureLog
    edit_window: float            # seconds within which an edited question is answered again
    rate_limited: bool            # whether the bot's ChatPacer is on (RESERVE_ONE needs it)
    _keys: tuple[object, CallbackKeys] | None = None   # (corpus, its keys), remade after a reload

    @property
    def engine(self) -> Engine:
        """The engine of the library in force (read per update: /reload swaps it)."""
        return self.library.engine

    @property
    def keys(self) -> CallbackKeys:
        """Callback keys for the passages of the library in force."""
        corpus = self.library.edition.corpus
        if self._keys is None or self._keys[0] is not corpus:
            self._keys = (corpus, CallbackKeys((p.id for p in corpus.passages), (s.id for s in corpus.sources)))
        return self._keys[1]


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The application's services."""
    return context.application.bot_data[SERVICES]


# --- handlers ---------------------------------------------------------------------------------

async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text or a caption in a private chat: a question, 更多, a command or a /start link's question."""
    await follow(route_private(words(update.message), context.bot.username), update, context)


async def on_group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command in a group (text or caption): /quote (also as a reply), /forget and the others."""
    await follow(route_group(words(update.message), context.bot.username, replied_words(update.message)),
                 update, context)


async def on_group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message (text or caption) mentioning @ThisBot: the rest of it is a question."""
    await follow(route_group(words(update.message), context.bot.username), update, context)


async def on_private_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, voice, a photo without caption... in a private chat: a short hint to ask in words."""
    lang = user_lang(update)
    await reply(update, context, [render_notice("tg_non_text", lang, example=EXAMPLES[lang][0])])


async def on_edited_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited question: answered again by editing the bot's reply to it, within the edit window."""
    await answer_again(update, context)


async def on_more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 更多 button: the next passages for the chat's last question."""
    press = parse_more(update.callback_query.data)
    if press is None or not await current_more_button(update, context, press):
        await refuse_stale_button(update, context, press.lang if press else user_lang(update, ""))
    elif await admit_press(update, context):
        answer = await services(context).engine.more(update.effective_chat.id, update.effective_user.id,
                                                     press.lang, record=False)
        await show_next_page(update, context, answer)


async def on_context_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 上下文 button: the passage with its neighbours from the article."""
    query = update.callback_query
    passage_id = services(context).keys.passage_id(query.data)
    if query.message is None:  # a message too old for Telegram to show the bot: nowhere to reply
        await answer_press(update, context, say("tg_button_unknown", user_lang(update, "")))
        return
    passages = services(context).engine.context(passage_id) if passage_id else ()
    await answer_press(update, context)
    await reply(update, context, render_context(passages, passage_id or "", user_lang(update, "")),
                reply_to=query.message.message_id)


async def on_example_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An example-question button under /start: asks that question."""
    example = example_question(update.callback_query.data)
    await answer_press(update, context)
    if example is not None and await admit(update, context):
        started = time.monotonic()
        answer = await services(context).engine.ask(update.effective_chat.id, update.effective_user.id, *example,
                                                    record=False)
        await reply(update, context, render_reply(answer, services(context).keys), exchange=answer.exchange)
        await monitor.observe_reply(context, update, answer, time.monotonic() - started)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose data no other handler knows (old or forged): a short notice stops its spinner."""
    await answer_press(update, context, say("tg_button_unknown", user_lang(update, "")))


async def on_digest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An article's 要点 button (under /sources or an overview): its digest; 更多 pages it."""
    source_id = services(context).keys.source_id(update.callback_query.data)
    await answer_press(update, context)
    if source_id is not None and await admit(update, context):
        answer = await services(context).engine.digest(update.effective_chat.id, update.effective_user.id,
                                                       source_id, user_lang(update, ""), record=False)
        await reply(update, context, render_reply(answer, services(context).keys), exchange=answer.exchange)


async def on_sources_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """下一页 under /sources: the next articles, each with its 要点 button."""
    page = parse_sources_page(update.callback_query.data)
    await answer_press(update, context)
    if page is not None:
        lang, offset = page
        await reply(update, context, render_sources(services(context).engine.sources, lang, services(context).keys,
                                                    offset))


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@ThisBot <words> in any chat: quotes, paged with next_offset; a shared quote (#tag) comes first."""
    query = update.inline_query
    # In a worker thread, as the engine's own searches: other chats must not wait for this one.
    hits, next_offset = await asyncio.to_thread(inline_page, services(context), query.query, query.offset)
    words_asked, _ = split_share_tag(query.query)
    results = render_inline_results(hits, user_lang(update, query.query),
                                    ask_link=start_link(context.bot.username, words_asked),
                                    limit=INLINE_RESULTS + 1)
    await services(context).delivery.call(
        lambda: query.answer(results, cache_time=60, next_offset=next_offset), max_age=SHORT_LIVED_SECONDS)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any exception in a handler: one log line (its traceback the first time), then a short apology."""
    found = context.application.bot_data.get(SERVICES)
    ticket = found.inbox.ticket(update) if found else None
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Abandoned):  # stopping: the update stays pending and is answered after the restart
        if ticket is not None:
            ticket.abandoned = True
        return
    if isinstance(error, Expired):
        log.warning("update %s not answered: %s", update_id, error)
        if ticket is not None:
            ticket.outcome, ticket.detail = "expired", str(error)
        return
    if found is None:
        log.error("update %s failed before the bot was ready", update_id, exc_info=error)
        return
    found.failures.report(update_id, what_update(update), error)
    if ticket is not None:
        ticket.outcome, ticket.detail = "failed", describe(error)
    if isinstance(update, Update) and not (ticket is not None and ticket.done):
        await apologise(update, context)


# --- what the handlers share --------------------------------------------------------------------

async def follow(route: Route, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Carry out a routing decision for a message: ask the engine and deliver its reply."""
    started = time.monotonic()
    if route.action is Action.IGNORE or not await admit(update, context):
        return
    reply_to = update.message.message_id if update.effective_chat.type != "private" else None
    if reply_to is not None and not await admit_to_group(update, context, reply_to):
        return
    if route.action is Action.FORGET and not await is_admin(update, context):
        await reply(update, context, [render_notice("tg_admins_only", user_lang(update))], reply_to=reply_to)
        return
    answer, max_hits = await ask_engine(route, update, context)
    rendered = render_reply(answer, services(context).keys, max_hits=max_hits)
    await reply(update, context, rendered, reply_to=reply_to, exchange=answer.exchange)
    await monitor.observe_reply(context, update, answer, time.monotonic() - started)


async def ask_engine(route: Route, update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Reply, int | None]:
    """The engine's reply for a route (nothing stored yet), and how many passages of it to show."""
    engine = services(context).engine
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    hint = update.effective_user.language_code
    if route.action is Action.QUOTE or route.action is Action.ASK:
        return await engine.ask(chat_id, user_id, route.text, hint, top_k=GROUP_TOP_K, record=False), None
    if route.action is Action.QUESTION:
        return await engine.ask(chat_id, user_id, route.text, hint, record=False), None
    if route.action is Action.NOTABLE:
        # A group sees one quotation at a time, so the rotation must move on by one.
        return engine.quotes(chat_id, user_lang(update), count=1), 1
    if route.action is Action.FORGET:
        return await engine.forget(chat_id, user_lang(update)), None
    return await engine.handle(chat_id, user_id, route.text, hint, record=False), None


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, outgoing: Sequence[Outgoing],
                reply_to: int | None = None, exchange: Exchange | None = None,
                outcome: str = "answered") -> list[Message]:
    """Deliver an update's reply: in order, in its topic, retried as needed; then mark the update done.

    The update is marked `outcome` and the exchange stored only once Telegram accepted every
    message. Messages a previous run already sent for it (a crash mid-reply) are not sent again.
    """
    if not outgoing:  # nothing to say (a command for another bot): the update ends as ignored
        return []
    found = services(context)
    ticket = found.inbox.ticket(update)
    already = len(ticket.sent_before) if ticket else 0
    sent = []
    for i, out in enumerate(outgoing):
        if i < already:
            continue
        message = await send_one(update, context, out, reply_to if i == 0 else None,
                                 reserve=outcome == "answered")
        sent.append(message)
        if ticket is not None:
            ticket.sent.append(message.message_id)
            if i < len(outgoing) - 1:
                await found.inbox.progress(ticket)
    await finish(update, context, exchange, outcome)
    return sent


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, outgoing: Sequence[Outgoing],
               reply_to: int | None = None) -> list[Message]:
    """Send messages that are no update's reply (an admin's report, a background task's result), retried."""
    found = services(context)
    sent = []
    for i, out in enumerate(outgoing):
        parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and i == 0 else None
        sent.append(await found.delivery.call(
            lambda: context.bot.send_message(chat_id, out.text, parse_mode=ParseMode.HTML,
                                             link_preview_options=NO_PREVIEW, reply_markup=out.keyboard,
                                             reply_parameters=parameters)))
    return sent


async def send_one(update: Update, context: ContextTypes.DEFAULT_TYPE, out: Outgoing, reply_to: int | None,
                   reserve: bool = True) -> Message:
    """Send one message to the update's chat (and topic), retried until the question is too old.

    In a group, an answer (reserve) leaves the window's last place to the busy notice.
    """
    found = services(context)
    chat_id = update.effective_chat.id
    extra = {"rate_limit_args": RESERVE_ONE} if reserve and chat_id < 0 and found.rate_limited else {}
    parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    return await found.delivery.call(
        lambda: context.bot.send_message(chat_id, out.text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                                         reply_markup=out.keyboard, reply_parameters=parameters,
                                         message_thread_id=thread_of(update), **extra),
        asked_at_of(update, context))


async def finish(update: Update, context: ContextTypes.DEFAULT_TYPE, exchange: Exchange | None,
                 outcome: str = "answered") -> None:
    """Mark the update done (its reply was delivered) and store the exchange in the same transaction."""
    found = services(context)
    ticket = found.inbox.ticket(update)
    turns = exchange.turns() if exchange is not None else ()
    if ticket is not None:
        await found.inbox.answered(ticket, update.effective_chat.id if update.effective_chat else None,
                                   turns, outcome)
    elif turns:  # outside the processor (no inbox ticket): still only after delivery
        await found.history.append_turns(update.effective_chat.id, turns)


async def answer_press(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str | None = None) -> None:
    """Answer a button press (stops its spinner); a press too old to answer is logged, not fatal."""
    query = update.callback_query
    try:
        await services(context).delivery.call(lambda: query.answer(text[:200] if text else None),
                                              max_age=SHORT_LIVED_SECONDS)
    except (BadRequest, Expired) as exc:  # e.g. a press replayed after a restart: Telegram forgot it
        log.info("could not answer button press %s: %s", query.id, describe(exc))


async def answer_again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an edited question again by editing the reply it got (if it got one, and recently)."""
    found = services(context)
    message = update.edited_message
    age = time.time() - message.date.timestamp()
    previous = await found.history.answer_to(message.chat_id, message.message_id)
    if previous is None:
        return
    if age > found.edit_window:
        log.info("update %s: question edited %.0f s after it was asked, beyond telegram.delivery."
                 "edit_window_seconds: not answered again", update.update_id, age)
        return
    if update.effective_chat.type == "private":
        route = route_private(words(message), context.bot.username)
    else:
        route = route_group(words(message), context.bot.username, replied_words(message))
    if route.action in (Action.IGNORE, Action.FORGET):
        return
    answer, max_hits = await ask_engine(route, update, context)
    rendered = render_reply(answer, found.keys, max_hits=max_hits)
    await replace_reply(update, context, previous.reply_ids, rendered)
    await finish(update, context, answer.exchange)


async def replace_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, old_ids: Sequence[int],
                        outgoing: Sequence[Outgoing]) -> None:
    """Edit the bot's earlier messages into the new reply; send what does not fit, delete what is left."""
    found = services(context)
    chat_id = update.effective_chat.id
    ticket = found.inbox.ticket(update)
    asked = asked_at_of(update, context)
    for i, out in enumerate(outgoing):
        if i < len(old_ids):
            await edit_one(context, chat_id, old_ids[i], out, asked)
            message_id = old_ids[i]
        else:
            message_id = (await send_one(update, context, out, update.edited_message.message_id)).message_id
        if ticket is not None:
            ticket.sent.append(message_id)
    for message_id in old_ids[len(outgoing):]:
        try:
            await found.delivery.call(lambda: context.bot.delete_message(chat_id, message_id), asked)
        except BadRequest as exc:  # already gone
            log.info("could not delete message %s: %s", message_id, exc.message)


async def edit_one(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int, out: Outgoing,
                   asked: float | None) -> None:
    """Edit one of the bot's messages into `out` (unchanged content is not an error)."""
    try:
        await services(context).delivery.call(
            lambda: context.bot.edit_message_text(out.text, chat_id=chat_id, message_id=message_id,
                                                  parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                                                  reply_markup=out.keyboard), asked)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


def inline_page(found: Services, text: str, offset_text: str) -> tuple[list[Hit], str]:
    """One page of inline results for text, and the next_offset ('' at the end)."""
    words_asked, tag = split_share_tag(text)
    offset = int(offset_text) if offset_text.isdigit() else 0
    if words_asked:
        hits = found.engine.search(words_asked, INLINE_RESULTS + 1, offset)
    else:
        hits = found.engine.notable_quotes(offset + INLINE_RESULTS + 1)[offset:] if not tag or offset else []
    has_more = len(hits) > INLINE_RESULTS and offset + INLINE_RESULTS < INLINE_DEPTH
    hits = hits[:INLINE_RESULTS]
    shared = found.keys.shared_passage(tag) if tag and offset == 0 else None
    if shared is not None:
        passage = next((p for p in found.engine.context(shared) if p.id == shared), None)
        if passage is not None:
            hits = [Hit(passage=passage, score=0.0, snippet=passage.text, matched_terms=())] + \
                   [h for h in hits if h.passage.id != shared]
    return hits, str(offset + INLINE_RESULTS) if has_more else ""


async def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the sender administers this group (an anonymous admin posts as the group itself)."""
    message = update.message
    if message.sender_chat is not None and message.sender_chat.id == update.effective_chat.id:
        return True
    member = await services(context).delivery.call(
        lambda: context.bot.get_chat_member(update.effective_chat.id, update.effective_user.id),
        asked_at_of(update, context))
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count a question against the sender's per-minute allowance; the first refusal says so."""
    verdict = services(context).throttle.check(update.effective_user.id)
    if verdict is Verdict.NOTIFY:
        limit = services(context).throttle.limit
        await reply(update, context, [render_notice("tg_throttled", user_lang(update), limit=limit)],
                    outcome="notice")
    elif verdict is Verdict.DROP:
        mark(update, context, "notice", "throttled: the user was told before")
    if verdict is not Verdict.ALLOW:
        await monitor.observe_throttled(context, update)
    return verdict is Verdict.ALLOW


async def admit_to_group(update: Update, context: ContextTypes.DEFAULT_TYPE, reply_to: int) -> bool:
    """A group's reply that would wait past the bound is not sent: the group is told once, the rest dropped."""
    found = services(context)
    chat_id = update.effective_chat.id
    verdict, wait = found.backlog.check(chat_id)
    if verdict is Verdict.ALLOW:
        return True
    log.info("group %s busy: update %s would be answered in %.0f s (> %g s): %s", chat_id, update.update_id,
             wait, found.backlog.bound, "the group is told" if verdict is Verdict.NOTIFY else "dropped")
    if verdict is Verdict.NOTIFY:
        limits = found.backlog.limits
        await reply(update, context, [render_notice("tg_group_busy", user_lang(update), limit=limits.group_per_minute)],
                    reply_to=reply_to, outcome="notice")
    else:
        mark(update, context, "dropped", f"group busy: its answer would have waited {wait:.0f} s")
    return False


async def admit_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """admit() for a button press: a refusal is shown as the button's notice, not a message."""
    throttle = services(context).throttle
    verdict = throttle.check(update.effective_user.id)
    if verdict is not Verdict.ALLOW:
        await answer_press(update, context, say("tg_throttled", user_lang(update, ""), limit=throttle.limit))
        mark(update, context, "notice", "throttled")
    return verdict is Verdict.ALLOW


def mark(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: str, detail: str) -> None:
    """Say how an update ends when it ends without a reply (the inbox writes it when the handlers return)."""
    ticket: Ticket | None = services(context).inbox.ticket(update)
    if ticket is not None:
        ticket.outcome, ticket.detail = outcome, detail


async def show_next_page(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Reply) -> None:
    """After 更多: send the next page, or say there is none; the used 更多 button goes away."""
    if answer.hits:  # an answer's page, or a discussion's (overview, who is quoted, digest)
        await answer_press(update, context)
        await reply(update, context, render_reply(answer, services(context).keys), exchange=answer.exchange)
    else:
        await answer_press(update, context, " ".join(answer.lines) or None)
        await finish(update, context, answer.exchange)
    await drop_more_button(update, context)


async def current_more_button(update: Update, context: ContextTypes.DEFAULT_TYPE, press: MorePress) -> bool:
    """Whether a 更多 button belongs to the chat's last answer (/more pages only that question)."""
    page = await services(context).engine.next_page(update.effective_chat.id)
    return page is not None and press.continues(*page)


async def refuse_stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> None:
    """A 更多 under an older answer: say so in the button's notice and take the button away."""
    await answer_press(update, context, say("tg_more_stale", lang))
    mark(update, context, "notice", "stale 更多 button")
    await drop_more_button(update, context)


async def drop_more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove the 更多 button from a message whose next page has been shown (cosmetic: failures are logged)."""
    message = update.callback_query.message
    if message is None or not isinstance(message, Message) or message.reply_markup is None:
        return
    markup = without_more_button(message.reply_markup)
    if markup == message.reply_markup:
        return
    try:
        await services(context).delivery.call(lambda: message.edit_reply_markup(reply_markup=markup),
                                              max_age=SHORT_LIVED_SECONDS)
    except (BadRequest, Expired) as exc:  # e.g. the message is too old to edit: the page was sent anyway
        log.info("could not remove the 更多 button: %s", describe(exc))


async def apologise(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After a failure: a short apology (the button's notice for a press); a failed apology is only logged."""
    lang = user_lang(update, "" if update.callback_query else None)
    try:
        if update.callback_query is not None:
            await answer_press(update, context, say("tg_apology", lang))
        elif update.effective_chat is not None and update.inline_query is None:
            await send_one(update, context, render_notice("tg_apology", lang), None, reserve=False)
    except Exception as exc:  # the apology must never raise out of the error handler
        log.warning("could not apologise for update %s: %s", update.update_id, describe(exc))


# --- small helpers ------------------------------------------------------------------------------

def words(message: Message) -> str:
    """What a message says: its text, or a photo's (document's...) caption."""
    return message.text or message.caption or ""


def replied_words(message: Message) -> str | None:
    """The words of the message this one replies to, if any."""
    replied = message.reply_to_message
    return words(replied) if replied else None


def thread_of(update: Update) -> int | None:
    """The forum topic the update came from, so the reply stays in it (None: no topic)."""
    message = update.effective_message
    if message is not None and getattr(message, "is_topic_message", False) and message.message_thread_id:
        return message.message_thread_id
    return None


def asked_at_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> float | None:
    """When the user asked (from the inbox), for the age bound on retries."""
    ticket = services(context).inbox.ticket(update)
    return ticket.asked_at if ticket is not None else None


def what_update(update: object) -> str:
    """A short description of an update for a log line: its kind and chat."""
    if not isinstance(update, Update):
        return type(update).__name__
    kind = next((k for k in ("message", "edited_message", "callback_query", "inline_query") if getattr(update, k)),
                "update")
    chat = update.effective_chat
    return f"{kind} in chat {chat.id}" if chat is not None else kind


def user_lang(update: Update, text: str | None = None) -> str:
    """The UI language for this update: from the text when it says, else the user's language_code."""
    user = update.effective_user
    if text is None and update.effective_message is not None:
        text = words(update.effective_message)
    return detect_lang(text or "", user.language_code if user else None)
