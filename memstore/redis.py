"""``RedisStore``: memstore's store API on a Redis (or Valkey) server.

For when one machine's memory is not enough, or several processes must
share one store.

Key layout
----------
Every Redis key of the namespace ``ns`` starts with the namespace's UTF-8
bytes followed by the byte ``0xFF``, which UTF-8 never produces::

    ns 0xFF "index"         a sorted set of every key, all scores 0, so the
                            server orders it by the keys' bytes (range-by-lex
                            reads it)
    ns 0xFF "expiry"        a sorted set of the keys that have a lifetime,
                            scored by their deadline in server milliseconds
    ns 0xFF "v:" <key>      a string holding the key's serialized value

A namespace's bytes cannot contain 0xFF, so the first 0xFF of a Redis key
ends the namespace that owns it: two different namespaces never share a
Redis key, whatever their names or the keys stored in them (``"ns"``
storing the key ``index`` and ``"ns:v"`` are independent), and within a
namespace the index and expiry keys are never value keys.  In ``redis-cli``
the byte shows as ``\\xff``: ``SCAN 0 MATCH "ns\\xff*"`` lists a namespace.

Data written by memstore 0.1 (``ns:v:<key>``, ``ns:index``, ``ns:expiry``)
is not read by this layout: copy it over (list the old index with
``ZRANGE ns:index 0 -1``, read the values, ``mset`` them into this
version's store) or delete those keys.

Listing, counting and deleting by prefix read a lex range of the index:
O(log N + matches) on the server, where LangChain's ``RedisStore`` walks
the whole keyspace with ``SCAN MATCH``.  Every write is one Lua script that
changes the values and the sorted sets together, so a batch is atomic and
the index stays exact however many processes write at once.

Expiry
------
Lifetimes are Redis's own (``PXAT``/``PEXPIREAT``, millisecond precision,
deadlines on the server's clock): a value disappears from the server at its
deadline.  Its index and expiry entries are dropped by the next call that
looks at the index (reads drop all that are due before they read), and
every write script also drops up to max(1,000, twice its batch) due
entries, so a workload that only calls ``mget`` and ``mset`` keeps both
sets proportional to the live keys.  A listing reads a page at a time: a
key of the page in hand is yielded even if it expires meanwhile.

Eviction
--------
Under an ``allkeys-*`` ``maxmemory-policy`` Redis may evict the index or
values without the other, and counts and listings go wrong: the store reads
the policy on first use and raises :class:`EvictionPolicyError` unless
``allow_eviction=True``.  ``noeviction`` (writes fail when memory is full)
keeps the store exact.  ``volatile-*`` policies evict only keys with a
lifetime: such a key may vanish before its deadline, and is then still
counted and listed (never returned by ``mget``) until the deadline passes.

Order is the byte order of the keys' UTF-8 encoding, the same as
``TrieStore``'s.  Requires Redis >= 6.2 or Valkey (``SET ... PXAT``).
"""

from __future__ import annotations

import json
import math
import numbers
import operator
import pickle
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, SupportsIndex, overload

if TYPE_CHECKING:
    # A default for the value type: a RedisStore made without a serializer
    # stores bytes, and needs no annotation under mypy --strict.
    from typing_extensions import TypeVar

    V = TypeVar("V", default=bytes)
else:
    from typing import TypeVar

    V = TypeVar("V")

_T = TypeVar("_T")

__all__ = ["EvictionPolicyError", "RedisStore"]


class EvictionPolicyError(RuntimeError):
    """The server may evict keys the store relies on (an ``allkeys-*``
    ``maxmemory-policy``), or its policy could not be read."""


_MISSING: Any = object()

# Marks mset's ``ttl`` left out (the store's default applies), which differs
# from ``ttl=None`` (no expiry).
_DEFAULT_TTL: Any = object()

# Deadlines are server milliseconds computed in Lua, whose numbers are
# doubles: a century keeps them exact (and far inside what PXAT takes).
_MAX_TTL_SECONDS = 100 * 365 * 24 * 3600

# Largest number of arguments a script hands to one redis.call through
# unpack(): Lua's C stack holds about 8000.
_LUA_STEP = 1000

# Reads drop the index entries of keys whose lifetime has run out, at most
# this many per script call, so one call never blocks the server for long;
# the client calls again until none are left.  Writes drop at most
# max(this, 2 x their batch).
_PURGE_LIMIT = 1000

# Lua: the server's clock in milliseconds, and the purge of due entries.
# KEYS[1] is always the index, KEYS[2] the expiry set.
_PURGE = """
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms(n) return string.format('%.0f', n) end
local function purge(limit)
  -- Redis treats a key as gone once now > deadline; drop exactly those.
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ms(server_ms()),
                         'LIMIT', 0, limit)
  for first = 1, #due, STEP do
    local last = math.min(first + STEP - 1, #due)
    redis.call('ZREM', KEYS[1], unpack(due, first, last))
    redis.call('ZREM', KEYS[2], unpack(due, first, last))
  end
  return #due < limit
end
""".replace("STEP", str(_LUA_STEP))

# Writes must fail before their first change or not at all, or a batch
# would be half written (Redis does not undo a script's earlier writes).
# The one error a write can meet is a foreign key of another type where the
# namespace keeps its index or expiry set: checked first.
_CHECK_SETS = """
for i = 1, 2 do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  if kind ~= 'zset' and kind ~= 'none' then
    return redis.error_reply('memstore: ' .. KEYS[i] .. ' holds a ' .. kind ..
                             ', not the sorted set this namespace keeps there')
  end
end
"""

