"""The one table renderer: every table's cells follow the same rules."""

import pandas as pd

from gdbench.report import render


def test_a_cell_shows_the_spread_only_with_two_seeds_and_signs_changes():
    assert render.cell(0.9123, 0.0071, 2) == "91.23 ± 0.71"
    assert render.cell(0.9123, 0.0, 1) == "91.23"  # one seed: no "± 0.00"
    assert render.cell(-0.015, 0.007, 3, signed=True) == "-1.50 ± 0.70"
    assert render.cell(0.01, None, 1, signed=True) == "+1.00"
    assert render.cell(0.92, 0.0, 1, paper=0.9343, verdict="outside") == "92.00 (paper 93.43, outside)"
    assert render.cell(float("nan")) == "" and render.cell(None) == ""


def test_stat_cell_reads_mean_std_n_and_paper_from_a_row():
    row = pd.Series(
        {"n": 2, "test_top1_mean": 0.5, "test_top1_std": 0.01, "test_top1_paper": 0.6, "test_top1_verdict": "outside"}
    )
    assert render.stat_cell(row, "test_top1") == "50.00 ± 1.00 (paper 60.00, outside)"
    assert render.stat_cell(row, "test_top1", with_paper=False) == "50.00 ± 1.00"
    assert render.stat_cell(row, "flops_reduction") == ""


def test_markdown_csv_and_latex_hold_the_same_rows(tmp_path):
    frame = pd.DataFrame({"method": ["l1_norm"], "value": [0.5]})
    paths = render.write(frame, ["Method", "Δ top-1"], [["l1_norm", "+1.00 ± 0.50"]], "T", "a note 5 %", tmp_path / "t")
    assert (
        paths[0].read_text()
        == "### T\n\n| Method | Δ top-1 |\n| --- | --- |\n| l1_norm | +1.00 ± 0.50 |\n\na note 5 %\n"
    )
    assert r"l1\_norm & +1.00 $\pm$ 0.50 \\" in paths[2].read_text()
    assert r"$\Delta$ top-1" in paths[2].read_text() and r"5 \%" in paths[2].read_text()
    assert pd.read_csv(paths[1]).equals(frame)
