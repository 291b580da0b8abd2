"""Keep the index on disk so a restart on an unchanged corpus skips jieba and the weighting.

Two kinds of entries, each versioned and keyed:
  counts   index-<key>.npz: the term counts, keyed by the passages and the analyzer (below);
           read only when the weights must be computed again (a new fitted model);
  weights  weights-<key>/: one .npy file per array of what serving reads (the BM25F weight
           columns, vocabularies, row lists, fingerprints), keyed by the counts' key and the
           ranking's numbers, memory-mapped when loaded: a restart reads the vocabularies and
           the small arrays, and each column's pages only when a question needs them.

The counts file holds the term counts of both representations (words, bigrams) and both fields
(body, head): sparse passages x terms matrices, the lengths and the vocabularies. It is keyed by a
hash of every passage's id, text, title and section plus the analyzer's fingerprint (code version,
jieba version, user dictionary, stop words, aliases), so editing an article or one of those files
makes a new key and the index is rebuilt. A missing, unreadable, corrupt or unwritable
cache is never an error: the index is rebuilt and a warning logged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from bot.retrieval.index import FIELDS, REPRESENTATIONS, FieldCounts, IndexCounts

# Bump when the file layout or the meaning of its arrays changes.
CACHE_VERSION = "3"
WEIGHTS_VERSION = "1"
_KEEP_FILES = 4  # older cache files (other corpora, old versions) beyond this are removed
_MANIFEST = "manifest.json"

log = logging.getLogger(__name__)


def cache_key(texts: Iterable[tuple[str, ...]], fingerprint: str, block: int = 4096) -> str:
    """A hash of the passages' (id, text, head...) tuples in order and of the analyzer's settings."""
    digest = hashlib.sha256()
    digest.update(f"index {CACHE_VERSION}\n{fingerprint}\n".encode())
    texts = iter(texts)
    while True:
        # A few thousand passages a call: hashing one string at a time costs more than the hash.
        chunk = list(itertools.islice(texts, block))
        if not chunk:
            return digest.hexdigest()
        digest.update("\1".join("\0".join(parts) for parts in chunk).encode("utf-8", "surrogatepass"))
        digest.update(b"\1")


def derived_key(*parts: str) -> str:
    """A hash of some keys and settings: the key of what is computed from them."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    """Where the index with this key lives."""
    return cache_dir / f"index-{key[:40]}.npz"


def load_index(cache_dir: Path | None, key: str, passages: int) -> IndexCounts | None:
    """The cached index for key, or None when absent or unusable (then logged)."""
    if cache_dir is None:
        return None
    path = cache_path(cache_dir, key)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            index = _from_arrays(data, key, passages)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        # Truncated, garbled or foreign file: rebuilding is always possible, failing never needed.
        log.warning("index cache %s is unusable (%s: %s); rebuilding", path, exc.__class__.__name__, exc)
        return None
    _touch(path)
    return index


def save_index(cache_dir: Path | None, key: str, index: IndexCounts) -> Path | None:
    """Write the index atomically; on any OS error log a warning and carry on without a cache."""
    if cache_dir is None:
        return None
    path = cache_path(cache_dir, key)
    tmp_name = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=cache_dir)
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **_to_arrays(index, key))
        # A reader never sees a half-written file: the rename is atomic.
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        log.warning("cannot write index cache in %s (%s); continuing without it", cache_dir, exc)
        return None
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    _prune(cache_dir, keep=path)
    return path


def _to_arrays(index: IndexCounts, key: str) -> dict[str, np.ndarray]:
    """The arrays of one cache file; vocabularies are JSON in UTF-8 bytes (no pickle)."""
    arrays = {"key": np.frombuffer(key.encode("ascii"), dtype=np.uint8)}
    for name in REPRESENTATIONS:
        counts = index.field(name)
        vocab = json.dumps(list(counts.vocab), ensure_ascii=False).encode("utf-8")
        arrays[f"{name}_vocab"] = np.frombuffer(vocab, dtype=np.uint8)
        for field_name in FIELDS:
            matrix = getattr(counts, field_name)
            arrays[f"{name}_{field_name}_data"] = matrix.data.astype(np.int32, copy=False)
            arrays[f"{name}_{field_name}_indices"] = matrix.indices.astype(np.int32, copy=False)
            arrays[f"{name}_{field_name}_indptr"] = matrix.indptr.astype(np.int64, copy=False)
            arrays[f"{name}_{field_name}_len"] = getattr(counts, f"{field_name}_len").astype(np.int64, copy=False)
    return arrays


def _from_arrays(data: "np.lib.npyio.NpzFile", key: str, passages: int) -> IndexCounts:
    """Rebuild the counts from a cache file, checking that every part fits the rest."""
    import scipy.sparse as sp  # only when the weights are computed again: a warm start never is
    stored_key = bytes(data["key"]).decode("ascii")
    if stored_key != key:
        raise ValueError("key mismatch")
    fields = {}
    for name in REPRESENTATIONS:
        vocab = tuple(json.loads(bytes(data[f"{name}_vocab"]).decode("utf-8")))
        if not all(isinstance(term, str) for term in vocab):
            raise ValueError("vocabulary holds a non-string")
        parts = {}
        for field_name in FIELDS:
            matrix = sp.csc_matrix((data[f"{name}_{field_name}_data"], data[f"{name}_{field_name}_indices"],
                                    data[f"{name}_{field_name}_indptr"]), shape=(passages, len(vocab)))
            matrix.check_format(full_check=True)
            length = np.asarray(data[f"{name}_{field_name}_len"], dtype=np.int64)
            if length.shape != (passages,):
                raise ValueError("shape mismatch")
            parts[field_name], parts[f"{field_name}_len"] = matrix, length
        fields[name] = FieldCounts(vocab=vocab, **parts)
    return IndexCounts(**fields)


def weights_path(cache_dir: Path, key: str, kind: str = "weights") -> Path:
    """The folder of the arrays of this kind ("weights", "corpus") with this key."""
    return cache_dir / f"{kind}-{key[:40]}"


def save_arrays(cache_dir: Path | None, key: str, arrays: dict[str, np.ndarray],
                kind: str = "weights") -> Path | None:
    """Write named arrays as one folder of .npy files, atomically; on an OS error, a warning."""
    if cache_dir is None:
        return None
    path = weights_path(cache_dir, key, kind)
    tmp = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=cache_dir))
        shapes = {}
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
            shapes[name] = [array.dtype.str, list(array.shape)]
        manifest = {"version": WEIGHTS_VERSION, "kind": kind, "key": key, "arrays": shapes}
        (tmp / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        # A reader never sees a half-written folder: the rename is atomic.
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        log.warning("cannot write index cache in %s (%s); continuing without it", cache_dir, exc)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    _prune_folders(cache_dir, kind, keep=path)
    return path


def load_arrays(cache_dir: Path | None, key: str, kind: str = "weights",
                on_demand: Iterable[str] = ()) -> dict[str, np.ndarray] | None:
    """The arrays saved under key, memory-mapped (those named in on_demand read a slice at a time,
    as FileArray); None when absent or unusable (then logged)."""
    if cache_dir is None:
        return None
    path = weights_path(cache_dir, key, kind)
    if not (path / _MANIFEST).exists():
        return None
    try:
        manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("version") != WEIGHTS_VERSION or manifest.get("key") != key or manifest.get("kind") != kind:
            raise ValueError("version or key mismatch")
        arrays = {}
        on_demand = frozenset(on_demand)
        for name, (dtype, shape) in manifest["arrays"].items():
            array = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if array.dtype.str != dtype or list(array.shape) != shape:
                raise ValueError(f"{name}.npy does not match the manifest")
            if isinstance(array, np.memmap) and name in on_demand and array.ndim == 1:
                arrays[name] = FileArray(path / f"{name}.npy", array.offset, array.dtype, len(array))
            else:
                # A plain array over the mapped pages: memmap's subclass costs on every slice.
                arrays[name] = array.view(np.ndarray) if isinstance(array, np.memmap) else array
    except (OSError, ValueError, KeyError, TypeError, EOFError, json.JSONDecodeError) as exc:
        log.warning("index cache %s is unusable (%s: %s); rebuilding", path, exc.__class__.__name__, exc)
        return None
    _touch(path)
    return arrays


class FileArray:
    """A 1-D array of a .npy file read a slice at a time (pread), never memory-mapped.

    For arrays a question reads a few scattered bytes of (a passage's text, its terms): mapped,
    each touch brings a whole page-cache folio into the process (a large folio is up to
    megabytes), so a few thousand questions would hold most of the file resident. Read so, only
    what is asked for is copied; the kernel's page cache keeps the rest, shared and reclaimable.
    """

    def __init__(self, path: Path, offset: int, dtype: np.dtype, length: int) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 (open for the array's lifetime)
        self._offset, self.dtype, self._length = offset, np.dtype(dtype), length
        self.shape = (length,)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            if step != 1:
                raise IndexError("a FileArray is read in runs: no step")
            return self._read(start, max(start, stop))
        i = int(key) + (self._length if int(key) < 0 else 0)
        if not 0 <= i < self._length:
            raise IndexError("index out of range")
        return self._read(i, i + 1)[0]

    def _read(self, start: int, stop: int) -> np.ndarray:
        size = self.dtype.itemsize
        data = os.pread(self._file.fileno(), (stop - start) * size, self._offset + start * size)
        if len(data) != (stop - start) * size:
            raise OSError(f"{self._file.name}: shorter than its header says")
        return np.frombuffer(data, dtype=self.dtype)


def _prune_folders(cache_dir: Path, kind: str, keep: Path) -> None:
    """Remove the least recently used folders of a kind beyond a few."""
    try:
        folders = sorted(cache_dir.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [f for f in folders if f != keep][_KEEP_FILES - 1:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        log.debug("could not prune index cache: %s", exc)


def _touch(path: Path) -> None:
    """Mark a cache file as recently used, so pruning keeps it."""
    try:
        os.utime(path)
    except OSError:
        pass  # read-only cache folder: pruning order matters little


def _prune(cache_dir: Path, keep: Path) -> None:
    """Remove the least recently used cache files beyond a few."""
    try:
        files = sorted(cache_dir.glob("index-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [f for f in files if f != keep][_KEEP_FILES - 1:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not prune index cache: %s", exc)
