"""``RedisStore``: memstore's store API on a Redis (or Valkey) server.

For when one machine's memory is not enough, or several processes must
share one store.  Layout, for a namespace ``ns``::

    ns:v:<key>   a string holding the key's serialized value
    ns:index     a sorted set of every key, all scores 0, so the server
                 orders it by the keys' bytes (range-by-lex reads it)
    ns:expiry    a sorted set of the keys that have a TTL, scored by their
                 deadline in server milliseconds

Listing, counting and deleting by prefix read a lex range of ``ns:index``:
O(log N + matches) on the server, where LangChain's ``RedisStore`` walks
the whole keyspace with ``SCAN MATCH``.  Every write is one Lua script that
changes the values and the index together, so a batch is atomic and the
index stays exact however many processes write at once.  Index entries of
keys whose TTL ran out are dropped by the next read that looks at the index
(a bounded number per call), before it reads.

Order is the byte order of the keys' UTF-8 encoding, the same as
``TrieStore``'s.  Requires Redis >= 6.2 or Valkey (``SET ... PXAT``).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["RedisStore"]

V = TypeVar("V")

_MISSING = object()

# Deadlines are server milliseconds computed in Lua, whose numbers are
# doubles: a century keeps them exact (and far inside what PXAT takes).
_MAX_TTL_SECONDS = 100 * 365 * 24 * 3600

# Largest number of arguments a script hands to one redis.call through
# unpack(): Lua's C stack holds about 8000.
_LUA_STEP = 1000

# Every script that reads the index first drops the entries of keys whose
# TTL has run out, at most this many per call, so one call never blocks the
# server for long; the client calls again until none are left.
_PURGE_LIMIT = 1000

_PURGE = """
local function purge(limit)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  -- Redis treats a key as gone once now > deadline; drop exactly those.
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf',
                         '(' .. string.format('%.0f', now), 'LIMIT', 0, limit)
  if #due > 0 then
    redis.call('ZREM', KEYS[1], unpack(due))
    redis.call('ZREM', KEYS[2], unpack(due))
  end
  return #due < limit
end
"""

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
# ARGV: TTL in ms ("0": none), then the keys' bytes, then the values.
_WRITE = _CHECK_SETS + """
local n = #KEYS - 2
local ttl = tonumber(ARGV[1])
local deadline = nil
if ttl > 0 then
  local t = redis.call('TIME')
  deadline = string.format('%.0f',
      tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl)
end
for first = 1, n, STEP do
  local last = math.min(first + STEP - 1, n)
  local scored, members, pairs = {}, {}, {}
  for i = first, last do
    local member, value = ARGV[1 + i], ARGV[1 + n + i]
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
    -- MSET also clears a TTL the key had, as the expiry index must.
    redis.call('MSET', unpack(pairs))
    redis.call('ZREM', KEYS[2], unpack(members))
  end
end
return n
""".replace("STEP", str(_LUA_STEP // 2))

# KEYS: index, expiry, then the value key of each member.  ARGV: members.
# Returns how many of the keys held a value.
_DELETE = _CHECK_SETS + """
local n = #ARGV
local removed = 0
for first = 1, n, STEP do
  local last = math.min(first + STEP - 1, n)
  local members, values = {}, {}
  for i = first, last do
    members[#members + 1] = ARGV[i]
    values[#values + 1] = KEYS[2 + i]
  end
  removed = removed + redis.call('DEL', unpack(values))
  redis.call('ZREM', KEYS[1], unpack(members))
  redis.call('ZREM', KEYS[2], unpack(members))
end
return removed
""".replace("STEP", str(_LUA_STEP))

# The read scripts answer nil while expired entries remain to be dropped.
# KEYS: index, expiry.  ARGV: purge limit, min, max, count, "1" = descending.
_PAGE = _PURGE + """
if not purge(tonumber(ARGV[1])) then return false end
if ARGV[5] == '1' then
  return redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[3], ARGV[2], 'LIMIT', 0, ARGV[4])
end
return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
"""

# KEYS: index, expiry.  ARGV: purge limit, min, max.
_COUNT = _PURGE + """
if not purge(tonumber(ARGV[1])) then return false end
return redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], ARGV[3])
"""

# The longest stored key that the query starts with.  Any such key sorts at
# or below the query, and at or below the greatest stored key s <= query; if
# s is not a prefix of the query, the answer is a prefix of the bytes the two
# share, so search again below that, a strictly shorter query each time.
# KEYS: index, expiry.  ARGV: purge limit, query.  Returns {} or {key}.
_LONGEST = _PURGE + """
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


