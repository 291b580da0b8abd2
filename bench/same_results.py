"""Check that two versions of the bot rank exactly alike: every question of every evaluation set.

Speed work must not change what is ranked. This runs every question of the project's and the
team's evaluation sets through two checkouts of the bot and prints every difference:

    .venv/bin/python bench/same_results.py                  # the working tree against main
    .venv/bin/python bench/same_results.py --base c5fb5af   # against any commit
    .venv/bin/python bench/same_results.py --base main --head HEAD

What is compared, for each question: the hits of three pages (top 3 from 0, top 5 from 3, top 10
from 8) and of a follow-up (the question with the set's previous question as its context), each
hit as its passage id, score and relevance (as exact floats), snippet and highlighted words; for
each dialogue, every turn's reply as the console's JSON line shows it. Sets: the bundled articles
with tests/eval/*.yaml and ../shared/eval/{dev,natural_dev,dialogues_dev,discussion_dev}.yaml, and
the CMRC 2018 trial library with its questions (--cmrc DIR; skipped with a note if absent).

Each version runs in a subprocess with its own checkout first on PYTHONPATH (a `git archive` of the
commit in a temporary folder, or the working tree itself for --head .) and its own empty index cache;
its library is read back from its corpus cache, as a restarted bot serves it (where it has one),
so it is rerun as it stands after any refit of config/ranking.yaml: both sides read their own.
Exit status 0 when the two agree everywhere, 1 when anything differs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CMRC = REPO.parent / "shared" / "eval" / "cmrc2018_trial"
SHARED_EVAL = REPO.parent / "shared" / "eval"
# (top_k, offset) of the pages asked for each question: the first page, 更多, and a deep page.
PAGES = ((3, 0), (5, 3), (10, 8))


def _hit(hit) -> dict:
    return {"id": hit.passage.id, "score": repr(hit.score), "relevance": repr(hit.relevance),
            "snippet": hit.snippet, "terms": list(hit.matched_terms)}


def _question_sets(files: list[Path]) -> list[tuple[str, list[str]]]:
    import yaml

    out = []
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "cases" in raw:
            out.append((path.name, [case["q"] for case in raw["cases"]]))
    return out


def _dialogue_sets(files: list[Path]) -> list[tuple[str, list[list[str]]]]:
    import yaml

    out = []
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "dialogues" in raw:
            out.append((path.name, [[turn["q"] for turn in d["turns"]] for d in raw["dialogues"]]))
    return out


def _search_record(retriever, questions: list[str]) -> list[dict]:
    from bot.conversation import prepare_question

    records = []
    previous = None
    for question in questions:
        text = prepare_question(question).text or question
        record = {"q": question, "pages": [[_hit(h) for h in retriever.search(text, top_k=k, offset=o)]
                                           for k, o in PAGES]}
        if previous:
            record["followup"] = [_hit(h) for h in retriever.search(text, top_k=3, context=previous)]
        records.append(record)
        previous = text
    return records


async def _dialogue_record(config, corpus, retriever, dialogues: list[list[str]]) -> list[list[dict]]:
    from bot.console import render_json
    from bot.conversation import Engine
    from bot.history import HistoryStore

    out = []
    with tempfile.TemporaryDirectory() as folder:
        async with await HistoryStore.open(Path(folder) / "h.sqlite3",
                                           config.history.max_turns_per_chat) as history:
            engine = Engine(config, corpus, retriever, history)
            for chat_id, turns in enumerate(dialogues, start=1):
                replies = []
                for message in turns:
                    replies.append(json.loads(render_json(message, await engine.handle(chat_id, chat_id, message))))
                out.append(replies)
    return out


def _served_corpus(load_corpus, config, cache: Path):
    """The library as a restarted bot serves it: read back from the corpus cache, where the
    version has one (the first read writes it); else read from the articles."""
    import inspect

    if "cache_dir" not in inspect.signature(load_corpus).parameters:
        return load_corpus(config)
    load_corpus(config, cache)
    return load_corpus(config, cache)


def dump(out: Path, cmrc: Path | None) -> None:
    """Write this checkout's results on every set as JSON (run inside the checkout's environment)."""
    from bot.config import load_config
    from bot.corpus import load_corpus
    from bot.retrieval import Retriever

    cache = Path(tempfile.mkdtemp(prefix="same-results-cache-"))
    config = load_config().with_overrides(retrieval={"cache_dir": cache})
    files = sorted((REPO / "tests" / "eval").glob("*.yaml"))
    files += [SHARED_EVAL / name for name in ("dev.yaml", "natural_dev.yaml", "dialogues_dev.yaml",
                                               "discussion_dev.yaml") if (SHARED_EVAL / name).exists()]
    corpus = _served_corpus(load_corpus, config.corpus, cache)
    retriever = Retriever(corpus, config.retrieval)
    results: dict[str, object] = {"bot": str(Path(sys.modules["bot"].__file__).parent)}
    for name, questions in _question_sets(files):
        results[f"bundled/{name}"] = _search_record(retriever, questions)
    for name, dialogues in _dialogue_sets(files):
        results[f"bundled/{name}"] = asyncio.run(_dialogue_record(config, corpus, retriever, dialogues))
    if cmrc is not None and (cmrc / "seeds").is_dir():
        cmrc_config = config.with_overrides(corpus={"seeds_dir": cmrc / "seeds"})
        cmrc_corpus = _served_corpus(load_corpus, cmrc_config.corpus, cache)
        cmrc_retriever = Retriever(cmrc_corpus, cmrc_config.retrieval)
        for name, questions in _question_sets([cmrc / "questions.yaml"]):
            results[f"cmrc/{name}"] = _search_record(cmrc_retriever, questions)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=0), encoding="utf-8")


def differences(a: object, b: object, where: str = "") -> list[str]:
    """Every place where two dumps differ, as 'where: a != b' lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key == "bot":
                continue
            if key not in a or key not in b:
                out.append(f"{where}/{key}: only in {'head' if key in b else 'base'}")
            else:
                out += differences(a[key], b[key], f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)} items: {_short(a)} != {_short(b)}"]
        out = []
        for n, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{where}[{n}]")
        return out
    return [] if a == b else [f"{where}: {_short(a)} != {_short(b)}"]


