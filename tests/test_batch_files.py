"""Batch files: opaque ids only, a time to live on a clock the test drives, nothing held expires, start-up clears."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.batch_files import BatchFiles
from services.errors import InvalidRequest, NotFound


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def stored(files: BatchFiles, kind: str = 'output') -> str:
    file_id, path = files.create(kind)  # type: ignore[arg-type]
    path.write_bytes(b'data')
    return file_id


def test_files_expire_after_their_last_use_unless_held(tmp_path: Path) -> None:
    clock = Clock()
    files = BatchFiles(tmp_path / 'batch', ttl=60, clock=clock)
    used, unused, held = stored(files), stored(files, 'data'), stored(files, 'input')
    files.hold([held])
    clock.now += 50
    files.path(used, 'output')  # a download: its time to live starts again
    clock.now += 20
    assert files.sweep() == 1
    assert files.path(used, 'output').is_file() and files.path(held, 'input').is_file()
    with pytest.raises(NotFound):
        files.path(unused, 'data')
    files.release([held])
    clock.now += 61
    assert files.sweep() == 2
    assert not any((tmp_path / 'batch').iterdir())


def test_only_ids_the_store_issued_name_files(tmp_path: Path) -> None:
    files = BatchFiles(tmp_path / 'batch', ttl=60)
    output = stored(files)
    (tmp_path / 'secret.txt').write_text('secret')
    for name in ('../secret.txt', str(tmp_path / 'secret.txt'), output.replace('output', 'input'), 'output-x', ''):
        with pytest.raises((InvalidRequest, NotFound)):
            files.path(name, 'input')
    with pytest.raises(InvalidRequest):
        files.path(output, 'data')
    assert (tmp_path / 'secret.txt').read_text() == 'secret'


def test_start_up_clears_what_an_earlier_run_left(tmp_path: Path) -> None:
    root = tmp_path / 'batch'
    earlier = BatchFiles(root, ttl=3600)
    stored(earlier)
    (root / 'stray.part').write_bytes(b'x')
    assert BatchFiles(root, ttl=3600).clear() == 2
    assert not any(root.iterdir())
