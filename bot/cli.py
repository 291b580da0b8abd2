"""The `quotebot` command (also `python -m bot`): console, search, sources, eval, telegram, check and history."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from bot import __version__
from bot.config import Config, ConfigError, load_config
from bot.corpus import CorpusError
from bot.evaluation import EvaluationError
from bot.history import HistoryError

EXIT_USAGE = 2   # also for a bad config, corpus or database: the user must fix something first
EXIT_INTERRUPTED = 130


def _library_errors() -> tuple[type[Exception], ...]:
    """The typed errors of the library that the CLI reports in one sentence."""
    from bot.text import AnalyzerError  # imported here: it pulls in jieba, which --help does not need
    return (ConfigError, CorpusError, HistoryError, EvaluationError, AnalyzerError)


# --- subcommands ----------------------------------------------------------------------------

def cmd_console(args: argparse.Namespace, config: Config) -> int:
    """Talk to the bot in a terminal; with stdin piped, one message a line.

    Interactive: type a question and press Enter; /help lists the commands; Ctrl-D quits.
    Example:
      quotebot console
      printf '梁文锋怎么看开源？\\n那他怎么看闭源？\\n更多\\n' | quotebot console --json --db /tmp/h.sqlite3
    """
    from bot.console import run_console
    return asyncio.run(run_console(config, args.chat, as_json=args.json))


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    """Rank passages for a question, no conversation; QUERY "-" reads one query a line from stdin.

    With --json each query gives exactly one line {"query": ..., "results": [{"id", "source",
    "section", "text", "score"}, ...]}, in input order; results is [] when nothing is relevant.
    Example:
      quotebot search --top 3 "出口管制"
      printf 'DeepSeek 为什么开源？\\n今天天气怎么样\\n' | quotebot search --json -
    """
    from bot.console import build_engine_parts
    from bot.conversation import search_question
    _, retriever = build_engine_parts(config)
    top_k = args.top or config.retrieval.top_k
    queries = _stdin_lines() if args.query == "-" else [args.query]
    for query in queries:
        hits = search_question(retriever, query, top_k)
        if args.json:
            line = {"query": query, "results": [_result(h) for h in hits]}
            print(json.dumps(line, ensure_ascii=False), flush=True)
        else:
            _print_hits(query, hits, sys.stdout)
    return 0


def cmd_sources(args: argparse.Namespace, config: Config) -> int:
    """List the articles: title, passage count, date, link and keywords.

    Example:
      quotebot sources
      quotebot sources --seeds ./my-articles
    """
    from bot.console import build_engine_parts
    from bot.conversation import source_infos
    corpus, retriever = build_engine_parts(config)
    for info in source_infos(corpus, retriever.analyzer):
        extra = " · ".join(x for x in (info.date, info.url) if x)
        print(f"{info.title}  ({info.passage_count} passages){'  ' + extra if extra else ''}")
        print(f"    {info.id}: {', '.join(info.keywords)}")
    return 0


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    """Score an evaluation file: questions (q + gold; gold [] = off-topic) or dialogues.

    A questions file prints hit@1, hit@3, MRR, false abstention, off-topic abstained and the
    misses, the figures of the team's score_retrieval.py, and how often the answer is in what
    the reader sees of the passage (its snippet). A dialogues file (dialogues: name,
    turns) runs each dialogue in a fresh chat of the engine, with a history database of its own
    that is thrown away, and prints the turns that missed and the first / later turns passed, as
    score_dialogues.py does.
    Example:
      quotebot eval tests/eval/questions.yaml --top 3
      quotebot eval tests/eval/dialogues.yaml
    """
    from bot.evaluation import is_dialogues_file
    path = Path(args.file)
    if is_dialogues_file(path):
        return asyncio.run(_eval_dialogues(path, config))
    from bot.console import build_engine_parts
    from bot.conversation import search_question
    from bot.evaluation import load_cases, score
    cases = load_cases(path)
    _, retriever = build_engine_parts(config)
    hits = {case.question: search_question(retriever, case.question, args.top) for case in cases}
    report = score(cases, lambda q: [h.passage.text for h in hits[q]])
    # The scorers count a gold string anywhere in a passage; a long one is shown as its best
    # sentences, so this says how often the reader sees the answer too.
    shown = score(cases, lambda q: [h.snippet for h in hits[q]])
    lines = report.lines()
    on = max(shown.on_topic, 1)
    lines.insert(2, f"shown in the snippets: hit@1 {shown.hit1 / on:.3f}  hit@3 {shown.hit3 / on:.3f}")
    print("\n".join(lines))
    return 0


async def _eval_dialogues(path: Path, config: Config) -> int:
    """Score a dialogues file through the engine, as the console's JSON lines show each reply."""
    import tempfile

    from bot.console import build_engine_parts, render_json
    from bot.conversation import Engine
    from bot.evaluation import load_dialogues, score_dialogues
    from bot.history import HistoryStore
    dialogues = load_dialogues(path)
    corpus, retriever = build_engine_parts(config)
    with tempfile.TemporaryDirectory() as folder:
        async with await HistoryStore.open(Path(folder) / "eval.sqlite3", config.history.max_turns_per_chat) as history:
            engine = Engine(config, corpus, retriever, history)

            async def reply(chat_id: int, message: str) -> tuple[str, list[str]]:
                out = json.loads(render_json(message, await engine.handle(chat_id, chat_id, message)))
                return out["text"], [r["source"] for r in out["results"]]
            report = await score_dialogues(dialogues, reply)
    print("\n".join(report.lines()))
    return 0


