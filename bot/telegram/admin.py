"""Admin commands in a private chat with the bot: /stats, /reload, and articles sent as documents.

Only the user ids in `telegram.admins` reach these handlers (a filter, registered before the
ordinary ones); anyone else's /stats or /reload falls through to the engine, which answers it like
any unknown command, and their documents get the usual "text only" hint.
"""

from __future__ import annotations

import html
import logging

from telegram import BotCommand, BotCommandScopeChat, Document, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ContextTypes, MessageHandler, filters

from bot.articles import ArticleError, Draft, check_article, save_article
from bot.config import Config
from bot.conversation import parse_command
from bot.library import ReloadBusy, ReloadError
from bot.messages import say
from bot.stats import Stats, gather_stats
from bot.telegram.handlers import send, services, user_lang
from bot.telegram.monitor import monitor
from bot.telegram.render import Outgoing, render_notice

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ("stats", "reload")
PENDING = "pending_article"      # user_data key: an article waiting for its title
SHOWN_QUESTION_CHARS = 80        # an unanswered question in /stats (ten of them stay far under 4096)
TITLE_GROUP = -1                 # runs before the ordinary handlers, so a typed title is not a question


def register(application: Application, config: Config) -> None:
    """Add the admin handlers (none when no admin is configured); call before the ordinary handlers."""
    if not config.telegram.admins:
        return
    admins = filters.ChatType.PRIVATE & filters.User(user_id=config.telegram.admins)
    fresh = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("stats", on_stats, filters=admins & fresh))
    application.add_handler(CommandHandler("reload", on_reload, filters=admins & fresh))
    application.add_handler(MessageHandler(admins & fresh & filters.Document.ALL, on_document))
    application.add_handler(MessageHandler(admins & fresh & filters.TEXT, on_title), group=TITLE_GROUP)


async def advertise(application: Application, config: Config, menu: list[BotCommand], lang: str = "zh") -> None:
    """Show /stats and /reload in each admin's own command menu; failures (never started the bot) are logged."""
    commands = menu + [BotCommand(name, say(f"tg_cmd_{name}", lang)) for name in ADMIN_COMMANDS]
    for admin_id in config.telegram.admins:
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:
            log.info("could not set the admin menu for %s: %s", admin_id, exc)


# --- handlers ---------------------------------------------------------------------------------

async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats from an admin: the week's questions, outcomes, reply time, unanswered questions, busy chats."""
    stats = await gather_stats(services(context).history)
    await send(context, update.effective_chat.id, [Outgoing(render_stats(stats, user_lang(update)))])


async def on_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload from an admin: rebuild the library from seeds/ in the background, then report."""
    lang = user_lang(update)
    if services(context).library.reloading:
        await notify(update, context, lang, "admin_reload_busy")
        return
    await notify(update, context, lang, "admin_reload_started")
    # A task of its own: the admin's chat (answered in order) is not held up, and stop() waits for it.
    context.application.create_task(reload_and_report(update.effective_chat.id, lang, context), update=update)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document from an admin: a .txt/.md article, saved into seeds/ (or held until it has a title)."""
    lang = user_lang(update, "")
    try:
        draft = await fetch_article(update.message.document, context)
    except ArticleError as exc:
        await notify(update, context, lang, exc.key, **exc.values)
    else:
        await save_or_ask_title(update, context, draft, lang)


