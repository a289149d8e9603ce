"""Task argument validation by pydantic: a task's type hints are its argument schema.

Arguments arrive JSON-decoded, so validation is strict (no "yes" for true, no true for 1):
a type that accepts more says so in its annotation (see PositiveId). A bad argument raises
InvalidTaskArguments naming every bad field; the retry policy never retries it.
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, ValidationError, validate_call


class InvalidTaskArguments(ValueError):
    """A task was sent arguments it cannot work with; the message names each bad field."""

    permanent = True  # the same arguments fail the same way on every attempt

    def __init__(self, message: str, fields: tuple[tuple[str, str], ...] = ()) -> None:
        # The message alone rebuilds it: Celery re-creates a task's exception from its args.
        super().__init__(message)
        self.fields = fields

    @classmethod
    def naming(cls, task_name: str, fields: list[tuple[str, str]]) -> "InvalidTaskArguments":
        return cls(f"invalid arguments for {task_name}: " + "; ".join(f"{name}: {problem}" for name, problem in fields),
                   tuple(fields))


def _digits_as_int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
# Ids typed on a command line arrive as digit strings.
PositiveId = Annotated[int, BeforeValidator(_digits_as_int), Field(ge=1)]



def must_match(pattern: str | re.Pattern[str], description: str) -> AfterValidator:
    """For ``Annotated[str, must_match(...)]``: a string that does not match ``pattern`` "must be <description>"."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"must be {description}")
        return value

    return AfterValidator(check)


HttpURL = Annotated[str, must_match(r"^https?://", "an http(s) URL")]

_CONFIG = ConfigDict(strict=True, arbitrary_types_allowed=True)


def validating(fun: Callable[..., Any], task_name: str, *, bound: bool) -> Callable[..., Any]:
    """``fun`` with its arguments validated against its type hints first (``self`` is not validated)."""
    names = list(inspect.signature(fun).parameters)

    def arguments(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return args, kwargs

    functools.update_wrapper(arguments, fun)
    validate = validate_call(config=_CONFIG)(arguments)

    @functools.wraps(fun)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            args, kwargs = validate(*args, **kwargs)
        except ValidationError as exc:
            raise InvalidTaskArguments.naming(task_name, [_field(error, names, bound) for error in exc.errors()]) from None
        return fun(*args, **kwargs)

    return run


def _field(error: Any, names: list[str], bound: bool) -> tuple[str, str]:
    loc = list(error["loc"])
    if loc and isinstance(loc[0], int):
        loc[0] = names[loc[0]] if loc[0] < len(names) else f"argument {loc[0] + (0 if bound else 1)}"
    problem = error["msg"].removeprefix("Value error, ")
    if error["type"] not in ("missing_argument", "unexpected_keyword_argument", "unexpected_positional_argument"):
        problem += f", got {error['input']!r}"
    return ".".join(map(str, loc)) or "arguments", problem
