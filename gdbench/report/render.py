"""The one table renderer of the report: every cell and every table (report tables, methods
tables, summary, the README block) goes through here, so a formatting rule is written once.

A cell is a percentage: the mean over n seeds, `± std` and the 95 % interval `[low, high]` only
when n > 1 (one seed has no spread), signed where it is a change, and the paper's value with its
verdict where one exists.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def cell(
    mean,
    std=None,
    n: int = 1,
    *,
    signed: bool = False,
    paper=None,
    verdict: str | None = None,
    digits: int = 2,
    interval: tuple | None = None,
) -> str:
    """`mean` (a fraction) as a percentage; '' when there is none."""
    if mean is None or pd.isna(mean):
        return ""
    sign = "+" if signed else ""
    text = f"{100 * mean:{sign}.{digits}f}"
    if n > 1 and std is not None and not pd.isna(std):
        text += f" ± {100 * std:.{digits}f}"
    if n > 1 and interval is not None and not any(v is None or pd.isna(v) for v in interval):
        low, high = interval
        text += f" [{100 * low:{sign}.{digits}f}, {100 * high:{sign}.{digits}f}]"
    if paper is not None and not pd.isna(paper):
        text += f" (paper {100 * paper:.{digits}f}{', ' + verdict if verdict else ''})"
    return text


def stat_cell(row, key: str, *, signed: bool = False, with_paper: bool = True) -> str:
    """The cell of `key` in a row holding `<key>_mean`, `<key>_std`, `n` and maybe `<key>_paper`
    and `<key>_verdict`."""
    return cell(
        row.get(f"{key}_mean"),
        row.get(f"{key}_std"),
        _count(row, key),
        interval=(row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")),
        signed=signed,
        paper=row.get(f"{key}_paper") if with_paper else None,
        verdict=row.get(f"{key}_verdict") if with_paper else None,
    )


def _count(row, key: str) -> int:
    """Seeds behind a cell: `<key>_n` (a paired difference counts the seeds both sides have), else `n`."""
    for name in (f"{key}_n", "n"):
        value = row.get(name)
        if value is not None and not pd.isna(value):
            return int(value)
    return 1


def _tex(text: str) -> str:
    return (
        str(text)
        .replace("\\", r"\textbackslash{}")
        .replace("_", r"\_")
        .replace("%", r"\%")
        .replace("±", r"$\pm$")
        .replace("Δ", r"$\Delta$")
        .replace("↓", r"$\downarrow$")
    )


def markdown(header: list[str], rows: list[list[str]], title: str | None = None, note: str = "") -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(map(str, cells)) + " |" for cells in rows]
    return "\n".join(lines) + (f"\n\n{note}\n" if note else "\n")


def latex(header: list[str], rows: list[list[str]], caption: str) -> str:
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_tex(caption)}}}",
        r"\begin{tabular}{" + "l" * len(header) + "}",
        r"\hline",
        " & ".join(map(_tex, header)) + r" \\",
        r"\hline",
        *(" & ".join(map(_tex, cells)) + r" \\" for cells in rows),
        r"\hline",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def write(
    frame: pd.DataFrame, header: list[str], rows: list[list[str]], title: str, note: str, out_stem: str | Path
) -> list[Path]:
    """The table as Markdown (with its note), CSV (the numbers behind it) and LaTeX."""
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    paths[0].write_text(markdown(header, rows, title, note))
    frame.to_csv(paths[1], index=False)
    paths[2].write_text(latex(header, rows, f"{title}. {note}"))
    return paths