def cmd_telegram(args: argparse.Namespace, config: Config) -> int:
    """Run the Telegram bot (long polling, or webhook per config); token from TELEGRAM_BOT_TOKEN.

    Example:
      TELEGRAM_BOT_TOKEN=123:abc quotebot telegram --log-level INFO
      quotebot telegram --api-base-url http://127.0.0.1:8081/bot --db /tmp/h.sqlite3
    """
    try:
        from bot.telegram.app import run_telegram
    except ModuleNotFoundError as exc:
        if exc.name not in ("bot.telegram.app", "bot.telegram"):
            raise
        print("quotebot: the Telegram adapter (bot.telegram.app) is not part of this build",
              file=sys.stderr)
        return EXIT_USAGE
    if args.api_base_url:
        config = config.with_overrides(telegram={"api_base_url": args.api_base_url})
    return run_telegram(config, api_base_url=config.telegram.api_base_url, log_level=args.log_level)


def cmd_check(args: argparse.Namespace) -> int:
    """Check a set-up before starting the bot: config, articles, index, database, token.

    One line per item ("ok", "warn" or "FAIL"); exit status 1 when anything failed. --online also
    calls Telegram's getMe: the bot's username, inline mode and group privacy.
    Example:
      quotebot check --config /etc/quotebot/bot.yaml
      TELEGRAM_BOT_TOKEN=123:abc quotebot check --online
    """
    from bot.check import CheckOptions, exit_code, run_checks
    options = CheckOptions(config_path=_path(args.config), seeds_dir=_path(args.seeds), db_path=_path(args.db),
                           api_base_url=args.api_base_url, online=args.online)
    items = []
    for item in run_checks(options):
        items.append(item)
        print(item.line(), flush=True)
    return exit_code(items)


def cmd_history_backup(args: argparse.Namespace, config: Config) -> int:
    """Copy the history database to PATH with SQLite's online backup, safe while the bot runs.

    The copy is checked (PRAGMA integrity_check) before it replaces PATH.
    Example:
      quotebot history backup /var/backups/quotebot-$(date +%F).sqlite3
    """
    from bot.history import HistoryError, HistoryStore
    source = config.history.db_path
    if not source.is_file():
        raise HistoryError(f"{source}: no history database here (see --db or QUOTEBOT_DB)")
    target = Path(args.path).expanduser().resolve()
    if target == source.resolve():
        raise HistoryError(f"{target}: that is the database itself; back up to another file")

    async def backup() -> str:
        async with await HistoryStore.open(source, config.history.max_turns_per_chat) as store:
            return await store.backup(target)
    verdict = asyncio.run(backup())
    print(f"backed up {source} to {target} ({target.stat().st_size} bytes, integrity_check {verdict})")
    return 0


def cmd_history_export(args: argparse.Namespace, config: Config) -> int:
    """Print the stored turns as JSON lines (one turn a line, oldest first), all chats or one.

    Fields: id, chat_id, user_id, role, text, passage_ids, query, offset, context, created_at (UTC).
    Example:
      quotebot history export --jsonl > history.jsonl
      quotebot history export --chat 12345 --jsonl
    """
    from bot.history import HistoryError, HistoryStore
    source = config.history.db_path
    if not source.is_file():
        raise HistoryError(f"{source}: no history database here (see --db or QUOTEBOT_DB)")

    async def export() -> int:
        count = 0
        async with await HistoryStore.open(source, config.history.max_turns_per_chat) as store:
            async for turn in store.turns(args.chat):
                print(json.dumps(_turn_record(turn), ensure_ascii=False))
                count += 1
        return count
    asyncio.run(export())
    sys.stdout.flush()
    return 0


# --- helpers --------------------------------------------------------------------------------

