"""Telegram end-to-end benchmark, run on demand: the real bot through the emulator and the strict proxy.

    .venv/bin/python bench/bench_telegram.py                       # everything (about 5 minutes)
    .venv/bin/python bench/bench_telegram.py --only load,group     # some parts: load, group, faults, raw
    .venv/bin/python bench/bench_telegram.py --only faults --faults 429,kill9

Prints figures, asserts nothing about speed. The bot runs with the bundled config's limits
(rate limiter on: 20 messages a minute in a group, a burst of 3 then 1 a second in a private chat,
30 a second in all) unless a part says otherwise.

- load: 500 questions from 50 users, each user's 10 at once: answered, lost, sent twice, p50/p95
  latency (from posting a question to the emulator until the proxy accepted its answer), and the
  most messages any private chat got in one second (rolling).
- group: 40 /quote in one group within a second or two: how many were answered, the notice, the
  most messages in any rolling minute, and when the last reply came.
- faults: questions asked around each fault Telegram produces, then every reply counted per chat:
  lost (asked, never answered) and duplicated (answered more than once), with the time from the
  end of an outage to the last answer it delayed. Faults: 429 flood control (30 % of sendMessage
  answered "retry after 2" for 20 s), the API refused / reset / 502 for 10 s while 20 answers
  are being sent, kill -9 and SIGTERM at a random moment of a 100-question burst.
- raw: the rate limiter off: replies per second the bot itself manages, and one question at a
  time (its own latency, without Telegram's pacing).
- heavy: a big synthetic library (200,000 passages by default): light questions (rare words) one
  at a time, alone and then while other chats' heavy questions (long, full of common words) are
  being ranked: the event loop must not wait on a heavy question's ranking. --heavy-base main runs
  main's bot first, on the same library, for a figure before and after in one run.

Replies in one chat come in order (the bot keeps each chat's updates in sequence), so the k-th
reply in a chat answers its k-th question.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "tests" / "telegram"
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))
if str(REPO / "bench") not in sys.path:
    sys.path.insert(0, str(REPO / "bench"))

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
FAULTS = ("429", "refused", "reset", "502", "kill9", "sigterm")
# Shorter backoff than the bundled 0.5-10 s would flatter the outage figures; these are the defaults.
BUNDLED = {"rate_limiter": True}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Run:
    """One bot process with its own proxy, started for a measurement; restartable on the same database."""

    def __init__(self, emulator: Emulator, folder: Path, index_cache: Path, seeds: Path | None = None,
                 bot_tree: Path | None = None, config_source: Path | None = None, **telegram: object) -> None:
        self.folder = folder
        self.token = make_token()
        self.proxy = RepairingProxy(emulator.url, token=self.token).start()
        self.config = write_config(folder, index_cache, config_source, questions_per_minute=10_000, **telegram)
        if seeds is not None:
            raw = yaml.safe_load(self.config.read_text(encoding="utf-8"))
            raw["corpus"]["seeds_dir"] = str(seeds)
            self.config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        self.env = bot_env(self.folder / "home")
        # Another checkout's bot (e.g. main before a change), to compare in the same run.
        self.tree = bot_tree
        self.bot = self.start()

    def start(self) -> BotProcess:
        self.bot = BotProcess(self.proxy, self.config, self.folder / "history.sqlite3", self.env,
                              self.folder / "bot.log", self.token)
        self.bot.cwd = self.tree
        return self.bot.start(timeout=300)

    def stop(self) -> None:
        self.bot.stop()
        self.proxy.stop()


def accepted(proxy: RepairingProxy, chat_ids: set[int]) -> dict[int, list[float]]:
    """When Telegram (the proxy) accepted each of the bot's messages, per chat, in order."""
    found: dict[int, list[float]] = defaultdict(list)
    for call in proxy.calls("sendMessage"):
        if call.ok and int(call.params["chat_id"]) in chat_ids:
            found[int(call.params["chat_id"])].append(call.finished)
    return found


