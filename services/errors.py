"""Domain errors of the services; `api/` turns them into HTTP answers, `ui/` into notifications."""
from __future__ import annotations


class ServiceError(Exception):
    """Something the caller asked for cannot be done; the text says why and what to do instead."""

    status = 400  # the HTTP status `api/` answers with
    retry_after: float | None = None  # seconds after which asking again may work (a `Retry-After` header)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    """A request whose values do not fit (a bad name, an unknown choice)."""


class Unprocessable(ServiceError):
    """A well-formed request whose values cannot be used (invalid parameters or load parameters)."""

    status = 422


class NotFound(ServiceError):
    """Something the request names does not exist (any more)."""

    status = 404


class Forbidden(ServiceError):
    """The request lacks the token or role it needs."""

    status = 403


class Conflict(ServiceError):
    """The request clashes with what is going on (a file that exists, a download that runs)."""

    status = 409


class TooLarge(ServiceError):
    """An upload over the size limit."""

    status = 413


class LimitReached(ServiceError):
    """The server already runs as many sessions or peers as it may."""

    status = 429


class NotReady(ServiceError):
    """The server cannot do it yet (no pipeline loaded)."""


class UnsupportedMediaType(ServiceError):
    """A body of the wrong content type (WHIP and WHEP take `application/sdp`)."""

    status = 415


class PreconditionFailed(ServiceError):
    """A conditional request whose condition does not hold (a WHIP `If-Match` naming another ICE session)."""

    status = 412


class NotYet(NotFound):
    """Something that will exist shortly (a stream's first output frame): ask again after `retry_after` seconds."""

    retry_after = 1.0


class Unavailable(ServiceError):
    """Something this server does not have (a DMX listener, a cloud to connect to)."""

    status = 503
