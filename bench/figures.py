"""Small helpers for benchmark figures: percentiles and a plain table."""
from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def table(rows: list[tuple[str, str, str]], title: str) -> str:
    """Rows of (figure, value, target) as an aligned text table."""
    header = ('figure', 'value', 'target')
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [title, '  '.join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             '  '.join('-' * w for w in widths)]
    lines += ['  '.join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return '\n'.join(lines)