# KEYS: index, expiry, then the value key of each pair.
# ARGV: purge limit, lifetime in ms ("0": none), the keys' bytes, the values.
_WRITE = (
    _PURGE
    + _CHECK_SETS
    + """
purge(tonumber(ARGV[1]))
local n = #KEYS - 2
local ttl = tonumber(ARGV[2])
local deadline = nil
if ttl > 0 then deadline = ms(server_ms() + ttl) end
for first = 1, n, HALF do
  local last = math.min(first + HALF - 1, n)
  local scored, members, pairs = {}, {}, {}
  for i = first, last do
    local member, value = ARGV[2 + i], ARGV[2 + n + i]
    members[#members + 1] = member
    scored[#scored + 1] = '0'
    scored[#scored + 1] = member
    if deadline then
      redis.call('SET', KEYS[2 + i], value, 'PXAT', deadline)
    else
      pairs[#pairs + 1] = KEYS[2 + i]
      pairs[#pairs + 1] = value
    end
  end
  redis.call('ZADD', KEYS[1], unpack(scored))
  if deadline then
    for i = 1, #scored, 2 do scored[i] = deadline end
    redis.call('ZADD', KEYS[2], unpack(scored))
  else
    -- MSET also clears a lifetime the key had, as the expiry set must.
    redis.call('MSET', unpack(pairs))
    redis.call('ZREM', KEYS[2], unpack(members))
  end
end
return n
""".replace("HALF", str(_LUA_STEP // 2))
)

# KEYS: index, expiry, then the value key of each member.
# ARGV: purge limit, then the members.  Returns how many held a value.
_DELETE = (
    _PURGE
    + _CHECK_SETS
    + """
purge(tonumber(ARGV[1]))
local n = #ARGV - 1
local removed = 0
for first = 1, n, STEP do
  local last = math.min(first + STEP - 1, n)
  local members, values = {}, {}
  for i = first, last do
    members[#members + 1] = ARGV[1 + i]
    values[#values + 1] = KEYS[2 + i]
  end
  removed = removed + redis.call('DEL', unpack(values))
  redis.call('ZREM', KEYS[1], unpack(members))
  redis.call('ZREM', KEYS[2], unpack(members))
end
return removed
""".replace("STEP", str(_LUA_STEP))
)

# KEYS: index, expiry, the value key.  ARGV: purge limit, member, lifetime
# in ms.  Returns 1 if the key was there and now expires, else 0.
_EXPIRE = (
    _PURGE
    + _CHECK_SETS
    + """
purge(tonumber(ARGV[1]))
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local deadline = ms(server_ms() + tonumber(ARGV[3]))
if redis.call('PEXPIREAT', KEYS[3], deadline) == 0 then return 0 end
redis.call('ZADD', KEYS[2], deadline, ARGV[2])
return 1
"""
)

# KEYS: index, expiry, the value key.  ARGV: purge limit, member.
# Returns 1 if a lifetime was removed, else 0.
_PERSIST = (
    _PURGE
    + _CHECK_SETS
    + """
purge(tonumber(ARGV[1]))
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local removed = redis.call('PERSIST', KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[2])
return removed
"""
)

# The read scripts answer nil while expired entries remain to be dropped.
# KEYS: index, expiry.  ARGV: purge limit, min, max, count, "1" = descending.
_PAGE = (
    _PURGE
    + """
if not purge(tonumber(ARGV[1])) then return false end
if ARGV[5] == '1' then
  return redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[3], ARGV[2], 'LIMIT', 0, ARGV[4])
end
return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
"""
)

# A page of a delimiter listing: up to count entries, each a key with no
# delimiter after the prefix or the group (prefix + rest up to and with the
# first delimiter) standing for every key that starts with it.  After a
# group the next read starts past the group's keys with one range query, so
# a group costs O(log N) however many keys it holds.  Keys are read in
# small batches that double while no group interrupts them: a run of plain
# keys is read in few calls, and a group wastes at most one batch.
# KEYS: index, expiry.  ARGV: purge limit, min, max, count, "1" = descending,
# prefix length in bytes, delimiter.
_GROUPED_PAGE = (
    _PURGE
    + """
if not purge(tonumber(ARGV[1])) then return false end
local low, high, want = ARGV[2], ARGV[3], tonumber(ARGV[4])
local descending, skip, delimiter = ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local entries, batch = {}, 8
while #entries < want do
  local asked = math.min(batch, want - #entries)
  local keys
  if descending then
    keys = redis.call('ZREVRANGEBYLEX', KEYS[1], high, low, 'LIMIT', 0, asked)
  else
    keys = redis.call('ZRANGEBYLEX', KEYS[1], low, high, 'LIMIT', 0, asked)
  end
  local grouped = false
  for _, key in ipairs(keys) do
    local at = string.find(key, delimiter, skip + 1, true)
    if at then
      local group = string.sub(key, 1, at + #delimiter - 1)
      entries[#entries + 1] = group
      -- Every key of the group starts with it: they all sort from the
      -- group up to group .. 0xFF (a byte UTF-8 never uses).
      if descending then high = '(' .. group else low = '(' .. group .. '\\255' end
      grouped = true
      break
    end
    entries[#entries + 1] = key
    if descending then high = '(' .. key else low = '(' .. key end
  end
  if grouped then
    batch = 8
  elseif #keys < asked then
    break
  else
    batch = batch * 2
  end
end
return entries
"""
)

# KEYS: index, expiry.  ARGV: purge limit, min, max.
_COUNT = (
    _PURGE
    + """
if not purge(tonumber(ARGV[1])) then return false end
return redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], ARGV[3])
"""
)

# The longest stored key that the query starts with.  Any such key sorts at
# or below the query, and at or below the greatest stored key s <= query; if
# s is not a prefix of the query, the answer is a prefix of the bytes the two
# share, so search again below that, a strictly shorter query each time.
# KEYS: index, expiry.  ARGV: purge limit, query.  Returns {} or {key}.
_LONGEST = (
    _PURGE
    + """
if not purge(tonumber(ARGV[1])) then return false end
local q = ARGV[2]
while true do
  local below = redis.call('ZREVRANGEBYLEX', KEYS[1], '[' .. q, '-', 'LIMIT', 0, 1)
  if #below == 0 then return {} end
  local s = below[1]
  if string.sub(q, 1, #s) == s then return {s} end
  local shared, upto = 0, math.min(#s, #q)
  while shared < upto and string.byte(s, shared + 1) == string.byte(q, shared + 1) do
    shared = shared + 1
  end
  q = string.sub(q, 1, shared)
end
"""
)


def _type_name(o: object) -> str:
    return type(o).__name__


def _encode_key(key: object, what: str) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"{what} must be str, not {_type_name(key)}")
    # surrogatepass: the same bytes, and so the same order, as TrieStore.
    # str.encode, not key.encode: a str subclass's own methods never run.
    return str.encode(key, "utf-8", "surrogatepass")


def _decode_key(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _batch(items: Iterable[Any], method: str, what: str) -> list[Any]:
    """The batch as a list; a str or bytes is refused, not read as a
    sequence of one-character keys."""
    if isinstance(items, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"{method}() takes an iterable of {what}, not {_type_name(items)}: "
            "a str is one key, not a batch (wrap it in a list)"
        )
    try:
        return list(items)
    except TypeError:
        raise TypeError(
            f"{method}() takes an iterable of {what}, not {_type_name(items)}"
        ) from None


def _parse_limit(limit: object) -> int | None:
    if limit is None:
        return None
    # Any integer type (numpy's included) has __index__; bool is an int to
    # Python but never a meaningful count.
    if isinstance(limit, bool) or not isinstance(limit, SupportsIndex):
        raise TypeError(f"limit must be an int or None, not {_type_name(limit)}")
    count = operator.index(limit)
    if count < 0:
        raise ValueError(f"limit must be >= 0, not {count}")
    return count


def _parse_delimiter(delimiter: object) -> bytes | None:
    if delimiter is None:
        return None
    encoded = _encode_key(delimiter, "delimiter")
    if len(encoded) == 0:
        raise ValueError("delimiter must be a non-empty str")
    return encoded


def _ttl_ms(ttl: object, what: str = "ttl") -> int:
    """A lifetime in seconds as whole milliseconds, checked."""
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise TypeError(f"{what} must be a number of seconds, not {_type_name(ttl)}")
    seconds = float(ttl)
    if not math.isfinite(seconds) or not 0.001 <= seconds <= _MAX_TTL_SECONDS:
        raise ValueError(
            f"{what} must be from 0.001 to {_MAX_TTL_SECONDS:,} seconds, not {ttl!r}"
        )
    return round(seconds * 1000)


# ---------------------------------------------------------------- values


class _BytesOnly:
    name = "bytes"

    def dumps(self, value: object) -> bytes:
        if isinstance(value, bytes):
            return value
        raise TypeError(
            f"must be bytes, not {_type_name(value)} "
            "(pass serializer='json', 'pickle' or your own to store other values)"
        )

    def loads(self, data: bytes) -> Any:
        return data


class _JSON:
    name = "json"

    def dumps(self, value: object) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class _Pickle:
    # Unpickling runs code chosen by whoever wrote the data: only used when
    # the caller names it.
    name = "pickle"

    def dumps(self, value: object) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)  # noqa: S301 - asked for by name


class _Custom:
    def __init__(self, serializer: Any) -> None:
        self.inner = serializer
        self.name = _type_name(serializer)

    def dumps(self, value: object) -> bytes:
        data = self.inner.dumps(value)
        if not isinstance(data, bytes):
            raise TypeError(f"{self.name}.dumps returned {_type_name(data)}, not bytes")
        return data

    def loads(self, data: bytes) -> Any:
        return self.inner.loads(data)


def _make_serializer(serializer: Any) -> Any:
    if serializer is None:
        return _BytesOnly()
    if serializer == "json":
        return _JSON()
    if serializer == "pickle":
        return _Pickle()
    if isinstance(serializer, str):
        raise ValueError(
            f"unknown serializer {serializer!r}: use None (bytes), 'json', 'pickle' "
            "or an object with dumps(value) -> bytes and loads(bytes)"
        )
    if not (
        callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        raise TypeError(
            f"serializer must have dumps() and loads(), {_type_name(serializer)} has not"
        )
    return _Custom(serializer)


# -------------------------------------------------------------- listings

# A bound of a lex range is (bytes, inclusive), or None for no bound.


def _higher_low(
    a: tuple[bytes, bool] | None, b: tuple[bytes, bool] | None
) -> tuple[bytes, bool] | None:
    """The tighter of two lower bounds."""
    if a is None or b is None:
        return b if a is None else a
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a if not a[1] else b


def _lower_high(
    a: tuple[bytes, bool] | None, b: tuple[bytes, bool] | None
) -> tuple[bytes, bool] | None:
    """The tighter of two upper bounds."""
    if a is None or b is None:
        return b if a is None else a
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return a if not a[1] else b


def _lex(bound: tuple[bytes, bool] | None, unbounded: bytes) -> bytes:
    """A bound as ZRANGEBYLEX writes it."""
    if bound is None:
        return unbounded
    return (b"[" if bound[1] else b"(") + bound[0]


def _group_of(key: bytes, prefix_length: int, delimiter: bytes) -> bytes | None:
    """The group ``key`` rolls up into, or None.  Byte search finds the
    same first occurrence as a search by code point: UTF-8 sequences only
    match at character boundaries."""
    at = key.find(delimiter, prefix_length)
    return None if at < 0 else key[: at + len(delimiter)]


class _Listing:
    """Where a paged listing stands: the lex bounds of what is left to read
    and how many entries may still be returned.  Shared by the sync and
    async loops, which only run the page script.

    Keys outside the prefix, ``start`` and ``stop`` bound the range from
    the start.  ``start_after`` compares with listed entries: for plain
    keys it is one more bound; with a delimiter, the group ``start_after``
    itself falls in (if any) is skipped whole going forward, and kept whole
    going backward when ``start_after`` lies inside it.
    """

    def __init__(
        self,
        prefix: bytes,
        start: bytes | None,
        stop: bytes | None,
        start_after: bytes | None,
        limit: int | None,
        reverse: bool,
        delimiter: bytes | None,
        page_size: int,
    ) -> None:
        low: tuple[bytes, bool] | None = None
        high: tuple[bytes, bool] | None = None
        if len(prefix):
            # UTF-8 never contains 0xFF: prefix + 0xFF is above its keys.
            low, high = (prefix, True), (prefix + b"\xff", False)
        if start is not None:
            low = _higher_low(low, (start, True))
        if stop is not None:
            high = _lower_high(high, (stop, False))
        if start_after is not None:
            group = None
            if delimiter is not None and start_after.startswith(prefix):
                group = _group_of(start_after, len(prefix), delimiter)
            if not reverse:
                past = (
                    (start_after, False) if group is None else (group + b"\xff", False)
                )
                low = _higher_low(low, past)
            elif group is None or group == start_after:
                high = _lower_high(high, (start_after, False))
            else:
                high = _lower_high(high, (group + b"\xff", False))
        self.low, self.high = low, high
        self.prefix_length = len(prefix)
        self.delimiter = delimiter
        self.reverse = reverse
        self.remaining = limit
        self.page_size = page_size
        self.done = limit == 0 or (
            low is not None
            and high is not None
            and (low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1])))
        )

    @property
    def script(self) -> str:
        return "page" if self.delimiter is None else "grouped_page"

    def request(self) -> list[Any] | None:
        """The page script's ARGV for the next page, or None when done."""
        if self.done:
            return None
        count = self.page_size
        if self.remaining is not None:
            count = min(count, self.remaining)
        args = [
            _PURGE_LIMIT,
            _lex(self.low, b"-"),
            _lex(self.high, b"+"),
            count,
            "1" if self.reverse else "0",
        ]
        if self.delimiter is not None:
            args += [self.prefix_length, self.delimiter]
        return args

    def take(self, page: list[bytes], asked: int) -> list[bytes]:
        if len(page) < asked:
            self.done = True
        if page:
            last = page[-1]
            if self.reverse:
                self.high = (last, False)
            elif (
                self.delimiter is not None
                and _group_of(last, self.prefix_length, self.delimiter) is not None
            ):
                self.low = (last + b"\xff", False)
            else:
                self.low = (last, False)
        if self.remaining is not None:
            self.remaining -= len(page)
            if self.remaining <= 0:
                self.done = True
        return page


