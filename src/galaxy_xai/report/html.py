"""HTML pieces of the self-contained report: no scripts, no external resources.

Images are embedded as ``data:image/png;base64`` URIs and the style sheet is inline,
so the one file can be mailed, archived or opened offline. Every string that comes
from a run folder is escaped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = [
    "Section",
    "definition_table",
    "figure_html",
    "missing_html",
    "page_html",
    "row_html",
    "table_html",
]

_CSS = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad;
        --warn-bg: #fff8c5; --warn-line: #d4a72c; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--fg); margin: 0; line-height: 1.45; }
header { padding: 1.2rem 2rem; border-bottom: 1px solid var(--line); background: #f6f8fa; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; color: var(--muted); }
main { max-width: 1180px; margin: 0 auto; padding: 1rem 2rem 3rem 2rem; }
nav#toc { border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1.2rem;
          margin: 1rem 0; background: #fbfcfd; }
nav#toc h2 { font-size: 1rem; margin: .2rem 0; border: none; }
nav#toc ol { margin: .2rem 0; padding-left: 1.4rem; columns: 2; }
a { color: var(--accent); }
section { margin-top: 2rem; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
h3 { margin-bottom: .3rem; }
figure { margin: .8rem 0 1.2rem 0; display: inline-block; vertical-align: top;
         max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .88rem; max-width: 60rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem 0; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .7rem; overflow-x: auto;
      font-size: .82rem; }
.missing { background: var(--warn-bg); border: 1px solid var(--warn-line);
           border-radius: 6px; padding: .6rem 1rem; margin: .6rem 0; }
.row { display: flex; flex-wrap: wrap; gap: 0 1.5rem; align-items: flex-start; }
.description { color: var(--muted); max-width: 60rem; }
"""


@dataclass
class Section:
    """One report section: an anchor id, a heading and its HTML body."""

    id: str
    title: str
    body: str


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.4g}"
    if value is None:
        return "n/a"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def figure_html(png: bytes, *, alt: str, caption: str, json_href: str | None) -> str:
    """An ``<figure>`` with the PNG embedded and a link to its numbers."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    link = f' <a href="{escape(json_href)}">Numbers (JSON)</a>.' if json_href else ""
    return (
        f'<figure><img src="{src}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}{link}</figcaption></figure>"
    )


def missing_html(message: str) -> str:
    """A visible notice that an artefact is missing or unreadable."""
    return f'<div class="missing" role="note"><strong>Missing:</strong> {escape(message)}</div>'


def table_html(
    rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, caption: str = ""
) -> str:
    """A table with one row per mapping (columns default to the first row's keys)."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            cls = (
                ' class="num"'
                if isinstance(value, int | float) and not isinstance(value, bool)
                else ""
            )
            cells.append(f"<td{cls}>{escape(_fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def row_html(*parts: str) -> str:
    """Blocks (figures, tables) side by side where the page is wide enough."""
    return '<div class="row">' + "".join(parts) + "</div>"


def definition_table(mapping: Mapping[str, Any], *, caption: str = "") -> str:
    """A two-column (name, value) table of a flat mapping."""
    rows = [{"name": k, "value": v} for k, v in mapping.items()]
    return table_html(rows, columns=["name", "value"], caption=caption)


def page_html(title: str, sections: Sequence[Section], *, subtitle: str = "") -> str:
    """The whole page: header, table of contents, sections."""
    toc = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>{s.body}</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><main>"
        f'<nav id="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>'
        f"{body}</main></body></html>\n"
    )
