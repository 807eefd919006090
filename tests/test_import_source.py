"""Reading a vendor file: quote-free lines are split directly, and must come out exactly as csv reads them."""

from __future__ import annotations

import csv
import io
import random

import pytest

from leadtui.importing.source import Table

CELLS = [
    "",
    " ",
    "Smith",
    "O'Brien",
    "a,b",
    'say "hi"',
    "two\nlines",
    "crlf\r\nline",
    "tab\there",
    "semi;colon",
    "[bold red]x[/]",
    "\x1b[31mred",
    "trailing ",
    "ünïcode",
    "\x00nul",
]


def expected(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """What csv.reader makes of the text, with the line each record starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    while True:
        start = reader.line_num + 1
        try:
            out.append((start, next(reader)))
        except StopIteration:
            return out


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_b2_records_match_csv_line_for_line(tmp_path, delimiter, ending):
    rng = random.Random(f"{delimiter}{ending}")
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
    writer.writerow(["Owner Name", "Address", "City", "Phone 1"])
    for i in range(400):
        if i % 50 == 7:
            out.write(ending)  # a blank line
            continue
        writer.writerow([rng.choice(CELLS) for _ in range(rng.randrange(1, 7))])
    text = out.getvalue()
    path = tmp_path / "mixed.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with Table(path) as table:
        got = [(line, cells) for line, cells in table]
        assert table.header == ["Owner Name", "Address", "City", "Phone 1"]
    want = [(line, cells) for line, cells in expected(text, delimiter)][1:]  # after the header
    assert got == want


def test_b2_a_quoted_cell_over_lines_keeps_the_next_record_on_its_own_line(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        'Owner Name,Address\n"Ann\nSmith",1 Oak St\nBo Li,"2\n\nElm St"\nCy Wu,3 Ash St\n', encoding="utf-8"
    )
    with Table(path) as table:
        assert list(table) == [
            (2, ["Ann\nSmith", "1 Oak St"]),
            (4, ["Bo Li", "2\n\nElm St"]),
            (7, ["Cy Wu", "3 Ash St"]),
        ]
