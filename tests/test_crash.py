"""The journal keeps every acknowledged write across a crash (issue 13).

* Crash trials: a child process (this file run as a script) opens a store
  with ``TrieStore.open(directory, fsync=...)``, applies a seeded sequence of
  writes (mset, mdelete, delete_prefix, item assignment, checkpoint) and
  prints the number of each write once the call has returned.  The parent
  SIGKILLs it at a random moment, reopens the directory and checks that the
  store equals the model after exactly the acknowledged writes, or after one
  more (the write that was in flight).  Both sides build the writes from the
  same seed, so the parent's model needs nothing from the child but the
  acknowledgements.
* A torn last record (the journal cut at any byte inside it) is dropped with
  a RuntimeWarning naming the file, and the state is the one before it.
* A corrupt record before the end is a SnapshotError, never a silent skip.

SIGKILL of a process loses nothing under any fsync policy, "no" included:
a record reaches the OS (write(2)) before the call returns, and the OS keeps
it when the process dies.  fsync only matters for a power loss or an OS
crash, which a test cannot cause; so most trials use "no" (fast), and a few
use "always" and "everysec" to check that their code paths agree.
"""

from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import sys
import time
import warnings

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="SIGKILL and fcntl.flock are POSIX-only"
)

SESSIONS = 8
MESSAGES = 30


# ------------------------------------------------------- the seeded writes


def _key(r: random.Random) -> str:
    return f"s{r.randrange(SESSIONS)}:{r.randrange(MESSAGES):03d}"


def _value(r: random.Random) -> object:
    # Mostly raw bytes (stored as they are), some values that need pickle,
    # so both value paths of a journal record are replayed.
    kind = r.random()
    if kind < 0.7:
        return r.randbytes(r.randrange(0, 64))
    if kind < 0.85:
        return "text-" + str(r.getrandbits(20))
    return {"role": "user", "n": r.getrandbits(16)}


def writes(seed: int, count: int) -> list[tuple]:
    """``count`` writes as (operation, argument) tuples, the same for a seed
    in the child and the parent.  Small batches keep each trial short."""
    r = random.Random(seed)
    out: list[tuple] = []
    for _ in range(count):
        roll = r.random()
        if roll < 0.5:
            out.append(
                ("mset", [(_key(r), _value(r)) for _ in range(r.randint(1, 12))])
            )
        elif roll < 0.7:
            out.append(("mdelete", [_key(r) for _ in range(r.randint(1, 6))]))
        elif roll < 0.8:
            # a whole session or a tens-digit slice of it
            session = f"s{r.randrange(SESSIONS)}:"
            prefix = session if r.random() < 0.5 else f"{session}{r.randrange(3)}"
            out.append(("delete_prefix", prefix))
        elif roll < 0.93:
            out.append(("setitem", (_key(r), _value(r))))
        else:
            out.append(("checkpoint", None))
    return out


def apply(target, write: tuple) -> None:
    """One write, to a store or to the model dict."""
    operation, argument = write
    model = isinstance(target, dict)
    if operation == "mset":
        if model:
            target.update(argument)
        else:
            target.mset(argument)
    elif operation == "mdelete":
        if model:
            for key in argument:
                target.pop(key, None)
        else:
            target.mdelete(argument)
    elif operation == "delete_prefix":
        if model:
            for key in [k for k in target if k.startswith(argument)]:
                del target[key]
        else:
            target.delete_prefix(argument)
    elif operation == "setitem":
        key, value = argument
        target[key] = value
    elif operation == "checkpoint":
        if not model:
            target.checkpoint()
    else:
        raise AssertionError(operation)


def model_after(seed: int, count: int, done: int) -> dict:
    model: dict = {}
    for write in writes(seed, count)[:done]:
        apply(model, write)
    return model


# ---------------------------------------------------------- the child side


