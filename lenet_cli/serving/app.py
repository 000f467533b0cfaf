"""The HTTP app of ``lenet serve`` (FastAPI): predictions as JSON, the model card, the draw-a-digit page.

Every failure is a JSON ``{"error": ...}`` with a status that says whose fault it was
(400 empty, 413 too large, 415 not an image, 500 a bug, logged without the traceback
reaching the client); the server keeps serving.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect

from .. import __version__
from ..errors import DataFormatError, ImageTooLarge, LenetError
from .service import BadRequest, Service, Upload, load_service

__all__ = ["create_app", "app_from_settings", "DEFAULT_MAX_BYTES", "MAX_FILES"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # one request's body
MAX_FILES = 256  # images in one multipart request
_log = logging.getLogger("lenet.serve")


class RequestTooLarge(BadRequest):
    """A request body over the server's limit (HTTP 413)."""


class ClientGone(BadRequest):
    """The client closed the connection before its upload ended: nobody is left to answer (HTTP 400)."""


# The project's errors as HTTP statuses, most specific first; any other LenetError is the client's (400).
_STATUS = ((RequestTooLarge, 413), (ImageTooLarge, 413), (BadRequest, 400), (DataFormatError, 415))


def create_app(service: Service, max_bytes: int = DEFAULT_MAX_BYTES) -> FastAPI:
    """The app answering with ``service``; request bodies over ``max_bytes`` are refused (413)."""
    app = FastAPI(title="lenet", version=__version__, summary="LeNet predictions over HTTP",
                  description="`POST /predict` takes images (multipart or a raw body) and answers with the "
                              "fields of `lenet predict --json`.")
    page = resources.files("lenet_cli.serving").joinpath("page.html").read_text(encoding="utf-8")
    _add_error_handlers(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz", summary="Liveness: 200 while the server answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/model", summary="The model served: name, classes, recorded test accuracy, input size")
    def model() -> dict[str, Any]:
        return service.model_card()

    # Reading images is Python and NumPy holding the GIL: threads would only queue for it, and a thread pool
    # answered fewer requests than the event loop does (docs/benchmarks.md). More cores: --workers.
    @app.post("/predict", summary="Classes of one or more images (multipart files or one raw image body)",
              response_class=JSONResponse)
    async def predict(request: Request, number: bool = False, topk: int = 3) -> JSONResponse:
        uploads = await _uploads(request, max_bytes)
        found = service.read_numbers(uploads) if number else service.predict(uploads, max(1, topk))
        return JSONResponse({"predictions": found})  # plain JSON: FastAPI's encoder would walk every value again

    @app.post("/inspect", summary="One image: every class's probability, what the model saw, C1 and C3 maps",
              response_class=JSONResponse)
    async def inspect(request: Request) -> JSONResponse:
        uploads = await _uploads(request, max_bytes)
        # In a thread: the first call loads PyTorch (seconds), and the server keeps answering meanwhile.
        return JSONResponse(await run_in_threadpool(service.look_inside, uploads[0]))

    return app


def app_from_settings(settings: dict[str, Any]) -> FastAPI:
    """The app of one worker process of ``lenet serve --workers N``: checkpoint, preprocess, project, device,
    max_bytes."""
    service = load_service(settings["checkpoint"], settings["preprocess"], settings["project"], settings["device"])
    return create_app(service, settings["max_bytes"])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure as ``{"error": ...}``; nothing a client sends can take the server down."""

    @app.exception_handler(LenetError)
    async def lenet_error(_request: Request, exc: LenetError) -> JSONResponse:
        return _error(next((status for kind, status in _STATUS if isinstance(exc, kind)), 400), str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        _log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _error(500, "internal error (a bug); the server logged it and keeps serving")


async def _uploads(request: Request, max_bytes: int) -> list[Upload]:
    """The images in a request: every file of a multipart form, or the whole body as one image."""
    body = await _read_body(request, max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return [Upload("upload", body)]

    async def once() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(request.headers, once(), max_files=MAX_FILES, max_part_size=max_bytes).parse()
    except Exception as exc:  # noqa: BLE001 - python-multipart's errors differ by version; all mean a bad form
        raise BadRequest(f"not a readable multipart form ({exc})") from None
    files = [value for _, value in form.multi_items() if not isinstance(value, str)]
    if not files:
        raise BadRequest("the form holds no file; send images as file fields (e.g. curl -F file=@digit.png)")
    return [Upload(f.filename or "upload", await f.read()) for f in files]


# A refused body up to this many times the limit is still read (and dropped) before the 413 goes out:
# clients that send the whole body before reading the answer (urllib, requests) then get the 413, not a
# broken pipe. A larger one is not read at all.
_DRAIN_FACTOR = 4


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The request body; one over ``max_bytes`` is refused (RequestTooLarge), and only the first
    ``max_bytes`` of it is ever kept."""
    declared = request.headers.get("content-length", "")
    declared_size = int(declared) if declared.isdigit() else None
    chunks, size = [], 0
    if declared_size is None or declared_size <= _DRAIN_FACTOR * max_bytes:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size <= max_bytes:
                    chunks.append(chunk)
                elif size > _DRAIN_FACTOR * max_bytes:
                    break
        except ClientDisconnect:
            # A closed tab, a dropped phone connection: the client's doing, not a fault of the server.
            _log.debug("client went away during its upload to %s after %d bytes", request.url.path, size)
            raise ClientGone("the client closed the connection before its upload ended") from None
    if declared_size is not None and declared_size > max_bytes:
        raise RequestTooLarge(f"request body of {declared_size:,} bytes is over the limit of {max_bytes:,}")
    if size > max_bytes:
        raise RequestTooLarge(f"request body is over the limit of {max_bytes:,} bytes")
    return b"".join(chunks)
