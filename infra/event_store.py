"""The event store: aggregate histories to load, and the atomic commit that settles a command."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from events.codec import encoder, record_decoder
from events.envelope import Envelope, EventRecord, Result
from infra import keys
from infra.partition_calls import Layout, ScriptCall, by_partition, queue_calls
from infra.scripts import COMMIT

NO_VERSION_CHECK = -1


@dataclass(slots=True)  # not frozen: a frozen init costs a setattr call per field
class Commit:
    """Everything one command's settlement writes, ready for the commit script."""

    envelope: Envelope
    entry_id: str
    result: Result
    expected_version: int = NO_VERSION_CHECK
    # The command whose events the decision's state ends with, when that state was moved on by
    # an earlier command of the same batch: the history must end with that command's events.
    after_command: str | None = None
    records: Sequence[EventRecord] = ()
    claims: dict[str, str] | None = None  # claim name -> owner


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | duplicate | conflict | claimed
    event_ids: tuple[str, ...] = ()


def queue_history(pipe: Any, partition: int, aggregate_id: str) -> None:
    pipe.lrange(keys.history(partition, aggregate_id), 0, -1)


def queue_claim_owner(pipe: Any, partition: int, claim: str) -> None:
    pipe.get(keys.claim(partition, claim))


def decode_history(raw: list[bytes]) -> list[EventRecord]:
    return [record_decoder.decode(item) for item in raw]


# One commit script call: a partition's commits of a batch, encoded, ready to queue.
CommitCall = ScriptCall


def commit_calls(
    commits: Sequence[Commit], *, group: str, status_ttl: int, results_maxlen: int
) -> list[CommitCall]:
    """One commit script call per partition, settling that partition's commits in order.

    Encoding is most of a commit's client-side cost: a batch can be encoded while the batch
    before it commits, then queued (`queue_commit_calls`) when its turn comes."""
    calls: list[CommitCall] = []
    for p, indexes in by_partition([commit.envelope.partition for commit in commits]).items():
        call_keys = [keys.events(p), keys.results(p), keys.commands(p)]
        args: list[Any] = [group, status_ttl, results_maxlen, len(indexes)]
        for i in indexes:
            commit = commits[i]
            env = commit.envelope
            claims = commit.claims or {}
            call_keys += [keys.command_status(p, env.command_id), keys.history(p, env.aggregate_id)]
            if claims:
                call_keys += [keys.claim(p, name) for name in claims]
            args += [
                commit.entry_id,
                commit.expected_version,
                commit.result.status,
                encoder.encode(commit.result),
                commit.after_command or "",
                len(commit.records),
                len(claims),
            ]
            if commit.records:
                args += [encoder.encode(record) for record in commit.records]
            if claims:
                args += claims.values()
        calls.append(CommitCall(call_keys, args, indexes))
    return calls


def queue_commit_calls(pipe: Any, calls: Sequence[CommitCall]) -> Layout:
    """Queues the calls; returns, per call, the indexes of the commits it settles
    (`partition_calls.per_item` gives each its own reply)."""
    return queue_calls(pipe, COMMIT, calls)


def queue_commits(
    pipe: Any, commits: Sequence[Commit], *, group: str, status_ttl: int, results_maxlen: int
) -> Layout:
    """One commit script call per partition, settling that partition's commits in order.

    Returns, for each call queued, the indexes in `commits` of the commits it settles: the
    call's reply lists their outcomes in that order (`partition_calls.per_item`)."""
    calls = commit_calls(commits, group=group, status_ttl=status_ttl, results_maxlen=results_maxlen)
    return queue_commit_calls(pipe, calls)


def queue_commit(
    pipe: Any, commit: Commit, *, group: str, status_ttl: int, results_maxlen: int
) -> None:
    """A batch of one: its reply is a list holding the commit's own."""
    queue_commits(pipe, [commit], group=group, status_ttl=status_ttl, results_maxlen=results_maxlen)


def outcome_kind(reply: list[Any]) -> str:
    """Only the kind of a commit's reply: what a worker looks at for every command."""
    kind = reply[0]
    return kind.decode() if isinstance(kind, bytes) else str(kind)


def parse_outcome(reply: list[Any]) -> Outcome:
    kind = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if kind == "ok":
        return Outcome(kind, tuple(item.decode() for item in reply[1:]))
    return Outcome(kind)


async def load_history(redis: "Redis", partition: int, aggregate_id: str) -> list[EventRecord]:
    return decode_history(await redis.lrange(keys.history(partition, aggregate_id), 0, -1))