def _short(value: object, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def checkout(revision: str, folder: Path) -> Path:
    """The tree of a commit extracted into a new folder ('.' is the working tree as it stands)."""
    if revision == ".":
        return REPO
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=REPO, check=True,
                             capture_output=True).stdout
    target = folder
    target.mkdir(parents=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def run_dump(tree: Path, out: Path, cmrc: Path | None) -> float:
    """Dump the results of the checkout at tree (its bot/ first on the path); the seconds it took."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    command = [sys.executable, str(Path(__file__).resolve()), "--dump", str(out)]
    if cmrc is not None:
        command += ["--cmrc", str(cmrc)]
    started = time.perf_counter()
    # The checkout's own directory is the working directory, so it reads its own config/.
    subprocess.run(command, cwd=tree, env=env, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="main", help="the version results must equal (a commit; default main)")
    parser.add_argument("--head", default=".", help="the version checked (a commit, or '.' for the working tree)")
    parser.add_argument("--cmrc", type=Path, default=DEFAULT_CMRC, help="the CMRC 2018 trial folder (seeds/, questions.yaml)")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cmrc = args.cmrc if args.cmrc and (args.cmrc / "seeds").is_dir() else None
    if args.dump:
        dump(args.dump, cmrc)
        return 0
    if cmrc is None:
        print(f"note: no CMRC folder at {args.cmrc}: the CMRC set is not compared")
    with tempfile.TemporaryDirectory(prefix="same-results-") as folder:
        folder = Path(folder)
        dumps = {}
        for side, revision in (("base", args.base), ("head", args.head)):
            tree = checkout(revision, folder / side)
            seconds = run_dump(tree, folder / f"{side}.json", cmrc)
            dumps[side] = json.loads((folder / f"{side}.json").read_text(encoding="utf-8"))
            print(f"{side} {revision}: bot from {dumps[side]['bot']}, {seconds:.0f} s")
    found = differences(dumps["base"], dumps["head"])
    sets = [key for key in dumps["base"] if key != "bot"]
    questions = sum(len(dumps["base"][key]) for key in sets)
    if found:
        print(f"DIFFERENT: {len(found)} differences over {len(sets)} sets ({questions} questions or dialogues)")
        for line in found[:200]:
            print("  " + line)
        if len(found) > 200:
            print(f"  … and {len(found) - 200} more")
        return 1
    print(f"IDENTICAL: {len(sets)} sets, {questions} questions or dialogues, every page, score and snippet")
    for key in sets:
        print(f"  {key}: {len(dumps['base'][key])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
