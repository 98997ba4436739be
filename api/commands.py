"""`POST /command` and `GET /commands/{id}`: validate, authorise, stamp, append once, count."""

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from api.auth import Principal, authenticate
from api.command_spec import Call, CommandSpec, Payload, holds_one_of
from api.http import ApiError, invalid_payload, ok, read_json_body
from api.reply_tokens import is_reply_to
from api.state import AppState, state_of
from events.aggregate_ids import aggregate_id_of
from infra import keys
from infra.command_log import envelope_for, find_status, queue_known
from infra.errors import Unavailable, translated
from infra.metrics import GATEWAY_REJECTED, UNKNOWN, command_label, gateway_accepted

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

Authorizer = Callable[[Request], Awaitable[Principal | None]]


def accepted(command_id: str, created: dict[str, str]) -> Response:
    """`created` names the ids the command creates (e.g. `order_id`), the same on a repeat."""
    return ok(202, command_id=command_id, status="accepted", **created)


def command_endpoint(
    specs: dict[str, CommandSpec], authorize: Authorizer = authenticate
) -> Callable[[Request], Awaitable[Response]]:
    """The `/command` route over a table of commands; `authorize`'s refusals come before any
    other error."""
    known_names = sorted(specs)

    async def post_command(request: Request) -> Response:
        seen = _Seen()
        try:
            return await _post(request, seen)
        except ApiError as error:
            _rejected(seen.command, error.code)
            raise
        except Unavailable:
            _rejected(seen.command, "unavailable")
            raise

    async def _post(request: Request, seen: "_Seen") -> Response:
        state = state_of(request)
        principal = await authorize(request)
        body, doc = await read_json_body(request, state.settings.max_body_bytes)
        if not isinstance(doc, dict) or not isinstance(doc.get("command"), str):
            raise ApiError(400, "malformed_json", 'send an object with a string "command"')
        spec = specs.get(doc["command"])
        if spec is None:
            raise ApiError(
                400, "unknown_command", f"no command {doc['command']!r}", known=known_names
            )
        seen.command = spec.name
        _authorise(spec, principal)
        command_id = _command_id(doc.get("command_id"))
        reply_to = _reply_to(doc.get("reply_to"))
        payload = _payload(spec, doc.get("payload"))

        idempotency_key = request.headers.get("idempotency-key")
        key_seen = False
        if idempotency_key is not None:
            command_id, key_seen = await _claim_idempotency_key(
                state, principal, idempotency_key, body, command_id
            )
        new_id = spec.new_id.make(state.settings, payload, command_id) if spec.new_id else ""
        created = {spec.new_id.field: new_id} if spec.new_id else {}
        # A repeat by its key answers the first acceptance without building (and hashing)
        # anything again. A repeat by its command id alone is found known by the append:
        # looking it up first would cost every such command a round trip more.
        if key_seen and await _known(state, command_id):
            return accepted(command_id, created)

        command = await spec.build(Call(state, payload, principal, command_id, new_id))
        envelope = envelope_for(
            settings=state.settings,
            command=command,
            aggregate_id=aggregate_id_of(command),
            command_id=command_id,
            actor=principal.user_id if principal else None,
            # The roles the gateway accepted the command under: the domain decides on them.
            actor_roles=tuple(sorted(principal.roles)) if principal else (),
            reply_to=reply_to,
        )
        client_named = doc.get("command_id") is not None
        if await state.committer.submit(envelope, client_named=client_named):
            _accepted(spec.name)
        return accepted(command_id, created)

    return post_command


class _Seen:
    """What the request named so far: labels the rejection counter when it fails midway."""

    __slots__ = ("command",)

    def __init__(self) -> None:
        self.command = UNKNOWN


async def _known(state: AppState, command_id: str) -> bool:
    """Whether a command of this id was accepted before, in any partition: a read shared with
    concurrent requests' lookups."""
    replies = await state.reader.read(
        partial(queue_known, settings=state.settings, command_id=command_id)
    )
    return any(replies)


def _accepted(command: str) -> None:
    gateway_accepted(command).inc()


def _rejected(command: str, code: str) -> None:
    GATEWAY_REJECTED.labels(command_label(command), code).inc()


async def get_command(request: Request) -> Response:
    state = state_of(request)
    principal = await authenticate(request)
    command_id = request.path_params["command_id"]
    status = None
    if len(command_id) <= 64:
        status = await find_status(state.redis, state.settings, command_id)
    visible = status is not None and (
        status.actor is None
        or (principal is not None and (principal.user_id == status.actor or principal.is_admin))
    )
    if status is None or not visible:
        # A command of someone else's is reported as unknown: its existence is not ours to tell.
        raise ApiError(404, "not_found", f"no command {command_id}")
    return ok(**status.to_json())


def _authorise(spec: CommandSpec, principal: Principal | None) -> None:
    if spec.roles is None:
        return
    if principal is None:
        raise ApiError(401, "unauthenticated", f"{spec.name} needs a session: log in first")
    if spec.roles and not holds_one_of(principal.roles, spec.roles) and not principal.is_admin:
        raise ApiError(403, "forbidden", f"your roles do not allow {spec.name}")


def _command_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _bad_command_id()
    except ValueError:
        return _bad_command_id()


def _bad_command_id() -> str:
    raise ApiError(422, "invalid_payload", "command_id must be a UUID", path="$.command_id")


def _reply_to(value: Any) -> str | None:
    if value is None:
        return None
    if not is_reply_to(value):
        message = "reply_to must be the token of a relay connection's welcome frame"
        raise ApiError(422, "invalid_payload", message, path="$.reply_to")
    return value


def _payload(spec: CommandSpec, value: Any) -> Payload:
    if value is None:
        value = {}
    try:
        return msgspec.convert(value, spec.request)
    except msgspec.ValidationError as error:
        raise invalid_payload(error, "$.payload") from None


async def _claim_idempotency_key(
    state: AppState, principal: Principal | None, key: str, body: bytes, command_id: str
) -> tuple[str, bool]:
    """The command id this key stands for (the given one when the key is new, the first one's
    when not), and whether the key was seen before."""
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    scope = principal.user_id if principal else "anonymous"
    fingerprint = hashlib.sha256(body).hexdigest()
    redis_key = keys.idempotency(scope, hashlib.sha256(key.encode()).hexdigest())
    async with translated():
        created = await state.redis.set(
            redis_key,
            f"{fingerprint}|{command_id}",
            nx=True,
            ex=state.settings.idempotency_ttl_seconds,
        )
        stored: bytes | None = None if created else await state.redis.get(redis_key)
    if stored is None:
        return command_id, False
    first_fingerprint, _, first_command_id = stored.decode().partition("|")
    if first_fingerprint != fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            "this Idempotency-Key was used with a different body",
        )
    return first_command_id, True
