"""What an analysis request is, validated the same way for the API, the task and the CLI."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.analysis.url_safety import MAX_URL_LENGTH, UnsafeURLError, check_url

Priority = Literal["low", "normal", "high"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high")

# Redis priority steps (app.platform.celeryconfig.PRIORITY_STEPS): 0 is served first.
BROKER_PRIORITY: dict[str, int] = {"high": 0, "normal": 3, "low": 6}

TOOL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
MAX_DESCRIPTION = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and newlines are fine


class InvalidRequestError(ValueError):
    """An analysis request failed validation; the message names each bad field."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields  # (field, problem); "request" for rules spanning fields
        super().__init__("invalid analysis request: " + "; ".join(f"{name}: {problem}" for name, problem in fields))


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tool_id: str = Field(pattern=TOOL_ID_PATTERN)
    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    priority: Priority = "normal"

    @field_validator("description")
    @classmethod
    def _printable_description(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters (NUL, ...)")
        return value.strip() or None  # blank: as if not given

    @model_validator(mode="after")
    def _something_to_analyse(self) -> "AnalysisRequest":
        if self.url is None and self.description is None:
            raise ValueError("give a url or a description to analyse")
        return self

    def checked(self, *, allow_private: bool) -> "AnalysisRequest":
        """This request with its URL checked against the address policy (InvalidRequestError if refused)."""
        if self.url is None:
            return self
        try:
            return self.model_copy(update={"url": check_url(self.url, allow_private=allow_private)})
        except UnsafeURLError as exc:
            raise InvalidRequestError([("url", str(exc))]) from None


def parse_request(data: dict[str, object], *, allow_private: bool) -> AnalysisRequest:
    """Validate raw fields (task kwargs, CLI args, API bodies); InvalidRequestError names every problem."""
    try:
        request = AnalysisRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError([(".".join(map(str, e["loc"])) or "request", e["msg"].removeprefix("Value error, "))
                                   for e in exc.errors()]) from None
    return request.checked(allow_private=allow_private)
