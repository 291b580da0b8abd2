"""jieba's prefix dictionary, cached in a form that loads in a fraction of jieba's own time.

Every start needs jieba's prefix dictionary (half a million words and prefixes with their
counts). jieba keeps it as one marshalled dict and reads it back with `marshal.load` on the open
file, which reads the file a few bytes at a time: most of a second, a large part of the bundled
library's first answer. Here it is one marshalled pair of lists (the words, their counts), read
whole and zipped into a dict with the cycle collector off (no object in it can be part of a
cycle): the very dict jieba would build, so segmentation is the same, in a few tenths of that.

The file is versioned, keyed by jieba's version and its dictionary file, and checked by a digest
of its contents; an absent one is written from what jieba's own initialization gives, an unusable
one rewritten so, with one warning.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import marshal
import os
import tempfile
from pathlib import Path

from bot.jieba_import import jieba

# Bump when the file's layout changes.
PREFIX_CACHE_VERSION = "1"
_MAGIC = b"quotebot-prefix-dict\n"
_DIGEST = 32  # bytes of the sha256 of the payload, after the magic
_KEEP_OTHERS = 2  # files of other jieba versions kept beside the one in use

log = logging.getLogger(__name__)


def initialize(tokenizer: jieba.Tokenizer, cache_dir: Path | None) -> None:
    """Give tokenizer its prefix dictionary, from the cache in cache_dir when it is there."""
    source = _dictionary_file(tokenizer)
    if cache_dir is None or source is None:
        tokenizer.initialize()
        return
    path = cache_path(cache_dir, source)
    loaded = _load(path)
    if loaded is not None:
        tokenizer.FREQ, tokenizer.total = loaded
        tokenizer.initialized = True
        return
    # jieba's own way (its own cache, or its dictionary file): what it gives is what is kept.
    tokenizer.initialize()
    _save(path, tokenizer.FREQ, tokenizer.total)


def cache_path(cache_dir: Path, source: Path) -> Path:
    """Where the prefix dictionary of this jieba and dictionary file is kept."""
    stat = source.stat()
    key = hashlib.sha256(f"prefix {PREFIX_CACHE_VERSION} jieba {jieba.__version__} {source} "
                         f"{stat.st_size} {stat.st_mtime_ns}".encode("utf-8", "surrogatepass")).hexdigest()
    return cache_dir / f"jieba-{key[:40]}.marshal"


def _dictionary_file(tokenizer: jieba.Tokenizer) -> Path | None:
    """jieba's bundled dictionary file, when the tokenizer uses it (None for another dictionary)."""
    if tokenizer.dictionary != jieba.DEFAULT_DICT:
        return None
    path = Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME
    return path if path.is_file() else None


def _load(path: Path) -> tuple[dict[str, int], int] | None:
    """The cached (FREQ, total), or None when absent or unusable (then logged)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("jieba dictionary cache %s is unreadable (%s); rebuilding", path, exc)
        return None
    collecting = gc.isenabled()
    gc.disable()
    try:
        head, digest, payload = data[:len(_MAGIC)], data[len(_MAGIC):len(_MAGIC) + _DIGEST], \
            memoryview(data)[len(_MAGIC) + _DIGEST:]
        if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
            raise ValueError("not a prefix dictionary, or damaged")
        words, counts, total = marshal.loads(payload)
        if not (isinstance(words, list) and isinstance(counts, list) and len(words) == len(counts)
                and isinstance(total, int)):
            raise ValueError("unexpected contents")
        return dict(zip(words, counts)), total
    except (ValueError, EOFError, TypeError) as exc:
        log.warning("jieba dictionary cache %s is unusable (%s: %s); rebuilding", path,
                    exc.__class__.__name__, exc)
        return None
    finally:
        if collecting:
            gc.enable()


def _save(path: Path, freq: dict[str, int], total: int) -> None:
    """Write the prefix dictionary atomically; on an OS error, a warning and no cache."""
    payload = marshal.dumps((list(freq), list(freq.values()), total))
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".jieba-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        log.warning("cannot write jieba dictionary cache in %s (%s); continuing without it", path.parent, exc)
        return
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    _prune(path)


def _prune(keep: Path) -> None:
    """Remove the least recently written files of other jiebas beyond a few (venvs may share a cache)."""
    try:
        others = sorted((p for p in keep.parent.glob("jieba-*.marshal") if p != keep),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[_KEEP_OTHERS:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not prune jieba dictionary caches: %s", exc)
