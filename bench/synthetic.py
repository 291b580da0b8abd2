"""Synthetic corpora for the benchmark: real sentences of a corpus recombined into new passages."""

from __future__ import annotations

import random
import re
from pathlib import Path

from bot.corpus import Corpus, Passage, Source

DEFAULT_SEED = 20250218

# A sentence ends at 。！？!? (possibly repeated) and keeps a closing quote or bracket after it.
_SENTENCE = re.compile(r"[^。！？!?]+(?:[。！？!?]+[”’」』）)\"']*|$)")


def split_sentences(text: str) -> list[str]:
    """The sentences of text in order, each with its end mark; a trailing fragment counts as one."""
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def sentence_pool(corpus: Corpus) -> tuple[str, ...]:
    """Every distinct sentence of the corpus, in corpus order."""
    seen: dict[str, None] = {}
    for passage in corpus.passages:
        for sentence in split_sentences(passage.text):
            seen.setdefault(sentence, None)
    return tuple(seen)


def synthetic_corpus(base: Corpus, scale: int, seed: int = DEFAULT_SEED) -> Corpus:
    """A corpus of scale × base's passages whose passages are random draws of base's sentences.

    Each synthetic source copies the shape of one base source (its number of passages, each
    passage's section and number of sentences), so lengths and source sizes stay realistic while
    the text is recombined. No two passages are the same text: a draw that repeats an earlier
    passage gets one more sentence until it is new (a pool of a few hundred sentences would
    otherwise make 40 % of 200,000 passages exact copies, which no real corpus has). The same base,
    scale and seed always give the same corpus.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    rng = random.Random(seed)
    pool = sentence_pool(base)
    if not pool:
        raise ValueError("the base corpus has no sentences to recombine")
    shapes = [
        [(p.section, max(1, len(split_sentences(p.text)))) for p in source.passages]
        for source in base.sources
    ]
    sources: list[Source] = []
    passages: list[Passage] = []
    seen: set[str] = set()

    def new_text(count: int) -> str:
        sentences = [rng.choice(pool) for _ in range(count)]
        while "".join(sentences) in seen:
            sentences.append(rng.choice(pool))
        text = "".join(sentences)
        seen.add(text)
        return text

    for number in range(scale * len(base.sources)):
        template = base.sources[number % len(base.sources)]
        source_id = f"syn{number:06d}"
        title = f"{template.title}（合成 {number // len(base.sources) + 1}）"
        own = tuple(
            Passage(
                id=f"{source_id}#{position}",
                source_id=source_id,
                source_title=title,
                section=section,
                position=position,
                text=new_text(count),
            )
            for position, (section, count) in enumerate(shapes[number % len(base.sources)])
        )
        sources.append(Source(id=source_id, title=title, path=Path(f"{source_id}.txt"),
                              date=None, url=None, origin=None, passages=own,
                              text="\n".join(p.text for p in own)))
        passages.extend(own)
    return Corpus(sources=tuple(sources), passages=tuple(passages))


def write_seed_files(corpus: Corpus, directory: Path) -> int:
    """Write each source as a seed file (a title heading, then one paragraph per passage); return the count."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in corpus.sources:
        body = "\n\n".join(p.text for p in source.passages)
        (directory / f"{source.id}.txt").write_text(f"# {source.title}\n\n{body}\n", encoding="utf-8")
    return len(corpus.sources)
