"""Take in an article file an admin sends: checked, titled, and written atomically into the seeds folder."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.config import CorpusConfig
from bot.corpus import SEED_SUFFIXES, CorpusError, load_corpus

# A file name is kept to this many characters (before its suffix): enough for a descriptive name,
# short of the 255 bytes most file systems allow even when every character takes three in UTF-8.
MAX_NAME_CHARS = 80
# A title an admin types is one line of at most this many characters, the length corpus.py still
# takes for a title line (its _MAX_TITLE_CHARS).
MAX_TITLE_CHARS = 60
PARTIAL_SUFFIX = ".partial"   # not .txt/.md, so a reload running meanwhile never reads a half file

_UNSAFE = re.compile(r"[^\w.\-]+")   # \w includes CJK: Chinese file names stay readable


class ArticleError(Exception):
    """A file that cannot be added to the library; key names the sentence in bot.messages."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Draft:
    """A checked article not yet saved: its file name, text, and what the corpus makes of it."""
    name: str               # safe file name inside the seeds folder
    text: str               # the decoded text, as it will be written (a title heading added by titled())
    title: str | None       # None: the file has no title heading or title line: ask for one
    passages: int
    replaces: bool          # a file of this name is already in the seeds folder

    def titled(self, title: str) -> "Draft":
        """The draft with a title heading put in front (for a file that had none)."""
        clean = clean_title(title)
        return dataclasses.replace(self, text=f"# {clean}\n\n{self.text}", title=clean)


def safe_name(file_name: str | None) -> str:
    """A file name safe to write into the seeds folder: no folders, no dot files, .txt or .md."""
    name = unicodedata.normalize("NFKC", Path(file_name or "").name).strip()
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in SEED_SUFFIXES:
        raise ArticleError("article_bad_type", suffixes=" / ".join(SEED_SUFFIXES))
    stem = _UNSAFE.sub("_", stem).strip("._-")[:MAX_NAME_CHARS]
    if not stem:
        raise ArticleError("article_bad_name")
    return stem + suffix.lower()


def clean_title(title: str) -> str:
    """A typed title as one short line; ArticleError when nothing usable is left."""
    line = " ".join(unicodedata.normalize("NFKC", title or "").split()).lstrip("#").strip()
    if not line or len(line) > MAX_TITLE_CHARS:
        raise ArticleError("article_bad_title", limit=MAX_TITLE_CHARS)
    return line


def check_article(file_name: str | None, data: bytes, corpus: CorpusConfig, max_bytes: int) -> Draft:
    """Check an uploaded file: name, size, UTF-8, and that the corpus finds passages in it."""
    name = safe_name(file_name)
    if len(data) > max_bytes:
        raise ArticleError("article_too_big", size=len(data), limit=max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError("article_not_utf8", offset=exc.start) from None
    if "\x00" in text:
        raise ArticleError("article_not_text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title, passages = _read_as_corpus(name, text, corpus)
    if not passages:
        raise ArticleError("article_empty")
    return Draft(name, text, title, passages, replaces=(corpus.seeds_dir / name).exists())


def _read_as_corpus(name: str, text: str, corpus: CorpusConfig) -> tuple[str | None, int]:
    """The title and passage count the corpus loader gives this file (the same rules as /reload)."""
    with tempfile.TemporaryDirectory(prefix="quotebot-article-") as folder:
        (Path(folder) / name).write_text(text, encoding="utf-8")
        try:
            [source] = load_corpus(dataclasses.replace(corpus, seeds_dir=Path(folder))).sources
        except CorpusError:
            raise ArticleError("article_unreadable") from None
    # Without a title of its own (heading, title line or sources-file entry) a source is named
    # after its file.
    title = source.title if source.title != source.id else None
    return title, len(source.passages)


def save_article(seeds_dir: Path, draft: Draft) -> Path:
    """Write the draft into seeds_dir atomically (a reader sees the old file or the new, never half)."""
    path = seeds_dir / draft.name
    seeds_dir.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{draft.name}.", suffix=PARTIAL_SUFFIX, dir=seeds_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(draft.text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path
