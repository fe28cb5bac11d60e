"""The FastAPI application: thin routes over `kvqae.ask.Answerer`, built by `create_app(answerer)`.

Routes: `POST /api/ask`, `GET /api/entities/{id}`, `GET /api/entities/{id}/image`, `GET /api/examples`,
`GET /api/examples/{id}/image`, `GET /health`, the page at `/` (static files in `static/`), OpenAPI at
`/docs`. Every error is JSON `{"error": {"status", "field", "message"}}`. Files are looked up by entity or
example id only; no path from a request is ever opened.

Concurrency: routes are plain `def`, so FastAPI runs them in its thread pool; the Answerer serialises model
calls with one lock (see `Answerer`), while upload reading and image decoding run outside it.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from kvqae.ask.answer import MAX_QUESTION_CHARS, Answerer
from kvqae.ask.gallery import pick_examples
from kvqae.ask.images import MAX_UPLOAD_BYTES, decode_image
from kvqae.errors import InputError, RepeatedFieldError, TooLargeError, UnsupportedInputError
from kvqae.serve import schemas

STATIC_DIR = Path(__file__).parent / "static"
N_EXAMPLES = 8
# multipart framing and the question field on top of the largest allowed image
BODY_OVERHEAD = 64 * 1024
# the longest wait for the next piece of a request body (a 10 MB photo on a slow line sends far faster)
BODY_STALL_SECONDS = 60.0
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
ASK_FIELDS = ("question", "image", "top_k")  # the fields of the `POST /api/ask` form


def entity_image_url(entity_id: str) -> str:
    return f"/api/entities/{quote(entity_id, safe='')}/image"


def error_response(status: int, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "field": field, "message": message}}, status_code=status,
                        headers=headers)


# what an unknown path's 404 points to (it said only "Not Found")
ROUTES_HINT = ("the service serves the page at /, POST /api/ask, GET /api/examples, GET /api/entities/{id}, "
               "GET /health and its API docs at /docs")


def input_error_status(err: InputError) -> int:
    if isinstance(err, TooLargeError):
        return 413
    if isinstance(err, UnsupportedInputError):
        return 415
    if isinstance(err, RepeatedFieldError):
        return 422
    # a photo's problems are a bad request; a form field's value (question, top_k, an unknown field) 422
    return 400 if err.field in (None, "image", "host") else 422


def bundle_questions(answerer: Answerer) -> list:
    """The questions of the bundle's evaluation split (none when the bundle names no split)."""
    if answerer.bundle.examples is None:
        return []
    from kvqae.data.questions import load_questions

    return list(load_questions(answerer.bundle.examples))


def load_examples(questions: list, answerer: Answerer) -> list:
    """The example questions shown on the page, from `questions`: with their photos when the bundle
    searches photos, else any of them (a text bundle's questions have none)."""
    return pick_examples(questions, N_EXAMPLES, with_image=bool(answerer.image_modes))


def get_answerer(request: Request) -> Answerer:
    return request.app.state.answerer


def get_examples(request: Request) -> dict[str, Any]:
    return request.app.state.examples


def get_questions(request: Request) -> dict[str, Any]:
    """Every question of the bundle's evaluation split by id (the examples' photos are looked up here)."""
    return request.app.state.questions


AnswererDep = Annotated[Answerer, Depends(get_answerer)]


async def single_ask_fields(request: Request) -> None:
    """Each field of the ask form at most once: of a repeated one FastAPI keeps one value and drops the
    others without a word. Reads the form FastAPI has already parsed (Starlette keeps it on the request)."""
    if request.query_params:  # `?top_k=-1` was ignored without a word
        name = next(iter(request.query_params.keys()))
        raise InputError(f"the ask reads no query parameters ({name[:40]!r} was given); send "
                         f"{', '.join(ASK_FIELDS)} as form fields", field=name[:40])
    form = await request.form()
    unknown = [name for name in form if name not in ASK_FIELDS]
    takes = 'the ask form takes "question", an optional "image" file and an optional "top_k"'
    if unknown and "question" not in form:  # "questoin": the missing question, and why
        raise InputError(f"is required: the form has no question, but an unknown field {unknown[0][:40]!r}; "
                         f"{takes}", field="question")
    if unknown:  # a misspelt or unsupported field was ignored without a word
        raise InputError(f"unknown form field {unknown[0][:40]!r}; {takes}", field=unknown[0][:40])
    for name in ASK_FIELDS:
        count = len(form.getlist(name))
        if count > 1:
            raise RepeatedFieldError(f"was given {count} times; it must be sent once", field=name)
    if form.get("question") == "":
        # FastAPI takes an empty form value for a missing field ("Field required"); the field was sent
        raise InputError("the question is empty", field="question")