def child_main(
    directory: str, fsync: str, seed: int, count: int, checkpoint_ratio: float | None
) -> None:
    """Applies the writes, acknowledging each on stdout, then waits to be
    killed: it never closes the store, so every trial ends in a crash."""
    from memstore import TrieStore

    options = {} if checkpoint_ratio is None else {"checkpoint_ratio": checkpoint_ratio}
    store = TrieStore.open(directory, fsync=fsync, **options)
    print("open", flush=True)
    for number, write in enumerate(writes(seed, count), 1):
        apply(store, write)
        print(number, flush=True)
    sys.stdin.read()  # the parent kills us; EOF would mean it died first
    os._exit(3)


# --------------------------------------------------------- the parent side


def child_env() -> dict:
    """The environment of a child process: it must import the memstore this
    test imported (the ASan run imports a build in its working directory,
    which a script's sys.path would not include)."""
    import memstore

    package_parent = os.path.dirname(
        os.path.dirname(os.path.abspath(memstore.__file__))
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [package_parent, env.get("PYTHONPATH")])
    )
    return env


def _reopen_items(directory: str) -> tuple[dict, list]:
    from memstore import TrieStore

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with TrieStore.open(directory, fsync="no") as store:
            items = dict(store.items())
    return items, [w for w in caught if issubclass(w.category, RuntimeWarning)]


def crash_trial(
    directory: str,
    fsync: str,
    seed: int,
    count: int,
    checkpoint_ratio: float | None = None,
) -> None:
    rng = random.Random(seed * 7919)
    child = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            directory,
            fsync,
            str(seed),
            str(count),
            "default" if checkpoint_ratio is None else repr(checkpoint_ratio),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        if first != "open\n":
            child.kill()
            pytest.fail(
                f"the child did not open the store: {first!r} {child.stderr.read()}"
            )
        # Kill after a random number of acknowledged writes, plus a random
        # delay of up to 2 ms so the kill also lands inside calls.
        target = rng.randint(0, count)
        acknowledged = 0
        while acknowledged < target:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged = int(line)
        if rng.random() < 0.7:
            time.sleep(rng.random() * 0.002)
        child.send_signal(signal.SIGKILL)
        # Whatever the child printed before it died was acknowledged too.
        # Read through the same buffered reader as above (communicate()
        # reads the raw pipe and would miss the lines already buffered).
        rest = child.stdout.read()
        errors = child.stderr.read()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    for line in rest.split():
        acknowledged = int(line)
    assert child.returncode == -signal.SIGKILL, errors

    got, _torn_warnings = _reopen_items(directory)
    expected = model_after(seed, count, acknowledged)
    if got == expected:
        return
    in_flight = model_after(seed, count, min(acknowledged + 1, count))
    assert got == in_flight, (
        f"fsync={fsync} seed={seed}: after {acknowledged} acknowledged writes the "
        f"reopened store has {len(got)} keys, the model {len(expected)} "
        f"({len(in_flight)} with the write in flight)"
    )


@pytest.mark.parametrize(
    ("fsync", "seed", "count"),
    [("no", seed, 120) for seed in range(30)]
    + [("everysec", seed, 60) for seed in range(100, 104)]
    + [("always", seed, 25) for seed in range(200, 204)],
)
def test_sigkill_keeps_acknowledged_writes(tmp_path, fsync, seed, count):
    crash_trial(str(tmp_path / "store"), fsync, seed, count)


@pytest.mark.parametrize("seed", range(300, 306))
def test_sigkill_during_automatic_checkpoints(tmp_path, seed):
    # The journal's budget is checkpoint_ratio x max(snapshot, 64 MiB): at
    # 0.00003 that is about 2 KB, so the store checkpoints by itself every
    # few writes and the kills land before, inside and after checkpoints.
    crash_trial(str(tmp_path / "store"), "no", seed, 120, checkpoint_ratio=0.00003)


# ------------------------------------------------- torn and corrupt records


def _journal(directory: str) -> str:
    """The journal of the newest generation (``journal-<gen>.log``)."""
    paths = glob.glob(os.path.join(directory, "journal-*.log"))
    assert paths, os.listdir(directory)

    def generation(path: str) -> int:
        return int(os.path.basename(path)[len("journal-") : -len(".log")])

    return max(paths, key=generation)


