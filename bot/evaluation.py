"""Score retrieval on an evaluation file (the format of eval/dev.yaml): hit@k, MRR, abstention."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
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
