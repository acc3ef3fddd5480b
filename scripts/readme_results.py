#!/usr/bin/env python3
"""Copy a run's results table (results/<profile>/report/readme_results.md, written by the report
rule from MLflow) into README.md between the results markers; with --methods, the methods tables
of those experiments (results/<profile>/report/tables/<experiment>_methods.md) between the
`<profile>-methods` markers instead.

    python3 scripts/readme_results.py smoke          # after snakemake ... --configfile configs/smoke.yaml
    python3 scripts/readme_results.py digits --methods resnet14_digits vgg6_digits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def insert(readme: str, block: str, begin: str = BEGIN, end: str = END) -> str:
    if begin not in readme or end not in readme:
        raise ValueError(f"README has no {begin} ... {end} block")
    head, rest = readme.split(begin, 1)
    return f"{head}{begin}\n{block.rstrip()}\n{end}{rest.split(end, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", help="the run whose report to copy (results/<profile>/report/)")
    parser.add_argument("--readme", default=str(REPO / "README.md"))
    parser.add_argument("--results", default=str(REPO / "results"))
    parser.add_argument("--methods", nargs="+", metavar="EXPERIMENT", help="copy these experiments' methods tables")
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    if args.methods:
        tables = [
            Path(args.results) / args.profile / "report" / "tables" / f"{name}_methods.md" for name in args.methods
        ]
        missing = [str(path) for path in tables if not path.is_file()]
        if missing:
            print(f"missing: {', '.join(missing)}: run the DAG for profile {args.profile} first", file=sys.stderr)
            return 1
        block = "\n".join(path.read_text().replace("### ", "#### ", 1) for path in tables)
        markers = f"<!-- {args.profile}-methods:begin -->", f"<!-- {args.profile}-methods:end -->"
        readme.write_text(insert(readme.read_text(), block, *markers))
        print(f"README {args.profile} methods tables <- {', '.join(map(str, tables))}")
        return 0
    source = Path(args.results) / args.profile / "report" / "readme_results.md"
    if not source.is_file():
        print(
            f"{source} is missing: run the DAG (or `snakemake report`) for profile {args.profile} first",
            file=sys.stderr,
        )
        return 1
    readme.write_text(insert(readme.read_text(), source.read_text()))
    print(f"README results table <- {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
