"""The console adapter: the engine in a terminal, interactive or scripted, as text or JSON lines."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

from bot.config import Config
from bot.conversation import Engine, Reply, ReplyKind, strip_controls
from bot.corpus import load_corpus
from bot.history import open_history
from bot.messages import say
from bot.retrieval import Hit, Retriever

PROMPT = "> "
HISTORY_TEXT_CHARS = 80
READLINE_HISTORY_LINES = 1000


def hit_result(hit: Hit, label: str | None = None) -> dict:
    """One result as `search --json` and `console --json` print it: the passage as in the article.

    Discussion replies add the label of the result's group (the article, speaker, side or
    section) and the speaker when one is named.
    """
    result = {"id": hit.passage.id, "source": hit.passage.source_title, "section": hit.passage.section,
              "text": hit.passage.text, "score": round(float(hit.score), 6)}
    if label is not None:
        result["label"] = label
    if hit.speaker:
        result["speaker"] = hit.speaker
    return result


def source_of(hit: Hit) -> str:
    """Where a quote comes from: who said it (for a quotation), the title and the section."""
    where = f"《{hit.passage.source_title}》"
    if hit.passage.section:
        where += f" · {hit.passage.section}"
    if hit.speaker:
        where = f"{hit.speaker}，{where}"
    return where


def render_hit(number: int, hit: Hit) -> list[str]:
    """A numbered quote and, under it, its source title and section."""
    return [f"{number}. 「{hit.snippet}」", f"   —— {source_of(hit)}"]


def render_groups(reply: Reply) -> list[str]:
    """A discussion reply's groups: a side's name over its quotes, or a numbered label and its quote."""
    lines = []
    number = reply.offset
    for group in reply.groups:
        label = f"《{group.label}》" if reply.kind is ReplyKind.OVERVIEW else group.label
        if group.heading:
            lines.append(f"【{label}】")
            if group.note:
                lines.append(f"   {group.note}")
            for hit in group.hits:
                number += 1
                lines += render_hit(number, hit) if group.show_source else [f"{number}. 「{hit.snippet}」"]
            continue
        for hit in group.hits:
            number += 1
            if reply.kind is ReplyKind.OVERVIEW:
                lines += [f"{number}. {label}", f"   「{hit.snippet}」"]
            else:
                lines.append(f"{number}. {label}：「{hit.snippet}」" if label else f"{number}. 「{hit.snippet}」")
            if group.show_source:
                lines.append(f"   —— {source_of(hit)}")
    return lines


def render_text(reply: Reply) -> str:
    """The reply as plain text for a terminal ("" for a reply that is not for us)."""
    if reply.kind is ReplyKind.IGNORED:
        return ""
    lines = list(reply.lines)
    if reply.groups:
        lines += render_groups(reply)
    else:
        for i, hit in enumerate(reply.hits):
            lines += render_hit(reply.offset + i + 1, hit)
    if reply.kind is ReplyKind.SOURCES:
        lines += ["- " + say("console_source_line", reply.lang, title=s.title, count=s.passage_count,
                             keywords="、".join(s.keywords) if reply.lang == "zh" else ", ".join(s.keywords))
                  for s in reply.sources]
    for turn in reply.turns:
        role = say("console_role_user" if turn.role == "user" else "console_role_bot", reply.lang)
        lines.append(f"{role}: {_one_line(turn.text)}")
    if reply.has_more:
        lines.append(say("console_more_hint", reply.lang))
    return "\n".join(lines)


def render_json(message: str, reply: Reply) -> str:
    """One JSON line: the input, the console's text and the results with search's fields."""
    if reply.groups:
        results = [hit_result(h, g.label) for g in reply.groups for h in g.hits]
    else:
        results = [hit_result(h) for h in reply.hits]
    return json.dumps({"input": message, "text": render_text(reply), "results": results}, ensure_ascii=False)


def _one_line(text: str) -> str:
    """text on one line, cut to HISTORY_TEXT_CHARS."""
    text = " ".join(strip_controls(text).split())
    return text if len(text) <= HISTORY_TEXT_CHARS else text[:HISTORY_TEXT_CHARS - 1] + "…"


def build_engine_parts(config: Config) -> tuple:
    """Load the corpus and build the index once, at start-up."""
    corpus = load_corpus(config.corpus, config.retrieval.cache_dir)
    return corpus, Retriever(corpus, config.retrieval)


async def run_console(config: Config, chat_id: int, as_json: bool = False,
                      stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run a console session: one event loop, the history opened once and closed at the end."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    corpus, retriever = build_engine_parts(config)
    history = await open_history(config.history)
    try:
        engine = Engine(config, corpus, retriever, history)
        if stdin.isatty() and stdout.isatty():
            await _interactive(engine, chat_id, as_json, stdout)
        else:
            await _scripted(engine, chat_id, as_json, stdin, stdout)
    finally:
        await history.close()
    return 0


async def _answer(engine: Engine, chat_id: int, message: str, as_json: bool, stdout: TextIO) -> None:
    """Hand one message to the engine and print its reply."""
    reply = await engine.handle(chat_id, chat_id, message)
    if as_json:
        print(render_json(message, reply), file=stdout, flush=True)
    else:
        print(render_text(reply) + "\n", file=stdout, flush=True)


async def _scripted(engine: Engine, chat_id: int, as_json: bool, stdin: TextIO,
                    stdout: TextIO) -> None:
    """One message a line (empty lines too, so --json gives one object per line), until EOF."""
    for line in stdin:
        await _answer(engine, chat_id, line.rstrip("\r\n"), as_json, stdout)


async def _interactive(engine: Engine, chat_id: int, as_json: bool, stdout: TextIO) -> None:
    """A prompt with line editing and input history; Ctrl-D quits, Ctrl-C clears the line."""
    history_file = _enable_readline()
    print(say("console_banner", "zh"), file=stdout, flush=True)
    try:
        while True:
            try:
                message = _prompt()
            except KeyboardInterrupt:
                print(file=stdout)
                continue
            except EOFError:
                print(file=stdout)
                return
            await _answer(engine, chat_id, message, as_json, stdout)
    finally:
        _save_readline(history_file)


def _prompt() -> str:
    """Read one line; Ctrl-C raises KeyboardInterrupt here instead of cancelling the session.

    asyncio.run's own SIGINT handler only cancels the main task, which a blocking input() never
    notices; at the prompt Python's default handler is put back so Ctrl-C clears the line. While an
    answer is computed, asyncio's handler is in force: Ctrl-C then ends the session cleanly.
    """
    session_handler = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # Blocking here is fine: nothing else runs on this loop while the user types.
        return input(PROMPT)
    finally:
        signal.signal(signal.SIGINT, session_handler)


def console_history_file() -> Path:
    """The console's input history, in the user's data folder."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data) / "quotebot" / "console_history"


def _enable_readline() -> Path | None:
    """Turn on line editing and load the input history, when readline is available."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline: input() still works, without editing
        return None
    path = console_history_file()
    try:
        readline.read_history_file(path)
    except (FileNotFoundError, OSError):
        pass
    readline.set_history_length(READLINE_HISTORY_LINES)
    return path


def _save_readline(path: Path | None) -> None:
    """Write the input history back; a read-only home only loses the history, not the session."""
    if path is None:
        return
    import readline
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
    except OSError:
        pass
