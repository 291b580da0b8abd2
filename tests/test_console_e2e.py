"""`quotebot console` end to end: the real CLI in a subprocess on the bundled articles."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "DeepSeek 为什么选择开源？"
FOLLOW_UP = "那他们怎么赚钱呢？"


def console(run_cli, db: Path, *messages: str, as_json: bool = True):
    """Run one scripted console session; returns (process, parsed JSON lines or None)."""
    args = ["console", "--db", str(db)] + (["--json"] if as_json else [])
    proc = run_cli(*args, stdin="".join(m + "\n" for m in messages))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    if not as_json:
        return proc, None
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["input"] for line in lines] == list(messages)
    return proc, lines


def result_ids(line: dict) -> list[str]:
    return [r["id"] for r in line["results"]]


def test_scripted_session_with_follow_up_paging_history_and_forget(run_cli, tmp_path: Path) -> None:
    _, (asked, follow_up, more_zh, more_cmd, history, forgot, empty) = console(
        run_cli, tmp_path / "h.sqlite3",
        QUESTION, FOLLOW_UP, "更多", "/more", "/history", "/forget", "/history")
    assert asked["results"] and asked["text"].startswith("1. 「")
    assert "—— 《" in asked["text"] and "更多: /more" in asked["text"]
    for result in asked["results"]:
        assert set(result) == {"id", "source", "section", "text", "score"}

    # The follow-up says what it leans on, and its pages continue without repeats.
    assert follow_up["results"] and f"接着上一个问题：{QUESTION}" in follow_up["text"]
    # (A page past the answers opens with a line saying so, then goes on numbering.)
    assert more_zh["results"] and re.search(r"^4\. 「", more_zh["text"], re.M)
    assert re.search(r"^7\. 「", more_cmd["text"], re.M) or "没有更多" in more_cmd["text"]
    pages = result_ids(follow_up) + result_ids(more_zh) + result_ids(more_cmd)
    assert len(pages) == len(set(pages))

    assert QUESTION in history["text"] and FOLLOW_UP in history["text"] and history["results"] == []
    assert "已删除本对话的 8 条记录" in forgot["text"]
    assert "还没有记录" in empty["text"]


def test_history_and_paging_survive_a_second_run(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    _, (first,) = console(run_cli, db, QUESTION)
    _, (history, more) = console(run_cli, db, "/history", "更多")
    assert QUESTION in history["text"]
    assert re.search(r"^4\. 「", more["text"], re.M)
    assert not set(result_ids(first)) & set(result_ids(more))


def test_chats_are_separate(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    console(run_cli, db, QUESTION)
    proc = run_cli("console", "--json", "--db", str(db), "--chat", "42", stdin="/history\n/more\n")
    history, more = (json.loads(line) for line in proc.stdout.splitlines())
    assert "还没有记录" in history["text"] and "先问一个" in more["text"]


def test_off_topic_question_says_so_and_names_the_articles(run_cli, tmp_path: Path) -> None:
    _, (line,) = console(run_cli, tmp_path / "h.sqlite3", "红烧肉怎么做？")
    assert line["results"] == []
    assert "文章里没有找到" in line["text"] and "这些文章讲的是：《" in line["text"]


def test_english_question_gets_english_text(run_cli, tmp_path: Path) -> None:
    _, (answer, off) = console(run_cli, tmp_path / "h.sqlite3",
                               "Why did DeepSeek choose open source?", "how do I bake bread at home?")
    assert answer["results"] and "更多" not in answer["text"]
    assert off["results"] == [] and "nothing relevant" in off["text"]


def test_bad_inputs_each_get_a_clear_reply_and_no_traceback(run_cli, tmp_path: Path) -> None:
    bad = ["", "   \t  ", "开源" * 5000, "😀🎉👍", "<b>&</b>", "\x01\x02\x03\x07\x1b", "/nonsense"]
    proc, lines = console(run_cli, tmp_path / "h.sqlite3", *bad)
    assert proc.stderr == ""
    empty, spaces, huge, emoji, html, control, unknown = lines
    for line in (empty, spaces):
        assert line["results"] == [] and "请发一个问题" in line["text"]
    for line in (emoji, html, control):
        assert line["results"] == [] and "没有可以检索的文字" in line["text"]
    assert "只用了前 500 个字" in huge["text"]
    assert "不认识 /nonsense" in unknown["text"] and "/quote" in unknown["text"]


def test_binary_junk_on_stdin_is_survived(run_cli, isolated_env, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "console", "--json", "--db",
                           str(tmp_path / "h.sqlite3")],
                          input=b"\xff\xfe\x00\x81garbage\xc3\x28\n" + "开源\n".encode(),
                          capture_output=True, env=isolated_env, timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
    assert len(proc.stdout.decode().splitlines()) == 2


def test_plain_text_mode_prints_quotes_sources_and_the_more_hint(run_cli, tmp_path: Path) -> None:
    proc, _ = console(run_cli, tmp_path / "h.sqlite3", QUESTION, "/sources", as_json=False)
    assert "1. 「" in proc.stdout and "   —— 《" in proc.stdout and "更多: /more" in proc.stdout
    assert "收录了 4 篇文章" in proc.stdout and "关键词" in proc.stdout


def test_interactive_prompt_ctrl_c_clears_ctrl_d_quits(isolated_env, tmp_path: Path) -> None:
    """On a terminal: a prompt, an answer, Ctrl-C abandons the line, Ctrl-D ends with exit 0."""
    import pty
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "h.sqlite3")],
                            stdin=secondary, stdout=secondary, stderr=subprocess.PIPE,
                            env={**isolated_env, "TERM": "dumb"}, start_new_session=True,
                            preexec_fn=_take_terminal)
    os.close(secondary)
    screen = _Terminal(main)
    try:
        assert "Ctrl-D" in screen.expect("> ")
        os.write(main, f"{QUESTION}\r".encode())
        assert "—— 《" in screen.expect("更多: /more")
        screen.expect("> ")
        os.write(main, "half a line".encode())
        screen.expect("half a line")     # echoed: readline has the line
        # CPython's readline notices a signal only while it waits in select(); one landing just
        # as it finishes echoing goes unseen until the next key. A person never types that fast.
        time.sleep(0.5)
        os.write(main, b"\x03")          # Ctrl-C: the line is dropped, a new prompt appears
        screen.expect("> ")
        os.write(main, b"\x04")          # Ctrl-D on an empty line: quit
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    assert b"Traceback" not in proc.stderr.read()
    history_file = Path(isolated_env["XDG_DATA_HOME"]) / "quotebot" / "console_history"
    assert QUESTION in history_file.read_text(encoding="utf-8")
    assert "half a line" not in history_file.read_text(encoding="utf-8")


def _take_terminal() -> None:
    """In the child: make the pty its controlling terminal, so Ctrl-C there sends SIGINT."""
    import fcntl
    import termios
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _Terminal:
    """What a pty shows, read as it comes; expect() waits for text after the previous match."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = b""
        self.matched = 0

    def expect(self, marker: str, timeout: float = 120) -> str:
        """Wait until marker appears past the last match; returns the text up to and with it."""
        needle = marker.encode()
        deadline = time.monotonic() + timeout
        while (found := self.seen.find(needle, self.matched)) < 0:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {marker!r} in {self.seen[self.matched:].decode(errors='replace')!r}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"terminal closed before {marker!r}"
                self.seen += chunk
        start, self.matched = self.matched, found + len(needle)
        return self.seen[start:self.matched].decode(errors="replace")


