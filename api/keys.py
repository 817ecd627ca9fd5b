"""Scope's key management: which access keys are set; setting and removing stored ones (never reading them back)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.keys import ApiKeyInfo

from .context import Context

router = APIRouter(prefix='/api/v1/keys', tags=['keys'])


class ApiKeyList(BaseModel):
    """Every service a key can be set for."""

    keys: list[ApiKeyInfo]


class ApiKeyValue(BaseModel):
    """A key to store."""

    value: str = Field(max_length=4096)


class ApiKeyAnswer(BaseModel):
    """The answer to setting or removing a key."""

    success: bool
    message: str


@router.get('')
def list_keys(context: Context) -> ApiKeyList:
    """Whether each key is set, and whether it comes from the environment or was stored here."""
    return ApiKeyList(keys=context.keys.infos())


@router.put('/{service_id}')
def set_key(service_id: str, body: ApiKeyValue, context: Context) -> ApiKeyAnswer:
    """Store a key (in a file only the server's user can read); 409 while an environment variable sets it."""
    return ApiKeyAnswer(success=True, message=context.keys.set(service_id, body.value))


@router.delete('/{service_id}')
def delete_key(service_id: str, context: Context) -> ApiKeyAnswer:
    """Remove a stored key; 409 when it comes from the environment, 404 when none is stored."""
    return ApiKeyAnswer(success=True, message=context.keys.delete(service_id))
