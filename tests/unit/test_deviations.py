"""Every `# DEVIATION:` in the code and configs is a row of the README's deviations table."""

from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _deviation_comments() -> Counter:
    files = [*REPO.glob("gdbench/**/*.py"), *REPO.glob("configs/**/*.yaml"), *REPO.glob("workflow/**/*.smk")]
    return Counter(
        {
            str(path.relative_to(REPO)): path.read_text().count("# DEVIATION:")
            for path in files
            if "# DEVIATION:" in path.read_text()
        }
    )


def test_every_deviation_comment_has_a_readme_row():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Deviations from the paper") :]
    where = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    comments = _deviation_comments()
    assert comments, "no DEVIATION comment found: the search is broken"
    for path, count in comments.items():
        rows = sum(1 for cell in where if path in cell or f"`{Path(path).name}`" in cell)
        assert rows >= count, f"{path}: {count} DEVIATION comment(s), {rows} README row(s)"
