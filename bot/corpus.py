"""Load the articles: clean page debris, find titles and sections, split into passages."""

from __future__ import annotations

import bisect
import datetime
import functools
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.yamlfile import read_yaml

from bot.config import CorpusConfig
from bot.normalize import simplified_chars

SEED_SUFFIXES = (".txt", ".md")
SOURCE_KEYS = ("title", "date", "url", "origin")

log = logging.getLogger(__name__)

# A plain line this short, without sentence punctuation, reads as a section heading; real headings
# in Chinese articles are short phrases, and anything longer is a sentence or a caption.
_MAX_HEADING_CHARS = 30
# A heading may hold one comma ("开放,才是未来"); a longer line with a comma is a clause.
_MAX_HEADING_CHARS_WITH_COMMA = 16
# The first line of a file is its title only if it is this short (a title, not a paragraph).
_MAX_TITLE_CHARS = 60


class CorpusError(Exception):
    """The seeds folder, an article or the sources file is missing, unreadable or malformed."""


# slots: a big library holds hundreds of thousands of passages, and a per-instance dict would
# cost them some 100 bytes each.
@dataclass(frozen=True, slots=True)
class Passage:
    id: str            # stable: "<source id>#<number>", e.g. "003_09c59fd10b6461cf#12"
    source_id: str     # the seed file's stem
    source_title: str
    section: str       # the heading above it, "" when none
    position: int      # 0-based index within its source, so neighbours can be shown
    text: str          # exactly as it stands in the article (after debris removal)
    speaker: str = ""  # in an interview, who speaks, when the passage continues their turn


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    path: Path
    date: str | None
    url: str | None
    origin: str | None
    passages: tuple[Passage, ...]
    # The cleaned article: kept lines joined by "\n"; every passage's text is a substring of it.
    text: str = ""