# ----------------------------------------------------------------- store


class RedisStore(Generic[V]):
    """memstore's store API on a Redis or Valkey server.

    ``client`` is a ``redis.Redis`` (or ``redis.cluster.RedisCluster``) for
    the sync methods, ``async_client`` a ``redis.asyncio`` one for the async
    twins, or a zero-argument callable that makes one: the store calls it
    on first async use, in the running event loop, and again when used from
    another loop (an asyncio client belongs to the loop it first ran on,
    and on Python 3.9 cannot even be made outside one).  ``url`` makes both,
    the asyncio one that way.  Clients must return bytes (the default,
    ``decode_responses=False``).

    ``namespace`` prefixes every Redis key this store uses (see the module
    docstring for the layout); ``clear()`` removes only its own, and no two
    namespaces share a Redis key.  On Redis Cluster it must contain a hash
    tag, such as ``"{sessions}"``, so the whole namespace lives in one slot
    (and so on one shard) and every batch can stay atomic.

    Values are stored as they are when they are ``bytes``
    (``serializer=None``); ``serializer="json"``, ``"pickle"`` or any object
    with ``dumps(value) -> bytes`` and ``loads(bytes)`` stores other values.
    Data read from the server is unpickled only with ``serializer="pickle"``.

    ``ttl`` (seconds) makes every key written expire that long after its
    write unless ``mset`` is given its own ``ttl``; :attr:`default_ttl`
    reads it back.

    On first use the store reads the server's ``maxmemory-policy`` and
    raises :class:`EvictionPolicyError` for an ``allkeys-*`` policy (or when
    ``CONFIG GET`` is disabled), unless ``allow_eviction=True``.

    >>> store = RedisStore(url="redis://localhost:6379/0", namespace="demo")  # doctest: +SKIP
    >>> store.mset([("message:s1:1", b"hi"), ("message:s2:1", b"yo")])  # doctest: +SKIP
    >>> list(store.yield_keys(prefix="message:s1:"))  # doctest: +SKIP
    ['message:s1:1']
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        async_client: Any = None,
        namespace: str = "memstore",
        serializer: Any = None,
        ttl: float | None = None,
        page_size: int = 1000,
        allow_eviction: bool = False,
    ) -> None:
        make_async_client = None
        if url is not None:
            if client is not None or async_client is not None:
                raise ValueError("pass either url or client/async_client, not both")
            import redis

            client = redis.Redis.from_url(url)
            make_async_client = _async_client_factory(url)
        elif client is None and async_client is None:
            raise ValueError("RedisStore needs a client, an async_client or a url")
        elif _is_factory(async_client):
            make_async_client, async_client = async_client, None
        for given, what in ((client, "client"), (async_client, "async_client")):
            if given is not None:
                _check_client(given, what)
        if not isinstance(namespace, str) or len(namespace) == 0:
            raise ValueError(f"namespace must be a non-empty str, not {namespace!r}")
        if _is_cluster(client) or _is_cluster(async_client):
            if not _has_hash_tag(namespace):
                raise ValueError(
                    f"namespace {namespace!r} has no hash tag: on Redis Cluster use one "
                    "such as '{" + namespace + "}' so the whole store lives in one slot"
                )
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or page_size < 1
        ):
            raise ValueError(f"page_size must be an int >= 1, not {page_size!r}")

        self._owns_sync_client = url is not None
        self.namespace = namespace
        self.page_size = page_size
        self._default_ttl_ms = 0 if ttl is None else _ttl_ms(ttl)
        self._default_ttl = None if ttl is None else float(ttl)
        self._serializer = _make_serializer(serializer)
        # allow_eviction=True skips the check of the server's policy.
        self._eviction_checked = bool(allow_eviction)
        # The namespace's UTF-8 bytes then 0xFF, which UTF-8 never produces:
        # the first 0xFF of a Redis key ends the namespace that owns it.
        home = str.encode(namespace, "utf-8", "surrogatepass") + b"\xff"
        self._index = home + b"index"
        self._expiry = home + b"expiry"
        self._value_prefix = home + b"v:"
        self._client = client
        self._async_client = async_client
        self._make_async_client = make_async_client
        # The event loop the asyncio client made by the factory belongs to.
        self._async_loop: Any = None
        self._sync_scripts = _Scripts(client) if client is not None else None
        self._async_scripts = (
            _Scripts(async_client) if async_client is not None else None
        )

    def __repr__(self) -> str:
        return (
            f"RedisStore(namespace={self.namespace!r}, "
            f"serializer={self._serializer.name!r})"
        )

    @property
    def default_ttl(self) -> float | None:
        """The lifetime in seconds of keys written without one (``None``:
        they never expire)."""
        return self._default_ttl

    # ------------------------------------------------------ preparation

    def _scripts(self) -> _Scripts:
        scripts = self._sync_scripts
        if scripts is None:
            raise RuntimeError(
                "this RedisStore has no sync client: pass client= or url="
            )
        if not self._eviction_checked:
            self._check_policy(_read_policy(scripts.client, self._index))
        return scripts

    def _require_async(self) -> None:
        """Says now, not at the first await, that there is no async client."""
        if self._async_scripts is None and self._make_async_client is None:
            raise RuntimeError(
                "this RedisStore has no async client: pass async_client= or url="
            )

    async def _ascripts(self) -> _Scripts:
        self._require_async()
        if self._make_async_client is not None:
            import asyncio

            loop = asyncio.get_running_loop()
            if self._async_scripts is None or self._async_loop is not loop:
                self._use_async_client(self._make_async_client())
                self._async_loop = loop
        scripts = self._async_scripts
        assert scripts is not None
        if not self._eviction_checked:
            self._check_policy(await _aread_policy(scripts.client, self._index))
        return scripts

    def _use_async_client(self, client: Any) -> None:
        """Adopts an asyncio client the factory made, checked like one
        passed to __init__."""
        _check_client(client, "the client async_client() made")
        if _is_cluster(client) and not _has_hash_tag(self.namespace):
            raise ValueError(
                f"namespace {self.namespace!r} has no hash tag: on Redis Cluster use "
                "one such as '{" + self.namespace + "}' so the whole store lives in "
                "one slot"
            )
        self._async_client = client
        self._async_scripts = _Scripts(client)

    def _check_policy(self, policy: str | Exception) -> None:
        """Refuses a server that may evict this store's keys (see the module
        docstring), once; ``policy`` is what CONFIG GET gave, or its error."""
        if isinstance(policy, Exception):
            raise EvictionPolicyError(
                "RedisStore could not read the server's maxmemory-policy (CONFIG GET "
                f"failed: {policy}); if CONFIG is disabled, make sure the policy is "
                "noeviction or volatile-* and pass allow_eviction=True"
            ) from policy
        if policy.startswith("allkeys-"):
            raise EvictionPolicyError(
                f"the Redis server's maxmemory-policy is {policy}: it may evict this "
                "store's values and index, and counts and listings would go wrong. "
                "Set it to noeviction (CONFIG SET maxmemory-policy noeviction) or a "
                "volatile-* policy, or pass allow_eviction=True to accept this"
            )
        self._eviction_checked = True

    def _value_keys(self, members: list[bytes]) -> list[bytes]:
        prefix = self._value_prefix
        return [prefix + m for m in members]

    def _prepare_keys(self, keys: Iterable[str], method: str) -> list[bytes]:
        batch = _batch(keys, method, "keys")
        return [_encode_key(k, f"key at index {i}") for i, k in enumerate(batch)]

    def _prepare_write(
        self, key_value_pairs: Iterable[tuple[str, V]], ttl: Any, method: str
    ) -> tuple[list[bytes], list[Any]]:
        """Checks and serializes the whole batch before anything is sent,
        so a bad element anywhere writes nothing."""
        if ttl is _DEFAULT_TTL:
            ttl_ms = self._default_ttl_ms
        elif ttl is None:
            ttl_ms = 0
        else:
            ttl_ms = _ttl_ms(ttl)
        batch = _batch(key_value_pairs, method, "(key, value) pairs")
        members: list[bytes] = []
        values: list[bytes] = []
        dumps = self._serializer.dumps
        for i, item in enumerate(batch):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(
                    f"item at index {i} must be a (key, value) pair, not {_type_name(item)}"
                    + (
                        f" of length {len(item)}"
                        if isinstance(item, (tuple, list))
                        else ""
                    )
                )
            key, value = item
            members.append(_encode_key(key, f"key at index {i}"))
            try:
                values.append(dumps(value))
            except TypeError as exc:
                raise TypeError(f"value at index {i}: {exc}") from exc
            except Exception as exc:
                raise ValueError(
                    f"value at index {i} could not be serialized by the "
                    f"{self._serializer.name} serializer: {exc!r}"
                ) from exc
        keys = [self._index, self._expiry, *self._value_keys(members)]
        return keys, [_write_purge_limit(len(members)), ttl_ms, *members, *values]

    def _decode_values(self, raw: list[bytes | None]) -> list[V | None]:
        loads = self._serializer.loads
        return [None if v is None else loads(v) for v in raw]

    def _key_range_args(self, prefix: str | None) -> list[Any]:
        encoded = b"" if prefix is None else _encode_key(prefix, "prefix")
        listing = _Listing(encoded, None, None, None, None, False, None, 1)
        return [_PURGE_LIMIT, _lex(listing.low, b"-"), _lex(listing.high, b"+")]

    def _listing(
        self,
        prefix: str | None,
        start_after: str | None,
        limit: Any,
        reverse: bool,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> _Listing:
        return _Listing(
            b"" if prefix is None else _encode_key(prefix, "prefix"),
            None if start is None else _encode_key(start, "start"),
            None if stop is None else _encode_key(stop, "stop"),
            None if start_after is None else _encode_key(start_after, "start_after"),
            _parse_limit(limit),
            bool(reverse),
            _parse_delimiter(delimiter),
            self.page_size,
        )

    def _both(self) -> list[bytes]:
        return [self._index, self._expiry]

    def _delete_args(self, members: list[bytes]) -> tuple[list[bytes], list[Any]]:
        """KEYS and ARGV of the delete script for these members."""
        return (
            [*self._both(), *self._value_keys(members)],
            [_write_purge_limit(len(members)), *members],
        )

    def _one_key_args(self, key: str) -> tuple[bytes, list[bytes]]:
        member = _encode_key(key, "key")
        return member, [*self._both(), self._value_prefix + member]

    def _mget_chunks(self, members: list[bytes]) -> Iterator[list[bytes]]:
        """Value keys in MGETs of at most 1,000 (or page_size) keys, so no
        reply is huge."""
        value_keys = self._value_keys(members)
        step = max(self.page_size, 1000)
        for start in range(0, len(value_keys), step):
            yield value_keys[start : start + step]

    # --------------------------------------------------- sync primitives

    def _read(self, script_name: str, args: list[Any]) -> Any:
        script = getattr(self._scripts(), script_name)
        while True:
            result = script(keys=self._both(), args=args)
            if result is not None:
                return result
            # nil: the script dropped a full batch of expired entries first.

    def _mget_raw(self, members: list[bytes]) -> list[bytes | None]:
        if not members:
            return []
        client = self._scripts().client
        raw: list[bytes | None] = []
        for chunk in self._mget_chunks(members):
            raw.extend(client.mget(chunk))
        return raw

    def _delete(self, members: list[bytes]) -> int:
        if not members:
            return 0
        keys, args = self._delete_args(members)
        return int(self._scripts().delete(keys=keys, args=args))

    def _pages(self, listing: _Listing) -> Iterator[list[bytes]]:
        while (args := listing.request()) is not None:
            yield listing.take(self._read(listing.script, args), args[3])

    # ---------------------------------------------- LangChain's store API

    def mget(self, keys: Sequence[str]) -> list[V | None]:
        """Values of ``keys`` (``None`` where missing or expired), in order.
        One round trip (one MGET) per 1,000 keys; O(B) on the server."""
        return self._decode_values(self._mget_raw(self._prepare_keys(keys, "mget")))

    def mset(
        self,
        key_value_pairs: Sequence[tuple[str, V]],
        *,
        ttl: float | None = _DEFAULT_TTL,
    ) -> None:
        """Stores every pair, atomically: one script writes the values and
        the index together.  ``ttl`` (seconds) gives every pair that
        lifetime; left out, the store's :attr:`default_ttl` applies;
        ``None``: no expiry.  A key written without a lifetime loses the
        one it had.  O(B log N) on the server."""
        keys, args = self._prepare_write(key_value_pairs, ttl, "mset")
        if len(keys) > 2:
            self._scripts().write(keys=keys, args=args)

    def mdelete(self, keys: Sequence[str]) -> None:
        """Deletes ``keys`` (missing ones are ignored), atomically.
        O(B log N) on the server."""
        self._delete(self._prepare_keys(keys, "mdelete"))

    def yield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> Iterator[str]:
        """Keys starting with ``prefix`` and from ``start`` (inclusive) up
        to ``stop`` (exclusive), in byte order (descending with
        ``reverse``), after ``start_after`` in that order, at most
        ``limit``.

        With ``delimiter``, a key whose rest after ``prefix`` contains it
        is listed once per group, as ``prefix`` + rest up to and with the
        first delimiter (S3's ListObjects): ``limit`` and ``start_after``
        count and compare those entries.

        Read in pages of ``page_size`` entries, each O(log N + page) on the
        server (with a delimiter, O(log N) per entry, however many keys a
        group holds).  A listing sees writes, deletions and expiries that
        happen while it runs past the page it has read; a key of the page
        in hand is yielded even if it expires (or is deleted) meanwhile.
        """
        listing = self._listing(
            prefix, start_after, limit, reverse, start, stop, delimiter
        )
        self._scripts()  # a store without a sync client says so now, not at next()
        return (_decode_key(m) for page in self._pages(listing) for m in page)

    def keys(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> Iterator[str]:
        """:meth:`yield_keys` with ``prefix`` as the first argument."""
        return self.yield_keys(
            prefix=prefix,
            start_after=start_after,
            limit=limit,
            reverse=reverse,
            start=start,
            stop=stop,
            delimiter=delimiter,
        )

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def items(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> Iterator[tuple[str, V]]:
        """``(key, value)`` pairs in key order; options as :meth:`yield_keys`.
        Each page of keys is followed by one MGET of their values; a key
        removed (or expired) in between is skipped."""
        listing = self._listing(prefix, start_after, limit, reverse, start, stop)
        self._scripts()
        return self._items(listing)

    def _items(self, listing: _Listing) -> Iterator[tuple[str, V]]:
        loads = self._serializer.loads
        for page in self._pages(listing):
            for member, raw in zip(page, self._mget_raw(page)):
                # Missing is a nil reply; a value that decodes to None
                # (JSON null, pickled None) is a value like any other.
                if raw is not None:
                    yield _decode_key(member), loads(raw)

    def values(
        self,
        prefix: str | None = None,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
    ) -> Iterator[V]:
        """Values in key order; see :meth:`items`."""
        return (
            v
            for _, v in self.items(
                prefix,
                start_after=start_after,
                limit=limit,
                reverse=reverse,
                start=start,
                stop=stop,
            )
        )

    # ---------------------------------------------------------- prefixes

    def count(self, prefix: str | None = "") -> int:
        """Number of keys starting with ``prefix``: O(log N) on the server,
        however many match."""
        return int(self._read("count", self._key_range_args(prefix)))

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every key starting with ``prefix``, a page at a time (each
        page atomic); returns how many held a value."""
        if prefix is None:
            raise TypeError("prefix must be str, not NoneType")
        low, high = self._key_range_args(prefix)[1:]
        removed = 0
        while True:
            page = self._read("page", [_PURGE_LIMIT, low, high, self.page_size, "0"])
            if not page:
                return removed
            removed += self._delete(page)

    def longest_prefix(self, key: str) -> tuple[str, V] | None:
        """``(stored_key, value)`` for the longest stored key that ``key``
        starts with, or ``None``.  O(log N) per distinct branch on the
        server, usually one."""
        query = _encode_key(key, "key")
        while True:
            found = self._read("longest", [_PURGE_LIMIT, query])
            if not found:
                return None
            raw = self._mget_raw(found)[0]
            if raw is not None:
                return _decode_key(found[0]), self._serializer.loads(raw)
            # Indexed but without a value (deleted or evicted behind the
            # store's back, or expired since): the answer is a shorter
            # stored prefix, so each turn shortens the query.
            if not found[0]:
                return None
            query = found[0][:-1]

    # ------------------------------------------------------------ expiry

    def expire(self, key: str, ttl: float) -> bool:
        """Makes ``key`` expire ``ttl`` seconds from now; ``False`` when it
        is absent (or expired).  O(log N) on the server, atomic."""
        ttl_ms = _ttl_ms(ttl)
        member, keys = self._one_key_args(key)
        return bool(
            self._scripts().expire(keys=keys, args=[_PURGE_LIMIT, member, ttl_ms])
        )

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left (millisecond precision), ``None`` if it
        never expires; ``KeyError`` if it is absent or expired.  O(1)."""
        left = self._scripts().client.pttl(self._value_prefix + _encode_key(key, "key"))
        if left == -2:
            raise KeyError(key)
        return None if left == -1 else left / 1000

    def persist(self, key: str) -> bool:
        """Removes ``key``'s lifetime; ``True`` if it had one.  O(log N) on
        the server, atomic."""
        member, keys = self._one_key_args(key)
        return bool(self._scripts().persist(keys=keys, args=[_PURGE_LIMIT, member]))

    # ------------------------------------------------------- single keys

    def __len__(self) -> int:
        return self.count(None)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        value_key = self._value_prefix + _encode_key(key, "key")
        return bool(self._scripts().client.exists(value_key))

    @overload
    def get(self, key: str) -> V | None: ...
    @overload
    def get(self, key: str, default: V | _T) -> V | _T: ...
    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is missing or
        expired.  O(1)."""
        raw = self._scripts().client.get(self._value_prefix + _encode_key(key, "key"))
        return default if raw is None else self._serializer.loads(raw)

    def __getitem__(self, key: str) -> V:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: V) -> None:
        self.mset([(key, value)])

    def __delitem__(self, key: str) -> None:
        if not self._delete([_encode_key(key, "key")]):
            raise KeyError(key)

    def clear(self) -> None:
        """Removes every key of this namespace (and nothing else), a page at
        a time."""
        self.delete_prefix("")

    def close(self) -> None:
        """Closes the sync client if this store made it (``url=``)."""
        if self._owns_sync_client and self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Closes the clients this store made (``url=``, or an
        ``async_client`` factory's)."""
        self.close()
        if self._make_async_client is not None and self._async_client is not None:
            client, self._async_client, self._async_scripts = (
                self._async_client,
                None,
                None,
            )
            await client.aclose()

    # ------------------------------------------------------ async twins

    async def _aread(self, script_name: str, args: list[Any]) -> Any:
        script = getattr(await self._ascripts(), script_name)
        while True:
            result = await script(keys=self._both(), args=args)
            if result is not None:
                return result

    async def amget(self, keys: Sequence[str]) -> list[V | None]:
        """Async :meth:`mget` on the asyncio client."""
        members = self._prepare_keys(keys, "amget")
        client = (await self._ascripts()).client
        raw: list[bytes | None] = []
        for chunk in self._mget_chunks(members):
            raw.extend(await client.mget(chunk))
        return self._decode_values(raw)

    async def amset(
        self,
        key_value_pairs: Sequence[tuple[str, V]],
        *,
        ttl: float | None = _DEFAULT_TTL,
    ) -> None:
        """Async :meth:`mset`: the same single atomic script."""
        keys, args = self._prepare_write(key_value_pairs, ttl, "amset")
        if len(keys) > 2:
            await (await self._ascripts()).write(keys=keys, args=args)

    async def amdelete(self, keys: Sequence[str]) -> None:
        """Async :meth:`mdelete`."""
        members = self._prepare_keys(keys, "amdelete")
        if members:
            keys_, args = self._delete_args(members)
            await (await self._ascripts()).delete(keys=keys_, args=args)

    def ayield_keys(
        self,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
        start: str | None = None,
        stop: str | None = None,
        delimiter: str | None = None,
    ) -> AsyncIterator[str]:
        """Async :meth:`yield_keys`: the same pages, awaited."""
        listing = self._listing(
            prefix, start_after, limit, reverse, start, stop, delimiter
        )
        self._require_async()
        return self._akeys(listing)

    async def _akeys(self, listing: _Listing) -> AsyncIterator[str]:
        while (args := listing.request()) is not None:
            for member in listing.take(
                await self._aread(listing.script, args), args[3]
            ):
                yield _decode_key(member)


class _Scripts:
    """The store's Lua scripts registered on one client (sync or async)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.write = client.register_script(_WRITE)
        self.delete = client.register_script(_DELETE)
        self.expire = client.register_script(_EXPIRE)
        self.persist = client.register_script(_PERSIST)
        self.page = client.register_script(_PAGE)
        self.grouped_page = client.register_script(_GROUPED_PAGE)
        self.count = client.register_script(_COUNT)
        self.longest = client.register_script(_LONGEST)


def _write_purge_limit(batch: int) -> int:
    # Dropping up to twice as many due entries as a write adds keeps the
    # sets proportional to the live keys under writes alone, at a cost
    # proportional to the write.
    return max(_PURGE_LIMIT, 2 * batch)


def _policy_target(client: Any, index_key: bytes) -> dict[str, Any]:
    # On a cluster, ask the node that holds the namespace's slot.
    if _is_cluster(client):
        return {"target_nodes": client.get_node_from_key(index_key)}
    return {}


def _policy_of(reply: Any) -> str:
    value = reply.get("maxmemory-policy", reply.get(b"maxmemory-policy"))
    if value is None:
        raise RuntimeError(f"CONFIG GET maxmemory-policy answered {reply!r}")
    return value.decode() if isinstance(value, bytes) else str(value)


# Whatever stops the policy from being read (CONFIG renamed away, an ACL,
# a proxy that does not forward it) is reported as the reason the store
# refuses, so the readers catch every exception.


def _read_policy(client: Any, index_key: bytes) -> str | Exception:
    """The server's maxmemory-policy, or the exception reading it raised."""
    try:
        return _policy_of(
            client.config_get("maxmemory-policy", **_policy_target(client, index_key))
        )
    except Exception as exc:
        return exc


async def _aread_policy(client: Any, index_key: bytes) -> str | Exception:
    """The server's maxmemory-policy, or the exception reading it raised."""
    try:
        if _is_cluster(client):
            await client.initialize()  # loads the slot map get_node_from_key reads
        return _policy_of(
            await client.config_get(
                "maxmemory-policy", **_policy_target(client, index_key)
            )
        )
    except Exception as exc:
        return exc


def _async_client_factory(url: str) -> Any:
    def make() -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url)

    return make


def _is_factory(async_client: Any) -> bool:
    # A redis-py client is not callable; a factory is not a client.
    return callable(async_client) and not hasattr(async_client, "register_script")


def _check_client(client: Any, what: str) -> None:
    if not callable(getattr(client, "register_script", None)):
        raise TypeError(f"{what} must be a redis-py client, not {_type_name(client)}")
    get_encoder = getattr(client, "get_encoder", None)
    if get_encoder is not None and getattr(get_encoder(), "decode_responses", False):
        raise ValueError(
            f"{what} must be made with decode_responses=False: "
            "RedisStore reads keys and values as bytes"
        )


def _is_cluster(client: Any) -> bool:
    return client is not None and "Cluster" in type(client).__name__


def _has_hash_tag(namespace: str) -> bool:
    # Redis hashes only the part between the first "{" and the next "}"
    # when it is non-empty; with both inside the namespace, every key of
    # the store hashes alike.
    start = namespace.find("{")
    return start != -1 and namespace.find("}", start + 1) > start + 1
