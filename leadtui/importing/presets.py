"""The vendors' layouts, and which one a header is.

Headers are matched loosely: case, spaces, `_`, `-`, `.` and a BOM are ignored, so
`Phone 1 TYPE`, `phone_1_type` and `PHONE-1-Type` are the same column. Each preset says
which columns it needs (to be recognised) and where each lead field may come from; the
first present candidate wins, and per row the first non-empty one. A header that fits no
vendor may still be a generic CSV (an address column and an owner column).

Sources: each layout is the one in the matching file of tests/data/samples (copies of the
vendor samples), named for the export it mirrors. PropStream's contact (skip trace) export has
no sample there: its columns are the ones CRM importers of that file read by name (see
tests/data/propstream_contacts.csv), in an order of our own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from leadtui.core.facts import FACTS
from leadtui.errors import LeadtuiError
from leadtui.reports import EXPORT
from leadtui.store.imports import NOTE_LOG

MAX_SLOTS = 30  # Phone 1..30: more than any vendor ships


def norm(header: str) -> str:
    """`\\ufeffPhone 1 TYPE` -> `phone1type`."""
    return re.sub(r"[\s_\-.\ufeff]+", "", header.casefold())


@dataclass(frozen=True)
class Slot:
    """Header templates of one repeated phone column group; `{n}` is the phone's number."""

    number: str
    type: str | None = None
    dnc: str | None = None
    status: str | None = None
    litigator: str | None = None  # these three: a leadtui export's own (see LEADTUI)
    bad: str | None = None
    wrong: str | None = None


@dataclass(frozen=True)
class Preset:
    """One vendor layout. `needs`: display names, `|` between alternatives."""

    name: str
    label: str
    source: str
    needs: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]
    phones: tuple[Slot, ...] = ()
    emails: tuple[str, ...] = ("email{n}", "email")
    restores: bool = False  # a leadtui export: each lead's state (status, owner, dates, ...) comes back

    def missing(self, names: set[str]) -> list[str]:
        """The needed columns (display names) absent from a normalised header."""
        return [need for need in self.needs if not any(norm(alt) in names for alt in need.split("|"))]


def _mailing(prefix: str = "mailing") -> dict[str, tuple[str, ...]]:
    return {f"mailing_{part}": (f"{prefix}{part}",) for part in ("address", "city", "state", "zip")}


# The property facts (core.facts), read by every preset from whichever of their headers a file has.
_FACTS = {fact.column: fact.sources for fact in FACTS}


PROPSTREAM = Preset(
    "propstream",
    "PropStream",
    "PropStream property export: Address, Unit #, City, State, Zip, County, APN, Owner 1/2 First/Last Name, "
    "Mailing Address/City/State/Zip, Phone N, Phone N Type, Phone N DNC, Litigator, Email N",
    ("Address", "City", "State", "Zip", "Owner 1 First Name", "Owner 1 Last Name"),
    {
        **_FACTS,
        "address": ("address",),
        "unit": ("unit#",),
        "city": ("city",),
        "state": ("state",),
        "zip": ("zip",),
        "county": ("county",),
        "apn": ("apn",),
        "first_name": ("owner1firstname",),
        "last_name": ("owner1lastname",),
        "first_name_2": ("owner2firstname",),
        "last_name_2": ("owner2lastname",),
        "litigator": ("litigator",),
        **_mailing(),
    },
    (Slot("phone{n}", "phone{n}type", "phone{n}dnc"),),
)

PROPSTREAM_CONTACTS = Preset(
    "propstream-contacts",
    "PropStream contacts (skip trace)",
    "PropStream contact (skip trace) export, by the column names CRM importers of it read: First/Last Name, "
    "Company Name, Street Address (2), City, State, Zip, Mail Street Address/City/State/Zip, "
    "Phone N, Phone N Type, Phone N DNC (`Public DNC`), Email N",
    ("Street Address", "City", "State", "Zip", "First Name", "Last Name", "Mail Street Address"),
    {
        **_FACTS,
        "address": ("streetaddress",),
        "unit": ("streetaddress2",),
        "city": ("city",),
        "state": ("state",),
        "zip": ("zip",),
        "county": ("county",),
        "first_name": ("firstname",),
        "last_name": ("lastname",),
        "company": ("companyname",),
        "mailing_address": ("mailstreetaddress",),
        "mailing_city": ("mailcity",),
        "mailing_state": ("mailstate",),
        "mailing_zip": ("mailzip",),
    },
    (Slot("phone{n}", "phone{n}type", "phone{n}dnc"),),
)

