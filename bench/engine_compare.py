"""Print runs of bench/engine.py side by side, per size.

Usage: python bench/engine_compare.py A.json B.json [C.json ...] [--labels before,after]
       [--markdown]

Each file is what `bench/engine.py --json PATH` wrote. The rows are
engine.py's table's; for each size there is a column per file (two or more), so the code
before a change and after it (run by turns on the same machine) read as one
table. engine.py runs the code of the tree it is in: for the old code, make
a worktree of it and bring this bench in first
(`git -C OLD checkout NEW -- bench devtools`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import print_aligned, read_json, table_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="JSON")
    parser.add_argument("--labels", help="a name for each file, comma-separated")
    parser.add_argument(
        "--markdown", action="store_true", help="print a Markdown table (for reports)"
    )
    options = parser.parse_args()
    labels = (
        options.labels.split(",")
        if options.labels
        else [chr(ord("A") + n) for n in range(len(options.files))]
    )
    if len(labels) != len(options.files):
        parser.error("--labels needs one name per file")

    runs = [read_json(path) for path in options.files]
    for label, path, (about, _) in zip(labels, options.files, runs, strict=True):
        print(f"{label}: {path} (commit {about['commit']}, {about['database']})")
    sizes = sorted(set().union(*(results for _, results in runs)))
    header = ["measure"]
    header += [f"{label} {size}" for size in sizes for label in labels]
    table = [[*header, "target"]]
    rows = [table_rows(results) for _, results in runs]
    for lines in zip(*rows, strict=True):
        name, _, _, target = lines[0]
        cells = [
            value(size) if size in results else "-"
            for size in sizes
            for (_, value, _, _), (_, results) in zip(lines, runs, strict=True)
        ]
        table.append([name, *cells, target])
    if options.markdown:
        print_markdown(table)
    else:
        print_aligned(table)


def print_markdown(table: list[list[str]]) -> None:
    print()
    for n, line in enumerate(table):
        print("| " + " | ".join(cell.replace("|", "/") for cell in line) + " |")
        if n == 0:
            print("|" + " --- |" * len(line))


if __name__ == "__main__":
    main()
