"""What keeping the property facts costs an import's reading (issue 16).

    python benchmarks/bench_facts.py [--rows 200000] [--out /tmp/leadtui-bench-facts]

Generates bench_import's seeded PropStream list (every row carries value, equity, beds, baths,
square feet, year built, last sale, MLS status and vacancy) and a copy whose fact headers no
preset knows (so no fact is read), then times `RowReader.rows` over each, alternating, best of
`--runs` in CPU seconds: the Python reading that sets the pace of an import (the storing runs
in SQLite beside it). Prints rows/s for both and what the facts add. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_import import generate

from leadtui.core.facts import FACTS
from leadtui.importing.presets import norm, resolve
from leadtui.importing.rows import RowReader
from leadtui.importing.source import Table


def without_facts(source: Path, target: Path) -> None:
    """The same file with its fact columns renamed out of every preset's reach."""
    sources = {s for fact in FACTS for s in fact.sources}
    with (
        source.open(newline="", encoding="utf-8") as f,
        target.open("w", newline="", encoding="utf-8") as out,
    ):
        rows = csv.reader(f)
        header = next(rows)
        writer = csv.writer(out)
        writer.writerow([f"zz {h}" if norm(h) in sources else h for h in header])
        writer.writerows(rows)


def read(path: Path) -> tuple[int, float]:
    """Leads read and the CPU seconds it took."""
    with Table(path) as table:
        reader = RowReader(resolve(table.header, None, {}, file=path.name), table.header, None)
        started = time.process_time()
        leads = sum(1 for lead, _ in reader.rows(table, Counter()) if lead is not None)
        return leads, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="Folder for the CSVs (default: a temp folder).")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="leadtui-bench-facts-"))
    folder.mkdir(parents=True, exist_ok=True)
    with_facts, plain = folder / f"propstream-{args.rows}.csv", folder / f"propstream-{args.rows}-nofacts.csv"
    if not with_facts.exists():
        generate(with_facts, args.rows)
    if not plain.exists():
        without_facts(with_facts, plain)
    best = {with_facts: float("inf"), plain: float("inf")}
    for _ in range(args.runs):
        for path in (plain, with_facts):
            leads, cpu = read(path)
            best[path] = min(best[path], cpu)
    for label, path in (("without facts", plain), ("with facts", with_facts)):
        print(
            f"{label:<14} {leads / best[path]:>9,.0f} rows/s  ({best[path]:.2f} s CPU, best of {args.runs})"
        )
    print(
        f"the facts add {100 * (best[with_facts] / best[plain] - 1):+.1f}% to the reading ({leads:,} leads)"
    )


if __name__ == "__main__":
    main()
