"""The HTTP API's request and response bodies (they are the served OpenAPI document)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.analysis.models import AnalysisStatus
from app.analysis.request import MAX_DESCRIPTION, TOOL_ID_PATTERN, Priority
from app.analysis.url_safety import MAX_URL_LENGTH

Status = Literal["queued", "running", "retrying", "completed", "failed"]
assert set(Status.__args__) == set(AnalysisStatus.ALL)  # type: ignore[attr-defined]


class AnalyzeBody(BaseModel):
    """POST /v1/analyze. Give a url, a description, or both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"anyOf": [{"required": ["url"]}, {"required": ["description"]}]},
    )

    toolId: str = Field(pattern=TOOL_ID_PATTERN, description="Your identifier of the tool", examples=["replit"])
    # Omit optional fields rather than sending null; the schema says string.
    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s]+$",
                     description="http(s) page to fetch and analyse", examples=["https://replit.com"])
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION, pattern=r"\S",
                             description="What the tool is, in your words")
    priority: Priority = Field(default="normal", description="high runs before normal before low")

    @field_validator("url", "description", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must be a string; omit the field instead of sending null")
        return value


class Accepted(BaseModel):
    jobId: str
    status: Status
    timestamp: datetime


class Timestamps(BaseModel):
    createdAt: datetime
    startedAt: datetime | None
    finishedAt: datetime | None
    updatedAt: datetime


class JobView(BaseModel):
    jobId: str
    toolId: str
    url: str | None
    priority: Priority
    status: Status
    progress: int = Field(ge=0, le=100)
    step: str | None = Field(description="What the current attempt is doing")
    attempts: int = Field(ge=0, description="Executions started so far (network errors are retried)")
    result: dict[str, Any] | None = Field(description="The analysis, once completed: page facts, strengths, "
                                                      "limitations, useCases, maturityScore, technologies, evidence")
    error: str | None
    timestamps: Timestamps

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "JobView":
        return cls(
            jobId=record["id"], toolId=record["tool_id"], url=record["url"], priority=record["priority"],
            status=record["status"], progress=record["progress"], step=record["step"],
            attempts=record["attempts"], result=record["result"], error=record["error"],
            timestamps=Timestamps(createdAt=record["created_at"], startedAt=record["started_at"],
                                  finishedAt=record["finished_at"], updatedAt=record["updated_at"]),
        )


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    fields: list[FieldError] = Field(default_factory=list)


class Reachability(BaseModel):
    reachable: bool
    error: str | None


class QueueCounts(BaseModel):
    waiting: int | None = Field(description="Messages in the broker (null when it is unreachable)")
    waitingByPriority: dict[str, int] | None
    active: int | None
    completed: int | None
    failed: int | None
    delayed: int | None = Field(description="Failed an attempt, retry scheduled")


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    timestamp: datetime
    broker: Reachability
    database: Reachability
    queues: dict[str, QueueCounts]
    analysisJobs: dict[str, int] | None = Field(description="analysis_jobs records by status")