BATCHLEADS = Preset(
    "batchleads",
    "BatchLeads",
    "BatchLeads export: First/Last Name, Property Address/City/State/Zip, Mailing ..., "
    "Phone N, Phone N TYPE, Phone N DNC, Litigator, Opt-Out",
    (
        "Property Address",
        "Property City",
        "Property State",
        "Property Zip",
        "First Name",
        "Last Name",
        "Phone 1 DNC",
    ),
    {
        **_FACTS,
        "address": ("propertyaddress",),
        "city": ("propertycity",),
        "state": ("propertystate",),
        "zip": ("propertyzip",),
        "county": ("propertycounty", "county"),
        "apn": ("apn",),
        "first_name": ("firstname",),
        "last_name": ("lastname",),
        "litigator": ("litigator",),
        "opt_out": ("optout",),
        **_mailing(),
    },
    (Slot("phone{n}", "phone{n}type", "phone{n}dnc"),),
)

DIRECTSKIP = Preset(
    "directskip",
    "BatchSkipTracing / Direct Skip",
    "BatchSkipTracing (Direct Skip) output: Input First/Last Name, Input Mailing ..., Input Property ..., "
    "Matched First/Last Name, DNC/Litigator Scrub, Phone1..Phone7 with PhoneN Type, Email1..",
    ("Input Property Address", "Input Property City", "Input Property State", "Input Property Zip", "Phone1"),
    {
        **_FACTS,
        "address": ("inputpropertyaddress",),
        "city": ("inputpropertycity",),
        "state": ("inputpropertystate",),
        "zip": ("inputpropertyzip",),
        "first_name": ("matchedfirstname", "inputfirstname"),
        "last_name": ("matchedlastname", "inputlastname"),
        "dnc_scrub": ("dnc/litigatorscrub",),
        **_mailing("inputmailing"),
    },
    (Slot("phone{n}", "phone{n}type"),),
)

REISIFT = Preset(
    "reisift",
    "REISift",
    "REISift export: Property address/city/state/zip/zip5/county, First/Last Name, Mailing ..., Status, Lists, "
    "Phone 1..10 with Phone Status N (correct / wrong / do not call)",
    ("Property address", "Property city", "Property state", "Property zip", "Phone Status 1"),
    {
        **_FACTS,
        "address": ("propertyaddress",),
        "city": ("propertycity",),
        "state": ("propertystate",),
        "zip": ("propertyzip", "propertyzip5"),
        "county": ("propertycounty",),
        "first_name": ("firstname",),
        "last_name": ("lastname",),
        "status": ("status",),
        "list": ("lists",),
        **_mailing(),
    },
    (Slot("phone{n}", None, None, "phonestatus{n}"),),
)

DEALMACHINE = Preset(
    "dealmachine",
    "DealMachine",
    'DealMachine contacts export (snake_case): associated_property_address_full ("street, city, ST zip"), '
    "first_name, last_name, primary_mailing_*, phone_N, phone_N_type, phone_N_do_not_call, email_address_N",
    ("associated_property_address_full", "first_name", "last_name"),
    {
        **_FACTS,
        "address_full": ("associatedpropertyaddressfull",),
        "first_name": ("firstname",),
        "last_name": ("lastname",),
        **_mailing("primarymailing"),
    },
    (Slot("phone{n}", "phone{n}type", "phone{n}donotcall"),),
    ("emailaddress{n}",),
)

GENERIC = Preset(
    "generic",
    "generic CSV",
    "Any CSV with an address and an owner: Owner Name (or First/Last Name, or Company Name), Address, City, State, Zip, "
    "Mailing ..., APN, County, Status (kept as the source status), List, Phone / Phone N (+ Type, DNC), Email",
    (
        "Address|Property Address|Street Address|Street|Site Address",
        "Owner Name|Owner|Name|Full Name|Last Name|Owner 1 Last Name|Company Name",
    ),
    {
        **_FACTS,
        "owner_name": ("ownername", "owner", "name", "fullname", "owner1name", "contactname"),
        "company": ("companyname",),
        "first_name": ("firstname", "owner1firstname", "ownerfirstname"),
        "last_name": ("lastname", "owner1lastname", "ownerlastname"),
        "address": ("address", "propertyaddress", "streetaddress", "street", "siteaddress", "address1"),
        "unit": ("unit", "unit#", "propertyunit"),
        "city": ("city", "propertycity", "sitecity"),
        "state": ("state", "propertystate", "sitestate"),
        "zip": ("zip", "zipcode", "propertyzip", "postalcode", "sitezip", "zip5"),
        "mailing_address": ("mailingaddress", "mailaddress", "mailingstreet"),
        "mailing_city": ("mailingcity", "mailcity"),
        "mailing_state": ("mailingstate", "mailstate"),
        "mailing_zip": ("mailingzip", "mailzip", "mailingzipcode"),
        "apn": ("apn", "parcel", "parcelnumber", "parcelid"),
        "county": ("county", "propertycounty"),
        "status": ("status", "leadstatus"),
        "list": ("list", "listname", "lists"),
        "litigator": ("litigator",),
        "opt_out": ("optout", "donotcall", "dnc"),
    },
    (
        Slot("phone{n}", "phone{n}type", "phone{n}dnc", "phone{n}status"),
        Slot("phone", "phonetype", "phonednc", "phonestatus"),
        Slot("mobile{n}"),
        Slot("mobile"),
        Slot("cell"),
        Slot("cellphone"),
        Slot("landline{n}"),
        Slot("landline"),
    ),
    ("email{n}", "email", "emailaddress{n}", "emailaddress"),
)