WRITER = """
import json, os, sys
from memstore import TrieStore
directory = sys.argv[1]
# No automatic checkpoint: the test needs every record in one journal.
store = TrieStore.open(directory, fsync="no", checkpoint_ratio=None)
sizes = []
for i in range(3):
    store.mset([(f"k{i}:{j}", bytes([i]) * 200) for j in range(3)])
    journals = [p for p in os.listdir(directory) if p.startswith("journal-")]
    sizes.append({p: os.path.getsize(os.path.join(directory, p)) for p in journals})
print(json.dumps(sizes), flush=True)
os._exit(0)  # a crash, not a close: the journal stays as written
"""


def _three_records(directory: str) -> list[tuple[int, int]]:
    """Writes three mset records (each with 200-byte values) from a process
    that then dies without closing; returns each record's (start, end) in
    the journal, from the journal's size after each write."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", WRITER, directory],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=child_env(),
    ).stdout
    sizes = json.loads(out)
    name = os.path.basename(_journal(directory))
    ends = [size[name] for size in sizes]
    # The three records have the same shape, hence the same size: that
    # locates the first one whatever header the journal starts with.
    starts = [ends[0] - (ends[1] - ends[0]), *ends[:-1]]
    return list(zip(starts, ends))


def _state_after(records: int) -> dict:
    return {f"k{i}:{j}": bytes([i]) * 200 for i in range(records) for j in range(3)}


@pytest.mark.parametrize("cut_fraction", [0.01, 0.25, 0.5, 0.9, 0.999])
def test_torn_last_record_is_dropped_with_a_warning(tmp_path, cut_fraction):
    from memstore import TrieStore

    directory = str(tmp_path / "store")
    records = _three_records(directory)
    journal = _journal(directory)
    start, end = records[-1]
    cut = start + max(1, min(end - start - 1, int((end - start) * cut_fraction)))
    with open(journal, "r+b") as f:
        f.truncate(cut)

    with pytest.warns(RuntimeWarning, match=os.path.basename(journal)):
        with TrieStore.open(directory, fsync="no") as store:
            assert dict(store.items()) == _state_after(2)
    # The journal was truncated at the torn record: a second open is clean.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with TrieStore.open(directory, fsync="no") as store:
            assert dict(store.items()) == _state_after(2)


def test_cut_between_records_needs_no_warning(tmp_path):
    from memstore import TrieStore

    directory = str(tmp_path / "store")
    records = _three_records(directory)
    with open(_journal(directory), "r+b") as f:
        f.truncate(records[-1][0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with TrieStore.open(directory, fsync="no") as store:
            assert dict(store.items()) == _state_after(2)


@pytest.mark.parametrize("record", [0, 1])
def test_corrupt_record_before_the_end_is_an_error(tmp_path, record):
    import memstore
    from memstore import TrieStore

    directory = str(tmp_path / "store")
    records = _three_records(directory)
    journal = _journal(directory)
    start, end = records[record]
    # The middle of a record is inside its 200-byte values, not a length
    # field: a damaged length could pass for a torn tail, a value cannot.
    middle = (start + end) // 2
    with open(journal, "r+b") as f:
        f.seek(middle)
        byte = f.read(1)
        f.seek(middle)
        f.write(bytes([byte[0] ^ 0x10]))

    with pytest.raises(memstore.SnapshotError) as caught:
        TrieStore.open(directory, fsync="no")
    assert isinstance(caught.value, ValueError)
    assert os.path.basename(journal) in str(caught.value.path)
    assert os.path.basename(journal) in str(caught.value)
    # A failed open releases the directory: fixing nothing, it fails the same.
    with pytest.raises(memstore.SnapshotError):
        TrieStore.open(directory, fsync="no")


if __name__ == "__main__":
    ratio = None if sys.argv[5] == "default" else float(sys.argv[5])
    child_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), ratio)
