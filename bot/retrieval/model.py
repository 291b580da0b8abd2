"""The fitted parts of the ranking, read once from config/ranking.yaml.

Nothing here is set by hand: `python bench/fit_ranking.py` fits every number on public data (the
CMRC 2018 trial set as a library, with DRCD questions it cannot answer) and on the project's own
question files, and writes the file. Rerun it after changing the ranking, and read
bench/README.md for what it fitted and how each part scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bot.retrieval.scoring import FieldParams
from bot.yamlfile import read_yaml


class ModelError(Exception):
    """The fitted model file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class RankingParams:
    """How the score of a passage is put together."""
    words: FieldParams
    bigrams: FieldParams
    bigram_weight: float      # the bigram score's share next to the words' score
    necessity_power: float    # a question word's ranking weight is necessity ** this
    lead_boost: float = 0.0   # an article's first passage (its lead) scores this much more, in share


@dataclass(frozen=True)
class NecessityParams:
    """How likely each word of a question is to appear in the passage that answers it."""
    smoothing: float                         # pseudo-counts of the class prior
    classes: dict[str, float]                # word class -> share found in the answer
    words: dict[str, tuple[int, int]]        # word -> (questions asking it, answers holding it)


@dataclass(frozen=True)
class RelevanceParams:
    """A logistic model of "a passage here answers this question", over named features."""
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float          # answer when the best candidate's probability reaches this
    page_coverage: float      # a further passage is offered when it covers this share of the question


@dataclass(frozen=True)
class SnippetParams:
    """Which sentences of a long passage are shown (bot.retrieval.snippets)."""
    # A question word the passage's head holds (its article's title, its section) weighs this
    # share in choosing them: the source line under the quote already shows it, and every sentence
    # of an article is about its title ("乍都节公园的面积有多大" wants the sentence of 面积).
    head_share: float = 1.0


@dataclass(frozen=True)
class Model:
    ranking: RankingParams
    necessity: NecessityParams
    relevance: RelevanceParams
    snippets: SnippetParams = SnippetParams()


def with_ranking(model: Model, **changes: object) -> Model:
    """The model with ranking numbers changed: {"words.k1": 1.2, "bigram_weight": 0.0, ...}
    (a dotted name is a representation's field). For the fitting and ablation scripts."""
    ranking = model.ranking
    for name, value in changes.items():
        if "." in name:
            rep, key = name.split(".")
            ranking = replace(ranking, **{rep: replace(getattr(ranking, rep), **{key: value})})
        else:
            ranking = replace(ranking, **{name: value})
    return replace(model, ranking=ranking)


def load_model(path: Path) -> Model:
    """Read and check the fitted model; ModelError names the file and the key."""
    raw = read_yaml(path, "ranking model file", ModelError)
    top = _mapping(raw, path, "", ("ranking", "necessity", "relevance", "snippets", "fitted"))
    ranking = _mapping(top.get("ranking"), path, "ranking.",
                       ("words", "bigrams", "bigram_weight", "necessity_power", "lead_boost"))
    necessity = _mapping(top.get("necessity"), path, "necessity.", ("smoothing", "classes", "words"))
    relevance = _mapping(top.get("relevance"), path, "relevance.",
                         ("features", "weights", "bias", "threshold", "page_coverage"))
    features = relevance.get("features")
    weights = relevance.get("weights")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ModelError(f"{path}: key 'relevance.features' must be a list of names")
    if not isinstance(weights, list) or len(weights) != len(features):
        raise ModelError(f"{path}: key 'relevance.weights' must hold one number per feature")
    snippets = _mapping(top.get("snippets", {}), path, "snippets.", ("head_share",))
    words = necessity.get("words") or {}
    if not isinstance(words, dict):
        raise ModelError(f"{path}: key 'necessity.words' must map words to [asked, found]")
    return Model(
        ranking=RankingParams(
            words=_field(ranking.get("words"), path, "ranking.words."),
            bigrams=_field(ranking.get("bigrams"), path, "ranking.bigrams."),
            bigram_weight=_number(ranking, path, "ranking.", "bigram_weight"),
            necessity_power=_number(ranking, path, "ranking.", "necessity_power"),
            lead_boost=_number(ranking, path, "ranking.", "lead_boost") if "lead_boost" in ranking else 0.0,
        ),
        necessity=NecessityParams(
            smoothing=_number(necessity, path, "necessity.", "smoothing"),
            classes={str(k): _share(v, path, f"necessity.classes.{k}")
                     for k, v in _mapping(necessity.get("classes"), path, "necessity.classes.", None).items()},
            words={str(w): _counts(v, path, f"necessity.words.{w}") for w, v in words.items()},
        ),
        relevance=RelevanceParams(
            features=tuple(features),
            weights=tuple(_as_float(w, path, "relevance.weights") for w in weights),
            bias=_number(relevance, path, "relevance.", "bias"),
            threshold=_share(relevance.get("threshold"), path, "relevance.threshold"),
            page_coverage=_share(relevance.get("page_coverage"), path, "relevance.page_coverage"),
        ),
        snippets=SnippetParams(head_share=_share(snippets.get("head_share", 1.0), path, "snippets.head_share")),
    )


def _mapping(value: object, path: Path, prefix: str, known: tuple[str, ...] | None) -> dict:
    if not isinstance(value, dict):
        raise ModelError(f"{path}: key '{prefix.rstrip('.') or '(top)'}' must be a mapping")
    if known is not None:
        for key in value:
            if key not in known:
                raise ModelError(f"{path}: unknown key '{prefix}{key}' (expected one of: {', '.join(known)})")
    return value


def _field(value: object, path: Path, prefix: str) -> FieldParams:
    raw = _mapping(value, path, prefix, ("k1", "b", "head_weight", "head_b", "separate_head", "head_ref"))
    separate = raw.get("separate_head", False)
    if not isinstance(separate, bool):
        raise ModelError(f"{path}: key '{prefix}separate_head' must be true or false, got {separate!r}")
    head_ref = _as_float(raw.get("head_ref", 0.0), path, prefix + "head_ref")
    if head_ref < 0:
        raise ModelError(f"{path}: key '{prefix}head_ref' must be 0 or more, got {head_ref!r}")
    return FieldParams(**{k: _number(raw, path, prefix, k) for k in ("k1", "b", "head_weight", "head_b")},
                       separate_head=separate, head_ref=head_ref)


def _number(raw: dict, path: Path, prefix: str, key: str) -> float:
    if key not in raw:
        raise ModelError(f"{path}: missing key '{prefix}{key}'")
    return _as_float(raw[key], path, prefix + key)


def _as_float(value: object, path: Path, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{path}: key '{key}' must be a number, got {value!r}")
    return float(value)


def _share(value: object, path: Path, key: str) -> float:
    number = _as_float(value, path, key)
    if not 0.0 <= number <= 1.0:
        raise ModelError(f"{path}: key '{key}' must be between 0 and 1, got {number!r}")
    return number


def _counts(value: object, path: Path, key: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
            or value[1] > value[0]):
        raise ModelError(f"{path}: key '{key}' must be [asked, found] with found <= asked")
    return value[0], value[1]
