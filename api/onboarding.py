"""Scope's onboarding status, kept by the server so the onboarding shows once, not on every visit."""
from __future__ import annotations

from fastapi import APIRouter

from services.onboarding import OnboardingChange, OnboardingStatus

from .context import Context

router = APIRouter(prefix='/api/v1/onboarding', tags=['onboarding'])


@router.get('/status')
def onboarding_status(context: Context) -> OnboardingStatus:
    """Whether onboarding is done, and what was chosen on the way."""
    return context.onboarding.status()


@router.put('/status')
def update_onboarding_status(change: OnboardingChange, context: Context) -> OnboardingStatus:
    """Change some of the fields (the others stay)."""
    return context.onboarding.update(change)
