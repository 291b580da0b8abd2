"""The engine holds every turn of the project's own discussion dialogues (tests/eval/discussion.yaml).

Scored as ../shared/tools/score_dialogues.py scores the console's JSON lines, but in-process: the
same engine and the same `console --json` rendering, without a subprocess per dialogue.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.console import render_json
from bot.conversation import Engine
from bot.history import HistoryStore

DIALOGUES = Path(__file__).resolve().parent / "eval" / "discussion.yaml"
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def norm(text: str) -> str:
    """The scorer's normalization: NFKC, lower case, whitespace and punctuation removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def passes(turn: dict, out: dict) -> bool:
    """score_dialogues.py's rule for one turn."""
    shown = norm(out["text"])
    if turn.get("gold_all"):
        good = bool(out["results"]) and all(any(norm(g) in shown for g in group) for group in turn["gold_all"])
    elif turn.get("gold"):
        found = sum(1 for g in dict.fromkeys(norm(g) for g in turn["gold"]) if g in shown)
        good = bool(out["results"]) and found >= turn.get("min_gold", 1)
    else:
        good = not out["results"] if "min_sources" not in turn else True
    if "min_sources" in turn:
        good = good and len({r["source"] for r in out["results"]}) >= turn["min_sources"]
    return good


@pytest.fixture(scope="module")
def parts(bundled_parts):
    return bundled_parts


async def test_every_turn_of_the_discussion_dialogues_passes(parts, tmp_path: Path) -> None:
    config, corpus, retriever = parts
    dialogues = yaml.safe_load(DIALOGUES.read_text(encoding="utf-8"))["dialogues"]
    assert len(dialogues) >= 15
    failed = []
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as history:
        engine = Engine(config, corpus, retriever, history)
        for chat_id, dialogue in enumerate(dialogues, start=1):  # a fresh chat each, as after /forget
            for turn in dialogue["turns"]:
                reply = await engine.handle(chat_id, chat_id, turn["q"])
                out = json.loads(render_json(turn["q"], reply))
                if not passes(turn, out):
                    failed.append((dialogue["name"], turn["q"], out["text"][:120]))
    assert failed == []


