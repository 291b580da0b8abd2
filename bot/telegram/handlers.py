"""Telegram handlers, one per trigger: each routes the update, asks the engine, sends the rendered reply.

Nothing about answering lives here: the engine decides what to say, render.py how it looks,
routing.py whether a message is for this bot at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.conversation import Engine, Reply, ReplyKind
from bot.history import HistoryStore
from bot.library import Library
from bot.messages import EXAMPLES, detect_lang, say
from bot.telegram.render import (NO_PREVIEW, CallbackKeys, MorePress, Outgoing, example_question, parse_more,
                                 render_context, render_inline_results, render_notice, render_reply,
                                 without_more_button)
from bot.telegram.routing import Action, Route, route_group, route_private
from bot.telegram import monitor
from bot.telegram.throttle import Throttle, Verdict

log = logging.getLogger(__name__)

SERVICES = "services"
GROUP_TOP_K = 1          # a group gets the single best passage: chats stay readable
INLINE_RESULTS = 10


@dataclass
class Services:
    """What the handlers use, built once in post_init and kept in bot_data."""
    library: Library
    history: HistoryStore
    throttle: Throttle
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
            self._keys = (corpus, CallbackKeys(p.id for p in corpus.passages))
        return self._keys[1]


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The application's services."""
    return context.application.bot_data[SERVICES]


# --- handlers ---------------------------------------------------------------------------------

async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a private chat: a question, 更多 or a command, all answered by the engine."""
    await follow(route_private(update.message.text, context.bot.username), update, context)


async def on_group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command in a group: /quote (also as a reply), /forget and the engine's other commands."""
    replied = update.message.reply_to_message
    replied_text = (replied.text or replied.caption) if replied else None
    await follow(route_group(update.message.text, context.bot.username, replied_text), update, context)


async def on_group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message mentioning @ThisBot: the rest of it is a question."""
    await follow(route_group(update.message.text, context.bot.username), update, context)


async def on_private_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice... in a private chat: a short hint to ask in words."""
    lang = user_lang(update)
    await send(context, update.effective_chat.id, [render_notice("tg_non_text", lang, example=EXAMPLES[lang][0])])


async def on_more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 更多 button: the next passages for the chat's last question."""
    press = parse_more(update.callback_query.data)
    if press is None or not await current_more_button(update, context, press):
        await refuse_stale_button(update, press.lang if press else user_lang(update, ""))
    elif await admit_press(update, context):
        reply = await services(context).engine.more(update.effective_chat.id, update.effective_user.id, press.lang)
        await show_next_page(update, context, reply)


async def on_context_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 上下文 button: the passage with its neighbours from the article."""
    passage_id = services(context).keys.passage_id(update.callback_query.data)
    passages = services(context).engine.context(passage_id) if passage_id else ()
    await update.callback_query.answer()
    await send(context, update.effective_chat.id, render_context(passages, passage_id or "", user_lang(update, "")),
               reply_to=update.callback_query.message.message_id)


async def on_example_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An example-question button under /start: asks that question."""
    example = example_question(update.callback_query.data)
    await update.callback_query.answer()
    if example is not None and await admit(update, context):
        started = time.monotonic()
        reply = await services(context).engine.ask(update.effective_chat.id, update.effective_user.id, *example)
        await send(context, update.effective_chat.id, render_reply(reply, services(context).keys))
        await monitor.observe_reply(context, update, reply, time.monotonic() - started)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@ThisBot <words> in any chat: up to 10 quotes; nothing typed yet: notable quotations."""
    query = update.inline_query.query.strip()
    engine = services(context).engine
    hits = engine.search(query, INLINE_RESULTS) if query else engine.notable_quotes(INLINE_RESULTS)
    await update.inline_query.answer(render_inline_results(hits, user_lang(update, query)), cache_time=60)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any exception in a handler: logged with its traceback and update id, then a short apology."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None and update.inline_query is None:
        try:
            await send(context, update.effective_chat.id, [render_notice("tg_apology", user_lang(update))])
        except TelegramError as exc:
            log.warning("could not apologise for update %s: %s", update_id, exc.__class__.__name__)


# --- what the handlers share --------------------------------------------------------------------

async def follow(route: Route, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Carry out a routing decision for a message: ask the engine and send its reply."""
    started = time.monotonic()
    if route.action is Action.IGNORE or not await admit(update, context):
        return
    reply_to = update.message.message_id if update.effective_chat.type != "private" else None
    if route.action is Action.FORGET and not await is_admin(update, context):
        notice = render_notice("tg_admins_only", user_lang(update))
        await send(context, update.effective_chat.id, [notice], reply_to=reply_to)
        return
    reply, max_hits = await ask_engine(route, update, context)
    rendered = render_reply(reply, services(context).keys, max_hits=max_hits)
    await send(context, update.effective_chat.id, rendered, reply_to=reply_to)
    await monitor.observe_reply(context, update, reply, time.monotonic() - started)


