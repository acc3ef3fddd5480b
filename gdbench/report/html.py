"""report.md as one self-contained HTML file (figures inlined), the report a browser opens on:
the paper comparison, table by table with provenance, then the figures with their captions."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
details { font-size: 0.85em; color: #444; margin-bottom: 1.5em; }
code { font-size: 0.85em; }
em { color: #444; }
"""


def _inline_images(body: str, folder: Path) -> str:
    """<img src="figures/x.png"> -> a data: URI, so that the file can be mailed or archived alone."""

    def inline(match: re.Match) -> str:
        path = folder / html.unescape(match.group(1))
        if not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    return re.sub(r'src="([^"]+\.png)"', inline, body)


def write_html(report_md: Path, out: Path, title: str) -> Path:
    body = markdown.markdown(report_md.read_text(), extensions=["tables", "md_in_html"])
    page = (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{_inline_images(body, report_md.parent)}\n</body>\n</html>\n"
    )
    out.write_text(page)
    return out
