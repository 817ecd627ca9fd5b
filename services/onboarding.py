"""The onboarding of Scope's web app, remembered by the server (so it does not come back on every visit)."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from .json_files import JsonFile


class OnboardingStatus(BaseModel):
    """Whether onboarding is done, and what the user chose on the way."""

    completed: bool = False
    inference_mode: str | None = None
    onboarding_style: str | None = None
    referral_source: str | None = None
    use_case: str | None = None


class OnboardingChange(BaseModel):
    """A partial update: only the fields given change."""

    completed: bool | None = None
    inference_mode: str | None = None
    onboarding_style: str | None = None
    referral_source: str | None = None
    use_case: str | None = None


class OnboardingStore:
    """`onboarding.json` in the server's settings folder."""

    def __init__(self, folder: Path) -> None:
        self.file = JsonFile(folder / 'onboarding.json')

    def status(self) -> OnboardingStatus:
        """The stored status (not completed when nothing usable is stored)."""
        data = self.file.read()
        try:
            fields = {key: value for key, value in data.items() if key in OnboardingStatus.model_fields}
            return OnboardingStatus.model_validate(fields)
        except ValidationError:
            return OnboardingStatus()

    def update(self, change: OnboardingChange) -> OnboardingStatus:
        """Merge the given fields into the stored status."""
        current = self.status().model_dump()
        self.file.write({**current, **change.model_dump(exclude_none=True)})
        return self.status()