@dataclass(frozen=True)
class Corpus:
    sources: tuple[Source, ...]
    passages: tuple[Passage, ...]   # all passages, in source order then position
    # A hash of every passage (all its fields, in order), when the corpus was read from files:
    # the index cache is keyed by it, so a change to the loader that leaves the passages as they
    # were keeps the index. None for a corpus made in memory (its index hashes the passages).
    key: str | None = field(default=None, compare=False)

    def titles(self) -> list[str]:
        """Every article's title, in order (a corpus made in memory: its passages' titles)."""
        if isinstance(self.sources, Sources):
            return self.sources.titles()
        if self.sources:
            return [s.title for s in self.sources]
        return list(dict.fromkeys(p.source_title for p in self.passages))

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        """Passage id -> index into `passages`, built on first use so lookups stay O(1)."""
        return {p.id: i for i, p in enumerate(self.passages)}

    def row(self, passage_id: str) -> int | None:
        """The index of the passage with this id in `passages`, or None."""
        if isinstance(self.passages, Passages):
            return self.passages.row_of(passage_id)
        return self._index.get(passage_id)

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, or None."""
        i = self.row(passage_id)
        return None if i is None else self.passages[i]

    def neighbours(self, passage_id: str, radius: int = 1) -> tuple[Passage, ...]:
        """The passage with up to `radius` passages before and after it from the same source."""
        i = self.row(passage_id)
        if i is None:
            return ()
        source_id = self.passages[i].source_id
        window = self.passages[max(0, i - radius): i + radius + 1]
        return tuple(p for p in window if p.source_id == source_id)

    def source(self, source_id: str) -> Source | None:
        """The source with this id (the seed file's stem), or None."""
        if isinstance(self.sources, Sources):
            return self.sources.find(source_id)
        return next((s for s in self.sources if s.id == source_id), None)


class _Library:
    """The corpus cache's arrays (memory-mapped) and what they index: the parsed library as read back.

    text is the UTF-8 of every article's cleaned text, one after another; a passage is a byte span
    of it with its source, section, speaker and position as numbers.
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.text = arrays["text"]
        self.start, self.end = arrays["start"], arrays["end"]
        self.source_of, self.section_of = arrays["source"], arrays["section"]
        self.speaker_of, self.position_of = arrays["speaker"], arrays["position"]
        self.sources = meta["sources"]        # [id, title, path, date, url, origin, passage count]
        self.sections, self.speakers = meta["sections"], meta["speakers"]
        self.offsets = meta["offsets"] + [meta["length"]]   # each source's first byte, then the end
        self.first = np.concatenate(([0], np.cumsum([source[6] for source in self.sources]))).astype(np.int64)
        self.source_rows = {source[0]: n for n, source in enumerate(self.sources)}

    def decode(self, start: int, end: int) -> str:
        data = self.text[start:end].tobytes()
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            # The cache was checked at start-up, but not every byte of it: a damaged one is
            # shown as best it can be, never a crash; the next edit of the library rewrites it.
            log.warning("corpus cache text is damaged at byte %d (%s); showing it with replacements",
                        start, exc.reason)
            return data.decode("utf-8", "replace")

    def passage(self, i: int) -> Passage:
        n = int(self.source_of[i])
        source_id, title = self.sources[n][0], self.sources[n][1]
        position = int(self.position_of[i])
        return Passage(f"{source_id}#{position}", source_id, title, self.sections[self.section_of[i]], position,
                       self.decode(int(self.start[i]), int(self.end[i])), self.speakers[self.speaker_of[i]])

    def source(self, n: int, passages: Sequence[Passage] | None = None) -> Source:
        source_id, title, path, date, url, origin, _ = self.sources[n]
        if passages is None:
            passages = Passages(self, int(self.first[n]), int(self.first[n + 1]))
        return Source(source_id, title, Path(path), date, url, origin, passages,
                      self.decode(self.offsets[n], self.offsets[n + 1]))


class _Lazy(Sequence):
    """A tuple-like run of a library's items, each made when it is asked for."""

    def __init__(self, library: _Library, first: int, stop: int) -> None:
        self._library, self._first, self._stop = library, first, stop

    def _make(self, i: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return self._stop - self._first

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return tuple(self[j] for j in range(start, stop, step))
            return type(self)(self._library, self._first + start, self._first + max(start, stop))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("index out of range")
        return self._make(self._first + i)

    def __iter__(self):
        return map(self._make, range(self._first, self._stop))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (tuple, list, _Lazy)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._first}:{self._stop}>"


class Passages(_Lazy):
    """Passages read from the corpus cache: a Passage is made for the few a question touches.

    A big library holds hundreds of thousands of passages: as objects they took most of a
    restart and a third of the memory serving; here they are numbers over the memory-mapped text.
    """

    def _make(self, i: int) -> Passage:
        return self._library.passage(i)

    def row_of(self, passage_id: str) -> int | None:
        """The index among these passages of the passage with this id, or None."""
        source_id, _, number = passage_id.rpartition("#")
        n = self._library.source_rows.get(source_id)
        if n is None or not number.isdigit():
            return None
        row = int(self._library.first[n]) + int(number)
        if not (self._first <= row < self._stop and row < self._library.first[n + 1]):
            return None
        return row - self._first

    def place(self, i: int) -> tuple[str, str]:
        """(source id, section) of passage i, without making it (its text is not read)."""
        library, row = self._library, self._first + i
        return library.sources[library.source_of[row]][0], library.sections[library.section_of[row]]

    def source_indices(self) -> np.ndarray:
        """Each passage's source, as the source's index in the library (an article is a run of one)."""
        return np.asarray(self._library.source_of[self._first:self._stop])


class Sources(_Lazy):
    """Sources read from the corpus cache, each made (its text decoded) when asked for."""

    def _make(self, n: int) -> Source:
        return self._library.source(n)

    def titles(self) -> list[str]:
        """The titles, without making the sources."""
        return [source[1] for source in self._library.sources[self._first:self._stop]]

    def find(self, source_id: str) -> Source | None:
        """The source with this id, or None."""
        n = self._library.source_rows.get(source_id)
        return self._make(n) if n is not None and self._first <= n < self._stop else None


def load_corpus(config: CorpusConfig, cache_dir: Path | None = None) -> Corpus:
    """Read every .txt/.md file in config.seeds_dir, clean it and split it into passages.

    With cache_dir, the parsed library is kept there: a restart on an unchanged library (same
    files, sizes and modification times, same sources file, settings and splitting code) reads
    the cached passages and no article at all. A stale cache is simply not found (another key);
    an unreadable one is rebuilt with a warning.
    """
    files = seed_files(config.seeds_dir)
    key = library_key(config, files)
    cached = _load_cached(cache_dir, key) if cache_dir is not None else None
    if cached is not None:
        return cached
    metadata = read_sources_file(config.sources_file)
    parsed = (load_source(path, metadata.get(path.name, {}), config.max_passage_chars, config.min_passage_chars)
              for path in files)
    if cache_dir is not None:
        # Written to the cache an article at a time and served from it, as a restart serves it:
        # the parsed objects of a million passages (a gigabyte) are never all in memory.
        cached = _parse_into_cache(cache_dir, key, parsed)
        if cached is not None:
            return cached
        parsed = (load_source(path, metadata.get(path.name, {}), config.max_passage_chars,
                              config.min_passage_chars) for path in files)
    sources = tuple(parsed)
    passages = tuple(p for s in sources for p in s.passages)
    return Corpus(sources=sources, passages=passages, key=passages_key(passages))


def passages_key(passages: tuple[Passage, ...]) -> str:
    """A hash of every field of every passage, in order."""
    digest = _PassagesDigest()
    digest.update(passages)
    return digest.hexdigest()


class _PassagesDigest:
    """passages_key of passages given a run at a time."""

    BLOCK = 4096  # passages hashed per call: hashing one string at a time costs more than the hash

    def __init__(self) -> None:
        # Not the corpus cache's version: a new cache layout leaves the passages, and so the index, as they were.
        self._digest = hashlib.sha256(f"passages {PASSAGES_KEY_VERSION}\n".encode())
        self._pending: list[Passage] = []

    def update(self, passages: Sequence[Passage]) -> None:
        self._pending.extend(passages)
        while len(self._pending) >= self.BLOCK:
            self._hash(self._pending[:self.BLOCK])
            del self._pending[:self.BLOCK]

    def hexdigest(self) -> str:
        if self._pending:
            self._hash(self._pending)
            self._pending = []
        return self._digest.hexdigest()

    def _hash(self, block: list[Passage]) -> None:
        self._digest.update("\1".join(f"{p.id}\0{p.source_id}\0{p.source_title}\0{p.section}\0{p.position}\0"
                                       f"{p.speaker}\0{p.text}" for p in block).encode("utf-8", "surrogatepass"))
        self._digest.update(b"\2")


# Bump when what the corpus cache holds, or how it is read back, changes.
CORPUS_CACHE_VERSION = "4"
# From this many passages on, a library read from the cache makes its passages when asked for
# (Passages): below, they are made at once, as objects cost little there and a question asks for
# a dozen of them (made anew, that took a tenth of the bundled library's time per question).
LAZY_FROM = 20_000
# Bump when passages_key hashes the passages another way.
PASSAGES_KEY_VERSION = "1"


def library_key(config: CorpusConfig, files: list[Path]) -> str:
    """A hash of what a library is read from: each file's name, size and modification time, the
    sources file, the splitting settings and this module's code (a change to splitting can never
    meet a stale cache). No article is read."""
    digest = hashlib.sha256()
    digest.update(f"corpus {CORPUS_CACHE_VERSION} {config.max_passage_chars} {config.min_passage_chars}\n".encode())
    digest.update(Path(__file__).read_bytes())
    try:
        digest.update(config.sources_file.read_bytes())
    except OSError:
        digest.update(b"(no sources file)")
    for path in files:
        stat = path.stat()
        digest.update(f"\0{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _parse_into_cache(cache_dir: Path, key: str, sources: Iterable[Source]) -> Corpus | None:
    """Write the parsed library to the cache as arrays, an article at a time: the sources' texts
    and each passage's place in them; the library read back from it, or None when it cannot be
    cached (not the shape the loader makes, or the folder is unwritable)."""
    from bot.retrieval.cache import ArraysWriter

    writer = ArraysWriter(cache_dir, key, "corpus", keep=False)
    columns = (("text", np.uint8), ("source", np.int32), ("start", np.int64), ("end", np.int64),
               ("section", np.int32), ("speaker", np.int32), ("position", np.int32))
    for name, dtype in columns:
        writer.declare(name, dtype)
    sections: dict[str, int] = {}
    speakers: dict[str, int] = {}
    listed, offsets, at = [], [], 0
    digest = _PassagesDigest()
    for n, source in enumerate(sources):
        encoded = source.text.encode("utf-8", "surrogatepass")
        starts, ends = [], []
        # Offsets in bytes: the text is read back as UTF-8, a passage at a time.
        begin, begin_byte = 0, 0
        for number, passage in enumerate(source.passages):
            start = source.text.find(passage.text, begin)
            if start < 0 or passage.position != number or passage.id != f"{source.id}#{number}":
                writer.discard()
                return None  # not the shape the loader makes: nothing to cache
            start_byte = begin_byte + len(source.text[begin:start].encode("utf-8", "surrogatepass"))
            starts.append(at + start_byte)
            ends.append(at + start_byte + len(passage.text.encode("utf-8", "surrogatepass")))
            begin, begin_byte = start, start_byte
        count = len(source.passages)
        writer.append("text", np.frombuffer(encoded, dtype=np.uint8))
        writer.append("source", np.full(count, n, dtype=np.int32))
        writer.append("start", np.asarray(starts, dtype=np.int64))
        writer.append("end", np.asarray(ends, dtype=np.int64))
        writer.append("section", np.fromiter((sections.setdefault(p.section, len(sections)) for p in source.passages),
                                             dtype=np.int32, count=count))
        writer.append("speaker", np.fromiter((speakers.setdefault(p.speaker, len(speakers)) for p in source.passages),
                                             dtype=np.int32, count=count))
        writer.append("position", np.arange(count, dtype=np.int32))
        digest.update(source.passages)
        listed.append([source.id, source.title, str(source.path), source.date, source.url, source.origin, count])
        offsets.append(at)
        at += len(encoded)
    meta = {"sources": listed, "sections": list(sections), "speakers": list(speakers), "offsets": offsets,
            "length": at, "passages_key": digest.hexdigest()}
    writer.add("meta", np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8))
    if writer.finish()[1] is None:
        return None
    return _load_cached(cache_dir, key)


def _load_cached(cache_dir: Path, key: str) -> Corpus | None:
    """The cached library with this key, or None (absent, or unusable: then logged).

    Nothing is decoded or made here but the sources' list: passages and sources are made when
    asked for (`Passages`, `Sources`), from arrays checked to fit together now.
    """
    from bot.retrieval.cache import load_arrays

    # The text is read a passage at a time (cache.FileArray): a question shows a few of them.
    arrays = load_arrays(cache_dir, key, kind="corpus", on_demand=("text",))
    if arrays is None:
        return None
    try:
        meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
        library = _Library(arrays, meta)
        _check(library, meta)
        count = len(library.start)
        if count < LAZY_FROM:
            passages = tuple(Passages(library, 0, count))
            sources = tuple(library.source(n, passages[library.first[n]:library.first[n + 1]])
                            for n in range(len(library.sources)))
            return Corpus(sources=sources, passages=passages, key=meta["passages_key"])
        return Corpus(sources=Sources(library, 0, len(library.sources)), passages=Passages(library, 0, count),
                      key=meta["passages_key"])
    except (KeyError, ValueError, IndexError, TypeError, UnicodeDecodeError) as exc:
        log.warning("corpus cache for %s is unusable (%s: %s); reading the articles", key[:12],
                    exc.__class__.__name__, exc)
        return None


def _check(library: _Library, meta: dict) -> None:
    """Raise ValueError unless the cached arrays describe the library the loader made."""
    count = int(library.first[-1])
    if len(library.text) != meta["length"] or len(library.offsets) != len(library.sources) + 1:
        raise ValueError("text length")
    if any(len(a) != count for a in (library.start, library.end, library.source_of, library.section_of,
                                      library.speaker_of, library.position_of)):
        raise ValueError("passages and sources do not line up")
    offsets = np.asarray(library.offsets, dtype=np.int64)
    if count:
        source_of = np.asarray(library.source_of, dtype=np.int64)
        counts = np.diff(library.first)
        if not np.array_equal(source_of, np.repeat(np.arange(len(library.sources)), counts)):
            raise ValueError("passages and sources do not line up")
        rows = np.arange(count, dtype=np.int64)
        if not np.array_equal(library.position_of, rows - np.repeat(library.first[:-1], counts)):
            raise ValueError("positions")
        start, end = np.asarray(library.start), np.asarray(library.end)
        if (start > end).any() or (start < offsets[source_of]).any() or (end > offsets[source_of + 1]).any():
            raise ValueError("a passage outside its article")
        for column, names in ((library.section_of, library.sections), (library.speaker_of, library.speakers)):
            if int(column.min()) < 0 or int(column.max()) >= len(names):
                raise ValueError("sections or speakers")
    if (np.diff(offsets) < 0).any() or (offsets[0] if len(offsets) else 0) != 0:
        raise ValueError("article offsets")
    # The first and last passages decode (a damaged text shows itself at its ends, most likely).
    for i in {0, count - 1} if count else ():
        library.passage(i)


def seed_files(seeds_dir: Path) -> list[Path]:
    """The article files of a seeds folder, sorted by file name."""
    if not seeds_dir.is_dir():
        raise CorpusError(f"{seeds_dir}: seeds folder not found")
    files = sorted(
        (p for p in seeds_dir.iterdir() if p.is_file() and p.suffix.lower() in SEED_SUFFIXES),
        key=lambda p: p.name,
    )
    if not files:
        raise CorpusError(f"{seeds_dir}: no .txt or .md articles in the seeds folder")
    return files


def read_sources_file(path: Path) -> dict[str, dict[str, str]]:
    """The sources YAML as {file name: {title, date, url, origin}}, checked key by key."""
    raw = read_yaml(path, "sources file", CorpusError)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CorpusError(f"{path}: expected a mapping of file names to title, date, url, origin")
    return {str(name): _check_entry(path, str(name), entry) for name, entry in raw.items()}


def _check_entry(path: Path, name: str, entry: object) -> dict[str, str]:
    """One sources-file entry, with unknown keys and non-text values rejected."""
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise CorpusError(f"{path}: entry '{name}' must be a mapping of title, date, url, origin")
    checked = {}
    for key, value in entry.items():
        if key not in SOURCE_KEYS:
            raise CorpusError(f"{path}: unknown key '{name}.{key}' (expected one of: {', '.join(SOURCE_KEYS)})")
        if isinstance(value, datetime.date):
            value = value.isoformat()  # YAML reads an unquoted 2025-02-18 as a date
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"{path}: key '{name}.{key}' must be non-empty text, got {value!r}")
        checked[key] = value.strip()
    return checked