async def ask_engine(route: Route, update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Reply, int | None]:
    """The engine's reply for a route, and how many passages of it to show."""
    engine = services(context).engine
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    hint = update.effective_user.language_code
    if route.action is Action.QUOTE or route.action is Action.ASK:
        return await engine.ask(chat_id, user_id, route.text, hint, top_k=GROUP_TOP_K), None
    if route.action is Action.NOTABLE:
        # A group sees one quotation at a time, so the rotation must move on by one.
        return engine.quotes(chat_id, user_lang(update), count=1), 1
    if route.action is Action.FORGET:
        return await engine.forget(chat_id, user_lang(update)), None
    return await engine.handle(chat_id, user_id, route.text, hint), None


async def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the sender administers this group (an anonymous admin posts as the group itself)."""
    message = update.message
    if message.sender_chat is not None and message.sender_chat.id == update.effective_chat.id:
        return True
    member = await context.bot.get_chat_member(update.effective_chat.id, update.effective_user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count a question against the sender's per-minute allowance; the first refusal says so."""
    verdict = services(context).throttle.check(update.effective_user.id)
    if verdict is Verdict.NOTIFY:
        limit = services(context).throttle.limit
        await send(context, update.effective_chat.id, [render_notice("tg_throttled", user_lang(update), limit=limit)])
    if verdict is not Verdict.ALLOW:
        await monitor.observe_throttled(context, update)
    return verdict is Verdict.ALLOW


async def admit_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """admit() for a button press: a refusal is shown as the button's notice, not a message."""
    throttle = services(context).throttle
    verdict = throttle.check(update.effective_user.id)
    if verdict is not Verdict.ALLOW:
        await update.callback_query.answer(say("tg_throttled", user_lang(update, ""), limit=throttle.limit))
    return verdict is Verdict.ALLOW


async def show_next_page(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """After 更多: send the next page, or say there is none; the used 更多 button goes away."""
    query = update.callback_query
    if reply.kind is ReplyKind.ANSWER:
        await query.answer()
        await send(context, update.effective_chat.id, render_reply(reply, services(context).keys))
    else:
        await query.answer(" ".join(reply.lines)[:200] or None)
    await drop_more_button(query.message)


async def current_more_button(update: Update, context: ContextTypes.DEFAULT_TYPE, press: MorePress) -> bool:
    """Whether a 更多 button belongs to the chat's last answer (/more pages only that question)."""
    page = await services(context).engine.next_page(update.effective_chat.id)
    return page is not None and press.continues(*page)


async def refuse_stale_button(update: Update, lang: str) -> None:
    """A 更多 under an older answer: say so in the button's notice and take the button away."""
    await update.callback_query.answer(say("tg_more_stale", lang))
    await drop_more_button(update.callback_query.message)


async def drop_more_button(message: Message | None) -> None:
    """Remove the 更多 button from a message whose next page has been shown."""
    if message is None or not isinstance(message, Message) or message.reply_markup is None:
        return
    markup = without_more_button(message.reply_markup)
    if markup == message.reply_markup:
        return
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except BadRequest as exc:  # e.g. the message is too old to edit: the page was sent anyway
        log.info("could not remove the 更多 button: %s", exc.message)


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, outgoing: Sequence[Outgoing],
               reply_to: int | None = None) -> list[Message]:
    """Send rendered messages in order; the first one replies to reply_to when given."""
    sent = []
    for i, out in enumerate(outgoing):
        parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and i == 0 else None
        sent.append(await context.bot.send_message(chat_id, out.text, parse_mode=ParseMode.HTML,
                                                   link_preview_options=NO_PREVIEW, reply_markup=out.keyboard,
                                                   reply_parameters=parameters))
    return sent


def user_lang(update: Update, text: str | None = None) -> str:
    """The UI language for this update: from the text when it says, else the user's language_code."""
    user = update.effective_user
    if text is None and update.effective_message is not None:
        text = update.effective_message.text or ""
    return detect_lang(text or "", user.language_code if user else None)
