"""The ablation table: each evaluation set x each part of the ranking switched off.

    .venv/bin/python bench/ablation.py --shared ../shared/eval          # prints a Markdown table
    .venv/bin/python bench/ablation.py --shared ../shared/eval --only full,no-bigrams

In the manner of Anserini's regression tables: one row per variant, one column group per set,
so the next change can see what each part is worth. A part is switched off at serving time with
everything else as fitted (the relevance model is not refitted without it), which is what its
removal alone would do. The sets: the shared development sets (questions on the bundled
articles, questions as people type them, conversations, the CMRC 2018 trial library) and the
project's own files in tests/eval/. Indexes are built afresh (no cache): some variants change
the tokens or the passages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot import corpus as corpus_module  # noqa: E402
from bot import english as english_module  # noqa: E402
from bot import followup as followup_module  # noqa: E402
from bot import normalize as normalize_module  # noqa: E402
from bot import numerals as numerals_module  # noqa: E402
from bot import text as text_module  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.console import render_json  # noqa: E402
from bot.conversation import Engine, search_question  # noqa: E402
from bot.corpus import load_corpus  # noqa: E402
from bot.evaluation import load_cases, load_dialogues, score, score_dialogues  # noqa: E402
from bot.history import HistoryStore  # noqa: E402
from bot.retrieval import necessity as necessity_module  # noqa: E402
from bot.retrieval.model import with_ranking  # noqa: E402
from bot.retrieval import retriever as retriever_module  # noqa: E402
from bot.retrieval.model import load_model  # noqa: E402
from bot.retrieval.retriever import Retriever  # noqa: E402


@contextlib.contextmanager
def patched(target, name: str, value):
    """target.name = value for the duration."""
    old = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, old)


# Each variant: (name, what is switched off, model change, code patches).
def variants(model):
    always_answer = dataclasses.replace(model, relevance=dataclasses.replace(
        model.relevance, threshold=0.0, page_coverage=0.0))
    return [
        ("full", "nothing: the fitted ranking", model, []),
        ("no-head", "the head field (article title, section, speaker)",
         with_ranking(model, **{"words.head_weight": 0.0, "bigrams.head_weight": 0.0}), []),
        ("no-head-ref", "heads' length against a fixed length (the library's mean instead)",
         with_ranking(model, **{"words.head_ref": 0.0, "bigrams.head_ref": 0.0}), []),
        ("no-bigrams", "character bigrams", with_ranking(model, bigram_weight=0.0), []),
        ("no-lead", "the lead bonus", with_ranking(model, lead_boost=0.0), []),
        ("no-necessity-rank", "term necessity in the ranking weights", with_ranking(model, necessity_power=0.0), []),
        ("no-necessity", "term necessity everywhere (every word as necessary as any)",
         with_ranking(model, necessity_power=0.0), [(necessity_module.Necessity, "__call__", lambda self, word: 1.0)]),
        ("no-relevance", "the relevance model: always answer, pages to the end", always_answer, []),
        ("no-taiwan", "Taiwan phrase mapping (character-by-character t2s only)", model,
         [(normalize_module, "_taiwan_phrases", lambda t2s, frequency: {})]),
        ("no-numerals", "a number looked for in the other script too (23 / 二十三, 第3 / 第三)", model,
         [(numerals_module, "other_forms", lambda token: ()), (numerals_module, "ordinal_forms", lambda token: ())]),
        ("no-english-dict", "the general English dictionary (glossary only)", model,
         [(english_module.EnglishDictionary, "translate", lambda self, words: [])]),
        ("no-library-words", "the library's own words for cutting questions", model,
         [(text_module.Analyzer, "learn_library_words", lambda self, words: 0)]),
        ("no-title-names", "the articles' titles that are names taught to jieba", model,
         [(text_module.Analyzer, "learn_titles", lambda self, titles: 0)]),
        ("no-number-answer", "a question asking a number wants a passage with a numeral", model,
         [(retriever_module, "_ASKS_NUMBER", re.compile(r"(?!)"))]),
        ("no-asking-last", "a passage that ends asking comes after the answers", model,
         [(retriever_module.Retriever, "_only_asks", lambda self, query, i: False)]),
        ("no-lead-ins", "colon lead-ins joined to what they introduce", model,
         [(corpus_module, "_join_lead_ins", lambda text, spans, max_chars: spans)]),
        ("no-section-pages", "更多 past the answers (the rest of the best answer's section)", model,
         [(retriever_module.Retriever, "_nearby", lambda self, *args: [])]),
        ("no-money", "a question asking a price wants a sum of money (any numeral will do)", model,
         [(retriever_module, "_ASKS_MONEY", re.compile(r"(?!)"))]),
        ("no-when-shown", "when what was just shown happened, read off the passages shown", model,
         [(followup_module.FollowUps, "asks_when_shown", lambda self, question: False)]),
        ("no-meaning-shown", "what was just shown means, shown in its place in the article", model,
         [(followup_module.FollowUps, "asks_meaning_shown", lambda self, question: False)]),
        ("no-follow-ups", "follow-up resolution (every question stands alone)", model,
         [(followup_module.FollowUps, "resolve",
           lambda self, question, previous, answer=None: followup_module.Resolution(question, None, False, None))]),
    ]


def question_sets(shared: Path) -> list[tuple[str, Path, Path | None]]:
    """(column name, questions file, seeds folder or None for the bundled articles)."""
    return [
        ("dev", shared / "dev.yaml", None),
        ("natural", shared / "natural_dev.yaml", None),
        ("cmrc", shared / "cmrc2018_trial" / "questions.yaml", shared / "cmrc2018_trial" / "seeds"),
        ("own", REPO / "tests" / "eval" / "questions.yaml", None),
        ("own natural", REPO / "tests" / "eval" / "natural.yaml", None),
        ("own fresh", REPO / "tests" / "eval" / "natural_fresh.yaml", None),
        ("own reader", REPO / "tests" / "eval" / "natural_reader.yaml", None),
    ]


def dialogue_sets(shared: Path) -> list[tuple[str, Path]]:
    return [("dialogues", shared / "dialogues_dev.yaml"), ("own dialogues", REPO / "tests" / "eval" / "dialogues.yaml"),
            ("own follow-ups", REPO / "tests" / "eval" / "dialogues_followups.yaml")]


def build(config, seeds: Path | None, model):
    """A corpus and a Retriever built afresh (no cache) with the given model."""
    if seeds is not None:
        config = config.with_overrides(corpus={"seeds_dir": seeds})
    corpus = load_corpus(config.corpus)
    return config, corpus, Retriever(corpus, config.retrieval, model=model)


def run_questions(config, seeds, model, path: Path) -> str:
    """hit@1 / hit@3 / false abstention / off-topic abstained, as the shared scorer prints them."""
    _, _, retriever = build(config, seeds, model)
    report = score(load_cases(path), lambda q: [h.passage.text for h in search_question(retriever, q, 3)])
    on = max(report.on_topic, 1)
    return (f"{report.hit1 / on:.3f} / {report.hit3 / on:.3f} / {report.false_abstain / on:.3f} / "
            f"{report.off_topic_abstained}/{report.off_topic}")


async def run_dialogues(config, model, path: Path) -> str:
    """Later turns passed (first turns too when one missed)."""
    config, corpus, retriever = build(config, None, model)
    with tempfile.TemporaryDirectory() as folder:
        async with await HistoryStore.open(Path(folder) / "h.sqlite3", 200) as history:
            engine = Engine(config, corpus, retriever, history)

            async def reply(chat_id: int, message: str) -> tuple[str, list[str]]:
                out = json.loads(render_json(message, await engine.handle(chat_id, chat_id, message)))
                return out["text"], [r["source"] for r in out["results"]]
            report = await score_dialogues(load_dialogues(path), reply)
    return f"{report.first[0]}/{report.first[1]} · {report.later[0]}/{report.later[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared eval folder (dev.yaml, ...)")
    parser.add_argument("--only", help="comma-separated variant names")
    args = parser.parse_args()
    started = time.time()
    home = Path(tempfile.mkdtemp())
    config = load_config(env={"HOME": str(home)}).with_overrides(retrieval={"cache_dir": None})
    model = load_model(config.retrieval.model_file)
    chosen = set(args.only.split(",")) if args.only else None
    questions, dialogues = question_sets(args.shared.resolve()), dialogue_sets(args.shared.resolve())
    header = ["variant", "switched off"] + [n for n, _, _ in questions] + [n for n, _ in dialogues]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, what, variant_model, patches in variants(model):
        if chosen and name not in chosen:
            continue
        with contextlib.ExitStack() as stack:
            for target, attribute, value in patches:
                stack.enter_context(patched(target, attribute, value))
            cells = [run_questions(config, seeds, variant_model, path) for _, path, seeds in questions]
            cells += [asyncio.run(run_dialogues(config, variant_model, path)) for _, path in dialogues]
        print(f"| {name} | {what} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nQuestions: hit@1 / hit@3 / false abstention / off-topic abstained. Dialogues: first turns · "
          f"later turns passed. {time.time() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
