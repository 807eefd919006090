"""A lead's property facts (the vendor's estimated value, equity, beds, baths, ...): what each is,
how a vendor's cell is read, how a fact is shown, and search filters on them (`beds:3`,
`equity>50000`). Pure: no storage, no screen.

Each fact is a column of `leads` (typed, so search compares numbers as numbers), its header in
`leadtui export` (PropStream's names, which every preset reads back), and the vendors' headers
it is read from (normalised as `importing.presets.norm` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadtui.errors import LeadtuiError

Reader = Callable[[str], Any]  # a stripped, non-empty cell -> the stored value; ValueError if it isn't one


def _number(cell: str) -> float:
    """`$269,000`, `269000.00`, `-12,500`, `48%`, `250k` -> a float; ValueError otherwise."""
    text = cell.replace(",", "").replace("$", "").replace("%", "").strip()
    scale = 1
    if text[-1:] in ("k", "K", "m", "M"):
        scale = 1000 if text[-1] in "kK" else 1_000_000
        text = text[:-1]
    value = float(text) * scale
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(cell)
    return value


def read_int(cell: str) -> int:
    """A whole number (money, beds, square feet, a year): `269000`, `$269,000`, `3.0`."""
    if cell.isdigit():  # the usual cell, fast
        return int(cell)
    return round(_number(cell))


def read_real(cell: str) -> float:
    """A number that may have a fraction (baths 2.5, equity 48.5%)."""
    return _number(cell)


_YES = {"yes": 1, "y": 1, "true": 1, "t": 1, "1": 1, "x": 1, "no": 0, "n": 0, "false": 0, "f": 0, "0": 0}


def read_bool(cell: str) -> int:
    """`Yes`/`No` (and y/n, true/false, 1/0) -> 1/0; ValueError otherwise."""
    try:
        return _YES[cell.casefold()]
    except KeyError:
        raise ValueError(cell) from None


_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?|(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})")


def read_date(cell: str) -> str:
    """`09/03/2019`, `04-29-2013` (US month first), `2019-09-03` -> `2019-09-03`; ValueError otherwise."""
    found = _DATE.fullmatch(cell)
    if not found:
        raise ValueError(cell)
    if found.group(1):
        year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3))
    else:
        month, day, year = int(found.group(4)), int(found.group(5)), int(found.group(6))
        if year < 100:  # `3/9/19`: a sale date is in the past, so 19 is 2019 and 87 is 1987
            year += 2000 if year < 50 else 1900
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1800 <= year <= 2999):
        raise ValueError(cell)
    return f"{year:04d}-{month:02d}-{day:02d}"


def read_text(cell: str) -> str:
    return cell


@dataclass(frozen=True)
class Fact:
    """One property fact: its column, its header in an export, the vendors' headers it is read
    from (normalised), how a cell is read, the kind of value (int, real, date, bool, text), and
    the names a search filter may give it, and what it is called in a sentence."""

    column: str
    header: str
    sources: tuple[str, ...]
    read: Reader
    kind: str
    names: tuple[str, ...]
    label: str


FACTS: tuple[Fact, ...] = (
    Fact(
        "est_value",
        "Est. Value",
        ("estvalue", "estimatedvalue", "estimatedmarketvalue", "avm"),
        read_int,
        "int",
        ("value", "est", "estvalue"),
        "estimated value",
    ),
    Fact(
        "equity",
        "Est. Equity",
        ("estequity", "estimatedequity", "equity", "equityamount", "estimatedequityamount"),
        read_int,
        "int",
        ("equity", "eq"),
        "equity",
    ),
    Fact(
        "equity_pct",
        "Equity %",
        ("equity%", "equitypercent", "estequity%", "estimatedequitypercent", "equitypercentage"),
        read_real,
        "real",
        ("equity%", "equitypct", "eq%"),
        "equity %",
    ),
    Fact(
        "beds",
        "Bedrooms",
        ("bedrooms", "bedroomcount", "beds", "totalbedrooms"),
        read_int,
        "int",
        ("beds", "bedrooms", "bd"),
        "bedrooms",
    ),
    Fact(
        "baths",
        "Bathrooms",
        ("totalbathrooms", "bathroomcount", "bathrooms", "baths"),
        read_real,
        "real",
        ("baths", "bathrooms", "ba"),
        "bathrooms",
    ),
    Fact(
        "sqft",
        "Building Sqft",
        ("buildingsqft", "livingsqft", "livingarea", "sqft", "squarefeet", "buildingsquarefeet"),
        read_int,
        "int",
        ("sqft", "sf"),
        "square feet",
    ),
    Fact(
        "year_built",
        "Year Built",
        ("yearbuilt", "effectiveyearbuilt"),
        read_int,
        "int",
        ("year", "built", "yearbuilt"),
        "year built",
    ),
    Fact(
        "last_sale_date",
        "Last Sale Date",
        ("lastsaledate", "lastsalerecordingdate", "lastsolddate", "saledate"),
        read_date,
        "date",
        ("sold", "sale", "lastsale"),
        "last sale date",
    ),
    Fact(
        "last_sale_price",
        "Last Sale Amount",
        ("lastsaleamount", "lastsaleprice", "lastsoldprice", "saleprice", "saleamount"),
        read_int,
        "int",
        ("price", "saleprice", "soldfor"),
        "last sale price",
    ),
    Fact(
        "mls_status", "MLS Status", ("mlsstatus", "listingstatus"), read_text, "text", ("mls",), "MLS status"
    ),
    Fact("vacant", "Vacant", ("vacant", "isvacant", "vacancy"), read_bool, "bool", ("vacant",), "vacancy"),
    Fact(
        "property_type",
        "Property Type",
        ("propertytype", "propertytypedetail", "landuse"),
        read_text,
        "text",
        ("type",),
        "property type",
    ),
)
COLUMNS = tuple(f.column for f in FACTS)
BY_COLUMN = {f.column: f for f in FACTS}


def money(value: float) -> str:
    """`269000` -> `$269k`, `1250000` -> `$1.25M`, `950` -> `$950` (the panel is narrow)."""
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value >= 1_000_000:
        return f"{sign}${value / 1_000_000:.3g}M"
    if value >= 10_000:
        return f"{sign}${value / 1000:.0f}k"
    if value >= 1000:
        return f"{sign}${value / 1000:.3g}k"
    return f"{sign}${value:,.0f}"


def _n(value: float) -> str:
    return f"{value:g}"


def summary(facts: Mapping[str, Any]) -> list[str]:
    """The facts in two short lines (money, then the house), for the claim panel; [] if none.

    `$269k value · $82k equity (48%) · sold 2019-09 $103k`
    `4 bd · 2 ba · 2,291 sq ft · built 1997 · Condo · vacant · MLS Active`
    """
    value, equity, pct = facts.get("est_value"), facts.get("equity"), facts.get("equity_pct")
    sold_on, sold_for = facts.get("last_sale_date"), facts.get("last_sale_price")
    money_line = []
    if value is not None:
        money_line.append(f"{money(value)} value")
    if equity is not None:
        money_line.append(f"{money(equity)} equity" + (f" ({_n(pct)}%)" if pct is not None else ""))
    elif pct is not None:
        money_line.append(f"{_n(pct)}% equity")
    if sold_on or sold_for is not None:
        money_line.append(
            "sold"
            + (f" {sold_on[:7]}" if sold_on else "")
            + (f" {money(sold_for)}" if sold_for is not None else "")
        )
    beds, baths, sqft, built = (facts.get(c) for c in ("beds", "baths", "sqft", "year_built"))
    kind, vacant, mls = facts.get("property_type"), facts.get("vacant"), facts.get("mls_status")
    house = [
        *([f"{_n(beds)} bd"] if beds is not None else []),
        *([f"{_n(baths)} ba"] if baths is not None else []),
        *([f"{sqft:,} sq ft"] if sqft is not None else []),
        *([f"built {built}"] if built is not None else []),
        *([str(kind)] if kind else []),
        *([("vacant" if vacant else "occupied")] if vacant is not None else []),
        *([f"MLS {mls}"] if mls else []),
    ]
    return [" · ".join(line) for line in (money_line, house) if line]


def chips(facts: Mapping[str, Any]) -> list[str]:
    """The facts as short pieces, the ones a rep making an offer needs first: value, equity, beds
    and baths, size, age, vacancy, MLS status, last sale, type (the claim panel packs what fits)."""
    get = facts.get
    out = []
    value, equity, pct = get("est_value"), get("equity"), get("equity_pct")
    if value is not None:
        out.append(f"{money(value)} value")
    if equity is not None:
        out.append(f"{money(equity)} equity" + (f" {_n(pct)}%" if pct is not None else ""))
    elif pct is not None:
        out.append(f"{_n(pct)}% equity")
    beds, baths = get("beds"), get("baths")
    if beds is not None or baths is not None:
        out.append(f"{_n(beds) if beds is not None else '?'}bd/{_n(baths) if baths is not None else '?'}ba")
    if get("sqft") is not None:
        out.append(f"{get('sqft'):,} sqft")
    if get("year_built") is not None:
        out.append(f"built {get('year_built')}")
    if get("vacant"):
        out.append("vacant")
    if get("mls_status"):
        out.append(f"MLS {get('mls_status')}")
    sold_on, sold_for = get("last_sale_date"), get("last_sale_price")
    if sold_on or sold_for is not None:
        out.append(
            "sold"
            + (f" {sold_on[:4]}" if sold_on else "")
            + (f" {money(sold_for)}" if sold_for is not None else "")
        )
    if get("property_type"):
        out.append(str(get("property_type")))
    return out


def pack(pieces: Sequence[str], width: int, lines: int = 2, sep: str = " · ") -> list[str]:
    """`pieces` in order on at most `lines` lines of `width` characters; what doesn't fit is left out
    (a piece longer than a line is cut)."""
    out: list[str] = []
    for whole in pieces:
        piece = whole[:width]
        if out and len(out[-1]) + len(sep) + len(piece) <= width:
            out[-1] += sep + piece
        elif len(out) < lines:
            out.append(piece)
        else:
            break
    return out


def shown(fact: Fact, value: Any) -> str:
    """One fact's value in full, for the detail view and `show`."""
    if fact.kind == "bool":
        return "yes" if value else "no"
    if fact.column in ("est_value", "equity", "last_sale_price"):
        return f"${value:,}"
    if fact.kind == "int" and fact.column != "year_built":
        return f"{value:,}"
    if fact.column == "equity_pct":
        return f"{_n(value)}%"
    return _n(value) if isinstance(value, float) else str(value)