def load_source(path: Path, meta: dict[str, str], max_chars: int, min_chars: int) -> Source:
    """Read one article file and turn it into a Source with its passages."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: article is not UTF-8 text") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read article ({exc.__class__.__name__})") from None
    doc = clean_article(raw)
    source_id = path.stem
    title = meta.get("title") or doc.title or source_id
    spans = split_passages(doc, max_chars, min_chars)
    speakers = turn_speakers(doc.text, [start for _, start, _ in spans])
    passages = tuple(
        Passage(
            id=f"{source_id}#{n}",
            source_id=source_id,
            source_title=title,
            section=section,
            position=n,
            text=doc.text[start:end],
            speaker=speaker,
        )
        for n, ((section, start, end), speaker) in enumerate(zip(spans, speakers))
    )
    return Source(
        id=source_id,
        title=title,
        path=path,
        date=meta.get("date") or doc.date,
        url=meta.get("url") or doc.url,
        origin=meta.get("origin"),
        passages=passages,
        text=doc.text,
    )


# An interview turn opens with its speaker's name and a colon ("Sarah Guo: 我们的核心理念是…").
_TURN_LABEL = re.compile(r"^([A-Za-z\u4e00-\u9fff][\w\u4e00-\u9fff ·.'-]{0,24}?)\s*[:：]\s*\S")


def turn_speakers(text: str, starts: list[int]) -> list[str]:
    """For each passage start, the speaker whose turn it continues, or "".

    A line opening with a name and a colon is an interview turn when the same name opens at
    least two lines of the article (a single "我的看法是：" is a lead-in, not a speaker). A passage
    that begins inside such a line, after its name (a long turn split in two), continues that
    speaker's turn: the name is not in its text, so it goes to the passage's head.
    """
    lines = text.split("\n")
    labels: list[str] = []
    for line in lines:
        match = _TURN_LABEL.match(line)
        labels.append(match.group(1).strip() if match else "")
    recurring = {label for label in labels if label and labels.count(label) >= 2}
    line_starts = [0]
    for line in lines[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    out = []
    for start in starts:
        n = bisect.bisect_right(line_starts, start) - 1
        label = labels[n]
        out.append(label if label in recurring and start > line_starts[n] else "")
    return out


# ---------------------------------------------------------------------------------------------
# Cleaning: each rule names a kind of page debris, not the exact words of one file, so a new
# article copied from a similar page is cleaned the same way.

# Navigation and metadata labels of blog templates (a table of contents, an info box); alone on a
# line, or with a short value after a colon ("字数：1234"), they are page furniture, not text.
_NAV_LINE = re.compile(
    r"^(目录|文章目录|文章信息|字数|字数统计|阅读时间|阅读时长|阅读量|阅读次数|发布时间|发布日期|发表于|"
    r"更新时间|最后更新|标签|分类|作者信息|上一篇|下一篇|返回顶部|返回目录|本文目录)"
    r"(\s*[:：].{0,40})?$"
)
# A date with a reading-time note ("📅 2025年2月18日 ⌚ 1 分钟阅读") is the page's byline box.
_DATE = re.compile(r"(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?")
_BYLINE_MARK = re.compile(r"📅|⌚|🕒|⏱|分钟阅读|分钟读完|min read|阅读时间|阅读约")
# Tag lines are hashtags only ("#AI #DeepSeek #开源"); a markdown heading has a space after '#'.
_TAG_LINE = re.compile(r"^(#[^\s#]+\s*)+$")
# Share buttons render as a short call to share or save the page.
_SHARE_LINE = re.compile(r"^(分享|转发|收藏|点赞)(这篇文章|本文|文章|一下|到.{0,12}|至.{0,12})?[:：]?$")
# "Related articles" starts a teaser list of other pages: everything from it on is not this article.
_RELATED_LINE = re.compile(r"^(相关文章推荐|相关文章|相关推荐|推荐阅读|延伸阅读|猜你喜欢|热门文章|热门推荐|更多文章|往期推荐|往期回顾)[:：]?$")
# A promotion asks the reader to reply, follow or scan in an official account (公众号).
_PROMO = re.compile(
    r"(公众号|对话框|后台).{0,20}(回复|回覆|留言)\s*[“\"「『【]|扫码关注|长按(识别)?二维码|点击(上方|下方)?.{0,6}关注|关注(我们的|本)?公众号"
)
# The comment box's placeholder ("还没有评论,来说两句吧...") is an empty comment section.
_COMMENT_PROMPT = re.compile(r"(还没有|暂无|尚无)(任何)?评论|来说两句|抢沙发|发表(你的)?评论|写下你的评论")
_MAX_COMMENT_PROMPT_CHARS = 30
# Navigation, tag, share and comment lines are short; longer lines skip those checks (speed on
# large corpora).
_MAX_DEBRIS_LINE_CHARS = 80
# "_原链接:https://..._" names where the text came from: it becomes the source's url.
_ORIGIN_LINK = re.compile(
    r"^[_*\s]*(原链接|原文链接|原文连结|原文地址|原文|来源链接|来源连结|来源|出处|source|original)\s*[:：]\s*<?(https?://[^\s>_*]+)>?[_*\s]*$",
    re.IGNORECASE,
)
# Markdown headings ("## 亮点") name the section of what follows.
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A bare number ("02", "三、", "PART 03") marks the start of a numbered section: the line after it
# is that section's heading.
_SECTION_NUMBER = re.compile(r"^(part\s*)?(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[.、．:：]?$", re.IGNORECASE)
# Markdown syntax around text that we strip but whose text we keep.
_BLOCKQUOTE = re.compile(r"^>+\s?")
_BULLET = re.compile(r"^([-*+•·]|\d{1,2}[.)、])\s+")
# Sentence punctuation at the end of a line: it is a sentence (or a lead-in), never a heading.
_SENTENCE_TAIL = re.compile(r"[。！？!?…；;：:，,、.][”’\"'」』）)】\]]*$")
_CLAUSE_INSIDE = re.compile(r"[。！？!?；;]")
_QUOTED_LINE = re.compile(r"^[“\"「『].*[”\"」』]$")
# An image caption with its credit ("… | 图片来源:X") is content even when it is short.
_CAPTION = re.compile(r"\||图片来源|图源|来源\s*[:：]|摄影?\s*[:：]")


@dataclass(frozen=True)
class _Line:
    kind: str         # "title", "heading" or "content"
    text: str
    level: int = 0    # a markdown heading's number of '#'; 0 for a plain section line
    section: str = ""  # for a heading: the section name it opens, with its parent heading


@dataclass(frozen=True)
class CleanArticle:
    """An article after debris removal: its kept lines and what the debris told us."""

    lines: tuple[_Line, ...]
    title: str | None
    date: str | None
    url: str | None
    text: str = field(init=False)  # the kept lines joined by newlines; passages index into it

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", "\n".join(line.text for line in self.lines))


def clean_article(raw: str) -> CleanArticle:
    """Drop page debris from an article and classify its lines as title, heading or content."""
    lines = [line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    date = url = None
    kept: list[tuple[str, str]] = []
    next_is_heading = False
    for line in lines:
        if not line:
            continue
        # The debris patterns are written in Simplified Chinese: a Traditional page (相關文章,
        # 分享這篇文章, 公眾號) is read one character for one in Simplified.
        read = simplified_chars(line)
        if _RELATED_LINE.match(read):
            break  # the teaser list of other articles runs to the end of the page
        link = _ORIGIN_LINK.match(read)
        if link:
            url = url or link.group(2)
            continue
        if _is_byline(read):
            date = date or _iso_date(read)
            continue
        if _is_debris(read):
            continue
        if _SECTION_NUMBER.match(line):
            next_is_heading = True  # the number itself says nothing; the next line is the heading
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            kept.append((f"md{len(heading.group(1))}", heading.group(2)))
        elif next_is_heading and not _SENTENCE_TAIL.search(line) and len(line) <= _MAX_TITLE_CHARS:
            kept.append(("heading", line))
        else:
            kept.append(("line", _strip_markup(line)))
        next_is_heading = False
    return _classify(kept, date, url)


def _is_byline(line: str) -> bool:
    """A short line holding a date and a reading-time mark, or only a date."""
    if len(line) > 60 or not _DATE.search(line):
        return False
    return bool(_BYLINE_MARK.search(line)) or not _DATE.sub("", line).strip(" \t|·-📅")


def _is_debris(line: str) -> bool:
    """Navigation words, tag lines, share buttons, promotions and comment prompts."""
    if len(line) > _MAX_DEBRIS_LINE_CHARS:
        return bool(_PROMO.search(line) or _TAG_LINE.match(line))  # a promotion or a long tag line
    return bool(
        _NAV_LINE.match(line)
        or _TAG_LINE.match(line)
        or _SHARE_LINE.match(line)
        or _PROMO.search(line)
        or (len(line) <= _MAX_COMMENT_PROMPT_CHARS and _COMMENT_PROMPT.search(line))
    )


def _iso_date(line: str) -> str | None:
    """The first date in a line as YYYY-MM-DD, or None if it is not a real date."""
    m = _DATE.search(line)
    try:
        return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except (AttributeError, ValueError):
        return None


def _strip_markup(line: str) -> str:
    """Remove a blockquote or bullet marker, keeping the text after it."""
    line = _BLOCKQUOTE.sub("", line)
    return _BULLET.sub("", line).strip()


def _looks_like_heading(line: str) -> bool:
    """A short phrase without sentence punctuation: a section line, not a sentence."""
    if len(line) > _MAX_HEADING_CHARS or _SENTENCE_TAIL.search(line) or _CLAUSE_INSIDE.search(line):
        return False
    if _QUOTED_LINE.match(line) or _CAPTION.search(simplified_chars(line)) or not re.search(r"\w", line):
        return False
    has_comma = bool(re.search(r"[，,、]", line))
    return not has_comma or len(line) <= _MAX_HEADING_CHARS_WITH_COMMA


def _classify(kept: list[tuple[str, str]], date: str | None, url: str | None) -> CleanArticle:
    """Decide which kept lines are the title, headings or content."""
    title = None
    lines: list[_Line] = []
    for i, (kind, text) in enumerate(kept):
        first = i == 0
        level = int(kind[2:]) if kind.startswith("md") else 0
        if level == 1 and title is None:
            title = text
            lines.append(_Line("title" if first else "heading", text, level))
        elif kind == "heading" or level:
            lines.append(_Line("heading", text, level))
        elif first and len(text) <= _MAX_TITLE_CHARS and not _SENTENCE_TAIL.search(text) and len(kept) > 1:
            title = text  # a short first line without sentence punctuation is the article's title
            lines.append(_Line("title", text))
        elif _looks_like_heading(text) and _has_content_after(kept, i):
            lines.append(_Line("heading", text))
        else:
            lines.append(_Line("content", text))
    return CleanArticle(lines=tuple(_name_sections(lines)), title=title, date=date, url=url)


def _name_sections(lines: list[_Line]) -> list[_Line]:
    """Give each heading its section name, prefixed by the heading it sits under.

    Markdown headings nest by level. A plain section line directly followed by another one heads
    a group ("对地缘政治的影响" over "出口管制和技术主权"), so the group's name prefixes the
    sections under it until the next group; otherwise three sections would all be called "结论".
    """
    named: list[_Line] = []
    stack: dict[int, str] = {}
    group = ""
    for i, line in enumerate(lines):
        if line.kind != "heading":
            named.append(line)
            continue
        if line.level:
            stack = {lvl: text for lvl, text in stack.items() if lvl < line.level}
            stack[line.level] = line.text
            group, name = "", " / ".join(stack[lvl] for lvl in sorted(stack))
        elif i + 1 < len(lines) and lines[i + 1].kind == "heading" and not lines[i + 1].level:
            group = name = line.text
        else:
            name = f"{group} / {line.text}" if group else line.text
        named.append(_Line(line.kind, line.text, line.level, name))
    return named


def _has_content_after(kept: list[tuple[str, str]], i: int) -> bool:
    """Whether any line follows; a heading-like last line would head nothing, so it is content."""
    return i + 1 < len(kept)


# ---------------------------------------------------------------------------------------------
# Splitting: paragraphs become passages; long ones are cut at sentence ends, short ones merged.

# A sentence ends at 。！？!? (or a Latin full stop before a space, unless it follows a lone
# capital: the initial of a name, "Andrew W. Mellon"), with any closing quotes or brackets right
# after it; punctuation followed by a comma or colon is inside a sentence (“你们在做一件很疯狂的事
# 吗?”,他的回答...). The group is atomic so that the lookahead cannot succeed by giving back the
# closing quote.
_SENTENCE_END = re.compile(
    r"(?>(?:[。！？!?]+|(?<=[A-Za-z])(?<![^A-Za-z][A-Z])\.(?=\s))[”’\"'」』）)】\]]*)(?![，,、：:；;])"
)
_CLAUSE_END = re.compile(r"[；;][”’\"'」』）)】\]]*")
_PHRASE_END = re.compile(r"[，,、：:][”’\"'」』）)】\]]*")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The (start, end) offsets of the sentences of text[start:end], whitespace trimmed."""
    return _cut(text, start, len(text) if end is None else end, _SENTENCE_END)


