"""Self-contained HTML pages: the kit `report`, `doctor` and `review` share.

One page is one file: inline CSS, PNGs as base64 data URIs, no scripts and
no external resources. `page` lays out a header with KPIs, a nav bar and the
sections; `table`, `key_values`, `figure` and `thumbnail` are its parts
(thumbnails are shown at 168 px and link to the full image file).
"""

from __future__ import annotations

import base64
import html
import os

__all__ = [
    "CSS",
    "THUMB_SIZE",
    "escape",
    "figure",
    "gallery",
    "key_values",
    "number",
    "page",
    "png_data_uri",
    "section",
    "table",
    "thumbnail",
    "thumbnail_uri",
]

CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --band: #f6f8fa;
        --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header { background: #24292f; color: #fff; padding: 22px 28px; border-radius: 10px;
         margin-bottom: 20px; }
header h1 { margin: 0 0 6px; font-size: 24px; font-weight: 600; }
header p { margin: 0; color: #c9d1d9; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.kpi { background: rgba(255,255,255,.08); border-radius: 8px; padding: 8px 14px; }
.kpi b { display: block; font-size: 20px; color: #fff; }
.kpi span { font-size: 12px; color: #c9d1d9; text-transform: uppercase;
            letter-spacing: .04em; }
nav { margin: 0 0 20px; font-size: 14px; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 18px 24px 22px; margin-bottom: 20px; }
h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 8px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
p.note { color: var(--muted); font-size: 13px; margin: 6px 0 10px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fbfcfd; }
figure { margin: 8px 0 4px; }
figure img { max-width: 100%; height: auto; display: block;
             border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
        gap: 8px 28px; align-items: start; }
.grid > div { min-width: 0; }
.grid table { width: 100%; table-layout: fixed; }
.grid td { overflow-wrap: anywhere; }
code { background: var(--band); padding: 1px 5px; border-radius: 4px;
       font-size: 12.5px; word-break: break-all; }
.warn { color: #9a6700; }
.thumbs { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 14px;
          padding: 8px; background: var(--band); border-radius: 8px; }
.thumb { width: 176px; font-size: 11px; line-height: 1.3; color: var(--muted);
         word-break: break-all; }
.thumb img { display: block; width: 168px; height: 168px; object-fit: contain;
             image-rendering: pixelated; cursor: zoom-in;
             border: 1px solid var(--line); background: #fff; }
.thumb b { color: var(--ink); }
"""


# === Small HTML helpers ===


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(path: str) -> str:
    with open(path, "rb") as stream:
        encoded = base64.b64encode(stream.read()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def figure(path: str, caption: str = "", alt: str = "") -> str:
    text = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{escape(alt or caption)}" src="{png_data_uri(path)}">'
        f"{text}</figure>"
    )


def number(value) -> str:
    if isinstance(value, bool) or value is None:
        return escape(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return escape(value)


def table(header, rows, numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            if index >= numeric_from and isinstance(cell, int | float):
                cells.append(f'<td class="num">{number(cell)}</td>')
            else:
                cells.append(f"<td>{escape(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def key_values(mapping: dict) -> str:
    rows = []
    for key, value in mapping.items():
        if isinstance(value, dict | list | tuple):
            import json

            value = json.dumps(value, default=str)
        rows.append((key, "" if value is None else value))
    return table(("name", "value"), rows, numeric_from=99)


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


#: Largest side of a thumbnail (shown at 168 px; small images are scaled up).
THUMB_SIZE = 168


def thumbnail_uri(path: str, size: int = THUMB_SIZE) -> str:
    """A PNG data URI of an image file shrunk to fit `size` px (EXIF applied)."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "PNG")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return ""
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def thumbnail(path: str, caption_html: str, alt: str = "") -> str:
    """A thumbnail cell (doctor, review): the image at 168 px, a link to the
    full image file, and an HTML caption."""
    import pathlib

    uri = thumbnail_uri(path)
    target = pathlib.Path(os.path.abspath(path)).as_uri()
    return (
        f'<div class="thumb"><a href="{escape(target)}" target="_blank" '
        f'title="open the full image"><img alt="{escape(alt or path)}" '
        f'src="{uri}"></a>{caption_html}</div>'
    )


def gallery(folder: str, items) -> str:
    """A grid of thumbnails: `items` are `(path under folder, caption HTML)`;
    a "None." note when there are none."""
    cells = [
        thumbnail(os.path.join(folder, path), caption, path) for path, caption in items
    ]
    if not cells:
        return '<p class="note">None.</p>'
    return f'<div class="thumbs">{"".join(cells)}</div>'


def page(title: str, heading: str, subtitle: str, kpis, sections) -> str:
    """One self-contained HTML page: header with KPIs, a nav bar, the sections.

    `kpis` are `(label, value)` pairs; `sections` are `(anchor, title, html)`.
    """
    nav = "".join(f'<a href="#{anchor}">{escape(t)}</a>' for anchor, t, _ in sections)
    body = "".join(section(anchor, t, content) for anchor, t, content in sections)
    kpi_html = "".join(
        f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>'
        for k, v in kpis
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body><main>"
        f"<header><h1>{escape(heading)}</h1><p>{subtitle}</p>"
        f'<div class="kpis">{kpi_html}</div></header>'
        f"<nav>{nav}</nav>{body}</main></body></html>\n"
    )
