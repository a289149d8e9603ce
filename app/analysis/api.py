"""The analysis HTTP API (FastAPI): submit analyses, read their status, check queue health.

Run it with `switchyard api`. Routes:
  POST /v1/analyze            202 {jobId, status, timestamp}; 400 names the failing fields
  GET  /v1/analyze/{jobId}    the job's status, progress, attempts, result or error; 404 if unknown
  GET  /queue/health          per-queue counts, broker and database reachability; 503 when unhealthy
  GET  /openapi.json, /docs   the OpenAPI document and its viewer (no token needed)
Every other route requires `Authorization: Bearer <ANALYSIS_API_TOKEN>` when that setting is set.
The Farcaster read API (app.farcaster.read_api) is mounted under /v1/farcaster/ with its own auth.
"""
from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.analysis import store
from app.analysis.body_limit import BodySizeLimit
from app.analysis.health import queue_health
from app.analysis.request import InvalidRequestError, parse_request
from app.analysis.schemas import Accepted, AnalyzeBody, ErrorBody, FieldError, Health, JobView
from app.analysis.submission import BrokerUnavailableError, submit
from app.farcaster import read_api
from app.settings import Settings, get_settings

MAX_BODY_BYTES = 64 * 1024
JOB_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"  # Celery task ids (UUIDs) and then some
API_FIELDS = {"tool_id": "toolId", "request": "body"}  # domain field names -> the API's
ERROR = {"model": ErrorBody}


class ApiError(Exception):
    def __init__(self, status: int, error: str, fields: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers
        self.fields = [FieldError(**f) for f in fields or []]


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header")]
    return ".".join(parts) or "body"


def _require_token(settings: Settings):  # type: ignore[no-untyped-def]
    bearer = HTTPBearer(auto_error=False, scheme_name="AnalysisToken", description="ANALYSIS_API_TOKEN")

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        token = settings.analysis_api_token
        if token is None:
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    return check


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Switchyard API", version="1.0.0",
                  description="Queue analyses of tools' web pages by priority and read their results; "
                              "read the indexed Farcaster data under /v1/farcaster/.")
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    # Without a token the routes carry no security dependency, so the document declares none.
    authorized = [Depends(_require_token(settings))] if settings.analysis_api_token else []
    unauthorized: dict[int | str, dict[str, Any]] = {401: ERROR} if settings.analysis_api_token else {}
    v1 = APIRouter(prefix="/v1", dependencies=authorized, tags=["analysis"], responses=unauthorized)

    @v1.post("/analyze", status_code=202, response_model=Accepted,
             responses={400: ERROR, 413: ERROR, 503: ERROR}, summary="Queue an analysis")
    def post_analyze(body: AnalyzeBody) -> JSONResponse:
        given = body.model_dump(exclude_unset=True)
        try:
            request = parse_request({"tool_id": body.toolId, "url": given.get("url"),
                                     "description": given.get("description"), "priority": body.priority},
                                    allow_private=settings.analysis_allow_private_addresses)
        except InvalidRequestError as exc:
            raise ApiError(400, "invalid request", [{"field": API_FIELDS.get(name, name), "message": problem}
                                                    for name, problem in exc.fields]) from None
        try:
            record = submit(request)
        except BrokerUnavailableError as exc:
            raise ApiError(503, str(exc)) from None
        accepted = Accepted(jobId=record["id"], status=record["status"], timestamp=record["created_at"])
        return JSONResponse(accepted.model_dump(mode="json"), status_code=202,
                            headers={"Location": f"/v1/analyze/{record['id']}"})

    @v1.get("/analyze/{jobId}", response_model=JobView, responses={400: ERROR, 404: ERROR, 503: ERROR},
            summary="An analysis job's status, progress and result")
    def get_analyze(jobId: Annotated[str, Path(pattern=JOB_ID_PATTERN)]) -> JobView:  # noqa: N803 - the API name
        record = store.get(jobId)
        if record is None:
            raise ApiError(404, f"no analysis job {jobId!r}")
        return JobView.from_record(record)

    @app.get("/queue/health", response_model=Health, dependencies=authorized, tags=["operations"],
             responses={**unauthorized, 503: {"model": Health}}, summary="Queue counts and dependency health")
    def get_health() -> JSONResponse:
        report = Health.model_validate(queue_health(settings))
        return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.status == "healthy" else 503)

    app.include_router(v1)
    read_api.install(app, settings)
    _install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = ErrorBody(error=exc.error, fields=exc.fields).model_dump()
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes, wrong methods, oversized bodies: the same error shape as everything else.
        return JSONResponse(ErrorBody(error=str(exc.detail)).model_dump(), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated and not isinstance(exc, (OperationalError, InterfaceError)):
            raise exc  # a bug, not an outage: let it be a 500 with a logged traceback
        return JSONResponse(ErrorBody(error="the database is unavailable").model_dump(), status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [FieldError(field="body" if e.get("type") == "json_invalid" else _field_name(e.get("loc", ())),
                             message=str(e.get("msg", "invalid"))) for e in exc.errors()]
        return JSONResponse(ErrorBody(error="invalid request", fields=fields).model_dump(), status_code=400)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with its 422 responses removed: this API answers 400 for invalid input."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
