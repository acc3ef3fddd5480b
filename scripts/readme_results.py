#!/usr/bin/env python3
"""Copy a run's results table (results/<profile>/report/readme_results.md, written by the report
rule from MLflow) into README.md between the results markers.

    python3 scripts/readme_results.py smoke          # after snakemake ... --configfile configs/smoke.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def insert(readme: str, block: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    head, rest = readme.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{block.rstrip()}\n{END}{rest.split(END, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", help="the run whose report to copy (results/<profile>/report/)")
    parser.add_argument("--readme", default=str(REPO / "README.md"))
    parser.add_argument("--results", default=str(REPO / "results"))
    args = parser.parse_args(argv)
    source = Path(args.results) / args.profile / "report" / "readme_results.md"
    if not source.is_file():
        print(
            f"{source} is missing: run the DAG (or `snakemake report`) for profile {args.profile} first",
            file=sys.stderr,
        )
        return 1
    readme = Path(args.readme)
    readme.write_text(insert(readme.read_text(), source.read_text()))
    print(f"README results table <- {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
