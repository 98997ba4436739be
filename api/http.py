"""JSON responses, typed API errors, and request-body reading with a size limit."""

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from infra.errors import Unavailable, is_unavailable


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """An error answered to the client as `{"ok": false, "error": {...}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra

    def response(self) -> JSONResponse:
        error = {"code": self.code, "message": self.message, **self.extra}
        return JSONResponse({"ok": False, "error": error}, self.status, headers=self.headers)


def schema_message_and_path(message: str, root: str) -> tuple[str, str]:
    """msgspec says `... - at `$.email``, from the part it validated; clients see the message
    without it, and the path from the request's root (`root` when msgspec names none). A field
    missing or not taken is named by the path too, as `$.payload.email`, not only by the text
    (msgspec's path stops at the object that lacks it)."""
    text, sep, at = message.rpartition(" - at `")
    if not sep:
        text, at = message, "$"
    path = root + at.rstrip("`")[1:]
    for words in _NAMED_FIELD:
        before, found, name = text.partition(words)
        if found and not before:
            return text, f"{path}.{name.rstrip('`')}"
    return text, path


_NAMED_FIELD = ("Object missing required field `", "Object contains unknown field `")


def invalid_payload(error: Exception, root: str = "$") -> ApiError:
    """A body that fails its schema, as 422 `invalid_payload` naming the field."""
    message, path = schema_message_and_path(str(error), root)
    return ApiError(422, "invalid_payload", message, path=path)


def ok(http_status: int = 200, **body: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **body}, http_status)


async def read_json_body(request: Request, limit: int) -> tuple[bytes, Any]:
    """The raw body and its parsed JSON; refuses wrong media types and oversized bodies.

    The limit holds while reading: a body larger than `limit` is never buffered whole.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return body, orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body exceeds {limit} bytes", limit=limit)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


UNAVAILABLE = "the store cannot be reached or refuses writes for now: retry with the same id"


async def on_unavailable(request: Request, exc: Exception) -> Response:
    return ApiError(503, "unavailable", UNAVAILABLE).response()


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    return ApiError(exc.status_code, code, str(exc.detail)).response()


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # An outage that reached here untranslated is still an outage: 503, as everywhere else.
    if is_unavailable(exc):
        return await on_unavailable(request, exc)
    # The traceback is logged by the server; the client learns only that it was not its fault.
    return ApiError(500, "internal_error", "unexpected server error").response()


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Unavailable: on_unavailable,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
