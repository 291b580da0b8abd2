"""Keep the index on disk so a restart on an unchanged corpus skips jieba and the weighting.

Two kinds of entries, each versioned and keyed:
  counts   index-<key>/: the term counts, one .npy file per array (below), keyed by the passages
           and the analyzer; read only when the weights must be computed again (a new fitted
           model);
  weights  weights-<key>/: one .npy file per array of what serving reads (the BM25F weight
           columns, vocabularies, row lists, fingerprints), keyed by the counts' key and the
           ranking's numbers, memory-mapped when loaded: a restart reads the vocabularies and
           the small arrays, and each column's pages only when a question needs them.

Both are written as they are made (ArraysWriter: a build writes each representation's arrays,
a block of columns at a time, and frees them) and renamed into place when whole.

The counts hold the term counts of both representations (words, bigrams) and both fields (body,
head): sparse passages x terms matrices, the lengths and the vocabularies. They are keyed by a
hash of every passage's id, text, title and section plus the analyzer's fingerprint (code version,
jieba version, user dictionary, stop words, aliases), so editing an article or one of those files
makes a new key and the index is rebuilt. A missing, unreadable, corrupt or unwritable
cache is never an error: the index is rebuilt and a warning logged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from bot.retrieval.index import FIELDS, REPRESENTATIONS, FieldCounts, IndexCounts

# Bump when the file layout or the meaning of its arrays changes.
CACHE_VERSION = "4"
WEIGHTS_VERSION = "1"
# Bump when what the weights hold changes (their key has it: the counts and the parsed library stay
# valid, and the weights are computed again from the cached counts). 2: each term's head_df.
SERVING_VERSION = "2"
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
    """Where the counts with this key live (a folder of arrays, as the weights)."""
    return weights_path(cache_dir, key, "index")


def load_index(cache_dir: Path | None, key: str, passages: int) -> IndexCounts | None:
    """The cached counts for key, memory-mapped; None when absent or unusable (then logged)."""
    arrays = load_arrays(cache_dir, key, kind="index")
    if arrays is None:
        return None
    try:
        return _from_arrays(arrays, passages)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as exc:
        log.warning("index cache %s is unusable (%s: %s); rebuilding", cache_path(cache_dir, key),
                    exc.__class__.__name__, exc)
        return None


def save_index(cache_dir: Path | None, key: str, index: IndexCounts) -> Path | None:
    """Write the counts atomically; on any OS error log a warning and carry on without a cache."""
    writer = ArraysWriter(cache_dir, key, "index", keep=False)
    for name in REPRESENTATIONS:
        save_field(writer, name, index.field(name))
    return writer.finish()[1]


def save_field(writer: "ArraysWriter", name: str, counts) -> None:
    """One representation's counts into writer, the body a block of columns at a time.

    counts is a FieldCounts or a build's index.FieldBuild: anything with vocab, body_df,
    body_block(first, last), head, body_len and head_len.
    """
    vocab = json.dumps(list(counts.vocab), ensure_ascii=False).encode("utf-8")
    writer.add(f"{name}_vocab", np.frombuffer(vocab, dtype=np.uint8))
    writer.add(f"{name}_body_indptr", np.concatenate(([0], np.cumsum(counts.body_df, dtype=np.int64))))
    writer.declare(f"{name}_body_indices", np.int32)
    writer.declare(f"{name}_body_data", np.int32)
    for first, last in column_blocks(counts.body_df):
        _, rows, data = counts.body_block(first, last)
        writer.append(f"{name}_body_indices", rows)
        writer.append(f"{name}_body_data", data)
    head = counts.head
    writer.add(f"{name}_head_data", head.data.astype(np.int32, copy=False))
    writer.add(f"{name}_head_indices", head.indices.astype(np.int32, copy=False))
    writer.add(f"{name}_head_indptr", head.indptr.astype(np.int64, copy=False))
    writer.add(f"{name}_body_len", np.asarray(counts.body_len, dtype=np.int64))
    writer.add(f"{name}_head_len", np.asarray(counts.head_len, dtype=np.int64))


# Postings per block of columns when the columns are made or copied a block at a time: big enough
# that numpy's per-call costs vanish, small enough that a block's temporaries are tens of MB.
BLOCK_POSTINGS = 1 << 22


def column_blocks(lengths: np.ndarray, size: int | None = None) -> list[tuple[int, int]]:
    """[first, last) ranges of columns, each holding about size (BLOCK_POSTINGS) postings; a longer
    column makes a block alone."""
    size = size or BLOCK_POSTINGS
    ends = np.cumsum(lengths, dtype=np.int64)
    blocks, first, taken = [], 0, 0
    while first < len(lengths):
        last = max(int(np.searchsorted(ends, taken + size, side="right")), first + 1)
        blocks.append((first, last))
        taken, first = int(ends[last - 1]), last
    return blocks


def _from_arrays(data: dict[str, np.ndarray], passages: int) -> IndexCounts:
    """Rebuild the counts from a cache folder's arrays, checking that every part fits the rest."""
    import scipy.sparse as sp  # only when the weights are computed again: a warm start never is
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
    writer = ArraysWriter(cache_dir, key, kind, keep=False)
    for name, array in arrays.items():
        writer.add(name, array)
    return writer.finish()[1]


