"""SIGTERM ends the server cleanly: uploads in flight are cut short without a trace, viewers hear `stream_stopped`."""
from __future__ import annotations

from pathlib import Path

import httpx

from .server import RunningServer


def test_uploads_cut_short_earlier_are_removed_at_start(tmp_path: Path) -> None:
    """Partial files a killed server left in the assets and LoRA folders are gone once it is back; nothing else is."""
    leftovers = [tmp_path / 'assets' / '.upload-abc123.part', tmp_path / 'assets' / 'clips' / '.upload-x.part',
                 tmp_path / 'models' / 'lora' / 'styles' / '.upload-y.part']
    kept = [tmp_path / 'assets' / 'cat.png', tmp_path / 'assets' / 'notes.part', tmp_path / 'assets' / '.upload-z',
            tmp_path / 'models' / 'lora' / 'styles' / 'ink.safetensors']
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'data')
    server = RunningServer(pipeline='none', home=tmp_path)
    try:
        server.wait_ready(timeout=180, loaded=False)
        assert httpx.get(f'{server.url}/health').status_code == 200
        assert [path for path in leftovers if path.exists()] == []
        assert [path for path in kept if not path.exists()] == []
    finally:
        server.stop()


def partial_uploads(folder: Path) -> list[Path]:
    return list(folder.rglob('.upload-*.part')) if folder.exists() else []
