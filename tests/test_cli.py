"""The real command line in a subprocess: help, search --json, sources, eval and error exits."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot import __version__
from bot.config import load_config
from bot.corpus import load_corpus

SUBCOMMANDS = ("console", "search", "sources", "eval", "telegram", "check", "history")
RESULT_FIELDS = {"id", "source", "section", "text", "score"}


def bundled_titles() -> list[str]:
    return [s.title for s in load_corpus(load_config(env={"HOME": "/nonexistent"}).corpus).sources]


def assert_clean_stderr(stderr: str) -> None:
    assert "Traceback" not in stderr and "Error:" not in stderr, stderr


# --- help -----------------------------------------------------------------------------------

def test_help_lists_every_subcommand(run_cli) -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in SUBCOMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_has_an_example(run_cli, name: str) -> None:
    proc = run_cli(name, "--help")
    assert proc.returncode == 0 and "Example" in proc.stdout and f"quotebot {name}" in proc.stdout


def test_version(run_cli) -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"quotebot {__version__}"


def test_no_subcommand_is_a_usage_error(run_cli) -> None:
    proc = run_cli()
    assert proc.returncode == 2 and "usage" in proc.stderr


# --- search ---------------------------------------------------------------------------------

def test_search_json_gives_one_line_per_query_in_order(run_cli) -> None:
    queries = ["DeepSeek 为什么选择开源？", "红烧肉怎么做？", "", "美国的芯片出口管制", "   ",
               "What is open source AI?", "<b>&</b>", "😀😀"]
    proc = run_cli("search", "--json", "--top", "3", "-", stdin="\n".join(queries) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert_clean_stderr(proc.stderr)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["query"] for line in lines] == queries
    titles = set(bundled_titles())
    for line in lines:
        assert set(line) == {"query", "results"}
        assert len(line["results"]) <= 3
        for result in line["results"]:
            assert set(result) == RESULT_FIELDS
            assert result["source"] in titles and result["text"] and isinstance(result["score"], float)
    by_query = {line["query"]: line["results"] for line in lines}
    assert by_query["DeepSeek 为什么选择开源？"] and by_query["美国的芯片出口管制"]
    assert by_query["What is open source AI?"]
    for nothing in ("红烧肉怎么做？", "", "   ", "<b>&</b>", "😀😀"):
        assert by_query[nothing] == [], nothing


def test_search_results_quote_the_article_verbatim(run_cli) -> None:
    proc = run_cli("search", "--json", "美国的芯片出口管制")
    article_text = "".join(s.text for s in load_corpus(
        load_config(env={"HOME": "/nonexistent"}).corpus).sources)
    results = json.loads(proc.stdout)["results"]
    assert results and all(r["text"] in article_text for r in results)


def test_search_plain_text_shows_quote_and_source(run_cli) -> None:
    proc = run_cli("search", "--top", "2", "美国的芯片出口管制")
    assert proc.returncode == 0
    assert "1. 「" in proc.stdout and "—— 《" in proc.stdout and "3. 「" not in proc.stdout


def test_search_with_other_seeds(run_cli, tmp_path: Path) -> None:
    seeds = tmp_path / "articles"
    seeds.mkdir()
    (seeds / "garden.md").write_text("# 阳台种菜笔记\n\n番茄需要每天六小时以上的日照，浇水要见干见湿。\n\n"
                                     "辣椒怕涝，盆底一定要有排水孔，雨季要搬到屋檐下。\n", encoding="utf-8")
    proc = run_cli("search", "--json", "--seeds", str(seeds), "番茄需要多少日照？")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert results[0]["source"] == "阳台种菜笔记" and "番茄" in results[0]["text"]


# --- sources and eval -----------------------------------------------------------------------

def test_sources_lists_every_title_with_counts(run_cli) -> None:
    proc = run_cli("sources")
    assert proc.returncode == 0
    for title in bundled_titles():
        assert title in proc.stdout
    assert "passages" in proc.stdout


def test_eval_prints_the_scorers_figures(run_cli, tmp_path: Path) -> None:
    cases = {"cases": [
        {"q": "美国的芯片出口管制", "gold": ["出口管制"]},
        {"q": "红烧肉怎么做？", "gold": []},
    ]}
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(cases, allow_unicode=True), encoding="utf-8")
    proc = run_cli("eval", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("on-topic 1: hit@1 ") and "mrr" in lines[0] and "false abstain" in lines[0]
    assert lines[1] == "off-topic 1: abstained 1/1"
    assert lines[2].startswith("shown in the snippets: hit@1 1.000")


def test_eval_of_a_malformed_file_is_one_sentence(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cases:\n  - question: no q key\n", encoding="utf-8")
    proc = run_cli("eval", str(path))
    assert proc.returncode == 2 and str(path) in proc.stderr and "'q'" in proc.stderr
    assert_clean_stderr(proc.stderr)


# --- errors become one sentence and exit 2 --------------------------------------------------

def test_broken_config_exits_2_naming_file_and_key(run_cli, tmp_path: Path) -> None:
    bundled = yaml.safe_load(Path(load_config(env={}).source).read_text(encoding="utf-8"))
    bundled["retrieval"]["top_k"] = 99
    path = tmp_path / "broken.yaml"
    # Keep the bundled relative paths valid by pointing them at absolute files.
    base = load_config(env={"HOME": str(tmp_path)})
    bundled["corpus"].update(seeds_dir=str(base.corpus.seeds_dir), sources_file=str(base.corpus.sources_file))
    for key in ("aliases_file", "userdict_file", "stopwords_file"):
        bundled["retrieval"][key] = str(getattr(base.retrieval, key))
    path.write_text(yaml.safe_dump(bundled, allow_unicode=True), encoding="utf-8")
    for args in (["search", "x"], ["console"], ["sources"]):
        proc = run_cli(*args, "--config", str(path), stdin="你好\n")
        assert proc.returncode == 2
        assert str(path) in proc.stderr and "retrieval.top_k" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert_clean_stderr(proc.stderr)


def test_unknown_config_key_exits_2(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("retreival:\n  top_k: 3\n", encoding="utf-8")
    proc = run_cli("search", "--config", str(path), "x")
    assert proc.returncode == 2 and "'retreival'" in proc.stderr and str(path) in proc.stderr


def test_missing_seeds_folder_exits_2(run_cli, tmp_path: Path) -> None:
    proc = run_cli("search", "--seeds", str(tmp_path / "nowhere"), "x")
    assert proc.returncode == 2 and "nowhere" in proc.stderr
    assert_clean_stderr(proc.stderr)


def test_a_db_that_is_not_a_database_exits_2(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "junk.sqlite3"
    db.write_bytes(b"definitely not sqlite " * 200)
    proc = run_cli("console", "--db", str(db), stdin="你好\n")
    assert proc.returncode == 2 and str(db) in proc.stderr
    assert_clean_stderr(proc.stderr)


def test_a_newer_db_schema_exits_2(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    proc = run_cli("console", "--db", str(db), stdin="你好\n")
    assert proc.returncode == 2 and "schema version 999" in proc.stderr


def test_quotebot_db_environment_variable_sets_the_database(run_cli, isolated_env, tmp_path: Path) -> None:
    db = tmp_path / "from-env" / "h.sqlite3"
    isolated_env["QUOTEBOT_DB"] = str(db)
    proc = run_cli("console", stdin="DeepSeek 为什么选择开源？\n")
    assert proc.returncode == 0 and db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT text FROM turns WHERE role = 'user'").fetchall() == [
            ("DeepSeek 为什么选择开源？",)]


# --- the scoring behind `eval` ---------------------------------------------------------------

def test_score_counts_ranks_abstentions_and_misses() -> None:
    from bot.evaluation import Case, score
    answers = {"a": ["x", "the GOLD one"], "b": [], "c": ["Gold, here"], "off": [], "off2": ["y"]}
    cases = [Case("a", ("gold one",)), Case("b", ("gold",)), Case("c", ("gold here",)),
             Case("off", ()), Case("off2", ())]
    report = score(cases, lambda q: answers[q])
    assert (report.on_topic, report.hit1, report.hit3, report.false_abstain) == (3, 1, 2, 1)
    assert report.reciprocal_ranks == pytest.approx(1.5)
    assert report.off_topic_abstained == 1 and report.off_topic == 2
    assert report.misses == [("rank 2", "a"), ("rank None", "b"), ("answered off-topic", "off2")]
    assert report.lines()[:2] == [
        "on-topic 3: hit@1 0.333  hit@3 0.667  mrr 0.500  false abstain 0.333",
        "off-topic 2: abstained 1/2"]


def test_the_bot_imports_jieba_without_pkg_resources_and_leaves_it_importable(isolated_env) -> None:
    """A search takes jieba through bot.jieba_import: pkg_resources, which reads every installed
    distribution's metadata (a seventh of the first answer), is never imported on the way, jieba
    still reads its own files (its dictionary cuts the answer's words), and a later import works."""
    import subprocess
    import sys

    script = ("import io, json, sys, contextlib\n"
              "from bot.cli import main\n"
              "out = io.StringIO()\n"
              "with contextlib.redirect_stdout(out):\n"
              "    main(['search', '--json', '--top', '1', 'DeepSeek 为什么开源'])\n"
              "assert 'pkg_resources' not in sys.modules, 'pkg_resources imported'\n"
              "assert json.loads(out.getvalue())['results'], out.getvalue()\n"
              "import pkg_resources\n"
              "print('ok')\n")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                          timeout=300, env=isolated_env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