async def post_questions(users: list[User], per_chat: int, texts=None) -> dict[int, list[float]]:
    """Post every chat's questions at once (each chat's in order); returns when each was posted."""
    sent: dict[int, list[float]] = defaultdict(list)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(users))) as client:
        async def one_chat(user: User) -> None:
            for k in range(per_chat):
                text = texts(user, k) if texts else QUESTIONS[(k + user.chat_id) % len(QUESTIONS)]
                body = {**user.message(text), "botToken": user.token}
                sent[user.chat_id].append(time.monotonic())
                response = await client.post(f"{user.emulator_url}/sendMessage", json=body)
                response.raise_for_status()
        await asyncio.gather(*(one_chat(u) for u in users))
    return sent


def wait_for_replies(proxy: RepairingProxy, expected: dict[int, int], timeout: float, settle: float = 2.0) -> None:
    """Until every chat has its expected count (or timeout), then `settle` seconds for duplicates to show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = accepted(proxy, set(expected))
        if all(len(got[c]) >= n for c, n in expected.items()):
            break
        time.sleep(0.1)
    time.sleep(settle)


def lost_and_twice(proxy: RepairingProxy, expected: dict[int, int]) -> tuple[int, int]:
    """(questions never answered, extra answers) over the chats."""
    got = accepted(proxy, set(expected))
    return (sum(max(0, n - len(got[c])) for c, n in expected.items()),
            sum(max(0, len(got[c]) - n) for c, n in expected.items()))


def max_in_window(times: list[float], window: float) -> int:
    """The most messages within any `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- parts --------------------------------------------------------------------------------------------

def load(emulator: Emulator, folder: Path, cache: Path, chats: int, per_chat: int) -> None:
    """500 questions from 50 users with Telegram's limits kept."""
    run = Run(emulator, folder, cache, **BUNDLED)
    try:
        users = [run.bot.user() for _ in range(chats)]
        warm = run.bot.user()
        warm.send(QUESTIONS[0])
        warm.wait_replies(1)
        started = time.monotonic()
        sent = asyncio.run(post_questions(users, per_chat))
        expected = {u.chat_id: per_chat for u in users}
        wait_for_replies(run.proxy, expected, timeout=120)
        got = accepted(run.proxy, set(expected))
        lost, twice = lost_and_twice(run.proxy, expected)
        latencies = [got[c][k] - sent[c][k] for c in expected for k in range(min(per_chat, len(got[c])))]
        last = max(t for c in expected for t in got[c])
        print(f"load: {chats * per_chat} questions from {chats} users ({per_chat} each, at once), limits on")
        print(f"  answered {sum(min(per_chat, len(got[c])) for c in expected)}, lost {lost}, sent twice {twice}")
        print(f"  latency p50 {percentile(latencies, 50):.2f} s   p95 {percentile(latencies, 95):.2f} s   "
              f"max {max(latencies):.2f} s   (all done {last - started:.1f} s after the first was posted)")
        print(f"  most messages in one private chat in any 1 s: {max(max_in_window(got[c], 1.0) for c in expected)}"
              f"   in any 3 s: {max(max_in_window(got[c], 3.0) for c in expected)}")
        print(f"  most messages overall in any 1 s: {max_in_window([t for c in expected for t in got[c]], 1.0)}")
        print(f"  rejected by the proxy: {rejected(run.proxy)}")
    finally:
        run.stop()


def group(emulator: Emulator, folder: Path, cache: Path, count: int) -> None:
    """A flooded group: 20 a minute kept, the excess told once and dropped."""
    run = Run(emulator, folder, cache, **BUNDLED)
    try:
        members = [run.bot.user("supergroup") for _ in range(4)]
        for member in members[1:]:
            member.chat_id = members[0].chat_id
        chat_id = members[0].chat_id
        started = time.monotonic()
        for k in range(count):
            members[k % 4].send(f"/quote {QUESTIONS[k % len(QUESTIONS)]}")
        posted = time.monotonic() - started
        time.sleep(5.0)
        times = accepted(run.proxy, {chat_id})[chat_id]
        texts = [c.params["text"] for c in run.proxy.calls("sendMessage", chat_id) if c.ok]
        notices = sum("太多" in t for t in texts)
        print(f"group: {count} /quote in one group, posted in {posted:.1f} s, limits on")
        print(f"  messages {len(times)}: answers {len(times) - notices}, busy notice {notices}, "
              f"dropped {run.bot.log().count(' s): dropped')} (each logged)")
        print(f"  most messages in any rolling minute: {max_in_window(times, 60.0)}   "
              f"last reply {max(times) - started:.1f} s after the first /quote")
        print(f"  rejected by the proxy: {rejected(run.proxy)}")
    finally:
        run.stop()


def fault(emulator: Emulator, folder: Path, cache: Path, kind: str, seed: int) -> None:
    """Questions around one fault; every reply counted per chat."""
    run = Run(emulator, folder, cache, **BUNDLED)
    rng = random.Random(seed)
    try:
        warm = run.bot.user()
        warm.send(QUESTIONS[0])
        warm.wait_replies(1)
        delayed_until: float | None = None
        if kind == "429":
            users = [run.bot.user() for _ in range(20)]
            run.proxy.flood(fraction=0.3, retry_after=2, seconds=20.0)
            asyncio.run(post_questions(users, 3))
            expected = {u.chat_id: 3 for u in users}
            described = "60 questions from 20 users, 30 % of sendMessage answered 429 retry after 2 for 20 s"
        elif kind in ("refused", "reset", "502"):
            users = [run.bot.user() for _ in range(20)]
            run.proxy.hold("sendMessage")
            asyncio.run(post_questions(users, 1))
            deadline = time.monotonic() + 30
            while run.proxy.held() < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            run.proxy.outage(kind, 10.0)
            outage_end = time.monotonic() + 10.0
            run.proxy.release(forward=False)   # the 20 answers being sent never reach Telegram
            late = [run.bot.user() for _ in range(10)]
            asyncio.run(post_questions(late, 1))  # asked during the outage
            users += late
            expected = {u.chat_id: 1 for u in users}
            delayed_until = outage_end
            described = f"API {kind} for 10 s while 20 answers were being sent, 10 more asked meanwhile"
        else:
            users = [run.bot.user() for _ in range(20)]
            started = time.monotonic()
            asyncio.run(post_questions(users, 5))
            total = 100
            # A random moment of the burst (it lasts about 4 s: 100 messages at 30 a second), not
            # one chosen by watching the answers, which would pick the instant after an acceptance.
            time.sleep(max(0.0, started + rng.uniform(0.5, 3.5) - time.monotonic()))
            before = sum(len(v) for v in accepted(run.proxy, {u.chat_id for u in users}).values())
            if kind == "kill9":
                run.bot.process.send_signal(signal.SIGKILL)
                run.bot.process.wait()
            else:
                run.bot.stop()
            run.start()
            expected = {u.chat_id: 5 for u in users}
            described = (f"{total} questions from 20 users, {'kill -9' if kind == 'kill9' else 'SIGTERM'} "
                         f"after {before} answers, then a restart")
        wait_for_replies(run.proxy, expected, timeout=120)
        lost, twice = lost_and_twice(run.proxy, expected)
        print(f"fault {kind}: {described}")
        print(f"  lost {lost}   duplicated {twice}")
        if delayed_until is not None:
            got = accepted(run.proxy, set(expected))
            last = max(t for c in expected for t in got[c])
            print(f"  last delayed answer {last - delayed_until:.1f} s after the outage ended")
        log = run.bot.log()
        print(f"  log: {log.count('Bot API unreachable')} outage start(s), {log.count('reachable again')} end(s), "
              f"{log.count('flood control (')} flood start(s), {log.count('Traceback')} tracebacks, "
              f"{sum(' ERROR ' in line for line in log.splitlines())} error lines")
        print(f"  rejected by the proxy: {rejected(run.proxy)}")
    finally:
        run.stop()


def raw(emulator: Emulator, folder: Path, cache: Path, chats: int, per_chat: int, sequential: int) -> None:
    """The rate limiter off: what the bot itself manages."""
    run = Run(emulator, folder, cache, rate_limiter=False)
    try:
        users = [run.bot.user() for _ in range(chats)]
        warm = run.bot.user()
        warm.send(QUESTIONS[0])
        warm.wait_replies(1)
        started = time.monotonic()
        sent = asyncio.run(post_questions(users, per_chat))
        expected = {u.chat_id: per_chat for u in users}
        wait_for_replies(run.proxy, expected, timeout=120, settle=1.0)
        got = accepted(run.proxy, set(expected))
        lost, twice = lost_and_twice(run.proxy, expected)
        last = max(t for c in expected for t in got[c])
        latencies = [got[c][k] - sent[c][k] for c in expected for k in range(min(per_chat, len(got[c])))]
        print(f"raw (limiter off): {chats * per_chat} questions from {chats} users at once")
        print(f"  lost {lost}, sent twice {twice}, {chats * per_chat / (last - started):.1f} replies/s, "
              f"p50 {percentile(latencies, 50):.2f} s p95 {percentile(latencies, 95):.2f} s")
        user = run.bot.user()
        one = []
        for k in range(sequential):
            before = len(accepted(run.proxy, {user.chat_id})[user.chat_id])
            posted = time.monotonic()
            user.send(QUESTIONS[k % len(QUESTIONS)])
            while len(accepted(run.proxy, {user.chat_id})[user.chat_id]) == before:
                time.sleep(0.001)
            one.append((accepted(run.proxy, {user.chat_id})[user.chat_id][before] - posted) * 1000)
        print(f"  one at a time ({sequential}): p50 {percentile(one, 50):.1f} ms   p95 {percentile(one, 95):.1f} ms"
              f"   mean {statistics.mean(one):.1f} ms")
    finally:
        run.stop()


# Questions that touch much of a big library (long, with common words), and ones that touch little.
HEAVY = ("西方怎么看中国的技术和开源模型的发展", "监管层支持国内开源社区的原因是什么", "DeepSeek 的模型性能跟闭源的比怎么样",
         "中国工程师做开源图的是什么", "开源 AI 模型跟操作系统的区别在哪里", "全球南方国家能从开源模型得到什么")
LIGHT = ("红旗 Linux 是干嘛的", "Gitee", "MiniMax 开源", "幻方量化", "Sarah Guo", "蒸馏指控")


def heavy(emulator: Emulator, folder: Path, cache: Path, passages: str, light: int, heavy_chats: int,
          heavy_each: int, trees: list[tuple[str, Path | None]]) -> None:
    """Light questions' latency alone, then while heavy ones from other chats are being ranked."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_retrieval import bundled_config, build_corpus, parse_scale
    from synthetic import write_seed_files
    from bot.corpus import load_corpus

    config = bundled_config()
    scale = parse_scale(passages, len(load_corpus(config.corpus).passages))
    seeds = folder / "seeds"
    files = write_seed_files(build_corpus(config, scale, 20250218), seeds)
    print(f"heavy: a library of {scale}× the bundled passages ({files:,} seed files); the rate limiter off")
    for label, tree in trees:
        run_folder = folder / f"run-{label}"
        run_folder.mkdir()
        index_cache = folder / f"cache-{label}"
        # Each version with its own bundled config (keys come and go between commits).
        source = (tree / "config" / "bot.yaml") if tree else None
        prepare = write_config(run_folder, index_cache, source)
        raw = yaml.safe_load(prepare.read_text(encoding="utf-8"))
        raw["corpus"]["seeds_dir"] = str(seeds)
        prepare.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        started = time.monotonic()
        # The index is built before the bot starts (it would build it the same way).
        subprocess.run([sys.executable, "-m", "bot", "search", "--config", str(prepare), "开源"],
                       env=bot_env(run_folder / "home"), cwd=tree, check=True, capture_output=True, timeout=3600)
        print(f"  [{label}] index built in {time.monotonic() - started:.0f} s ({tree or 'this checkout'})")
        run = Run(emulator, run_folder, index_cache, seeds=seeds, bot_tree=tree, config_source=source,
                  rate_limiter=False)
        try:
            asker = run.bot.user()
            asker.send(LIGHT[0])
            asker.wait_replies(1, timeout=60)
            alone = one_at_a_time(run, asker, LIGHT, light)
            users = [run.bot.user() for _ in range(heavy_chats)]
            loaded: list[float] = []
            done = threading.Event()

            def busy() -> None:
                asyncio.run(post_questions(users, heavy_each, lambda user, k: HEAVY[(k + user.chat_id) % len(HEAVY)]))
                done.set()
            poster = threading.Thread(target=busy)
            poster.start()
            time.sleep(0.5)
            expected = {u.chat_id: heavy_each for u in users}
            while len(loaded) < light:
                loaded += one_at_a_time(run, asker, LIGHT, 1, offset=len(loaded))
                if all(len(v) >= heavy_each for v in accepted(run.proxy, set(expected)).values()) and \
                        len(accepted(run.proxy, set(expected))) == len(expected):
                    break
            poster.join()
            wait_for_replies(run.proxy, expected, timeout=600, settle=0.5)
            got = accepted(run.proxy, set(expected))
            heavy_done = sum(len(v) for v in got.values())
            print(f"  [{label}] light questions alone: p50 {percentile(alone, 50):.0f} ms  p95 {percentile(alone, 95):.0f} ms"
                  f"  (n={len(alone)})")
            print(f"  [{label}] light questions while {heavy_chats} chats' {heavy_chats * heavy_each} heavy questions run: "
                  f"p50 {percentile(loaded, 50):.0f} ms  p95 {percentile(loaded, 95):.0f} ms  max {max(loaded):.0f} ms "
                  f"(n={len(loaded)}; heavy answered {heavy_done})")
        finally:
            run.stop()


def one_at_a_time(run: Run, user: User, texts: tuple[str, ...], count: int, offset: int = 0) -> list[float]:
    """Milliseconds from posting each question to Telegram accepting its answer, one after another."""
    out = []
    for k in range(count):
        before = len(accepted(run.proxy, {user.chat_id})[user.chat_id])
        posted = time.monotonic()
        user.send(texts[(k + offset) % len(texts)])
        while len(accepted(run.proxy, {user.chat_id})[user.chat_id]) == before:
            time.sleep(0.001)
        out.append((accepted(run.proxy, {user.chat_id})[user.chat_id][before] - posted) * 1000)
    return out


def rejected(proxy: RepairingProxy) -> int:
    """Calls the strict proxy refused as Telegram would (4xx other than 429) or counted as violations."""
    return sum(400 <= c.status < 500 and c.status != 429 for c in proxy.calls()) + len(proxy.violations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="load,group,faults,raw,heavy", help="parts to run, comma-separated")
    parser.add_argument("--heavy-passages", default="200k", help="the heavy part's library (as bench_retrieval's --scales)")
    parser.add_argument("--heavy-chats", type=int, default=6)
    parser.add_argument("--heavy-each", type=int, default=30)
    parser.add_argument("--light", type=int, default=30, help="light questions, alone and under load")
    parser.add_argument("--heavy-base", help="also run the heavy part with this commit's bot (e.g. main), first")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"faults to inject (of {', '.join(FAULTS)})")
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--per-chat", type=int, default=10)
    parser.add_argument("--group-quotes", type=int, default=40)
    parser.add_argument("--sequential", type=int, default=40, help="questions for the one-at-a-time latency")
    parser.add_argument("--seed", type=int, default=1, help="where in the burst kill -9 and SIGTERM come")
    parser.add_argument("--kills", type=int, default=5, help="kill -9 and SIGTERM runs, each at another moment")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    emulator = Emulator(install_emulator()).start()
    try:
        with tempfile.TemporaryDirectory(prefix="quotebot-bench-tg-") as tmp:
            root = Path(tmp)
            cache = root / "index-cache"
            runs = iter(range(1000))

            def folder() -> Path:
                made = root / f"run{next(runs)}"
                made.mkdir()
                return made
            if "load" in parts:
                load(emulator, folder(), cache, args.chats, args.per_chat)
            if "group" in parts:
                group(emulator, folder(), cache, args.group_quotes)
            if "faults" in parts:
                for kind in args.faults.split(","):
                    for n in range(args.kills if kind in ("kill9", "sigterm") else 1):
                        fault(emulator, folder(), cache, kind, args.seed + n)
            if "raw" in parts:
                raw(emulator, folder(), cache, 20, 25, args.sequential)
            if "heavy" in parts:
                trees: list[tuple[str, Path | None]] = []
                if args.heavy_base:
                    from same_results import checkout
                    trees.append((args.heavy_base, checkout(args.heavy_base, root / "base-tree")))
                trees.append(("this", None))
                heavy(emulator, folder(), cache, args.heavy_passages, args.light, args.heavy_chats,
                      args.heavy_each, trees)
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