# Bytes kept for the header of a .npy file written in pieces: enough for any 1-D shape.
_HEADER = 128


class ArraysWriter:
    """Named arrays written to a cache folder as they are made, visible only once finished.

    A build writes each array (or each piece of one, `append`) as soon as it is made and frees
    it, so a big library's index is never all in memory at once. Without a cache folder, or when
    writing fails (then one warning), the arrays are kept in memory instead; or, with
    keep=False (what is only a cache, not served), dropped.
    """

    def __init__(self, cache_dir: Path | None, key: str, kind: str = "weights", keep: bool = True) -> None:
        self.cache_dir, self.key, self.kind, self.keep = cache_dir, key, kind, keep
        self._tmp: Path | None = None
        self._memory: dict[str, list[np.ndarray]] = {}
        self._streams: dict[str, list] = {}   # name -> [file, dtype, length] (on disk)
        self._dtypes: dict[str, np.dtype] = {}
        self._shapes: dict[str, list] = {}
        if cache_dir is not None:
            try:
                cache_dir.mkdir(parents=True, exist_ok=True)
                self._tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=cache_dir))
            except OSError as exc:
                self._fail(exc)

    def add(self, name: str, array: np.ndarray) -> None:
        """Write one whole array."""
        array = np.ascontiguousarray(array)
        if self._tmp is not None:
            try:
                np.save(self._tmp / f"{name}.npy", array, allow_pickle=False)
                self._shapes[name] = [array.dtype.str, list(array.shape)]
                return
            except OSError as exc:
                self._fail(exc)
        if self.keep:
            self._memory[name] = [array]

    def declare(self, name: str, dtype) -> None:
        """Start a 1-D array of dtype that `append` extends (empty if nothing is appended)."""
        self._dtypes[name] = np.dtype(dtype)
        if self._tmp is not None:
            try:
                handle = open(self._tmp / f"{name}.npy", "wb")  # noqa: SIM115 (closed by finish)
                handle.seek(_HEADER)
                self._streams[name] = [handle, np.dtype(dtype), 0]
                return
            except OSError as exc:
                self._fail(exc)
        if self.keep:
            self._memory[name] = []

    def append(self, name: str, piece: np.ndarray) -> None:
        """Add a piece at the end of a declared array."""
        piece = np.ascontiguousarray(piece, dtype=self._dtypes[name])
        stream = self._streams.get(name)
        if stream is not None:
            try:
                stream[0].write(memoryview(piece).cast("B"))
                stream[2] += len(piece)
                return
            except OSError as exc:
                self._fail(exc)
        if self.keep:
            self._memory[name].append(piece.copy())

    def finish(self) -> tuple[dict[str, np.ndarray], Path | None]:
        """The arrays written (memory-mapped from the cache folder, or in memory) and the folder."""
        path = None
        if self._tmp is not None:
            try:
                for name, (handle, dtype, length) in list(self._streams.items()):
                    handle.seek(0)
                    handle.write(_npy_header(dtype, length))
                    handle.close()
                    self._shapes[name] = [dtype.str, [length]]
                self._streams.clear()
                manifest = {"version": WEIGHTS_VERSION, "kind": self.kind, "key": self.key, "arrays": self._shapes}
                (self._tmp / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
                path = weights_path(self.cache_dir, self.key, self.kind)
                if path.exists():
                    shutil.rmtree(path, ignore_errors=True)
                # A reader never sees a half-written folder: the rename is atomic.
                os.replace(self._tmp, path)
                self._tmp = None
            except OSError as exc:
                self._fail(exc)
                path = None
        if path is not None:
            _prune_folders(self.cache_dir, self.kind, keep=path)
            arrays = load_arrays(self.cache_dir, self.key, self.kind)
            if arrays is not None:
                return arrays, path
            path = None
        return {name: (pieces[0] if len(pieces) == 1 else
                       np.concatenate(pieces) if pieces else np.zeros(0, dtype=self._dtypes[name]))
                for name, pieces in self._memory.items()}, path

    def discard(self) -> None:
        """Write nothing after all: the folder begun is removed."""
        for handle, _, _ in self._streams.values():
            handle.close()
        self._streams.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _fail(self, exc: OSError) -> None:
        """Carry on in memory: what was written so far is read back, the folder removed."""
        log.warning("cannot write index cache in %s (%s); continuing without it", self.cache_dir, exc)
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        for name, (handle, dtype, length) in self._streams.items():
            handle.close()
            if self.keep:
                self._memory[name] = [np.fromfile(tmp / f"{name}.npy", dtype=dtype, count=length, offset=_HEADER)]
        for name in self._shapes if self.keep else ():
            self._memory[name] = [np.load(tmp / f"{name}.npy", allow_pickle=False)]
        self._streams.clear()
        self._shapes.clear()
        shutil.rmtree(tmp, ignore_errors=True)


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    """A .npy (version 1.0) header of a 1-D array, padded to _HEADER bytes."""
    text = "{'descr': %r, 'fortran_order': False, 'shape': (%d,), }" % (np.lib.format.dtype_to_descr(dtype), length)
    text = text.ljust(_HEADER - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


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


# Runs of a FileArray this many bytes apart or closer are read by one pread.
_RUN_GAP = 4096


def gather(array, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The runs array[start:stop] of a 1-D array or FileArray, concatenated in the order given.

    A FileArray's runs close together in the file are read by one pread: a few kilobytes more
    cost less than another call."""
    starts, stops = np.asarray(starts, dtype=np.int64), np.asarray(stops, dtype=np.int64)
    if not isinstance(array, FileArray):
        pieces = [array[a:b] for a, b in zip(starts.tolist(), stops.tolist())]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=array.dtype)
    if not len(starts):
        return np.zeros(0, dtype=array.dtype)
    order = np.argsort(starts, kind="stable")
    first, last = starts[order], stops[order]
    reach = np.maximum.accumulate(last)
    # A new read where a run begins past what the reads so far cover, by more than _RUN_GAP.
    gap = _RUN_GAP // array.dtype.itemsize
    new = np.ones(len(first), dtype=bool)
    new[1:] = first[1:] > reach[:-1] + gap
    read_start = first[new]
    read_stop = np.maximum.reduceat(last, np.flatnonzero(new))
    buffers = [array._read(a, b) for a, b in zip(read_start.tolist(), read_stop.tolist())]
    whole = np.concatenate(buffers) if len(buffers) > 1 else buffers[0]
    # Where each read's data begins in whole, and each run's offset within it.
    based = np.concatenate(([0], np.cumsum(read_stop - read_start)[:-1]))
    which = np.cumsum(new) - 1
    at = based[which] + first - read_start[which]
    lengths = last - first
    # The runs back in the order given.
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    begin = at[place]
    size = lengths[place]
    if not size.sum():
        return np.zeros(0, dtype=array.dtype)
    offsets = np.repeat(begin - np.concatenate(([0], np.cumsum(size)[:-1])), size)
    return whole[np.arange(int(size.sum())) + offsets]


def _prune_folders(cache_dir: Path, kind: str, keep: Path) -> None:
    """Remove the least recently used folders of a kind beyond a few."""
    try:
        folders = sorted(cache_dir.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [f for f in folders if f != keep][_KEEP_FILES - 1:]:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)  # an older layout's file (index-*.npz)
    except OSError as exc:
        log.debug("could not prune index cache: %s", exc)


def _touch(path: Path) -> None:
    """Mark a cache file as recently used, so pruning keeps it."""
    try:
        os.utime(path)
    except OSError:
        pass  # read-only cache folder: pruning order matters little