def read_upload(upload: UploadFile) -> bytes:
    """At most MAX_UPLOAD_BYTES + 1 bytes of the upload (enough to tell it is too large)."""
    return upload.file.read(MAX_UPLOAD_BYTES + 1)


def guard_native_panics(call: Callable[[], Any]) -> Any:
    """`call()`, with a native library's panic (a pyo3 PanicException derives from BaseException, not
    Exception) turned into a RuntimeError, so the request gets the JSON 500 instead of an empty reply."""
    try:
        return call()
    except Exception:
        raise
    except BaseException as err:
        if isinstance(err, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise RuntimeError(f"{type(err).__name__}: {err}") from err


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    def on_input_error(request: Request, err: InputError) -> JSONResponse:
        return error_response(input_error_status(err), str(err), err.field)

    @app.exception_handler(StarletteHTTPException)
    def on_http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 400 and str(err.detail).startswith(("Field exceeded maximum size",
                                                                  "Part exceeded maximum size")):
            # the form parser's own limit on a text field; the only text field is the question
            return error_response(413, f"a form field is over 1 MB; the question is at most "
                                       f"{MAX_QUESTION_CHARS:,} characters", "question")
        if err.status_code == 400 and str(err.detail).startswith(("Too many fields", "Too many files")):
            # the form parser stops at 1,000 parts, before any field is read
            return error_response(400, f"the form has too many parts ({err.detail}); the ask form takes "
                                       'one "question" field and at most one "image" file')
        path = request.url.path[:100]
        if err.status_code == 405:
            # Starlette's 405 said only "Method Not Allowed" and the handler dropped its Allow header (which
            # RFC 9110 requires); the static files' 405 names none, and they take GET and HEAD
            headers = {**(err.headers or {})}
            allow = headers.setdefault("Allow", "GET, HEAD")
            return error_response(405, f"{request.method[:20]} is not allowed on {path!r}; it takes "
                                       f"{allow}", headers=headers)
        if err.status_code == 404 and err.detail == "Not Found":  # no route (or static file) at this path
            return error_response(404, f"nothing at {path!r}; {ROUTES_HINT}")
        return error_response(err.status_code, str(err.detail), headers=err.headers)

    @app.exception_handler(RequestValidationError)
    def on_validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and media not in FORM_TYPES:
            # a JSON (or text) body, or one without a Content-Type: its fields are never read, so "field
            # required" would mislead
            body = f"the request body is {media[:100]}" if media else "the request has no Content-Type"
            return error_response(
                415,
                f"{body}; send a form (multipart/form-data, or "
                'application/x-www-form-urlencoded without an image) with a "question" field',
            )
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = f'field "{field}": {first.get("msg")}' if field else str(first.get("msg"))
        if field == "image" and first.get("type") != "missing":
            # a text value (base64, a URL) or a file part without a file name is not an upload
            message = 'field "image": must be an uploaded file (a form part with a file name), not text'
        if field == "question" and first.get("type") == "string_type":
            # the only non-text value a form part can hold is a file
            message = 'field "question": must be text (a form field), not an uploaded file'
        return error_response(422, message, field)

    @app.exception_handler(Exception)
    def on_unexpected(request: Request, err: Exception) -> JSONResponse:
        return error_response(500, f"internal error: {type(err).__name__}: {err}")


def multipart_boundary(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The boundary of a multipart/form-data request's Content-Type (quotes dropped); None for another
    type or none given."""
    for name, value in headers:
        if name.lower() == b"content-type":
            media, _, params = value.partition(b";")
            if media.strip().lower() != b"multipart/form-data":
                return None
            for param in params.split(b";"):
                key, _, val = param.strip().partition(b"=")
                if key.lower() == b"boundary" and val.strip(b'"'):
                    return val.strip(b'"')
    return None


def _unclosed_form_message(opened: bool) -> str:
    """Why a multipart body never closed: it was cut off, or its parts use another boundary than the one
    its Content-Type declares (then none of them is found)."""
    if opened:
        return "the form is cut off: the multipart body ends before its closing boundary; send the whole " \
               "request again"
    return "the multipart body holds no part with the boundary its Content-Type declares; send the form " \
           "with the boundary its parts use"


class StreamedBodyLimit:
    """ASGI middleware: stop reading a request body once it passes `limit` bytes, with a 413. A chunked
    request declares no Content-Length, so the check below never saw it: a 300 MB part was read and spooled
    to disk before the image's own size check, whose 413 then named only the part's first 10 MB.

    It also watches a multipart body for its closing delimiter ("--BOUNDARY--"): a body that ends without
    one was cut off (a client's wrong Content-Length, a proxy's truncation), and the form parser read the
    parts it had, so a missing question was reported as "Field required". And a body that stops arriving
    for `stall_seconds` ends with a 408: a client that sent part of its body and then nothing held the
    connection open for good."""

    def __init__(self, app: Any, limit: int, stall_seconds: float | None = None) -> None:
        self.app, self.limit = app, limit
        self.stall_seconds = BODY_STALL_SECONDS if stall_seconds is None else stall_seconds

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        boundary = multipart_boundary(scope.get("headers", []))
        closing = b"--" + boundary + b"--" if boundary else None
        opening = b"--" + boundary if boundary else None
        tail, opened, closed, done = b"", False, False, False

        async def counted() -> dict:
            nonlocal received, tail, opened, closed, done
            if done:  # after the body, a response may wait for the client to disconnect: no limit then
                return await receive()
            try:  # a client that stops sending mid-body held its connection open for good
                message = await asyncio.wait_for(receive(), self.stall_seconds)
            except TimeoutError:
                raise HTTPException(408, f"the request body stalled: nothing arrived for "
                                         f"{self.stall_seconds:g} s; send it again") from None
            done = message["type"] != "http.request" or not message.get("more_body", False)
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > self.limit:  # an HTTPException passes FastAPI's form reading as it is
                    raise HTTPException(413, f"the request is over {self.limit / 2**20:.0f} MB; images up "
                                             f"to {MAX_UPLOAD_BYTES / 2**20:.0f} MB are accepted")
                if closing is not None and opening is not None and not closed:
                    # a delimiter opens a line (or the body) and may straddle two chunks; "--B--" inside a
                    # question's text closes nothing
                    seen = (tail or b"\n") + body
                    opened = opened or b"\n" + opening in seen
                    closed = b"\n" + closing in seen
                    tail = seen[-len(closing) - 1:]
                    if not message.get("more_body", False) and not closed:
                        raise HTTPException(400, _unclosed_form_message(opened))
            return message

        await self.app(scope, counted, send)


def limit_body_size(app: FastAPI) -> None:
    """Refuse a request whose declared body is over the upload limit before reading any of it (and, through
    `StreamedBodyLimit`, one that declares none once it has sent too much)."""
    app.add_middleware(StreamedBodyLimit, limit=MAX_UPLOAD_BYTES + BODY_OVERHEAD)

    @app.middleware("http")
    async def check_length(request: Request, call_next):
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if request.method == "POST" and encoding not in ("", "identity"):
            # the form parser read gzip bytes as text: "Field required", or "no part with the boundary"
            return error_response(415, f"a request body compressed with {encoding[:40]!r} is not accepted; "
                                       "send the form uncompressed")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES + BODY_OVERHEAD:
            # only a multipart form carries an image; an urlencoded one is all question
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            return error_response(
                413,
                f"the request is {int(length) / 2**20:.1f} MB; images up to "
                f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB are accepted",
                "image" if media == "multipart/form-data" else None,
            )
        return await call_next(request)


# the page loads its script, style and pictures from this service only (blob: the preview of a chosen
# photo); no page may frame it (clickjacking)
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def secure_responses(app: FastAPI, *, loopback_only: bool = False) -> None:
    """Headers every response carries (no type sniffing, no framing; the page's content policy), and - for a
    service bound to this machine only (`loopback_only`) - a refusal of requests naming another host, which
    a web page could send through DNS rebinding to read the service's API."""
    from urllib.parse import urlsplit

    @app.middleware("http")
    async def headers(request: Request, call_next):
        if loopback_only:
            host = urlsplit("//" + request.headers.get("host", "")).hostname or ""
            if host not in LOOPBACK_NAMES:
                return error_response(400, f"the Host header names {host[:60]!r}; this service was started "
                                           "for 127.0.0.1 / localhost only (behind a proxy that renames the "
                                           "host, start it with --host 0.0.0.0)", "host")
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path == "/":
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        return response


def create_app(answerer: Answerer, *, examples: list | None = None, loopback_only: bool = False) -> FastAPI:
    """The service over an already loaded `answerer` (models load once, before the app exists);
    `loopback_only`: it listens on this machine only, and refuses requests naming another host."""
    # /docs and /redoc from assets installed with fastapi-offline: FastAPI's own pages load Swagger UI and
    # ReDoc from a CDN, so they were blank where the service runs without internet
    app = FastAPIOffline(
        title="kvqae",
        description="Ask a visual question about a named entity; see the evidence of every retrieval mode.",
        version="0.1.0",
    )
    app.state.answerer = answerer
    questions = bundle_questions(answerer) if examples is None else list(examples)
    shown = load_examples(questions, answerer) if examples is None else questions
    app.state.examples = {q.id: q for q in shown}
    app.state.questions = {q.id: q for q in questions}
    install_error_handlers(app)
    limit_body_size(app)
    secure_responses(app, loopback_only=loopback_only)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_routes(app)
    return app


def add_routes(app: FastAPI) -> None:
    error_responses: dict[int | str, dict[str, Any]] = {
        code: {"model": schemas.ErrorResponse} for code in (400, 404, 413, 415, 422)
    }

    # HEAD too: uptime checks and `curl -I` probe with it (405 before)
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.head("/health", include_in_schema=False)
    @app.get("/health", response_model=schemas.Health)
    def health(answerer: AnswererDep) -> dict[str, Any]:
        root = answerer.root
        return {
            "status": "ok",
            "bundle": root.resolve().name if root is not None else "",
            "modes": answerer.mode_names,
            "image_modes": answerer.image_modes,
            "reader": answerer.reader is not None,
            "entities": len(answerer.kb.entities),
            "passages": len(answerer.kb.passages),
            "max_upload_mb": MAX_UPLOAD_BYTES / 2**20,
            "max_question_chars": MAX_QUESTION_CHARS,
        }

    @app.post("/api/ask", response_model=schemas.AskResponse, responses=error_responses,
              dependencies=[Depends(single_ask_fields)])
    def ask(
        answerer: AnswererDep,
        question: Annotated[str, Form(description="The question, 1-1000 characters.")],
        image: Annotated[UploadFile | None, File(description="The question photo (optional).")] = None,
        top_k: Annotated[int | None, Form(description="Passages the reader reads for this question "
                                                       "(default: the server's).")] = None,
    ) -> dict[str, Any]:
        photo = None
        if image is not None and (image.filename or image.size):
            data = read_upload(image)
            photo = decode_image(data, name=image.filename or "image")
        result = guard_native_panics(lambda: answerer.ask(question, photo, top_k=top_k))
        return result.to_dict(entity_image_url)

    @app.head("/api/entities/{entity_id:path}/image", include_in_schema=False)  # `curl -I`, link checkers
    @app.get("/api/entities/{entity_id:path}/image", responses=error_responses)
    def entity_image(entity_id: str, answerer: AnswererDep) -> FileResponse:
        kb = answerer.kb
        if not kb.has_entity(entity_id):
            raise unknown_entity(kb, entity_id, "/image")
        path = kb.image_of(entity_id)
        if path is None or not Path(path).is_file():
            raise HTTPException(404, f"entity {entity_id!r} has no image")
        return image_file(path, f"entity {entity_id!r}")

    @app.head("/api/entities/{entity_id:path}", include_in_schema=False)
    @app.get("/api/entities/{entity_id:path}", response_model=schemas.EntityDetail, responses=error_responses)
    def entity(entity_id: str, answerer: AnswererDep) -> dict[str, Any]:
        kb = answerer.kb
        if not kb.has_entity(entity_id):
            raise unknown_entity(kb, entity_id)
        has_image = kb.image_of(entity_id) is not None
        return {
            "id": entity_id,
            "title": kb.title_of(entity_id),
            "types": kb.types_of(entity_id),
            "has_image": has_image,
            "image_url": entity_image_url(entity_id) if has_image else None,
            "passages": [{"id": p, "text": kb.passage_text(p)} for p in kb.passages_of(entity_id)],
        }

    @app.head("/api/examples", include_in_schema=False)
    @app.get("/api/examples", response_model=list[schemas.Example])
    def examples(
        shown: Annotated[dict[str, Any], Depends(get_examples)], answerer: AnswererDep
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": q.id,
                "question": q.question,
                # a text-only bundle would not use the photo: its examples are asked without one
                "image_url": (f"/api/examples/{quote(q.id, safe='')}/image"
                              if q.image and answerer.image_modes else None),
                "answers": list(q.answers),
            }
            for q in shown.values()
        ]

    @app.head("/api/examples/{example_id:path}/image", include_in_schema=False)
    @app.get("/api/examples/{example_id:path}/image", responses=error_responses)
    def example_image(
        example_id: str, questions: Annotated[dict[str, Any], Depends(get_questions)]
    ) -> FileResponse:
        q = questions.get(example_id)  # any question of the split, not only the 8 the page shows
        if q is None:
            raise HTTPException(404, f"unknown example id {example_id!r}")
        if not q.image or not Path(q.image).is_file():  # a text-only example (a text bundle's questions)
            raise HTTPException(404, f"example {example_id!r} has no image")
        return image_file(q.image, f"example {example_id!r}")


def unknown_entity(kb: Any, entity_id: str, suffix: str = "") -> HTTPException:
    """The 404 of an id the KB has no entity of. A passage id (`Albert_Einstein#4`: the `id` of a fused or
    passage-level hit, whose entity is its `entity_id`) says so and names its entity's route (it said only
    "unknown entity id"); a long id is cut (a 5,000-character one came back whole)."""
    shown = entity_id if len(entity_id) <= 100 else entity_id[:100] + "..."
    if kb.has_passage(entity_id):
        owner = kb.entity_of(entity_id)
        return HTTPException(404, f"unknown entity id {shown!r}: that is a passage id (the id of a "
                                  f"passage-level or fused hit); its entity is {owner!r}: GET "
                                  f"/api/entities/{quote(owner, safe='')}{suffix}")
    return HTTPException(404, f"unknown entity id {shown!r}")


def image_media_type(path: str) -> str | None:
    """The media type of the image file at `path` from its content (PIL reads the header only), None when it
    is not an image PIL can open."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return Image.MIME.get(image.format or "")
    except (OSError, UnidentifiedImageError, ValueError):
        return None


_ONE_RANGE = re.compile(r"bytes=(\d{1,18})-(\d{1,18})?|bytes=-(\d{1,18})")


def satisfiable_range(header: str, size: int) -> bool:
    """Whether a Range header asks one byte range inside a file of `size` bytes ("bytes=0-99", "bytes=100-",
    "bytes=-50"); anything else is sent whole, as RFC 9110 lets a server do."""
    m = _ONE_RANGE.fullmatch(header.strip())
    if m is None:
        return False
    first, last, suffix = m.groups()
    if suffix is not None:
        return int(suffix) > 0 and size > 0
    return int(first) < size and (last is None or int(first) <= int(last))


class ImageFileResponse(FileResponse):
    """A picture file whose Range header is honoured only when it asks one range inside the file: Starlette
    answered a malformed or unsatisfiable one ("bytes=5-1", "items=0-1", "bytes=999999-") with a plain-text
    400 / 416 outside the API's JSON errors (session 24); now the whole picture comes back."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        ranges = [v for k, v in scope.get("headers", []) if k.lower() == b"range"]
        if ranges and not (len(ranges) == 1 and satisfiable_range(ranges[0].decode("latin-1"),
                                                                  os.stat(self.path).st_size)):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]}
        await super().__call__(scope, receive, send)


def image_file(path: str, owner: str) -> FileResponse:
    """`path` as a response when it holds an image: a KB or a question file names any path it likes, and the
    service must not hand out a file that is not a picture (a KB naming /etc/passwd as an image)."""
    media_type = image_media_type(path)
    if media_type is None:
        raise HTTPException(404, f"{owner} has no image: its image file is not one")
    # revalidated by its ETag on every use: ids such as e00000 name other pictures in another bundle or a
    # rebuilt KB served at the same address, and an hour's cache showed the old ones
    return ImageFileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})
