"""Score retrieval on an evaluation file (the format of eval/dev.yaml): hit@k, MRR, abstention."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.yamlfile import read_yaml

_DROP = re.compile(r"[\W_]+", re.UNICODE)


class EvaluationError(Exception):
    """An evaluation file is missing, unreadable or not in the expected format."""


@dataclass(frozen=True)
class Case:
    question: str
    gold: tuple[str, ...]   # empty: off-topic, the right answer is no passage


@dataclass
class Report:
    on_topic: int = 0
    off_topic: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_ranks: float = 0.0
    false_abstain: int = 0
    off_topic_abstained: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)  # (why, question)

    def lines(self) -> list[str]:
        """The figures as score_retrieval.py prints them."""
        on = max(self.on_topic, 1)
        out = [f"on-topic {self.on_topic}: hit@1 {self.hit1 / on:.3f}  hit@3 {self.hit3 / on:.3f}  "
               f"mrr {self.reciprocal_ranks / on:.3f}  false abstain {self.false_abstain / on:.3f}",
               f"off-topic {self.off_topic}: abstained {self.off_topic_abstained}/{self.off_topic}"]
        out += [f"  {why}: {question}" for why, question in self.misses]
        return out


def normalize_for_match(text: str) -> str:
    """NFKC, lower case, whitespace and punctuation removed: how gold strings are compared."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def load_cases(path: Path) -> list[Case]:
    """Read the `cases:` list of an evaluation file."""
    raw = read_yaml(path, "evaluation file", EvaluationError)
    cases = raw.get("cases") if isinstance(raw, dict) else None
    if not isinstance(cases, list) or not cases:
        raise EvaluationError(f"{path}: expected a non-empty list under 'cases'")
    out = []
    for n, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("q"), str) \
                or not isinstance(case.get("gold"), list) \
                or not all(isinstance(g, str) for g in case["gold"]):
            raise EvaluationError(f"{path}: case {n + 1} needs 'q' (a string) and 'gold' (a list of strings)")
        out.append(Case(case["q"], tuple(case["gold"])))
    return out


def score(cases: Sequence[Case], answer: Callable[[str], Sequence[str]]) -> Report:
    """Run answer(question) -> ranked passage texts for every case and tally the figures."""
    report = Report()
    for case in cases:
        texts = list(answer(case.question))
        if not case.gold:
            report.off_topic += 1
            report.off_topic_abstained += not texts
            if texts:
                report.misses.append(("answered off-topic", case.question))
            continue
        report.on_topic += 1
        report.false_abstain += not texts
        golds = [normalize_for_match(g) for g in case.gold]
        rank = next((i + 1 for i, t in enumerate(texts)
                     if any(g in normalize_for_match(t) for g in golds)), None)
        report.hit1 += rank == 1
        report.hit3 += bool(rank and rank <= 3)
        report.reciprocal_ranks += 1 / rank if rank else 0.0
        if rank != 1:
            report.misses.append((f"rank {rank}", case.question))
    return report


# --- conversations (the format of the team's dialogues files) ---------------------------------

@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: tuple[dict, ...]   # each: q, and gold / gold_all / min_gold / min_sources


@dataclass
class DialogueReport:
    first: list[int] = field(default_factory=lambda: [0, 0])   # passed, total
    later: list[int] = field(default_factory=lambda: [0, 0])
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (dialogue#turn, question, reply)

    def lines(self) -> list[str]:
        """The figures as score_dialogues.py prints them, misses first."""
        out = [f"MISS {where} {question} -> {reply}" for where, question, reply in self.misses]
        out.append(f"first turns {self.first[0]}/{self.first[1]}, later turns {self.later[0]}/{self.later[1]}")
        return out


def is_dialogues_file(path: Path) -> bool:
    """Whether an evaluation file holds dialogues (rather than single questions)."""
    raw = read_yaml(path, "evaluation file", EvaluationError)
    return isinstance(raw, dict) and "dialogues" in raw


def load_dialogues(path: Path) -> list[Dialogue]:
    """Read the `dialogues:` list of an evaluation file."""
    raw = read_yaml(path, "evaluation file", EvaluationError)
    dialogues = raw.get("dialogues") if isinstance(raw, dict) else None
    if not isinstance(dialogues, list) or not dialogues:
        raise EvaluationError(f"{path}: expected a non-empty list under 'dialogues'")
    out = []
    for n, dialogue in enumerate(dialogues):
        turns = dialogue.get("turns") if isinstance(dialogue, dict) else None
        if not isinstance(turns, list) or not turns or not all(
                isinstance(t, dict) and isinstance(t.get("q"), str) for t in turns):
            raise EvaluationError(f"{path}: dialogue {n + 1} needs 'turns', each with 'q' (a string)")
        out.append(Dialogue(str(dialogue.get("name", n + 1)), tuple(turns)))
    return out


def turn_passes(turn: dict, shown: str, sources: Sequence[str]) -> bool:
    """score_dialogues.py's rule: the reply quotes passages and shows the gold, or quotes nothing."""
    text = normalize_for_match(shown)
    quoted = bool(sources)
    if turn.get("gold_all"):
        good = quoted and all(any(normalize_for_match(g) in text for g in group) for group in turn["gold_all"])
    elif turn.get("gold"):
        found = sum(1 for g in dict.fromkeys(normalize_for_match(g) for g in turn["gold"]) if g in text)
        good = quoted and found >= turn.get("min_gold", 1)
    else:
        good = not quoted if "min_sources" not in turn else True
    if "min_sources" in turn:
        good = good and len(set(sources)) >= turn["min_sources"]
    return good


async def score_dialogues(dialogues: Sequence[Dialogue],
                          reply: Callable[[int, str], Awaitable[tuple[str, list[str]]]]) -> DialogueReport:
    """Run every dialogue in a chat of its own; reply(chat_id, message) -> (text shown, sources quoted)."""
    report = DialogueReport()
    for chat_id, dialogue in enumerate(dialogues, start=1):
        for n, turn in enumerate(dialogue.turns):
            shown, sources = await reply(chat_id, turn["q"])
            good = turn_passes(turn, shown, sources)
            bucket = report.first if n == 0 else report.later
            bucket[0] += good
            bucket[1] += 1
            if not good:
                report.misses.append((f"{dialogue.name}#{n + 1}", turn["q"], shown.split("\n", 1)[0][:80]))
    return report