def test_bare_quote_names_who_said_it(run_cli, tmp_path: Path) -> None:
    result = run_cli("console", "--db", str(tmp_path / "h.sqlite3"), stdin="/quote\n")
    assert result.returncode == 0, result.stderr
    assert "—— 李彦宏，《" in result.stdout


def test_discussing_the_material_in_a_scripted_session(run_cli, tmp_path: Path) -> None:
    """Overview, who is quoted and 更多, a comparison, who said it and a digest, as JSON lines."""
    _, (overview, speakers, more, compared, said, digest, digest_more) = console(
        run_cli, tmp_path / "h.sqlite3",
        "这几篇文章大致讲了什么？", "文章里有哪些人的观点被引用？", "更多",
        "李彦宏和梁文锋对开源有什么不同看法？", "“我不知道我们将来如何产生收入”是谁说的？",
        "《开源AI模型的崛起》讲了什么", "更多")
    assert len({r["source"] for r in overview["results"]}) == 4
    assert overview["text"].startswith("共 4 篇文章") and "1. 《" in overview["text"]
    for line in (overview, speakers, more, compared, said, digest, digest_more):
        assert line["results"], line["input"]
        for result in line["results"]:
            assert result["source"] and result["text"]      # the passage as the article has it
    assert {r["speaker"] for r in speakers["results"]} == {r["label"] for r in speakers["results"]}
    assert more["text"].startswith("文章引用了") and "\n6. " in more["text"]
    assert {r["label"] for r in compared["results"]} == {"李彦宏", "梁文锋"}
    assert "【李彦宏】" in compared["text"] and "【梁文锋】" in compared["text"]
    assert said["text"].startswith("这句话是 Sam Altman 说的") and said["results"][0]["speaker"] == "Sam Altman"
    assert "亮点" in digest["text"] and "更多: /more" in digest["text"]
    assert digest_more["text"].split("\n")[1].startswith("6. ")


def test_discussion_kinds_in_plain_text_on_another_library(run_cli, tmp_path: Path) -> None:
    """A library dropped in with --seeds: the overview pages, and a comparison finds both sides."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i, (name, field) in enumerate([("张海", "物理学家"), ("李湖", "化学家"), ("王山", "生物学家"),
                                       ("赵河", "地理学家"), ("钱林", "天文学家"), ("孙原", "数学家")]):
        (seeds / f"{i}.txt").write_text(f"# {name}\n\n{name}是一位{field}，出生于江南的一个小镇，"
                                        f"一生致力于{field[:-1]}研究。\n", encoding="utf-8")
    args = ["console", "--db", str(tmp_path / "h.sqlite3"), "--seeds", str(seeds)]
    proc = run_cli(*args, stdin="有哪些文章？\n更多\n张海和钱林有什么区别？\n")
    assert proc.returncode == 0, proc.stderr
    first, second, compared = proc.stdout.strip().split("\n\n")
    assert first.startswith("共 6 篇文章") and "5. 《钱林》" in first and "更多: /more" in first
    assert second.splitlines()[1] == "6. 《孙原》"
    assert "【张海】" in compared and "物理学家" in compared and "【钱林】" in compared and "天文学家" in compared