def _cut(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Offsets of the pieces of text[start:end] ending where pattern matches."""
    cuts = [m.end() for m in pattern.finditer(text, start, end)]
    spans, begin = [], start
    for cut in cuts + [end]:
        span = _trim(text, begin, cut)
        if span:
            spans.append(span)
        begin = cut
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without surrounding whitespace, or None when nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split_passages(doc: CleanArticle, max_chars: int, min_chars: int) -> list[tuple[str, int, int]]:
    """The (section, start, end) of every passage of a cleaned article, in order."""
    text = doc.text
    passages: list[tuple[str, int, int]] = []
    section, offset = "", 0
    group: list[tuple[int, int, bool]] = []  # spans of the current section; bool: starts a paragraph

    def close_section() -> None:
        merged = _merge_short(text, group, max_chars, min_chars)
        passages.extend((section, s, e) for s, e in _join_lead_ins(text, merged, max_chars))

    for line in doc.lines:
        if line.kind == "content":
            pieces = _split_paragraph(text, offset, offset + len(line.text), max_chars, min_chars)
            group.extend((s, e, n == 0) for n, (s, e) in enumerate(pieces))
        else:
            close_section()
            group = []
            section = line.section if line.kind == "heading" else section
        offset += len(line.text) + 1
    close_section()
    return passages


# A passage ending in a colon introduces what follows ("他的回答则十分有意思：" before the answer).
_LEAD_IN_END = re.compile(r"[:：][”’\"'」』）)】\]]*\s*$")
# A lead-in and what it introduces stay one passage up to this many times max_passage_chars: a
# quotation without its speaker, or a speaker without the quotation, answers nothing.
_LEAD_IN_SPAN = 2


def _join_lead_ins(text: str, spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Each span ending in a colon joined with the span after it (same section), within a bound."""
    out: list[list[int]] = []
    for s, e in spans:
        if out and _LEAD_IN_END.search(text[out[-1][0]:out[-1][1]]) and e - out[-1][0] <= _LEAD_IN_SPAN * max_chars:
            out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _split_paragraph(text: str, start: int, end: int, max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """A paragraph as one span, or cut at sentence ends into balanced spans of at most max_chars."""
    if end - start <= max_chars:
        return [(start, end)]
    units: list[tuple[int, int]] = []
    for s, e in sentence_spans(text, start, end):
        units.extend(_split_long_sentence(text, s, e, max_chars))
    return _pack(units, max_chars, min_chars)


def _split_long_sentence(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A sentence longer than max_chars cut at semicolons, then commas, then hard, to fit."""
    if end - start <= max_chars:
        return [(start, end)]
    for pattern in (_CLAUSE_END, _PHRASE_END):
        pieces = _cut(text, start, end, pattern)
        if len(pieces) > 1 and all(e - s <= max_chars for s, e in pieces):
            return _pack(pieces, max_chars, 1)
    return [(s, min(s + max_chars, end)) for s in range(start, end, max_chars)]


def _pack(units: list[tuple[int, int]], max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """Adjacent units grouped into about equal spans, each at most max_chars long."""
    total = units[-1][1] - units[0][0]
    target = total / -(-total // max_chars)  # the length that splits the whole into fewest equal parts
    spans: list[list[int]] = []
    for s, e in units:
        if spans and e - spans[-1][0] <= max_chars and spans[-1][1] - spans[-1][0] < target:
            spans[-1][1] = e
        else:
            spans.append([s, e])
    _rebalance_tail(spans, units, max_chars, min_chars)
    return [(s, e) for s, e in spans]


def _rebalance_tail(spans: list[list[int]], units: list[tuple[int, int]], max_chars: int,
                    min_chars: int) -> None:
    """Move whole sentences from the second-to-last span into a too-short last span."""
    if len(spans) < 2 or spans[-1][1] - spans[-1][0] >= min_chars:
        return
    prev, last = spans[-2], spans[-1]
    prev_units = [u for u in units if prev[0] <= u[0] and u[1] <= prev[1]]
    while len(prev_units) > 1 and last[1] - last[0] < min_chars:
        moved, new_end = prev_units[-1], prev_units[-2][1]
        if new_end - prev[0] < min_chars or last[1] - moved[0] > max_chars:
            break  # moving would leave the previous span too short or make the last too long
        prev_units.pop()
        prev[1], last[0] = new_end, moved[0]


def _merge_short(text: str, spans: list[tuple[int, int, bool]], max_chars: int,
                 min_chars: int) -> list[tuple[int, int]]:
    """Join each span shorter than min_chars to a neighbour in the same section, in one pass."""
    out: list[list[int]] = []
    carry: int | None = None  # start of a short span waiting to join the next one
    for k, (s, e, _) in enumerate(spans):
        if carry is not None:
            s, carry = carry, None
        has_next = k + 1 < len(spans)
        if e - s >= min_chars or not (out or has_next):
            out.append([s, e])
            continue
        choice = _partner(text[s:e], out[-1][0] if out else None, s, e,
                          spans[k + 1][1] if has_next else None, max_chars)
        if choice == "previous":
            out[-1][1] = e
        else:
            carry = s
    return [(s, e) for s, e in out]


def _partner(piece: str, previous_start: int | None, start: int, end: int, next_end: int | None,
             max_chars: int) -> str:
    """Which neighbour a short span joins: the next after a lead-in (：or ？), else the previous.

    A neighbour that keeps the result within max_chars is preferred; a short span always joins
    one, because a stray fragment makes a poor answer on its own.
    """
    leads_in = bool(re.search(r"[：:？?][”’\"'」』）)】\]]*$", piece))
    order = ["next", "previous"] if leads_in else ["previous", "next"]
    ends = {"previous": (previous_start, end), "next": (start, next_end)}
    available = [side for side in order if None not in ends[side]]
    fitting = [side for side in available if ends[side][1] - ends[side][0] <= max_chars]
    return (fitting or available)[0]
