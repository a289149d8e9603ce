"""The read API's errors: an HTTP status and a message, naming the request field at fault."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.analysis.schemas import ErrorBody, FieldError


class ReadApiError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers
        self.fields = [FieldError(field=field, message=message or error)] if field else []


def not_found(error: str, field: str) -> ReadApiError:
    return ReadApiError(404, error, field)


def bad_request(field: str, message: str) -> ReadApiError:
    return ReadApiError(400, "invalid request", field, message)


def install_handler(app: FastAPI) -> None:
    @app.exception_handler(ReadApiError)
    async def read_api_error(_: Request, exc: ReadApiError) -> JSONResponse:
        return JSONResponse(ErrorBody(error=exc.error, fields=exc.fields).model_dump(), status_code=exc.status,
                            headers=exc.headers)