# A lead's state that a leadtui export carries beside its status and owner (importing.rows reads it back).
STATE_COLUMNS = (
    "hold_until",
    "next_call_at",
    "appointment_at",
    "offer_amount",
    "contract_path",
    "followup_requested_at",
    "callback",
    "cooloff_until",
    "cur_phone",
    "dial_run",
    "dead",
    "notes",
    NOTE_LOG,
)
# What a leadtui export's state columns restore: field -> its header.
RESTORED = {
    "lead_status": "Status",
    "lead_owner": "Owner",
    **{column: header for header, column in EXPORT if column in STATE_COLUMNS},
}
_EXPORTED = {column: (norm(header),) for header, column in EXPORT}

LEADTUI = Preset(
    "leadtui",
    "leadtui export",
    "`leadtui export`'s own file: every lead field and its state (status, owner, dates, offer, notes), "
    "the property facts, and each phone with its DNC, litigator and bad flags and wrong-number reports",
    ("Owner Name", "Address", "Status", "Owner", "Dead", "Hold Until", "Next Call", "Dial Run"),
    {
        **{
            field: _EXPORTED[column]
            for field, column in (
                ("owner_name", "owner_name"),
                ("address", "address"),
                ("city", "city"),
                ("state", "state"),
                ("zip", "zip"),
                ("mailing_address", "mailing_address"),
                ("mailing_city", "mailing_city"),
                ("mailing_state", "mailing_state"),
                ("mailing_zip", "mailing_zip"),
                ("apn", "apn"),
                ("county", "county"),
                ("list", "source_list"),
                ("status", "source_status"),  # a row's `status` field is the source status
            )
        },
        **{fact.column: _EXPORTED[fact.column] for fact in FACTS},
        **{field: (norm(header),) for field, header in RESTORED.items()},
    },
    (
        Slot(
            "phone{n}",
            "phone{n}type",
            "phone{n}dnc",
            litigator="phone{n}litigator",
            bad="phone{n}bad",
            wrong="phone{n}wrongreports",
        ),
    ),
    ("email",),
    restores=True,
)

# Most specific first: a BatchLeads header would also pass as a generic CSV.
PRESETS: tuple[Preset, ...] = (
    LEADTUI,
    DIRECTSKIP,
    REISIFT,
    DEALMACHINE,
    BATCHLEADS,
    PROPSTREAM,
    PROPSTREAM_CONTACTS,
    GENERIC,
)
BY_NAME = {norm(p.name): p for p in PRESETS} | {
    "batchskiptracing": DIRECTSKIP,
    "propstreamskiptrace": PROPSTREAM_CONTACTS,
    "csv": GENERIC,
}

# --map "Header=field": the fields a column may be mapped to
MAP_FIELDS = (
    "owner_name",
    "first_name",
    "last_name",
    "company",
    "address",
    "unit",
    "city",
    "state",
    "zip",
    "mailing_address",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "apn",
    "county",
    "status",
    "list",
    "email",
    "phone",
    "ignore",
)


PhoneColumns = tuple[int, int | None, int | None, int | None, int | None, int | None, int | None]
"""A phone's column indexes: number, type, dnc, status, litigator, bad, wrong reports."""


@dataclass
class Layout:
    """A preset resolved against one header: column indexes per field, per phone, per email."""

    preset: Preset
    cols: dict[str, tuple[int, ...]]
    phones: list[PhoneColumns]
    emails: list[int] = field(default_factory=list)
    width: int = 0


