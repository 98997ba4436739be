"""The Lua scripts, loaded once per client and called by SHA."""

import hashlib
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from infra.errors import is_no_script

_DIR = Path(__file__).with_name("scripts")


class Script:
    """A Lua script called with EVALSHA, falling back to EVAL after a server restart."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = (_DIR / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    async def __call__(self, redis: "Redis", keys: list[str], args: list[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except Exception as error:
            if not is_no_script(error):
                raise
            return await redis.eval(self.source, len(keys), *keys, *args)

    def queue(self, pipe: Any, keys: list[str], args: list[Any]) -> None:
        """Adds the call to a pipeline; run `ensure_loaded` first so EVALSHA finds it."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    async def ensure_loaded(self, redis: "Redis") -> None:
        await redis.script_load(self.source)


SUBMIT = Script("submit")
COMMIT = Script("commit")
PUT_IF_NEWER = Script("put_if_newer")
DEAD_LETTER = Script("dead_letter")
REAPPEND = Script("reappend")
REDRIVE = Script("redrive")
COUNT_AFTER = Script("count_after")
MERGE_IF_NEWER = Script("merge_if_newer")
REINDEX = Script("reindex")
LOAD_AGGREGATE = Script("load_aggregate")
PUT_SNAPSHOT = Script("put_snapshot")
ALL = (
    SUBMIT,
    COMMIT,
    PUT_IF_NEWER,
    DEAD_LETTER,
    REAPPEND,
    REDRIVE,
    COUNT_AFTER,
    MERGE_IF_NEWER,
    REINDEX,
    LOAD_AGGREGATE,
    PUT_SNAPSHOT,
)


async def load_all(redis: "Redis") -> None:
    for script in ALL:
        await script.ensure_loaded(redis)
