"""Files for memstore's persistence: atomic snapshot saves, and stores kept
in a directory (a snapshot plus a journal of every write since).

The encoding of snapshots and journal records is in ``memstore._core``
(``_persist.pxi``); this module owns the files, fsync, the directory lock
and recovery.  The formats are in docs/persistence-format.md, the guarantees
in docs/persistence.md.

A directory holds::

    LOCK                     held with flock by the process that has it open
    snapshot-<gen>.mst       the store as of the start of journal-<gen>
    journal-<gen>.log        every write since, one record per write

Generation 0 has no snapshot (an empty store).  A checkpoint writes
snapshot-<gen+1> atomically, then starts journal-<gen+1>, then deletes the
older files; at open, the newest snapshot is loaded and the journals of its
generation and later replayed, so a crash at any step of a checkpoint loses
nothing and replays nothing twice.
"""

from __future__ import annotations

import errno
import os
import re
import struct
import sys
import threading
import warnings
import weakref
from typing import Any, BinaryIO

from memstore._core import SnapshotError, _crc32c

__all__ = ["DirectoryLockedError", "SnapshotError"]

FSYNC_POLICIES = ("always", "everysec", "no")
JOURNAL_MAGIC = b"\x89MSJ\r\n\x1a\n"
JOURNAL_VERSION = 1
# magic, version (u32), CRC-32C of the 12 bytes before it
JOURNAL_HEADER = JOURNAL_MAGIC + struct.pack("<I", JOURNAL_VERSION)
JOURNAL_HEADER += struct.pack("<I", _crc32c(JOURNAL_HEADER))
RECORD_HEADER = struct.Struct("<III")  # payload length, payload CRC, CRC of 8 bytes
# Below this journal size no automatic checkpoint: rewriting a store that
# grows from empty every time its journal doubles it would cost more than
# replaying the journal (Redis's auto-aof-rewrite-min-size has the same
# default).  Replaying 64 MiB of records takes well under a second.
CHECKPOINT_MIN_BYTES = 64 << 20

_SNAPSHOT_NAME = re.compile(r"snapshot-(\d{10})\.mst\Z")
_JOURNAL_NAME = re.compile(r"journal-(\d{10})\.log\Z")


class DirectoryLockedError(OSError):
    """The directory is already open, by another process or another store
    of this one (``TrieStore.open`` holds an advisory lock on it)."""


def _fsync_directory(directory: str) -> None:
    # A rename or a new file is durable only once its directory is fsynced.
    # Windows cannot open a directory for that; NTFS journals the rename.
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(store: Any, target: Any) -> None:
    if isinstance(target, (str, os.PathLike)):
        save_atomically(store, os.fspath(target))
    elif not callable(getattr(target, "write", None)):
        raise TypeError(
            f"save() needs a path or a binary file object, not {type(target).__name__}"
        )
    else:
        store._save_to(target)


