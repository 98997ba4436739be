"""Callers the gateway has read, kept for a moment: a client's next requests need no read.

A request's caller is its session and its user's roles, read in one round trip
(`infra.principals`). A client sending many requests would have them read again for each; kept
here, keyed by the token's hash, they are read once per `ttl` at most. Nothing kept outlives
what it was read from:

- a logout drops its session at once in the process that served it, and in every other one as
  soon as the revocation on the revocations stream reaches it (the relay reads the same stream);
- a user's roles changing drops that user's sessions the same way: the projector notes the user
  on the stream beside the roles it writes (`infra.sessions.notice_user_changed`);
- the session's own expiry, and `ttl`, bound the rest;
- while the stream cannot be followed, nothing is kept and nothing kept is served.

A read that was on its way while its session or user was dropped is not kept: it may predate
the change. Marks taken before each read (`mark`) tell.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.backoff import EqualJitterBackoff

from infra import keys
from infra.sessions import Session

log = logging.getLogger("sluice.api")

Found = tuple[Session, tuple[str, ...]]  # a session and its user's roles

MAX_ENTRIES = 10_000
# Changes remembered, to refuse a read that was on its way while they happened; a read takes
# milliseconds, and whatever is forgotten here is refused as a whole (`_forgotten_before`).
MAX_CHANGES = 10_000
# Between failed reads: from 0.1 s, doubling up to 5 s, each wait drawn from its upper half (the
# processes that lost the stream together do not all come back at once).
RETRY = EqualJitterBackoff(cap=5.0, base=0.1)


class SessionCache:
    """Callers by token hash, each for `ttl` seconds from its read (none when `ttl` is 0), at
    most `max_entries` (the oldest go first)."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._kept: dict[str, tuple[Found, float]] = {}  # token hash -> (found, kept until)
        self._of_user: dict[str, set[str]] = {}  # user id -> token hashes kept
        self._changes = 0  # sessions and users dropped so far (and clears)
        self._changed: dict[str, int] = {}  # token hash or "u:<user id>" -> change number
        self._forgotten_before = 0  # changes no longer in `_changed`
        self.following = False  # the revocations stream is followed: see `RevocationFollower`

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.following

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, token_hash: str) -> Found | None:
        if not self.enabled:
            return None
        kept = self._kept.get(token_hash)
        if kept is None:
            return None
        found, until = kept
        if self._clock() >= until or found[0].expires_at <= time.time():
            self._forget(token_hash)
            return None
        return found

    def mark(self) -> int:
        """To take before reading a session, and hand to `keep` with what the read found."""
        return self._changes

    def keep(self, token_hash: str, found: Found, mark: int) -> None:
        """Keeps what a read begun at `mark` found, unless its session or user changed since."""
        if not self.enabled or mark < self._forgotten_before:
            return
        user = _user_key(found[0].user_id)
        if self._changed.get(token_hash, 0) > mark or self._changed.get(user, 0) > mark:
            return
        now = self._clock()
        self._forget_past(now)
        if token_hash not in self._kept and len(self._kept) >= self._max_entries:
            self._forget(next(iter(self._kept)))  # the oldest kept
        self._kept.pop(token_hash, None)  # inserted last: the entries stay in order of their time
        self._kept[token_hash] = (found, now + self.ttl)
        self._of_user.setdefault(found[0].user_id, set()).add(token_hash)

    def drop_session(self, token_hash: str) -> None:
        self._note(token_hash)
        self._forget(token_hash)

    def drop_user(self, user_id: str) -> None:
        self._note(_user_key(user_id))
        for token_hash in list(self._of_user.get(user_id, ())):
            self._forget(token_hash)

    def clear(self) -> None:
        """Drops everything, and refuses every read begun before."""
        self._changes += 1
        self._forgotten_before = self._changes
        self._changed.clear()
        self._kept.clear()
        self._of_user.clear()

    def _note(self, key: str) -> None:
        self._changes += 1
        self._changed.pop(key, None)  # re-inserted last: the oldest go first
        self._changed[key] = self._changes
        if len(self._changed) > MAX_CHANGES:
            number = self._changed.pop(next(iter(self._changed)))
            self._forgotten_before = max(self._forgotten_before, number)

    def _forget_past(self, now: float) -> None:
        """Forgets the entries whose time is up, the oldest first: nothing else is looked at."""
        while self._kept:
            token_hash, (_, until) = next(iter(self._kept.items()))
            if until > now:
                return
            self._forget(token_hash)

    def _forget(self, token_hash: str) -> None:
        kept = self._kept.pop(token_hash, None)
        if kept is None:
            return
        user_id = kept[0][0].user_id
        hashes = self._of_user.get(user_id)
        if hashes is not None:
            hashes.discard(token_hash)
            if not hashes:
                del self._of_user[user_id]


def _user_key(user_id: str) -> str:
    return f"u:{user_id}"


class RevocationFollower:
    """Tails the revocations stream into a `SessionCache`, from where the stream ends when it
    starts; never crashes: an outage clears the cache, which serves nothing until the stream
    is followed again."""

    def __init__(self, redis: "Redis", cache: SessionCache, *, block_ms: int) -> None:
        self._redis = redis  # a client whose socket timeout outlasts `block_ms`
        self._cache = cache
        self._block_ms = block_ms
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_id = "0-0"
        self.turned = asyncio.Condition()  # notified after each read, or failure: for tests

    def start(self) -> None:
        if self._cache.ttl > 0:
            self._task = asyncio.create_task(self._run(), name="sluice-revocations")

    async def stop(self) -> None:
        self._stopping = True  # a cancellation landing mid-command may be swallowed
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._cache.following = False

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                if not self._cache.following:
                    await self._find_end()
                    # A read begun before the end was found may predate a revocation before it.
                    self._cache.clear()
                    self._cache.following = True
                    if failures:
                        log.info("revocations followed again; sessions are kept again")
                await self._read()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not failures:
                    log.warning("revocations not followed (%s); sessions read every time", error)
                self._cache.following = False
                self._cache.clear()
                await self._turn_over()
                await asyncio.sleep(RETRY.compute(failures))
                failures += 1
            else:
                await self._turn_over()

    async def _turn_over(self) -> None:
        async with self.turned:
            self.turned.notify_all()

    async def _find_end(self) -> None:
        last = await self._redis.xrevrange(keys.revocations(), count=1)
        self.last_id = last[0][0].decode() if last else "0-0"

    async def _read(self) -> None:
        reply = await self._redis.xread(
            {keys.revocations(): self.last_id}, count=1000, block=self._block_ms
        )
        for _, entries in reply or []:
            for entry_id, fields in entries:
                self.last_id = entry_id.decode()
                if token_hash := fields.get(b"t"):
                    self._cache.drop_session(token_hash.decode())
                if user_id := fields.get(b"u"):
                    self._cache.drop_user(user_id.decode())