def _type_name(o: object) -> str:
    return type(o).__name__


def _encode_key(key: object, what: str) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"{what} must be str, not {_type_name(key)}")
    # surrogatepass: the same bytes, and so the same order, as TrieStore.
    return key.encode("utf-8", "surrogatepass")


def _decode_key(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _batch(items: Iterable[Any], what: str) -> list[Any]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} must be an iterable of keys, not {_type_name(items)}")
    try:
        return list(items)
    except TypeError:
        raise TypeError(f"{what} must be iterable, not {_type_name(items)}") from None


def _parse_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int or None, not {_type_name(limit)}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    return limit


def _prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """Lex bounds of the keys starting with ``prefix``.  UTF-8 never
    contains the byte 0xFF, so ``prefix + 0xFF`` is above them all."""
    if not prefix:
        return b"-", b"+"
    return b"[" + prefix, b"(" + prefix + b"\xff"


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
    if not (callable(getattr(serializer, "dumps", None))
            and callable(getattr(serializer, "loads", None))):
        raise TypeError(
            f"serializer must have dumps() and loads(), {_type_name(serializer)} has not"
        )
    return _Custom(serializer)


# -------------------------------------------------------------- listings


class _Listing:
    """Where a paged listing stands: the lex bounds of what is left to read
    and how many keys may still be returned.  Shared by the sync and async
    loops, which only run the page script."""

    def __init__(self, prefix: bytes, start_after: bytes | None, limit: int | None,
                 reverse: bool, page_size: int) -> None:
        self.low, self.high = _prefix_range(prefix)
        if start_after is not None:
            # Only a start point inside the prefix's range moves a bound;
            # one outside it leaves all or nothing, which the range says.
            if reverse:
                if self.high == b"+" or start_after < self.high[1:]:
                    self.high = b"(" + start_after
            elif self.low == b"-" or start_after >= self.low[1:]:
                self.low = b"(" + start_after
        self.reverse = reverse
        self.remaining = limit
        self.page_size = page_size
        self.done = limit == 0

    def request(self) -> list[Any] | None:
        """The page script's ARGV for the next page, or None when done."""
        if self.done:
            return None
        count = self.page_size
        if self.remaining is not None:
            count = min(count, self.remaining)
        return [_PURGE_LIMIT, self.low, self.high, count, "1" if self.reverse else "0"]

    def take(self, page: list[bytes], asked: int) -> list[bytes]:
        if len(page) < asked:
            self.done = True
        if page:
            if self.reverse:
                self.high = b"(" + page[-1]
            else:
                self.low = b"(" + page[-1]
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
    twins; ``url`` makes both.  Both must return bytes (the default,
    ``decode_responses=False``).

    ``namespace`` prefixes every Redis key this store uses; ``clear()``
    removes only its own.  Two namespaces must not nest through the value
    keys: ``"app"`` and ``"app:v:x"`` would share Redis keys.  On Redis Cluster it must contain a hash tag, such
    as ``"{sessions}"``, so the whole namespace lives in one slot (and so on
    one shard) and every batch can stay atomic.

    Values are stored as they are when they are ``bytes``
    (``serializer=None``); ``serializer="json"``, ``"pickle"`` or any object
    with ``dumps(value) -> bytes`` and ``loads(bytes)`` stores other values.
    Data read from the server is unpickled only with ``serializer="pickle"``.

    ``ttl`` (seconds) makes every key written expire that long after its
    write unless ``mset`` is given its own ``ttl``.

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
    ) -> None:
        if url is not None:
            if client is not None or async_client is not None:
                raise ValueError("pass either url or client/async_client, not both")
            import redis
            import redis.asyncio

            client = redis.Redis.from_url(url)
            async_client = redis.asyncio.Redis.from_url(url)
            self._owns_clients = True
        else:
            self._owns_clients = False
        if client is None and async_client is None:
            raise ValueError("RedisStore needs a client, an async_client or a url")
        for given, what in ((client, "client"), (async_client, "async_client")):
            if given is not None:
                _check_client(given, what)
        if not isinstance(namespace, str) or not namespace:
            raise ValueError(f"namespace must be a non-empty str, not {namespace!r}")
        if _is_cluster(client) or _is_cluster(async_client):
            if not _has_hash_tag(namespace):
                raise ValueError(
                    f"namespace {namespace!r} has no hash tag: on Redis Cluster use one "
                    "such as '{" + namespace + "}' so the whole store lives in one slot"
                )
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page_size must be an int >= 1, not {page_size!r}")

        self.namespace = namespace
        self.page_size = page_size
        self.ttl = ttl
        self._default_ttl_ms = _ttl_ms(ttl, "ttl")
        self._serializer = _make_serializer(serializer)
        ns = namespace.encode("utf-8", "surrogatepass")
        self._index = ns + b":index"
        self._expiry = ns + b":expiry"
        self._value_prefix = ns + b":v:"
        self._client = client
        self._async_client = async_client
        self._sync_scripts = _Scripts(client) if client is not None else None
        self._async_scripts = _Scripts(async_client) if async_client is not None else None

    def __repr__(self) -> str:
        return (f"RedisStore(namespace={self.namespace!r}, "
                f"serializer={self._serializer.name!r})")

    # ------------------------------------------------------ preparation

    def _scripts(self) -> _Scripts:
        if self._sync_scripts is None:
            raise RuntimeError("this RedisStore has no sync client: pass client= or url=")
        return self._sync_scripts

    def _ascripts(self) -> _Scripts:
        if self._async_scripts is None:
            raise RuntimeError(
                "this RedisStore has no async client: pass async_client= or url="
            )
        return self._async_scripts

    def _value_keys(self, members: list[bytes]) -> list[bytes]:
        prefix = self._value_prefix
        return [prefix + m for m in members]

    def _prepare_keys(self, keys: Iterable[str]) -> list[bytes]:
        batch = _batch(keys, "keys")
        return [_encode_key(k, f"key at index {i}") for i, k in enumerate(batch)]

    def _prepare_write(self, key_value_pairs: Iterable[tuple[str, V]],
                       ttl: Any) -> tuple[list[bytes], list[Any]]:
        """Checks and serializes the whole batch before anything is sent,
        so a bad element anywhere writes nothing."""
        ttl_ms = self._default_ttl_ms if ttl is None else _ttl_ms(ttl, "ttl")
        batch = _batch(key_value_pairs, "key_value_pairs")
        members: list[bytes] = []
        values: list[bytes] = []
        dumps = self._serializer.dumps
        for i, item in enumerate(batch):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(
                    f"item at index {i} must be a (key, value) pair, not {_type_name(item)}"
                    + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "")
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
                    f"{self._serializer.name} serializer: {exc!r}") from exc
        keys = [self._index, self._expiry, *self._value_keys(members)]
        return keys, [ttl_ms, *members, *values]

    def _decode_values(self, raw: list[bytes | None]) -> list[V | None]:
        loads = self._serializer.loads
        return [None if v is None else loads(v) for v in raw]

    def _key_range_args(self, prefix: str | None) -> list[Any]:
        encoded = b"" if prefix is None else _encode_key(prefix, "prefix")
        low, high = _prefix_range(encoded)
        return [_PURGE_LIMIT, low, high]

    def _listing(self, prefix: str | None, start_after: str | None, limit: Any,
                 reverse: bool) -> _Listing:
        encoded = b"" if prefix is None else _encode_key(prefix, "prefix")
        after = None if start_after is None else _encode_key(start_after, "start_after")
        return _Listing(encoded, after, _parse_limit(limit), bool(reverse), self.page_size)

    def _both(self) -> list[bytes]:
        return [self._index, self._expiry]

    def _delete_keys(self, members: list[bytes]) -> list[bytes]:
        """KEYS of the delete script for these members."""
        return [*self._both(), *self._value_keys(members)]

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
        return int(self._scripts().delete(keys=self._delete_keys(members), args=members))

    def _pages(self, listing: _Listing) -> Iterator[list[bytes]]:
        while (args := listing.request()) is not None:
            yield listing.take(self._read("page", args), args[3])

    # ---------------------------------------------- LangChain's store API

    def mget(self, keys: Sequence[str]) -> list[V | None]:
        """Values of ``keys`` (``None`` where missing), in order.  One round
        trip (one MGET) per 1,000 keys; O(B) on the server."""
        return self._decode_values(self._mget_raw(self._prepare_keys(keys)))

    def mset(self, key_value_pairs: Sequence[tuple[str, V]], *,
             ttl: float | None = None) -> None:
        """Stores every pair, atomically: one script writes the values and
        the index together.  ``ttl`` (seconds) overrides the store's.
        O(B log N) on the server."""
        keys, args = self._prepare_write(key_value_pairs, ttl)
        if len(keys) > 2:
            self._scripts().write(keys=keys, args=args)

    def mdelete(self, keys: Sequence[str]) -> None:
        """Deletes ``keys`` (missing ones are ignored), atomically.
        O(B log N) on the server."""
        self._delete(self._prepare_keys(keys))

    def yield_keys(self, *, prefix: str | None = None, start_after: str | None = None,
                   limit: int | None = None, reverse: bool = False) -> Iterator[str]:
        """Keys starting with ``prefix`` in byte order (descending with
        ``reverse``), after ``start_after`` in that order, at most ``limit``.

        Read in pages of ``page_size`` keys, each O(log N + page) on the
        server; a listing sees writes made while it runs past its position,
        like ``TrieStore``'s iterators.
        """
        listing = self._listing(prefix, start_after, limit, reverse)
        self._scripts()  # a store without a sync client says so now, not at next()
        return (_decode_key(m) for page in self._pages(listing) for m in page)

    def keys(self, prefix: str | None = None, *, start_after: str | None = None,
             limit: int | None = None, reverse: bool = False) -> Iterator[str]:
        """:meth:`yield_keys` with ``prefix`` as the first argument."""
        return self.yield_keys(prefix=prefix, start_after=start_after, limit=limit,
                               reverse=reverse)

    __iter__ = keys

    def items(self, prefix: str | None = None, *, start_after: str | None = None,
              limit: int | None = None, reverse: bool = False) -> Iterator[tuple[str, V]]:
        """``(key, value)`` pairs in key order; options as :meth:`yield_keys`.
        Each page of keys is followed by one MGET of their values; a key
        removed in between is skipped."""
        listing = self._listing(prefix, start_after, limit, reverse)
        self._scripts()
        return self._items(listing)

    def _items(self, listing: _Listing) -> Iterator[tuple[str, V]]:
        for page in self._pages(listing):
            values = self._decode_values(self._mget_raw(page))
            for member, value in zip(page, values):
                if value is not None:
                    yield _decode_key(member), value

    def values(self, prefix: str | None = None, *, start_after: str | None = None,
               limit: int | None = None, reverse: bool = False) -> Iterator[V]:
        """Values in key order; see :meth:`items`."""
        return (v for _, v in self.items(prefix, start_after=start_after, limit=limit,
                                         reverse=reverse))

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
        low, high = _prefix_range(_encode_key(prefix, "prefix"))
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
            # Deleted between the two calls: look again.

    # ------------------------------------------------------- single keys

    def __len__(self) -> int:
        return self.count(None)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return bool(self._scripts().client.exists(self._value_prefix + _encode_key(key, "key")))

    def get(self, key: str, default: Any = None) -> Any:
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
        if self._owns_clients and self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Closes the clients this store made (``url=``)."""
        if self._owns_clients:
            if self._client is not None:
                self._client.close()
            if self._async_client is not None:
                await self._async_client.aclose()

    # ------------------------------------------------------ async twins

    async def _aread(self, script_name: str, args: list[Any]) -> Any:
        script = getattr(self._ascripts(), script_name)
        while True:
            result = await script(keys=self._both(), args=args)
            if result is not None:
                return result

    async def amget(self, keys: Sequence[str]) -> list[V | None]:
        """Async :meth:`mget` on the asyncio client."""
        members = self._prepare_keys(keys)
        client = self._ascripts().client
        raw: list[bytes | None] = []
        for chunk in self._mget_chunks(members):
            raw.extend(await client.mget(chunk))
        return self._decode_values(raw)

    async def amset(self, key_value_pairs: Sequence[tuple[str, V]], *,
                    ttl: float | None = None) -> None:
        """Async :meth:`mset`: the same single atomic script."""
        keys, args = self._prepare_write(key_value_pairs, ttl)
        if len(keys) > 2:
            await self._ascripts().write(keys=keys, args=args)

    async def amdelete(self, keys: Sequence[str]) -> None:
        """Async :meth:`mdelete`."""
        members = self._prepare_keys(keys)
        if members:
            await self._ascripts().delete(keys=self._delete_keys(members), args=members)

    def ayield_keys(self, *, prefix: str | None = None, start_after: str | None = None,
                    limit: int | None = None, reverse: bool = False) -> AsyncIterator[str]:
        """Async :meth:`yield_keys`: the same pages, awaited."""
        listing = self._listing(prefix, start_after, limit, reverse)
        self._ascripts()
        return self._akeys(listing)

    async def _akeys(self, listing: _Listing) -> AsyncIterator[str]:
        while (args := listing.request()) is not None:
            for member in listing.take(await self._aread("page", args), args[3]):
                yield _decode_key(member)


class _Scripts:
    """The store's Lua scripts registered on one client (sync or async)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.write = client.register_script(_WRITE)
        self.delete = client.register_script(_DELETE)
        self.page = client.register_script(_PAGE)
        self.count = client.register_script(_COUNT)
        self.longest = client.register_script(_LONGEST)