def save_atomically(store: Any, path: str) -> int:
    """Writes a snapshot to a temporary file next to path, fsyncs it and
    renames it over path, then fsyncs the directory.  On any error the
    temporary file is removed and path is untouched.  Returns the size."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(
        directory, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp"
    )
    # 0o666 and the umask, like any file the user creates (mkstemp is 0o600).
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        with open(fd, "wb") as file:
            size: int = store._save_to(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
    return size


def load(cls: Any, source: Any, kwargs: dict[str, Any]) -> Any:
    store = cls(**kwargs)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with open(path, "rb") as file:
            store._load_from(file, path)
    elif not callable(getattr(source, "read", None)):
        raise TypeError(
            f"load() needs a path or a binary file object, not {type(source).__name__}"
        )
    else:
        name = getattr(source, "name", None)
        store._load_from(source, name if isinstance(name, str) else None)
    return store


# ------------------------------------------------------------------ journal


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lock_directory(directory: str) -> int:
    fd = os.open(os.path.join(directory, "LOCK"), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (
            errno.EWOULDBLOCK,
            errno.EAGAIN,
            errno.EACCES,
            errno.EDEADLK,
        ):
            raise DirectoryLockedError(
                errno.EWOULDBLOCK,
                "the store directory is already open (by another process, or "
                "another store of this one); close it first",
                directory,
            ) from None
        raise
    return fd


def _unlock_directory(fd: int) -> None:
    # Closing the descriptor releases flock's lock (and msvcrt's).
    os.close(fd)


class Journal:
    """The open journal of a store kept in a directory, and the directory's
    lock.  Writers append under ``lock`` (an RLock: a value's finalizer may
    write to the store from inside a write); the everysec thread fsyncs
    under ``_fd_lock``, which guards the descriptor across a checkpoint."""

    def __init__(
        self,
        directory: str,
        fsync: str,
        checkpoint_ratio: float | None,
        lock_fd: int,
        generation: int,
        snapshot_size: int,
    ) -> None:
        self.directory = directory
        self.fsync = fsync
        self.checkpoint_ratio = checkpoint_ratio
        self.lock = threading.RLock()
        self._fd_lock = threading.Lock()
        self._lock_fd = lock_fd
        self.generation = generation
        self.snapshot_size = snapshot_size
        self.fd = -1
        self.size = 0
        self.closed = False
        self._dirty = False
        self._checkpointing = False
        self._retry_checkpoint_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def path(self, generation: int | None = None) -> str:
        gen = self.generation if generation is None else generation
        return os.path.join(self.directory, f"journal-{gen:010d}.log")

    def attach_file(self, create: bool) -> None:
        """Opens the current generation's journal for appending, creating it
        (with its header, fsynced) when create."""
        self.fd, self.size = self._open_file(self.path(), create)

    def _open_file(self, path: str, create: bool) -> tuple[int, int]:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)
        if not create:
            fd = os.open(path, flags)
            return fd, os.fstat(fd).st_size
        fd = os.open(path, flags | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, JOURNAL_HEADER)
            os.fsync(fd)
            _fsync_directory(self.directory)
        except BaseException:
            os.close(fd)
            raise
        return fd, len(JOURNAL_HEADER)

    def start(self) -> None:
        if self.fsync == "everysec":
            self._thread = threading.Thread(
                target=_sync_every_second,
                args=(weakref.ref(self), self._stop),
                name=f"memstore fsync {self.directory}",
                daemon=True,
            )
            self._thread.start()

    def check_writable(self) -> None:
        if self.closed:
            raise ValueError(
                f"the store kept in {self.directory!r} is closed; reopen it with open()"
            )
        if self._checkpointing and self.lock._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError(
                "cannot write to a store while it checkpoints (a value's pickling "
                "wrote to the store it is saved from)"
            )

    def append(self, record: bytes) -> int:
        """Appends a record; with fsync="always" it is on disk on return.
        Returns the journal's size before it (for undo).  On an error the
        journal is cut back to that size and the error raised."""
        mark = self.size
        try:
            _write_all(self.fd, record)
            if self.fsync == "always":
                os.fsync(self.fd)
        except BaseException:
            self._cut(mark)
            raise
        self.size = mark + len(record)
        self._dirty = True
        return mark

    def undo(self, mark: int) -> None:
        """Takes back the records after mark: their write failed."""
        self._cut(mark)
        self.size = mark

    def _cut(self, mark: int) -> None:
        try:
            os.ftruncate(self.fd, mark)
        except OSError:
            # Cannot take the record back: no further write may follow it.
            self.close()
            raise

    def written(self, store: Any) -> None:
        """After each write: the automatic checkpoint, when due.  The write
        is done and logged by then, so a checkpoint that fails (a full disk)
        must not fail it: it warns, and is tried again once the journal has
        grown as much again."""
        ratio = self.checkpoint_ratio
        if ratio is None or self._checkpointing:
            return
        budget = ratio * max(self.snapshot_size, CHECKPOINT_MIN_BYTES)
        if self.size - len(JOURNAL_HEADER) <= max(budget, self._retry_checkpoint_at):
            return
        try:
            self.checkpoint(store)
        except Exception as error:
            self._retry_checkpoint_at = 2 * (self.size - len(JOURNAL_HEADER))
            warnings.warn(
                f"memstore: automatic checkpoint of {self.directory} failed ({error}); "
                f"the journal keeps every write, and it is tried again later",
                RuntimeWarning,
                stacklevel=3,
            )

    def sync(self) -> None:
        with self._fd_lock:
            if self._dirty and self.fd >= 0:
                self._dirty = False
                os.fsync(self.fd)

    def checkpoint(self, store: Any) -> None:
        with self.lock:
            if self.closed:
                raise ValueError(f"the store kept in {self.directory!r} is closed")
            new = self.generation + 1
            snapshot = os.path.join(self.directory, f"snapshot-{new:010d}.mst")
            self._checkpointing = True
            try:
                size = save_atomically(store, snapshot)
            finally:
                self._checkpointing = False
            # snapshot-<new> holds every write so far (writers wait on the
            # lock): from here on open loads it and skips older journals.
            # Nothing changes here until the new journal exists, so a failure
            # leaves this one in use, and a later open replays it over the
            # previous snapshot.
            try:
                fd, journal_size = self._open_file(self.path(new), create=True)
            except BaseException:
                # Writes go on into this journal, which an open ignores
                # while snapshot-<new> exists: take the snapshot back, or
                # take no more writes.
                try:
                    os.unlink(snapshot)
                    _fsync_directory(self.directory)
                except OSError:
                    self.close()
                raise
            with self._fd_lock:
                old_fd = self.fd
                self.generation, self.fd, self.size = new, fd, journal_size
                self._dirty = False
                self.snapshot_size = size
            os.close(old_fd)
            _remove_generations_below(self.directory, new)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self._stop.set()
            with self._fd_lock:
                fd, self.fd = self.fd, -1
                try:
                    if fd >= 0:
                        os.fsync(fd)
                finally:
                    if fd >= 0:
                        os.close(fd)
                    _unlock_directory(self._lock_fd)

    def __del__(self) -> None:
        # A store dropped without close(): its records are written already;
        # fsync them and free the directory for the next open.
        try:
            self.close()
        except Exception:
            pass


def _sync_every_second(journal_ref: Any, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        journal = journal_ref()
        if journal is None:
            return
        try:
            journal.sync()
        except OSError as error:
            warnings.warn(
                f"memstore: fsync of {journal.path()} failed: {error}",
                RuntimeWarning,
                stacklevel=1,
            )
        del journal


def _generations(directory: str) -> tuple[dict[int, str], dict[int, str]]:
    snapshots: dict[int, str] = {}
    journals: dict[int, str] = {}
    for name in os.listdir(directory):
        match = _SNAPSHOT_NAME.match(name)
        if match:
            snapshots[int(match.group(1))] = os.path.join(directory, name)
            continue
        match = _JOURNAL_NAME.match(name)
        if match:
            journals[int(match.group(1))] = os.path.join(directory, name)
        elif name.endswith(".tmp") and name.startswith(".snapshot-"):
            os.unlink(os.path.join(directory, name))  # a save that never finished
    return snapshots, journals


def _remove_generations_below(directory: str, generation: int) -> None:
    snapshots, journals = _generations(directory)
    removed = False
    for files in (journals, snapshots):
        for gen, path in files.items():
            if gen < generation:
                os.unlink(path)
                removed = True
    if removed:
        _fsync_directory(directory)


def open_store(
    cls: Any, directory: Any, fsync: Any, checkpoint_ratio: Any, kwargs: dict[str, Any]
) -> Any:
    if fsync not in FSYNC_POLICIES:
        raise ValueError(f"fsync must be 'always', 'everysec' or 'no', not {fsync!r}")
    if checkpoint_ratio is not None:
        if isinstance(checkpoint_ratio, bool) or not isinstance(
            checkpoint_ratio, (int, float)
        ):
            raise TypeError(
                f"checkpoint_ratio must be a number or None, not {type(checkpoint_ratio).__name__}"
            )
        if not checkpoint_ratio > 0:
            raise ValueError(
                f"checkpoint_ratio must be positive, not {checkpoint_ratio!r}"
            )
    if "items" in kwargs:
        raise TypeError("open() takes no items: write them to the store it returns")
    directory = os.path.abspath(os.fspath(directory))
    os.makedirs(directory, exist_ok=True)
    lock_fd = _lock_directory(directory)
    try:
        snapshots, journals = _generations(directory)
        base = max(snapshots, default=0)
        store = cls(**kwargs)
        snapshot_size = 0
        if base:
            path = snapshots[base]
            with open(path, "rb") as file:
                store._load_from(file, path)
                snapshot_size = os.fstat(file.fileno()).st_size
        replayed = sorted(gen for gen in journals if gen >= base)
        for gen in replayed:
            _replay_journal(store, journals[gen], last=gen == replayed[-1])
        generation = replayed[-1] if replayed else base
        journal = Journal(
            directory, fsync, checkpoint_ratio, lock_fd, generation, snapshot_size
        )
        journal.attach_file(create=not replayed)
        _remove_generations_below(directory, base)
    except BaseException:
        _unlock_directory(lock_fd)
        raise
    journal.start()
    store._attach_journal(journal)
    return store


def _replay_journal(store: Any, path: str, last: bool) -> None:
    """Applies every record of the journal at path.  A torn tail (the
    process died mid-append) is dropped with a warning and cut off, in the
    last journal only; damage anywhere else raises SnapshotError."""
    with open(path, "r+b") as file:
        size = os.fstat(file.fileno()).st_size
        header = file.read(len(JOURNAL_HEADER))
        if (
            len(header) < len(JOURNAL_HEADER)
            and last
            and JOURNAL_HEADER.startswith(header)
        ):
            _drop_torn_tail(file, path, 0, "the journal's header is incomplete")
            file.seek(0)
            file.write(JOURNAL_HEADER)
            return
        if header[:8] != JOURNAL_MAGIC:
            raise SnapshotError(f"{path}: not a memstore journal at byte 0", path, 0)
        if header != JOURNAL_HEADER:
            raise SnapshotError(
                f"{path}: unsupported journal version or corrupt header at byte 8",
                path,
                8,
            )
        offset = len(JOURNAL_HEADER)
        while offset < size:
            head = file.read(RECORD_HEADER.size)
            torn: str | None = None
            payload, length = b"", 0
            if len(head) < RECORD_HEADER.size:
                torn = "the file ends inside a record header"
            else:
                length, payload_crc, head_crc = RECORD_HEADER.unpack(head)
                if _crc32c(head[:8]) != head_crc:
                    rest = head + file.read()
                    if last and not rest.strip(b"\x00"):
                        torn = "the file ends in zeros where a record should be"
                    else:
                        raise SnapshotError(
                            f"{path}: corrupt journal record header at byte {offset}",
                            path,
                            offset,
                        )
                elif length > size - offset - RECORD_HEADER.size:
                    torn = "the file ends inside a record"
                else:
                    payload = file.read(length)
                    if _crc32c(payload) != payload_crc:
                        if offset + RECORD_HEADER.size + length == size and last:
                            torn = "the last record's checksum does not match"
                        else:
                            raise SnapshotError(
                                f"{path}: journal record checksum mismatch at byte {offset}",
                                path,
                                offset,
                            )
            if torn is not None:
                if not last:
                    raise SnapshotError(
                        f"{path}: {torn} at byte {offset}", path, offset
                    )
                _drop_torn_tail(file, path, offset, torn)
                return
            store._replay(payload, path, offset)
            offset += RECORD_HEADER.size + length


def _drop_torn_tail(file: BinaryIO, path: str, offset: int, why: str) -> None:
    warnings.warn(
        f"memstore: {path}: {why} at byte {offset}; the write in flight when the "
        f"process stopped is dropped and the journal cut there",
        RuntimeWarning,
        stacklevel=4,
    )
    file.truncate(offset)
    file.flush()
    os.fsync(file.fileno())