def _turn_record(turn) -> dict:
    """One exported turn: the stored fields, the time as ISO 8601 in UTC."""
    created = datetime.datetime.fromtimestamp(turn.created_at, datetime.timezone.utc)
    return {"id": turn.id, "chat_id": turn.chat_id, "user_id": turn.user_id, "role": turn.role,
            "text": turn.text, "passage_ids": list(turn.passage_ids), "query": turn.query,
            "offset": turn.offset, "context": turn.context,
            "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def _path(value: str | None) -> Path | None:
    """A command-line path made absolute, or None."""
    return Path(value).expanduser().resolve() if value else None


def _result(hit) -> dict:
    from bot.console import hit_result
    return hit_result(hit)


def _print_hits(query: str, hits: list, out: TextIO) -> None:
    """Plain-text results of one query, numbered, with source and score."""
    from bot.console import render_hit
    from bot.messages import detect_lang, say
    print(f"? {query}", file=out)
    if not hits:
        print(say("cli_no_results", detect_lang(query)), file=out)
    for n, hit in enumerate(hits, 1):
        first, second = render_hit(n, hit)
        print(first, file=out)
        print(f"{second}  [{hit.score:.3f}]", file=out)
    print(file=out, flush=True)


def _stdin_lines() -> Iterator[str]:
    """Each line of stdin as it comes (empty lines too, so output lines match input lines)."""
    for line in sys.stdin:
        yield line.rstrip("\r\n")


# --- wiring ---------------------------------------------------------------------------------

def _doc(func) -> tuple[str, str]:
    """(one-line help, full description) from a subcommand's docstring."""
    doc = textwrap.dedent(func.__doc__ or "").strip()
    first, _, rest = doc.partition("\n")
    return first, first + "\n" + textwrap.dedent(rest)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global --version, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="quotebot",
        description="Answer questions about a library of Chinese articles with quoted passages.",
        epilog="Example: quotebot console   (then type 梁文锋怎么看开源？)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"quotebot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func) -> argparse.ArgumentParser:
        short, full = _doc(func)
        p = sub.add_parser(name, help=short, description=full,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        p.add_argument("--config", metavar="PATH", help="a bot.yaml (default: the bundled one)")
        p.add_argument("--seeds", metavar="DIR", help="folder of .txt/.md articles to use instead")
        return p

    p = add("console", cmd_console)
    p.add_argument("--json", action="store_true", help="one JSON object per input line")
    p.add_argument("--db", metavar="PATH", help="history database (env QUOTEBOT_DB)")
    p.add_argument("--chat", metavar="ID", type=int, default=0, help="chat id of this session (default 0)")

    p = add("search", cmd_search)
    p.add_argument("query", metavar="QUERY", help='a question, or "-" for one per line on stdin')
    p.add_argument("--top", metavar="K", type=_positive, help="passages per query (default: config top_k)")
    p.add_argument("--json", action="store_true", help="one JSON line per query")

    add("sources", cmd_sources)

    p = add("eval", cmd_eval)
    p.add_argument("file", metavar="FILE.yaml", help="evaluation cases (q, gold) or dialogues (name, turns)")
    p.add_argument("--top", metavar="K", type=_positive, default=3, help="passages per question (default 3)")

    p = add("telegram", cmd_telegram)
    p.add_argument("--db", metavar="PATH", help="history database (env QUOTEBOT_DB)")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO")
    p.add_argument("--api-base-url", metavar="URL",
                   help="Bot API base URL, the token appended after it (default from config)")

    p = add("check", cmd_check)
    p.set_defaults(loads_config=True)   # a broken config is one of the lines it prints, exit 1
    p.add_argument("--db", metavar="PATH", help="history database (env QUOTEBOT_DB)")
    p.add_argument("--online", action="store_true", help="also call Telegram's getMe")
    p.add_argument("--api-base-url", metavar="URL", help="Bot API base URL for --online (default from config)")

    history = sub.add_parser("history", help="back up or export the history database",
                             description=_HISTORY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    history.set_defaults(func=lambda args: _usage(history), loads_config=True)
    actions = history.add_subparsers(dest="action", metavar="ACTION")
    for name, func in (("backup", cmd_history_backup), ("export", cmd_history_export)):
        short, full = _doc(func)
        p = actions.add_parser(name, help=short, description=full,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func, loads_config=False)
        p.add_argument("--config", metavar="PATH", help="a bot.yaml (default: the bundled one)")
        p.add_argument("--db", metavar="PATH", help="history database (env QUOTEBOT_DB)")
        if name == "backup":
            p.add_argument("path", metavar="PATH", help="the backup file to write (replaced if present)")
        else:
            p.add_argument("--chat", metavar="ID", type=int, help="only this chat")
            p.add_argument("--jsonl", action="store_true", help="JSON lines (the only format, and the default)")
    return parser


_HISTORY_HELP = """Back up or export the history database.

Example:
  quotebot history backup /var/backups/quotebot.sqlite3
  quotebot history export --chat 12345 --jsonl
"""


def _usage(parser: argparse.ArgumentParser) -> int:
    """A group command given without its action: print its help, a usage error."""
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _positive(value: str) -> int:
    """argparse type: a whole number from 1 to 100."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError(f"expected 1 to 100, got {number}")
    return number


def _configure(args: argparse.Namespace) -> Config:
    """Load the config once and apply the command line's overrides."""
    config = load_config(args.config)
    if getattr(args, "seeds", None):
        config = config.with_overrides(corpus={"seeds_dir": Path(args.seeds).expanduser().resolve()})
    if getattr(args, "db", None):
        config = config.with_overrides(history={"db_path": Path(args.db).expanduser().resolve()})
    return config


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for a usage, config or data error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # Undecodable bytes on stdin become U+FFFD, which the engine treats as unusable input.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    errors = _library_errors()
    try:
        if getattr(args, "loads_config", False):
            return args.func(args)
        return args.func(args, _configure(args))
    except errors as exc:
        print(f"quotebot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly; point stdout at devnull so the
        # interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
