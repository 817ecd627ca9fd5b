"""The OSC reference page (`/api/v1/osc/docs`): every address of the loaded pipeline with a copy-paste snippet."""
from __future__ import annotations

import html
from typing import Any

STYLE = ('body{font-family:system-ui,sans-serif;background:#111;color:#ddd;margin:2rem;max-width:70rem}'
         'code,pre{font-family:ui-monospace,monospace}pre{background:#1c1c1c;padding:.6rem;border-radius:6px;'
         'overflow-x:auto}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #333;'
         'padding:.35rem .5rem;text-align:left;vertical-align:top}th{color:#9cf}h1,h2,h3{color:#fff}')


def render(groups: dict[str, list[dict[str, Any]]], port: int, sessions: list[str]) -> str:
    """A self-contained HTML page; `sessions` are the address segments of the shared sessions."""
    sections = '\n'.join(_group(name, entries, port) for name, entries in groups.items())
    session_list = ''.join(f'<li><code>/dreamstage/{html.escape(name)}/&lt;param&gt;</code></li>'
                           for name in sessions) or '<li>none yet</li>'
    return f'''<!doctype html><html><head><meta charset="utf-8"><title>Dreamstage OSC reference</title>
<style>{STYLE}</style></head><body>
<h1>OSC reference</h1>
<p>Send OSC over UDP to this server, port <b>{port}</b>. <code>/scope/&lt;param&gt;</code> sets a parameter of the
studio session and of every Scope client session (as in Scope); <code>/dreamstage/&lt;session&gt;/&lt;param&gt;</code>
sets it for one shared session; <code>/dreamstage/source/&lt;name&gt; &lt;number&gt;</code> feeds the modulation
matrix (source <code>osc.&lt;name&gt;</code>). Every value goes through the same checks as the data channel:
wrong types and out-of-range values are dropped and counted in <code>/api/v1/osc/status</code>.</p>
<h2>Shared sessions</h2><ul>{session_list}</ul>
{sections}
</body></html>'''


def _group(name: str, entries: list[dict[str, Any]], port: int) -> str:
    rows = '\n'.join(_row(entry, port) for entry in entries)
    return (f'<h3>{html.escape(name)}</h3><table><thead><tr><th>Address</th><th>Type</th><th>Description</th>'
            f'<th>Constraints</th><th>Example</th></tr></thead><tbody>{rows}</tbody></table>')


def _row(entry: dict[str, Any], port: int) -> str:
    constraints = ', '.join(f'{label}: {entry[key]}' for key, label in (('min', 'min'), ('max', 'max'),
                                                                       ('enum', 'values')) if key in entry)
    snippet = ('from pythonosc.udp_client import SimpleUDPClient\n'
               f"SimpleUDPClient('127.0.0.1', {port}).send_message('{entry['osc_address']}', {example(entry)})")
    return (f"<tr><td><code>{html.escape(entry['osc_address'])}</code></td><td>{html.escape(str(entry['type']))}</td>"
            f"<td>{html.escape(str(entry.get('description', '')))}</td><td>{html.escape(constraints)}</td>"
            f'<td><pre>{html.escape(snippet)}</pre></td></tr>')


def example(entry: dict[str, Any]) -> str:
    """A value that fits the entry, as Python source."""
    if 'default' in entry and entry['default'] is not None:
        return repr(entry['default'])
    if entry.get('enum'):
        return repr(entry['enum'][0])
    kind = entry.get('type')
    if kind == 'float':
        return repr(round((entry.get('min', 0.0) + entry.get('max', 1.0)) / 2, 3))
    if kind == 'integer':
        return repr(int(entry.get('min', 0)))
    if kind == 'bool':
        return 'True'
    if kind == 'integer_list':
        return '[700, 500]'
    if entry['key'] == 'prompt':
        return "'a cinematic city at night'"
    return "'example'"
