"""Telegram end-to-end benchmark, run on demand: the real bot through the emulator and the repairing proxy.

    .venv/bin/python bench/bench_telegram.py                 # rate limiter off, then on
    .venv/bin/python bench/bench_telegram.py --no-limited    # rate limiter off only
    .venv/bin/python bench/bench_telegram.py --chats 20 --per-chat 25 --sequential 40

Prints figures, asserts nothing about speed. A burst sends every chat's questions at once (each
chat's in order); latency runs from the moment a question is posted to the emulator until the
bot's sendMessage for it reaches the proxy. Replies in one chat come in order (the bot keeps
each chat's updates in sequence), so the k-th reply in a chat answers its k-th question.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "tests" / "telegram"
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))

from bot_harness import BotProcess, bot_env, make_token, write_config  # noqa: E402
from emulator_harness import Emulator, User, install_emulator  # noqa: E402
from repair_proxy import RepairingProxy  # noqa: E402

# Written for this benchmark: questions on the articles' topics, in varied shapes.
QUESTIONS = (
    "DeepSeek 为什么开源？", "训练一个大模型要花多少钱？", "出口管制对芯片有什么影响？",
    "闭源模型还有优势吗？", "开源社区怎么参与？", "梁文锋说了什么？", "OpenAI 为什么走向闭源？",
    "蒸馏指控是怎么回事？", "应用层有哪些创业机会？", "谁会主导未来的 AI？", "中美科技竞争",
    "开源模型的商业模式", "监管会怎么影响开源？", "星际之门计划", "垂直领域的 AI 应用",
    "Why is DeepSeek open source?", "export controls on chips", "成本效益", "人才为什么被低估？",
    "开源和闭源的区别", "AGI 什么时候到来？", "算力限制", "模型权重公开有风险吗？", "幻方量化是什么公司？",
    "开源能赚钱吗？",
)
SENT_METHODS = ("sendMessage",)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Run:
    """One bot process with its own proxy, started for a measurement."""

    def __init__(self, emulator: Emulator, folder: Path, index_cache: Path, rate_limiter: bool) -> None:
        self.token = make_token()
        self.proxy = RepairingProxy(emulator.url, token=self.token).start()
        config = write_config(folder, index_cache, rate_limiter=rate_limiter, questions_per_minute=10_000)
        self.bot = BotProcess(self.proxy, config, folder / "history.sqlite3", bot_env(folder / "home"),
                              folder / "bot.log", self.token).start()

    def stop(self) -> None:
        self.bot.stop()
        self.proxy.stop()


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replies_by_chat(proxy: RepairingProxy, chat_ids: set[int]) -> dict[int, list[float]]:
    """When each reply reached the proxy, per chat, in order."""
    found: dict[int, list[float]] = defaultdict(list)
    for call in proxy.calls():
        if call.method in SENT_METHODS and call.ok and int(call.params["chat_id"]) in chat_ids:
            found[int(call.params["chat_id"])].append(call.finished)
    return found


async def send_burst(users: list[User], per_chat: int) -> dict[int, list[float]]:
    """Post every chat's questions at once (each chat's in order); returns the send times."""
    sent: dict[int, list[float]] = defaultdict(list)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(users))) as client:
        async def one_chat(user: User) -> None:
            for k in range(per_chat):
                body = {**user.message(QUESTIONS[(k + user.chat_id) % len(QUESTIONS)]), "botToken": user.token}
                sent[user.chat_id].append(time.monotonic())
                response = await client.post(f"{user.emulator_url}/sendMessage", json=body)
                response.raise_for_status()
        await asyncio.gather(*(one_chat(u) for u in users))
    return sent


def burst(run: Run, chats: int, per_chat: int, timeout: float) -> None:
    """chats × per_chat questions at once: replies/s, p50/p99 latency, none lost, none twice."""
    users = [run.bot.user() for _ in range(chats)]
    chat_ids = {u.chat_id for u in users}
    total = chats * per_chat
    cpu_before = cpu_seconds(run.bot.process.pid)
    started = time.monotonic()
    sent = asyncio.run(send_burst(users, per_chat))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(len(v) for v in replies_by_chat(run.proxy, chat_ids).values()) >= total:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # anything sent twice would show up now
    replies = replies_by_chat(run.proxy, chat_ids)
    answered = sum(min(len(replies[c]), per_chat) for c in chat_ids)
    twice = sum(max(0, len(replies[c]) - per_chat) for c in chat_ids)
    latencies = [(replies[c][k] - sent[c][k]) * 1000 for c in chat_ids for k in range(min(len(replies[c]), per_chat))]
    last = max((t for c in chat_ids for t in replies[c]), default=started)
    elapsed = last - started
    print(f"  questions sent:        {total} ({chats} chats x {per_chat})")
    print(f"  answered:              {answered}/{total}   extra replies: {twice}")
    print(f"  wall time:             {elapsed:.2f} s   replies/s: {answered / elapsed:.1f}")
    if latencies:
        print(f"  send->reply latency:   p50 {percentile(latencies, 50):.0f} ms   "
              f"p99 {percentile(latencies, 99):.0f} ms   max {max(latencies):.0f} ms")
    cpu_after = cpu_seconds(run.bot.process.pid)
    if cpu_before is not None and cpu_after is not None and answered:
        print(f"  bot CPU:               {cpu_after - cpu_before:.2f} s "
              f"({(cpu_after - cpu_before) / answered * 1000:.1f} ms per reply)")
    # Counted per calendar second: a 30/s leaky bucket may show up to ~2x30 across one boundary.
    per_second = Counter(int(t) for c in chat_ids for t in replies[c])
    per_chat_second = Counter((c, int(t)) for c in chat_ids for t in replies[c])
    print(f"  busiest second:        {max(per_second.values(), default=0)} messages overall, "
          f"{max(per_chat_second.values(), default=0)} in one chat")


def sequential(run: Run, count: int) -> None:
    """One question at a time: the latency of a single user on an idle bot."""
    user = run.bot.user()
    latencies = []
    for k in range(count):
        before = len(replies_by_chat(run.proxy, {user.chat_id})[user.chat_id])
        sent = time.monotonic()
        user.send(QUESTIONS[k % len(QUESTIONS)])
        while True:
            replies = replies_by_chat(run.proxy, {user.chat_id})[user.chat_id]
            if len(replies) > before:
                latencies.append((replies[before] - sent) * 1000)
                break
            if time.monotonic() - sent > 20:
                print(f"  question {k} got no reply within 20 s")
                return
            time.sleep(0.001)
    print(f"  one at a time ({count}): p50 {percentile(latencies, 50):.1f} ms   "
          f"p99 {percentile(latencies, 99):.1f} ms   mean {statistics.mean(latencies):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--per-chat", type=int, default=25)
    parser.add_argument("--sequential", type=int, default=40, help="questions for the one-at-a-time p50")
    parser.add_argument("--no-limited", action="store_true", help="skip the run with the rate limiter on")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    emulator = Emulator(install_emulator()).start()
    try:
        with tempfile.TemporaryDirectory(prefix="quotebot-bench-tg-") as tmp:
            folder = Path(tmp)
            cache = folder / "index-cache"
            for limited in ([False] if args.no_limited else [False, True]):
                label = "on" if limited else "off"
                run_folder = folder / f"limiter-{label}"
                run_folder.mkdir()
                print(f"rate limiter {label}:")
                run = Run(emulator, run_folder, cache, rate_limiter=limited)
                try:
                    sequential(run, 3)  # warm-up: first answers pay for lazy work
                    burst(run, args.chats, args.per_chat, args.timeout)
                    if not limited:
                        sequential(run, args.sequential)
                finally:
                    run.stop()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
