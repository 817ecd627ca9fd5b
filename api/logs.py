"""Scope's log endpoints: the latest lines of the server log (its log panel polls `tail` every two seconds)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from .context import Context

router = APIRouter(prefix='/api/v1/logs', tags=['logs'])


class LogTail(BaseModel):
    """Log lines, and the position to ask from next time."""

    lines: list[str]
    offset: int


@router.get('/tail')
def tail(context: Context, lines: Annotated[int, Query(ge=1, le=1000)] = 200,
         since_offset: Annotated[int, Query(ge=0, description='the `offset` of the previous answer')] = 0) -> LogTail:
    """The last `lines` lines, or only those after `since_offset`."""
    found, offset = context.logbook.tail(lines, since_offset)
    return LogTail(lines=found, offset=offset)


@router.get('/current', response_class=PlainTextResponse)
def current(context: Context) -> PlainTextResponse:
    """The log lines the server keeps (the latest few thousand), as a text file to attach to a bug report."""
    return PlainTextResponse(context.logbook.text(),
                             headers={'Content-Disposition': 'attachment; filename="dreamstage-log.txt"'})