def _ttl_ms(ttl: Any, what: str) -> int:
    if ttl is None:
        return 0
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None, not {_type_name(ttl)}")
    if not math.isfinite(ttl) or not 0.001 <= ttl <= _MAX_TTL_SECONDS:
        raise ValueError(f"{what} must be from 0.001 to {_MAX_TTL_SECONDS:,} seconds, "
                         f"not {ttl!r}")
    return int(round(ttl * 1000))


def _check_client(client: Any, what: str) -> None:
    if not callable(getattr(client, "register_script", None)):
        raise TypeError(f"{what} must be a redis-py client, not {_type_name(client)}")
    get_encoder = getattr(client, "get_encoder", None)
    if get_encoder is not None and getattr(get_encoder(), "decode_responses", False):
        raise ValueError(f"{what} must be made with decode_responses=False: "
                         "RedisStore reads keys and values as bytes")


def _is_cluster(client: Any) -> bool:
    return client is not None and "Cluster" in type(client).__name__


def _has_hash_tag(namespace: str) -> bool:
    # Redis hashes only the part between the first "{" and the next "}"
    # when it is non-empty; with both inside the namespace, every key of
    # the store hashes alike.
    start = namespace.find("{")
    return start != -1 and namespace.find("}", start + 1) > start + 1
