"""Task arguments are validated by pydantic from each task's type hints, before its body runs."""
from __future__ import annotations

from typing import Any

import pytest

from app.platform.arguments import InvalidTaskArguments, NonNegativeInt, PositiveId, validating


def test_every_switchyard_task_validates_its_arguments(celery_app: Any) -> None:
    ours = [t for name, t in celery_app.tasks.items() if not name.startswith("celery.")]
    assert len(ours) > 20
    assert all("_unwrapped_run" in type(t).__dict__ for t in ours), [t.name for t in ours
                                                                      if "_unwrapped_run" not in type(t).__dict__]


def test_the_send_time_signature_check_still_sees_the_task_function(celery_app: Any) -> None:
    with pytest.raises(TypeError, match="positional argument"):
        celery_app.tasks["farcaster.backfill_fid"].apply_async(args=[1, 2, 3])  # refused before publishing


def sample(self: Any, fid: PositiveId, chunk: NonNegativeInt = 0, root: bool = False) -> tuple[int, int, bool]:
    return fid, chunk, root


def test_json_shapes_are_accepted_and_converted_as_before() -> None:
    run = validating(sample, "sample", bound=True)
    assert run(None, 7) == (7, 0, False)
    assert run(None, "7", chunk=3, root=True) == (7, 3, True)  # a fid typed on a command line


@pytest.mark.parametrize("args, kwargs, message", [
    ((None, True), {}, "fid: Input should be a valid integer, got True"),
    ((None, 0), {}, "fid: Input should be greater than or equal to 1, got 0"),
    ((None, 1), {"chunk": -1}, "chunk: Input should be greater than or equal to 0, got -1"),
    ((None, 1), {"root": "yes"}, "root: Input should be a valid boolean, got 'yes'"),
    ((None,), {}, "fid: Missing required argument"),
    ((None, 1), {"fids": [1]}, "fids: Unexpected keyword argument"),
])
def test_bad_arguments_name_the_field(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidTaskArguments, match="^invalid arguments for sample: ") as caught:
        validating(sample, "sample", bound=True)(*args, **kwargs)
    assert message in str(caught.value)
    assert caught.value.permanent