def parse_maps(specs: Sequence[str]) -> dict[str, str]:
    """`["Site Addr=address"]` -> {"siteaddr": "address"}; LeadtuiError on a bad spec."""
    out = {}
    for spec in specs:
        header, sep, target = spec.rpartition("=")
        target = target.strip().lower().replace("-", "_")
        if not sep or not header.strip():
            raise LeadtuiError(f'--map {spec!r}: expected "Header=field"')
        if target not in MAP_FIELDS:
            raise LeadtuiError(f"--map {spec!r}: unknown field {target!r} (one of {', '.join(MAP_FIELDS)})")
        out[norm(header)] = target
    return out


def resolve(
    header: Sequence[str],
    preset_name: str | None = None,
    maps: Mapping[str, str] | None = None,
    file: str = "file",
) -> Layout:
    """The layout of `header`: the named preset, else the first that fits; LeadtuiError naming what is missing."""
    maps = dict(maps or {})
    names = [norm(h) for h in header]
    if unknown := [m for m in maps if m not in names]:
        raise LeadtuiError(f"--map: {file} has no column {unknown[0]!r}")
    mapped_names = {n for n in names if n not in maps} | {
        GENERIC.columns[t][0] for t in maps.values() if t in GENERIC.columns
    }
    mapped_names |= {"phone" for t in maps.values() if t == "phone"}
    if preset_name:
        preset = BY_NAME.get(norm(preset_name))
        if preset is None:
            raise LeadtuiError(
                f"unknown preset {preset_name!r} (one of {', '.join(p.name for p in PRESETS)})"
            )
        if missing := preset.missing(mapped_names):
            raise LeadtuiError(f"{file} is not a {preset.label} file: missing {_listing(missing)}")
    else:
        preset = next((p for p in PRESETS if not p.missing(mapped_names)), None)
        if preset is None:
            vendor = min(PRESETS[:-1], key=lambda p: len(p.missing(mapped_names)) / len(p.needs))
            near = len(vendor.missing(mapped_names)) < len(vendor.needs)
            raise LeadtuiError(
                f"{file}: no preset fits the header: a generic CSV needs {_listing(GENERIC.missing(mapped_names))}"
                + (f"; {vendor.label} needs {_listing(vendor.missing(mapped_names))}" if near else "")
                + '; or name columns with --map "Header=field"'
            )
    layout = _layout(preset, names, maps)
    used = {i for c in layout.cols.values() for i in c} | {
        i for p in layout.phones for i in p if i is not None
    }
    used |= set(layout.emails)
    for i, name in enumerate(names):
        if i in used and name in names[i + 1 :]:  # the second one's values would be dropped unseen
            again = names.index(name, i + 1)
            raise LeadtuiError(
                f"{file}: the header names column {header[i]!r} twice (columns {i + 1} and {again + 1}); "
                "rename one so each is read"
            )
    return layout


def _listing(needs: list[str]) -> str:
    """`['Address|Street|Site']` -> `'Address' (or 'Street', ...)`."""

    def one(need: str) -> str:
        alts = need.split("|")
        return repr(alts[0]) + (
            f" (or {alts[1]!r}{', ...' if len(alts) > 2 else ''})" if len(alts) > 1 else ""
        )

    return ", ".join(one(n) for n in needs)


def _layout(preset: Preset, names: list[str], maps: dict[str, str]) -> Layout:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if name not in maps:
            index.setdefault(name, i)
    cols = {f: tuple(index[c] for c in cands if c in index) for f, cands in preset.columns.items()}
    phones: list[PhoneColumns] = []
    for slot in preset.phones:
        for n in range(1, MAX_SLOTS + 1) if "{n}" in slot.number else (0,):
            number = index.get(slot.number.format(n=n))
            if number is not None and all(p[0] != number for p in phones):
                phones.append(
                    (
                        number,
                        *(
                            index.get(t.format(n=n)) if t else None
                            for t in (slot.type, slot.dnc, slot.status, slot.litigator, slot.bad, slot.wrong)
                        ),
                    )
                )
    emails = sorted(
        {
            index[e.format(n=n)]
            for e in preset.emails
            for n in (range(1, MAX_SLOTS + 1) if "{n}" in e else (0,))
            if e.format(n=n) in index
        }
    )
    for name, target in maps.items():
        i = names.index(name)
        if target == "phone":
            phones.append((i, None, None, None, None, None, None))
        elif target == "email":
            emails.append(i)
        elif target != "ignore":
            cols[target] = (i, *(c for c in cols.get(target, ()) if c != i))
    return Layout(preset, {f: c for f, c in cols.items() if c}, phones, emails, len(names))
