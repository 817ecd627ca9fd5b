"""The access keys Scope's app manages (Hugging Face, CivitAI): from the environment, or stored by the server in a
file only its user can read. A key is never sent back; the listing says whether one is set and where it comes from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from .errors import Conflict, InvalidRequest, NotFound
from .json_files import JsonFile

MAX_KEY_LENGTH = 4096
Source = Literal['env_var', 'stored']


@dataclass(frozen=True, slots=True)
class KeyService:
    """A service a key is for."""

    id: str
    name: str
    description: str
    env_var: str
    key_url: str


SERVICES = (
    KeyService('huggingface', 'HuggingFace', 'Required for downloading gated models', 'HF_TOKEN',
               'https://huggingface.co/settings/tokens'),
    KeyService('civitai', 'CivitAI', 'Required for downloading LoRAs from CivitAI', 'CIVITAI_API_TOKEN',
               'https://civitai.com/user/account'),
)


class ApiKeyInfo(BaseModel):
    """One key's state, in Scope's shape (the key itself is never included)."""

    id: str
    name: str
    description: str
    is_set: bool
    source: Source | None
    env_var: str | None
    key_url: str | None


class KeyStore:
    """Keys by service: an environment variable wins; otherwise the one stored in `keys.json` (mode 0600)."""

    def __init__(self, folder: Path, environment: dict[str, str | None]) -> None:
        self.file = JsonFile(folder / 'keys.json', private=True)
        self.environment = {name: value for name, value in environment.items() if value}

    def token(self, service_id: str) -> str | None:
        """The key to use for a service, if any."""
        service = self._service(service_id)
        return self.environment.get(service.env_var) or self._stored().get(service.id)

    def infos(self) -> list[ApiKeyInfo]:
        """Every service with whether its key is set and where it comes from."""
        return [ApiKeyInfo(id=s.id, name=s.name, description=s.description, is_set=self.source(s.id) is not None,
                           source=self.source(s.id), env_var=s.env_var, key_url=s.key_url) for s in SERVICES]

    def source(self, service_id: str) -> Source | None:
        service = self._service(service_id)
        if service.env_var in self.environment:
            return 'env_var'
        return 'stored' if service.id in self._stored() else None

    def set(self, service_id: str, value: str) -> str:
        """Store a key (Conflict while the environment sets it); returns a message."""
        service = self._service(service_id)
        value = value.strip()
        if not value or len(value) > MAX_KEY_LENGTH or any(ord(c) < 33 for c in value):
            raise InvalidRequest('A key is one word of at most 4096 printable characters')
        if service.env_var in self.environment:
            raise Conflict(f'{service.env_var} environment variable is already set. Remove it to manage this key '
                           'from the UI.')
        self.file.write({**self._stored(), service.id: value})
        return f'{service.name} token saved'

    def delete(self, service_id: str) -> str:
        """Forget a stored key (Conflict when it comes from the environment, NotFound when none is stored)."""
        service = self._service(service_id)
        if service.env_var in self.environment:
            raise Conflict(f'Cannot remove token set via {service.env_var} environment variable. Unset the '
                           'environment variable instead.')
        stored = self._stored()
        if service.id not in stored:
            raise NotFound(f'No {service.name} token to remove')
        del stored[service.id]
        self.file.write(stored)
        return f'{service.name} token removed'

    def _stored(self) -> dict[str, str]:
        return {key: value for key, value in self.file.read().items() if isinstance(value, str) and value}

    @staticmethod
    def _service(service_id: str) -> KeyService:
        for service in SERVICES:
            if service.id == service_id:
                return service
        raise NotFound(f'Unknown service: {service_id}')