# --- search filters: `beds:3`, `beds>=3`, `equity>50000`, `value<250k`, `sold<2015`, `mls:active` ---

OPS = (">=", "<=", ":", "=", ">", "<")
_NAMES = {name: fact for fact in FACTS for name in fact.names}
_FILTER = re.compile(
    r"(?P<name>" + "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True)) + r")"
    r"(?P<op>>=|<=|:|=|>|<)(?P<value>.+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Filter:
    """One condition on a fact: `column op value` (op one of = > >= < <= like), value as stored."""

    column: str
    op: str
    value: Any


def _date_bound(text: str, op: str) -> Filter:
    """A date filter: YYYY, YYYY-MM or YYYY-MM-DD; `>` is after the whole period, `<` before it."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise ValueError("a date: YYYY, YYYY-MM or YYYY-MM-DD")
    if op == "=":
        return Filter("last_sale_date", "like", text + "%")
    if op in (">", "<="):
        return Filter("last_sale_date", op, text + "~")  # past every date in that period
    return Filter("last_sale_date", op, text)


def _filter(fact: Fact, op: str, raw: str) -> Filter:
    """One filter; ValueError saying what the fact takes."""
    if fact.kind == "date":
        return _date_bound(raw, op)
    if fact.kind == "text":
        if op != "=":
            raise ValueError("text, with : (mls:active)")
        return Filter(fact.column, "like", raw)
    if fact.kind == "bool":
        if op != "=" or raw.casefold() not in _YES:
            raise ValueError("yes or no, with : (vacant:yes)")
        return Filter(fact.column, "=", read_bool(raw))
    try:
        return Filter(fact.column, op, fact.read(raw))
    except ValueError:
        raise ValueError("a number (beds:3, equity>50000, value<250k)") from None


def parse_filters(text: str) -> tuple[str, list[Filter]]:
    """Split a search into its free text and its fact filters. A word is a filter when it starts
    with a fact's name and an operator (`beds:3`, `equity>50000`); a filter with a value that
    doesn't fit raises LeadtuiError naming it."""
    words, filters = [], []
    for word in text.split():
        found = _FILTER.fullmatch(word)
        if not found:
            words.append(word)
            continue
        fact = _NAMES[found["name"].casefold()]
        try:
            filters.append(_filter(fact, "=" if found["op"] == ":" else found["op"], found["value"]))
        except ValueError as exc:
            raise LeadtuiError(f"search {word!r}: {found['name']} takes {exc}") from None
    return " ".join(words), filters


def filter_names() -> Sequence[str]:
    """The names a filter may use, for help texts."""
    return tuple(f.names[0] for f in FACTS)
