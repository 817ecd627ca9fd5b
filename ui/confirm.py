"""A question before an action that cannot be undone."""
from __future__ import annotations

from nicegui import ui


async def confirm(question: str, detail: str, action: str) -> bool:
    """Ask in a dialog; True when the creator chose `action`, False on Cancel, Esc or a click outside."""
    with ui.dialog() as dialog, ui.card().classes('ds-dialog gap-3').mark('confirm-dialog'):
        ui.label(question).classes('text-base font-medium')
        ui.label(detail).classes('ds-hint')
        with ui.row().classes('w-full justify-end gap-2'):
            ui.button('Cancel', on_click=lambda: dialog.submit(False)).props('flat no-caps').mark('confirm-cancel')
            ui.button(action, on_click=lambda: dialog.submit(True)).props('unelevated no-caps color=negative') \
                .mark('confirm-action')
    try:
        return bool(await dialog)
    finally:
        dialog.delete()
