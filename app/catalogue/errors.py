"""The catalogue's errors. Each message says what was wrong and where, for the jobs table and the CLI."""
from __future__ import annotations


class CatalogueError(Exception):
    """Base class of every catalogue error."""


class FeedError(CatalogueError):
    """The feed could not be fetched (after retries, or a status that is not worth retrying)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url

    @property
    def permanent(self) -> bool:
        """A refusal (4xx other than 429): asking again later gets the same answer."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


class FeedTooLarge(FeedError):
    """A response exceeded its size cap: refused, never buffered whole."""


class MalformedFamily(CatalogueError):
    """A family JSON file is not valid JSON or lacks what a family needs; nothing was written."""


class MalformedCategories(CatalogueError):
    """CAT.csv lacks its header or the KEY column."""


class BadImage(CatalogueError):
    """A downloaded image is not a JPEG, PNG, GIF or WebP file."""

    permanent = True  # the same bytes next time: not retried


class CorruptImage(BadImage):
    """An image that starts like one but does not decode completely (truncated or damaged body), or
    one too large to decode safely. Retried (a cut download may come whole next time), never stored."""

    permanent = False


class MassDisableAborted(CatalogueError):
    """A supplier sync refused to deactivate too many families at once; nothing was changed."""


class InvalidArguments(CatalogueError, ValueError):
    """A task or command received arguments it cannot work with."""