async def on_title(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's text while an article waits for its title: the title, or /cancel (else: not ours)."""
    draft: Draft | None = context.user_data.get(PENDING)
    command = parse_command(update.message.text)
    if draft is None or (command is not None and command.name != "cancel"):
        return   # nothing waits, or another command: handled as usual (the article still waits)
    if command is not None:
        await drop_draft(update, context, draft)
    else:
        await give_title(update, context, draft, update.message.text)
    raise ApplicationHandlerStop


# --- what the handlers share --------------------------------------------------------------------

async def fetch_article(document: Document, context: ContextTypes.DEFAULT_TYPE) -> Draft:
    """Download a sent document (refusing an oversized one first) and check it as an article."""
    config: Config = context.application.bot_data["config"]
    limit = config.telegram.max_upload_bytes
    if document.file_size and document.file_size > limit:
        raise ArticleError("article_too_big", size=document.file_size, limit=limit)
    data = await (await document.get_file()).download_as_bytearray()
    return check_article(document.file_name, bytes(data), config.corpus, limit)


async def save_or_ask_title(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, lang: str) -> None:
    """Save a titled draft; hold an untitled one and ask the admin for its title."""
    if draft.title is not None:
        await save_and_confirm(update, context, draft, lang)
        return
    context.user_data[PENDING] = draft
    await notify(update, context, lang, "article_needs_title", name=draft.name)


async def give_title(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, title: str) -> None:
    """Save the waiting draft under the typed title (a bad title: say so, the draft still waits)."""
    lang = user_lang(update)
    try:
        titled = draft.titled(title)
    except ArticleError as exc:
        await notify(update, context, lang, exc.key, **exc.values)
        return
    context.user_data.pop(PENDING, None)
    await save_and_confirm(update, context, titled, lang)


async def drop_draft(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft) -> None:
    """/cancel while a draft waits: forget it."""
    context.user_data.pop(PENDING, None)
    await notify(update, context, user_lang(update), "article_cancelled", name=draft.name)


async def notify(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str, key: str, **values: object) -> None:
    """Send the admin one sentence from bot.messages."""
    await send(context, update.effective_chat.id, [render_notice(key, lang, **values)])


async def reload_and_report(chat_id: int, lang: str, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run the reload and tell the admin how it went; a failure leaves the running library as it was."""
    library = services(context).library
    metrics = monitor(context).metrics
    try:
        report = await library.reload()
    except ReloadBusy:
        await send(context, chat_id, [render_notice("admin_reload_busy", lang)])
        return
    except ReloadError as exc:
        metrics.reloads.labels("failed").inc()
        await send(context, chat_id, [render_notice("admin_reload_failed", lang, reason=str(exc))])
        return
    metrics.reloads.labels("ok").inc()
    metrics.library(report.articles, report.passages)
    lines = [say("admin_reload_done", lang, articles=report.articles, passages=report.passages,
                 seconds=report.build_seconds)]
    if report.added:
        lines.append(say("admin_reload_added", lang, titles=_titles(report.added, lang)))
    if report.removed:
        lines.append(say("admin_reload_removed", lang, titles=_titles(report.removed, lang)))
    await send(context, chat_id, [Outgoing(html.escape("\n".join(lines)))])


async def save_and_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, lang: str) -> None:
    """Write the article into seeds/ and say what was saved and that /reload makes it live."""
    seeds_dir = context.application.bot_data["config"].corpus.seeds_dir
    path = save_article(seeds_dir, draft)
    log.info("admin %s saved article %s (%d passages)", update.effective_user.id, path, draft.passages)
    key = "article_replaced" if draft.replaces else "article_saved"
    await send(context, update.effective_chat.id,
               [render_notice(key, lang, name=draft.name, title=draft.title, passages=draft.passages)])


def render_stats(stats: Stats, lang: str) -> str:
    """/stats as Telegram HTML: every value from the log escaped."""
    lines = [f"<b>{html.escape(say('admin_stats_title', lang))}</b>",
             html.escape(say("admin_stats_volume", lang, today=stats.today, week=stats.week))]
    if stats.week:
        lines.append(html.escape(say(
            "admin_stats_outcomes", lang,
            answered=stats.outcomes["answered"], answered_share=stats.share("answered"),
            no_match=stats.outcomes["no_match"], no_match_share=stats.share("no_match"),
            throttled=stats.outcomes["throttled"], throttled_share=stats.share("throttled"))))
    if stats.median_reply_seconds is not None:
        lines.append(html.escape(say("admin_stats_median", lang, seconds=stats.median_reply_seconds)))
    if stats.unanswered:
        lines.append(html.escape(say("admin_stats_unanswered", lang)))
        lines += [f"{n}. {html.escape(_shorten(question))} ×{times}"
                  for n, (question, times) in enumerate(stats.unanswered, 1)]
    if stats.busiest_chats:
        chats = ", ".join(f"{chat_id} ({count})" for chat_id, count in stats.busiest_chats)
        lines.append(html.escape(say("admin_stats_chats", lang, chats=chats)))
    return "\n".join(lines)


def _shorten(text: str) -> str:
    """A stored question cut to SHOWN_QUESTION_CHARS."""
    return text if len(text) <= SHOWN_QUESTION_CHARS else text[:SHOWN_QUESTION_CHARS - 1] + "…"


def _titles(titles: tuple[str, ...], lang: str) -> str:
    """Article titles as the UI language lists them."""
    return "、".join(f"《{t}》" for t in titles) if lang == "zh" else "; ".join(f"“{t}”" for t in titles)
