"""The command consumer: read a batch, decide, commit each command with one Lua call.

One XREADGROUP takes up to `read_count` entries from every partition; the batch's histories
and claims load in one pipeline; decisions are pure and run in memory; the commits go out as
one pipeline of EVALSHA. Version conflicts and lost claim races reload and decide again.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec

from domain.aggregate import AggregateRules, State, replay
from domain.errors import DomainError
from domain.registry import AGGREGATES, COMMAND_AGGREGATE, aggregate_type
from events.codec import decode_command, decode_event, envelope_decoder, event_data, event_name
from events.commands import Command
from events.envelope import Envelope, ErrorInfo, EventRecord, PublicEvent, Result
from infra import keys, scripts
from infra.command_log import now_ms
from infra.dead_letters import queue_dead_letter
from infra.errors import is_no_script
from infra.event_store import (
    Commit,
    decode_history,
    parse_outcome,
    queue_claim_owner,
    queue_commit,
    queue_history,
)
from infra.streams import Entry
from worker.consumer import Batch, StreamConsumer
from worker.deps import Deps

log = logging.getLogger("sluice.worker.commands")


@dataclass
class Work:
    """One command entry on its way through the batch."""

    partition: int
    entry_id: str
    envelope: Envelope
    command: Command
    rules: AggregateRules


@dataclass
class Loaded:
    state: State
    version: int
    owners: dict[str, str | None] = field(default_factory=dict)


class CommandConsumer(StreamConsumer):
    def __init__(self, deps: Deps) -> None:
        partitions = range(deps.settings.partitions)
        super().__init__(deps, [keys.commands(p) for p in partitions], keys.WORKERS_GROUP)

    async def handle(self, batch: Batch) -> None:
        await self.process(batch)

    async def process(self, entries: list[tuple[int, Entry]]) -> None:
        try:
            work = await self._triage(entries)
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)  # the server restarted and forgot them
            work = await self._triage(entries)
        for _ in range(self.settings.max_conflict_retries):
            if not work:
                return
            work = await self._attempt(work)
        if work:
            log.warning("%d commands still conflicting; left pending for a later try", len(work))

    async def _triage(self, entries: list[tuple[int, Entry]]) -> list[Work]:
        """Decodes the batch; what cannot be settled is acknowledged or dead-lettered now."""
        work: list[Work] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, (entry_id, fields) in entries:
                item = self._decode(pipe, partition, entry_id, fields)
                if item is not None:
                    work.append(item)
            if len(pipe):
                await pipe.execute()
        return work

    def _decode(
        self, pipe: Any, partition: int, entry_id: str, fields: dict[bytes, bytes] | None
    ) -> Work | None:
        if fields is None:  # deleted while pending: nothing left to settle
            pipe.xack(self.streams[partition], keys.WORKERS_GROUP, entry_id)
            return None
        raw = fields.get(b"e", b"")
        try:
            envelope = envelope_decoder.decode(raw)
            command = decode_command(envelope)
            rules = AGGREGATES[COMMAND_AGGREGATE[envelope.command]]
            if aggregate_type(envelope.aggregate_id) != COMMAND_AGGREGATE[envelope.command]:
                raise ValueError(f"{envelope.command} cannot act on {envelope.aggregate_id}")
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError) as error:
            self._poison(pipe, partition, entry_id, raw, error)
            return None
        return Work(partition, entry_id, envelope, command, rules)

    def _poison(
        self, pipe: Any, partition: int, entry_id: str, raw: bytes, error: Exception
    ) -> None:
        log.error(
            "dead-lettering undecodable entry %s on partition %d: %s", entry_id, partition, error
        )
        known = _peek(raw)
        self._queue_dead_letter(
            pipe,
            partition,
            entry_id,
            raw,
            ErrorInfo(code="poison_message", message=str(error)[:500]),
            known.get("command_id"),
            known.get("actor"),
            known.get("reply_to"),
        )

    def _dead_letter(self, pipe: Any, item: Work, error: ErrorInfo) -> None:
        env = item.envelope
        self._queue_dead_letter(
            pipe,
            item.partition,
            item.entry_id,
            msgspec.json.encode(env),
            error,
            env.command_id,
            env.actor,
            env.reply_to,
        )

    def _queue_dead_letter(
        self,
        pipe: Any,
        partition: int,
        entry_id: str,
        raw: bytes,
        error: ErrorInfo,
        command_id: str | None,
        actor: str | None,
        reply_to: str | None,
    ) -> None:
        queue_dead_letter(
            pipe,
            partition=partition,
            entry_id=entry_id,
            raw_entry=raw,
            error=error,
            command_id=command_id,
            actor=actor,
            reply_to=reply_to,
            group=keys.WORKERS_GROUP,
            status_ttl=self.settings.result_ttl_seconds,
            results_maxlen=self.settings.results_maxlen,
        )

    async def _attempt(self, work: list[Work]) -> list[Work]:
        """Loads, decides and commits the batch once; returns the commands to try again."""
        loaded = await self._load(work)
        commits = [self._decide(item, loaded) for item in work]
        try:
            replies = await self._commit(work, commits)
        except Exception as error:
            if not is_no_script(error):
                raise
            await scripts.load_all(self.redis)
            replies = await self._commit(work, commits)
        retry: list[Work] = []
        for item, commit, reply in zip(work, commits, replies, strict=True):
            if isinstance(commit, Commit) and parse_outcome(reply).kind in ("conflict", "claimed"):
                retry.append(item)
        return retry

    async def _load(self, work: list[Work]) -> dict[tuple[int, str], Loaded]:
        aggregates = list(dict.fromkeys((w.partition, w.envelope.aggregate_id) for w in work))
        claims = list(
            dict.fromkeys((w.partition, name) for w in work for name in w.rules.claims(w.command))
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, aggregate_id in aggregates:
                queue_history(pipe, partition, aggregate_id)
            for partition, name in claims:
                queue_claim_owner(pipe, partition, name)
            replies = await pipe.execute()
        owners: dict[int, dict[str, str | None]] = {}
        for (partition, name), owner in zip(claims, replies[len(aggregates) :], strict=True):
            owners.setdefault(partition, {})[name] = owner.decode() if owner else None
        loaded: dict[tuple[int, str], Loaded] = {}
        rules_of = {(w.partition, w.envelope.aggregate_id): w.rules for w in work}
        for key, raw in zip(aggregates, replies[: len(aggregates)], strict=True):
            records = decode_history(raw)
            state = replay(rules_of[key], [decode_event(r) for r in records])
            loaded[key] = Loaded(state, len(records), owners.setdefault(key[0], {}))
        return loaded

    def _decide(self, item: Work, loaded: dict[tuple[int, str], Loaded]) -> Commit | ErrorInfo:
        env = item.envelope
        current = loaded[(item.partition, env.aggregate_id)]
        try:
            events = item.rules.decide(current.state, item.command, current.owners)
        except DomainError as error:
            # Checked against the version too: a rejection is only as good as the state it saw.
            return Commit(
                envelope=env,
                entry_id=item.entry_id,
                result=_result(
                    env, "rejected", error=ErrorInfo(code=error.code, message=error.message)
                ),
                expected_version=current.version,
            )
        except Exception as error:
            log.exception("handler failed on command %s", env.command_id)
            return ErrorInfo(code="handler_error", message=f"{type(error).__name__}: {error}"[:500])
        claims = dict(item.rules.claims(item.command)) if events else {}
        occurred = now_ms()
        records = [
            EventRecord(
                event=event_name(event),
                version=type(event).version,
                data=msgspec.Raw(msgspec.json.encode(event)),
                aggregate_id=env.aggregate_id,
                aggregate_version=current.version + i + 1,
                command_id=env.command_id,
                correlation_id=env.correlation_id,
                causation_id=env.command_id,
                actor=env.actor,
                occurred_at=occurred,
            )
            for i, event in enumerate(events)
        ]
        public = [
            PublicEvent(event=event_name(e), data=event_data(e)) for e in events if not e.private
        ]
        commit = Commit(
            envelope=env,
            entry_id=item.entry_id,
            result=_result(env, "succeeded", events=public),
            expected_version=current.version,
            records=records,
            claims=claims,
        )
        # Later commands of this batch on the same aggregate see this one's effects.
        for event in events:
            current.state = item.rules.evolve(current.state, event)
        current.version += len(events)
        current.owners.update(claims)
        return commit

    async def _commit(self, work: list[Work], commits: list[Commit | ErrorInfo]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for item, commit in zip(work, commits, strict=True):
                if isinstance(commit, ErrorInfo):
                    self._dead_letter(pipe, item, commit)
                    continue
                queue_commit(
                    pipe,
                    commit,
                    group=keys.WORKERS_GROUP,
                    status_ttl=self.settings.result_ttl_seconds,
                    results_maxlen=self.settings.results_maxlen,
                )
            replies: list[Any] = await pipe.execute()
        return replies


def _result(
    env: Envelope,
    status: str,
    *,
    events: list[PublicEvent] | None = None,
    error: ErrorInfo | None = None,
) -> Result:
    return Result(
        command_id=env.command_id,
        status=status,
        events=events or [],
        error=error,
        actor=env.actor,
        reply_to=env.reply_to,
        aggregate_id=env.aggregate_id,
        completed_at=now_ms(),
        attempts=env.attempts + 1,
    )


def _peek(raw: bytes) -> dict[str, str]:
    """Whatever string fields of a broken envelope can still be read, to tell its sender."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str) and k in _PEEKED}


_PEEKED = {"command_id", "actor", "reply_to"}
