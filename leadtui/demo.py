"""The `--demo` floor: a database of 300 realistic leads, already being worked.

    from leadtui import demo
    path = demo.ensure_demo()   # <user data dir>/demo/leads.db, built on first use

Open it as DEMO_REP ("alice"). The other reps are "bob" and "carmen" (in her first
30 days, so her Dead Deal waits for approval); the manager is DEMO_MANAGER
("morgan") with PIN DEMO_PIN ("246810"). The demo has its own folder and never
touches the real database.

Leads are made as rows in PropStream's export layout (its column names), mapped
to leads (phones normalised to E.164) and loaded with `store.bulk.insert_leads`.
Then the floor is lived in through the real Service, its clock set to moments
before `now`: claims, dial runs, follow-ups due, appointments, an Offer Rejected
hold about to run out, kills, approvals, drip replies, outbox actions, KPIs.
Seeded: the same `now` gives the same floor. Today's session ends ten minutes
before `now`, or, outside US calling hours, when the floor last closed (B3 holds
for the demo's own dials too).

The build goes to a temp file beside the demo and replaces it in one `os.replace`,
so a killed build never leaves a half demo; `meta.demo_version` marks a finished one.
"""

from __future__ import annotations

import json
import os
import random
import time as time_
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from leadtui import clock, config
from leadtui.core import phones as phonelib
from leadtui.core.calling import resolve_zone
from leadtui.core.identity import address_key, owner_key
from leadtui.errors import LeadtuiError
from leadtui.service import Service, init_database
from leadtui.store import bulk
from leadtui.store import queries as q
from leadtui.store.db import connect

DEMO_VERSION = "1"  # bump when the demo's content changes: older demos are rebuilt
DEMO_REP = "alice"
DEMO_MANAGER = "morgan"
DEMO_PIN = "246810"
NEW_REP = "carmen"
OTHER_REP = "bob"
SEED = 20261122
PARTIAL = ".partial"  # temp build files: `<name>.<random>.partial` (plus -wal, -shm)
NEW_YORK = ZoneInfo("America/New_York")
# the demo's afternoon, New York time: from Eastern to Hawaii every lead is inside its calling window
OPENS, EARLIEST, LATEST = time(15, 0), time(13, 0), time(19, 0)
STALE = timedelta(minutes=15)  # a partial this old is a killed build's; removed at the next build

# city, state, county, zip codes, area codes, weight. Eastern to Hawaii: outside ~13:00-21:00 New York
# time some leads are out of calling hours
PLACES = (
    ("Miami", "FL", "Miami-Dade", ("33142", "33147", "33150"), ("305", "786"), 4),
    ("Tampa", "FL", "Hillsborough", ("33604", "33610"), ("813",), 3),
    ("Jacksonville", "FL", "Duval", ("32208", "32209"), ("904",), 3),
    ("Atlanta", "GA", "Fulton", ("30310", "30314"), ("404", "678"), 4),
    ("Charlotte", "NC", "Mecklenburg", ("28208", "28216"), ("704", "980"), 3),
    ("Cleveland", "OH", "Cuyahoga", ("44105", "44108"), ("216",), 3),
    ("Columbus", "OH", "Franklin", ("43205", "43207"), ("614",), 2),
    ("Detroit", "MI", "Wayne", ("48205", "48227"), ("313",), 3),
    ("Philadelphia", "PA", "Philadelphia", ("19132", "19134", "19140"), ("215", "267"), 3),
    ("Baltimore", "MD", "Baltimore City", ("21215", "21217"), ("410", "443"), 2),
    ("Indianapolis", "IN", "Marion", ("46218", "46221"), ("317",), 2),
    ("Dallas", "TX", "Dallas", ("75216", "75217", "75227"), ("214", "469", "972"), 4),
    ("Houston", "TX", "Harris", ("77016", "77026", "77033"), ("713", "832"), 4),
    ("San Antonio", "TX", "Bexar", ("78207", "78211"), ("210",), 2),
    ("Memphis", "TN", "Shelby", ("38106", "38109"), ("901",), 3),
    ("Kansas City", "MO", "Jackson", ("64128", "64130"), ("816",), 2),
    ("Birmingham", "AL", "Jefferson", ("35208", "35211"), ("205",), 2),
    ("Chicago", "IL", "Cook", ("60621", "60628", "60636"), ("773", "312"), 3),
    ("New Orleans", "LA", "Orleans", ("70117", "70126"), ("504",), 2),
    ("Denver", "CO", "Denver", ("80204", "80219"), ("303", "720"), 2),
    ("Albuquerque", "NM", "Bernalillo", ("87105", "87121"), ("505",), 1),
    ("Phoenix", "AZ", "Maricopa", ("85009", "85035"), ("602", "480"), 3),
    ("Los Angeles", "CA", "Los Angeles", ("90011", "90044"), ("213", "323"), 3),
    ("Sacramento", "CA", "Sacramento", ("95815", "95824"), ("916",), 1),
    ("Las Vegas", "NV", "Clark", ("89101", "89110"), ("702",), 2),
    ("Portland", "OR", "Multnomah", ("97220", "97266"), ("503",), 1),
    ("Anchorage", "AK", "Anchorage", ("99504", "99508"), ("907",), 1),
    ("Honolulu", "HI", "Honolulu", ("96817", "96819"), ("808",), 1),
)
# (source list, leads, cities it covers (all if empty), share of absentee owners, days since the import)
LISTS = (
    ("PropStream - Absentee Owners Dallas", 40, ("Dallas",), 1.0, 41),
    ("BatchLeads - Tired Landlords", 50, (), 0.9, 34),
    (
        "DealMachine - Driving for Dollars",
        40,
        ("Atlanta", "Memphis", "Detroit", "Cleveland", "Birmingham"),
        0.3,
        27,
    ),
    ("PropStream - Pre-Foreclosure FL", 35, ("Miami", "Tampa", "Jacksonville"), 0.25, 20),
    ("REISift - Tax Delinquent", 45, (), 0.4, 14),
    ("BatchLeads - Vacant Properties", 35, (), 0.5, 9),
    ("PropStream - High Equity Seniors", 30, (), 0.1, 5),
    ("DirectSkip - Probate", 25, (), 0.5, 2),
)
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Anthony",
    "Sandra",
    "Donald",
    "Betty",
    "Kevin",
    "Gloria",
    "Darnell",
    "Latoya",
    "Tyrone",
    "Keisha",
    "Jamal",
    "Shanice",
    "DeShawn",
    "Ebony",
    "Maria",
    "Jose",
    "Luis",
    "Carmen",
    "Juan",
    "Rosa",
    "Carlos",
    "Ana",
    "Guadalupe",
    "Miguel",
    "Wei",
    "Mei",
    "Hung",
    "Linh",
    "Thanh",
    "Minh",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Priya",
    "Raj",
    "Kenji",
    "Yuki",
    "Aiyana",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Tran",
    "Pham",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Washington",
    "Jefferson",
    "Banks",
    "Okafor",
    "Patel",
    "Shah",
    "Kim",
    "Park",
    "Chen",
    "Wong",
    "Kowalski",
    "Novak",
    "O'Brien",
    "Fitzgerald",
    "Delgado",
    "Castillo",
    "Begay",
]
STREETS = (
    *[
        "Oak",
        "Pine",
        "Maple",
        "Cedar",
        "Elm",
        "Washington",
        "Lake",
        "Hill",
        "Park",
        "Main",
        "Sunset",
        "Lincoln",
        "Jackson",
        "Church",
        "Highland",
        "Forest",
        "Jefferson",
        "Ridge",
        "Meadow",
        "Willow",
        "River",
        "Spring",
        "Walnut",
        "Chestnut",
        "Franklin",
        "Palm",
        "Magnolia",
        "Dogwood",
        "Hickory",
        "Sycamore",
        "Cypress",
        "Birch",
        "Laurel",
        "Poplar",
        "Orchard",
        "Valley",
        "Mill",
        "Madison",
        "Monroe",
        "Grant",
        "Kennedy",
    ],
    "Martin Luther King Jr",
)
SUFFIXES = ("St", "Ave", "Dr", "Rd", "Ln", "Ct", "Blvd", "Pl", "Cir", "Ter", "Way")
COMPANIES = (
    "{last} Holdings LLC",
    "{last} Properties LLC",
    "K&M Investments LLC",
    "Sunbelt Rental Homes LLC",
    "Blue Door Capital LLC",
    "{last} & Sons Realty Inc",
    "Keystone Home Buyers LLC",
    "Redbird Equity LLC",
)
TRUSTS = ("{last} Family Trust", "{first} {last} Revocable Living Trust", "{last} Irrevocable Trust")
PHONE_TYPES = ("Mobile", "Mobile", "Mobile", "Landline", "Landline", "VoIP")
# owner names and addresses as vendors send them; the screen must show them literally (B5)
_ONE = {"Owner 2 First Name": "", "Owner 2 Last Name": ""}
HOSTILE = {
    7: {"Owner 1 First Name": "[bold]Robert[/bold]", "Owner 1 Last Name": "Tables"} | _ONE,
    58: {
        "Owner 1 First Name": "",
        "Owner 1 Last Name": "[link=https://example.invalid]Click Here[/link] Holdings LLC",
    }
    | _ONE,
    121: {"Owner 1 First Name": "Dale", "Owner 1 Last Name": "\x1b[2J\x1b[31mCooper"} | _ONE,
    177: {"Unit #": "[rear unit]"},
    240: {"Owner 1 First Name": "Seán", "Owner 1 Last Name": "O'Brien-Núñez"} | _ONE,
}


def demo_path() -> Path:
    """Where the demo database lives: its own folder in the user data dir."""
    return config.data_dir() / "demo" / "leads.db"


def ensure_demo(path: Path | str | None = None, *, now: datetime | None = None) -> Path:
    """The demo database at `path` (default demo_path()), built unless a current one is there.
    The demo is always a SQLite file of its own: a postgresql:// address is refused."""
    if isinstance(path, str) and path.startswith(config.DATABASE_SCHEMES):
        raise LeadtuiError(
            "the demo floor is a SQLite file of its own, never built on a PostgreSQL server: "
            "give it a file path (or none)"
        )
    path = Path(path) if path is not None else demo_path()
    if _current(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    moment = now or afternoon(clock.now())
    if moment.tzinfo is None:
        moment = moment.astimezone()
    tmp = path.with_name(f"{path.name}.{os.urandom(4).hex()}{PARTIAL}")
    try:
        _build(tmp, path.parent / "contracts", moment)
        for suffix in ("-wal", "-shm"):  # an old demo's WAL must never meet the new file
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return path


def afternoon(moment: datetime) -> datetime:
    """The latest weekday 3 pm New York at or before `moment`: every demo lead, Eastern to Hawaii,
    is inside its calling window then."""
    local = moment.astimezone(NEW_YORK)
    day = local.date() if local.time() >= OPENS else local.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=NEW_YORK)


def demo_clock(path: Path) -> Callable[[], datetime]:
    """The demo floor's own clock: it starts a minute after the demo's last event (on the next
    weekday afternoon when that is past the floor's hours) and runs with the wall clock, so the
    demo always opens on callable leads, whatever the time where it is tried."""
    db = connect(path)
    try:
        last = q.last_event_at(db.conn)
    finally:
        db.close()
    start = (clock.parse_iso(last) if last else afternoon(clock.now())) + timedelta(minutes=1)
    local = start.astimezone(NEW_YORK)
    if local.weekday() >= 5 or not (EARLIEST <= local.time() <= LATEST):
        day = local.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = datetime.combine(day, OPENS, tzinfo=NEW_YORK)
    began = time_.monotonic()
    return lambda: start + timedelta(seconds=time_.monotonic() - began)


def _current(path: Path) -> bool:
    """A finished demo of this version is at `path`."""
    if not path.exists():
        return False
    try:
        db = connect(path)
    except LeadtuiError:
        return False
    try:
        return q.meta(db.conn, "demo_version") == DEMO_VERSION
    finally:
        db.close()


def _remove_stale(path: Path) -> None:
    """Leftovers of a killed build (a running build's partial is younger than STALE)."""
    cutoff = (datetime.now() - STALE).timestamp()
    for leftover in path.parent.glob(f"{path.name}.*{PARTIAL}*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except FileNotFoundError:
            pass


def _build(tmp: Path, contracts: Path, now: datetime) -> None:
    init_database(tmp, test_clock=True)
    moment = [now]
    svc = Service.open(tmp, now=lambda: moment[0], contracts_dir=contracts)
    try:
        # the manager first, then each rep with the manager's PIN (a rep added once there is a manager)
        for name, days, manager in (
            (DEMO_MANAGER, 3 * 365, True),
            (DEMO_REP, 400, False),
            (OTHER_REP, 200, False),
            (NEW_REP, 12, False),
        ):
            moment[0] = now - timedelta(days=days)
            svc.add_rep(
                name,
                manager=manager,
                started=moment[0].date(),
                pin=DEMO_PIN if manager else None,
                acting=None if manager else DEMO_MANAGER,
                acting_pin=None if manager else DEMO_PIN,
            )
        leads = _leads(now)
        _Floor(svc, _candidates(_load(svc, leads), leads), now, moment).live()
        with svc.db.write() as conn:
            q.set_meta(conn, "demo_version", DEMO_VERSION)
            q.set_meta(conn, "demo_built_for", clock.stamp(now))
        svc.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        svc.close()


# --- leads: PropStream-layout rows, mapped --------------------------------------------------


def _phone_book(rng: random.Random) -> dict[str, list[str]]:
    """Per area code, the fictional 555-0100..0199 numbers in a seeded order (drawn without repeats)."""
    book = {}
    for *_, areas, _w in PLACES:
        for area in areas:
            numbers = [f"{area}5550{n:03d}" for n in range(100, 200)]
            rng.shuffle(numbers)
            book[area] = numbers
    return book


_FORMATS = (
    lambda n: f"({n[:3]}) {n[3:6]}-{n[6:]}",
    lambda n: f"{n[:3]}-{n[3:6]}-{n[6:]}",
    lambda n: n,
    lambda n: f"+1 {n[:3]} {n[3:6]} {n[6:]}",
    lambda n: f"{n[:3]}.{n[3:6]}.{n[6:]}",
    lambda n: f"1{n}",
)


def _owner(rng: random.Random, listname: str) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    r = rng.random()
    entity = 0.3 if "Landlords" in listname or "Absentee" in listname else 0.08
    if "Probate" in listname and r < 0.5:
        return {"Owner 1 First Name": "", "Owner 1 Last Name": f"Estate of {first} {last}"}
    if r < entity:
        return {"Owner 1 First Name": "", "Owner 1 Last Name": rng.choice(COMPANIES).format(last=last)}
    if r < entity + 0.06:
        return {
            "Owner 1 First Name": "",
            "Owner 1 Last Name": rng.choice(TRUSTS).format(first=first, last=last),
        }
    row = {"Owner 1 First Name": first, "Owner 1 Last Name": last}
    if rng.random() < 0.3:
        row |= {
            "Owner 2 First Name": rng.choice(FIRST),
            "Owner 2 Last Name": last if rng.random() < 0.8 else rng.choice(LAST),
        }
    return row


def _street(rng: random.Random) -> str:
    direction = rng.choice(("", "", "", "N ", "S ", "E ", "W "))
    return f"{rng.randrange(100, 9999)} {direction}{rng.choice(STREETS)} {rng.choice(SUFFIXES)}"


def _propstream_rows(rng: random.Random) -> list[dict[str, str]]:
    """The leads as a PropStream export would carry them, one dict per CSV row."""
    book = _phone_book(rng)
    weights = [p[5] for p in PLACES]
    rows: list[dict[str, str]] = []
    seen: set[str | None] = set()
    for listname, count, cities, absentee, _age in LISTS:
        places = [p for p in PLACES if not cities or p[0] in cities]
        portfolio: list[dict[str, str]] = []  # landlords owning more than one property
        made = 0
        while made < count:
            city, state, county, zips, areas, _w = rng.choices(places, [p[5] for p in places])[0]
            zip_code, street = rng.choice(zips), _street(rng)
            unit = f"Unit {rng.randrange(1, 12)}" if rng.random() < 0.05 else ""
            if address_key(f"{street} {unit}", zip_code) in seen:
                continue
            row = {
                "Address": street,
                "Unit #": unit,
                "City": city,
                "State": state,
                "Zip": zip_code,
                "County": county,
                "APN": f"{rng.randrange(10, 99)}-{rng.randrange(10**4):04d}-{rng.randrange(1000):03d}",
                "Litigator": "Yes" if rng.random() < 0.015 else "No",
            }
            again = [o for o in portfolio if o["_properties"] < 3]
            if again and rng.random() < 0.08:
                owner = rng.choice(again)
                owner["_properties"] += 1
                row |= {k: v for k, v in owner.items() if not k.startswith("_")}
            else:
                row |= _owner(rng, listname)
                if rng.random() < absentee:
                    m_city, m_state, _c, m_zips, m_areas, _w = rng.choices(PLACES, weights)[0]
                    row |= {
                        "Mailing Address": _street(rng),
                        "Mailing City": m_city,
                        "Mailing State": m_state,
                        "Mailing Zip": rng.choice(m_zips),
                    }
                else:
                    m_areas = areas
                    row |= {
                        "Mailing Address": f"{street} {unit}".strip(),
                        "Mailing City": city,
                        "Mailing State": state,
                        "Mailing Zip": zip_code,
                    }
                n_phones = rng.choices((1, 2, 3, 4, 5), (30, 30, 20, 12, 8))[0]
                for i in range(1, n_phones + 1):
                    pool = book[rng.choice(m_areas)]
                    if not pool:
                        break
                    row |= {
                        f"Phone {i}": rng.choice(_FORMATS)(pool.pop()),
                        f"Phone {i} Type": rng.choice(PHONE_TYPES),
                        f"Phone {i} DNC": "Yes" if rng.random() < 0.08 else "No",
                    }
                if row.get("Owner 1 First Name") and rng.random() < 0.3:
                    row["Email 1"] = (
                        f"{row['Owner 1 First Name']}.{row['Owner 1 Last Name']}{rng.randrange(10, 99)}@example.com".lower()
                    )
                if rng.random() < 0.15 and row["Mailing City"] != city:
                    portfolio.append(
                        {k: v for k, v in row.items() if k.startswith(("Owner", "Mailing", "Phone", "Email"))}
                        | {"_properties": 1}
                    )
            seen.add(address_key(f"{street} {unit}", zip_code))
            rows.append(row | {"_list": listname})
            made += 1
    for index, fields in HOSTILE.items():
        rows[index] |= fields
    return rows


def _name(row: dict[str, str]) -> str:
    one = " ".join(filter(None, (row.get("Owner 1 First Name"), row.get("Owner 1 Last Name"))))
    first2, last2 = row.get("Owner 2 First Name"), row.get("Owner 2 Last Name")
    if not first2:
        return one
    if last2 == row.get("Owner 1 Last Name"):
        return f"{row['Owner 1 First Name']} & {first2} {last2}"
    return f"{one} & {' '.join(filter(None, (first2, last2)))}"


def _lead(row: dict[str, str], imported: datetime) -> dict[str, Any]:
    """One PropStream row as a lead with its phone rows (E.164, DNC and litigator kept)."""
    address = f"{row['Address']} {row.get('Unit #', '')}".strip()
    name = _name(row)
    litigator = int(row["Litigator"] == "Yes")
    phones, numbers = [], set()
    for i in range(1, 6):
        number = phonelib.normalize(row.get(f"Phone {i}", ""))
        if number and number not in numbers:
            numbers.add(number)
            phones.append(
                (
                    len(phones) + 1,
                    number,
                    row[f"Phone {i} Type"],
                    int(row[f"Phone {i} DNC"] == "Yes"),
                    litigator,
                    resolve_zone(phonelib.time_zones(number), row["State"]),
                )
            )
    emails = [row[k] for k in ("Email 1", "Email 2") if row.get(k)]
    return {
        "owner_name": name,
        "address": address,
        "city": row["City"],
        "state": row["State"],
        "zip": row["Zip"],
        "mailing_address": row["Mailing Address"],
        "mailing_city": row["Mailing City"],
        "mailing_state": row["Mailing State"],
        "mailing_zip": row["Mailing Zip"],
        "apn": row["APN"],
        "county": row["County"],
        "emails": json.dumps(emails),
        "source_list": row["_list"],
        "owner_key": owner_key(name, row["Mailing Address"], row["Mailing Zip"]),
        "address_key": address_key(address, row["Zip"]),
        "status": "new",
        "created_at": clock.stamp(imported),
        "updated_at": clock.stamp(imported),
        "phones": phones,
        "imported": imported,
        "street": row["Address"],  # not columns: for the planner
    }


@dataclass
class _Lead:
    """What the floor planner needs to know of a loaded lead."""

    id: int
    created: datetime
    street: str
    zone: str | None  # of its first dialable phone; None: nothing to dial
    number: str | None  # that phone
    dialable: int
    phones: int
    others: bool  # the owner has other properties (W11)


def _leads(now: datetime) -> list[dict[str, Any]]:
    """Every demo lead, mapped from its PropStream row; imported when its list was."""
    imported = {name: now - timedelta(days=age, hours=5) for name, *_, age in LISTS}
    return [_lead(row, imported[row["_list"]]) for row in _propstream_rows(random.Random(SEED))]


def _load(svc: Service, leads: list[dict[str, Any]]) -> range:
    """Insert the leads into the pool, one import event each, in one transaction."""
    with svc.db.write() as conn:
        ids = bulk.insert_leads(conn, leads, lambda lead: lead["phones"])
        for lead_id, lead in zip(ids, leads, strict=True):
            at = lead["imported"]
            q.insert_event(
                conn,
                lead_id=lead_id,
                at=clock.stamp(at),
                day=at.date().isoformat(),
                rep=None,
                kind="import",
                status="new",
                data={"list": lead["source_list"]},
            )
    return ids


def _candidates(ids: range, leads: list[dict[str, Any]]) -> list[_Lead]:
    owners: dict[str | None, int] = {}
    for lead in leads:
        owners[lead["owner_key"]] = owners.get(lead["owner_key"], 0) + 1
    out = []
    for lead_id, lead in zip(ids, leads, strict=True):
        good = [p for p in lead["phones"] if not (p[3] or p[4])]
        first = good[0] if good else (None,) * 6
        out.append(
            _Lead(
                lead_id,
                lead["imported"],
                lead["street"],
                first[5],
                first[1],
                len(good),
                len(lead["phones"]),
                owners[lead["owner_key"]] > 1,
            )
        )
    return out


# --- the floor, lived in through the Service -------------------------------------------------

# a planned call: (when, Service method, its arguments after the lead id, keyword arguments)
Step = tuple[datetime, str, tuple, dict]
NY = ZoneInfo("America/New_York")


def _open_hours(zone: str, at: datetime) -> bool:
    """Inside the default calling window, 08:00-21:00 lead-local (B3)."""
    return 8 <= at.astimezone(ZoneInfo(zone)).hour < 21


def _session_end(now: datetime) -> datetime:
    """When today's session ends: ten minutes before now, kept within 09:50-20:50 New York time
    (else the last such evening), so its dials (up to 100 minutes earlier) fall in calling hours."""
    end = (now - timedelta(minutes=10)).astimezone(NY)
    if end.time() > time(20, 50):
        end = end.replace(hour=20, minute=50)
    elif end.time() < time(9, 50):
        end = (end - timedelta(days=1)).replace(hour=20, minute=50)
    return end.astimezone(now.tzinfo)


class _Floor:
    """Plans stories (one lead's steps at past moments), then makes every call in time order."""

    def __init__(self, svc: Service, leads: list[_Lead], now: datetime, moment: list[datetime]):
        self.svc, self.now, self.moment = svc, now, moment
        self.order = list(leads)
        random.Random(SEED + 1).shuffle(self.order)
        self.used: set[int] = set()
        self.calls: list[tuple[datetime, Callable[[], Any]]] = []
        self.approval: dict[int, int | None] = {}

    def live(self) -> None:
        self._plan()
        for at, call in sorted(self.calls, key=lambda c: c[0]):
            self.moment[0] = at
            call()

    def story(self, *steps: Step, want: Callable[[_Lead], bool] = lambda _lead: True) -> _Lead:
        """Pick an unused lead that fits (imported before, callable at each dial) and plan its steps."""
        first = min(step[0] for step in steps)
        dials = [at for at, name, args, _ in steps if name == "set_status" and args[0] == "not-contacted"]
        for lead in self.order:
            if lead.id in self.used or lead.created >= first or not lead.zone or not want(lead):
                continue
            if all(_open_hours(lead.zone, at) for at in dials):
                break
        else:
            raise LeadtuiError("demo: no lead fits a planned story")  # tests/test_demo.py tries many clocks
        self.used.add(lead.id)
        self.then(lead, *steps)
        return lead

    def then(self, lead: _Lead, *steps: Step) -> None:
        for at, name, args, kwargs in steps:
            self.calls.append(
                (at, lambda name=name, args=args, kwargs=kwargs: self._call(lead.id, name, args, kwargs))
            )

    def _call(self, lead_id: int, name: str, args: tuple, kwargs: dict) -> None:
        if name in ("approve", "reject"):  # morgan decides the lead's pending approval
            getattr(self.svc, name)(self.approval[lead_id], DEMO_MANAGER, DEMO_PIN, *args)
        else:
            self.approval[lead_id] = getattr(self.svc, name)(lead_id, *args, **kwargs).approval_id

    def reply(self, number: str, body: str, at: datetime, *, cleared: bool = False) -> None:
        """A drip reply in at `at` (W17); `cleared`: alice handled it 25 minutes later."""
        box: dict[str, int | None] = {}
        self.calls.append((at, lambda: box.update(id=self.svc.add_reply(number, body, at))))
        if cleared:
            self.calls.append((at + timedelta(minutes=25), lambda: self.svc.clear_reply(box["id"], DEMO_REP)))

    def _plan(self) -> None:
        now, s = self.now, _session_end(self.now)
        d, h, m = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
        a, b, c = DEMO_REP, OTHER_REP, NEW_REP

        def st(when: datetime, status: str, rep: str, **kwargs: Any) -> Step:
            return (when, "set_status", (status, rep), kwargs)

        def do(at: datetime, name: str, *args: Any) -> Step:
            return (at, name, args, {})

        def nc(at: datetime, rep: str) -> Step:
            return st(at, "not-contacted", rep)

        def triple(at: datetime, rep: str) -> tuple[Step, ...]:
            return nc(at, rep), nc(at + m, rep), nc(at + 2 * m, rep)

        def several(lead: _Lead) -> bool:
            return lead.dialable >= 2

        def single(lead: _Lead) -> bool:
            return lead.phones == 1

        def booked(lead: _Lead, rep: str, when: datetime, days: int, hour: int) -> None:
            """Appointment Booked at `when` for `hour`:30 lead-local, `days` from today (else the day after)."""
            local = (
                (now + days * d)
                .astimezone(ZoneInfo(lead.zone))
                .replace(hour=hour, minute=30, second=0, microsecond=0)
            )
            self.then(
                lead,
                st(
                    when,
                    "appointment-booked",
                    rep,
                    at=(local if local > now + 30 * m else local + d).isoformat(),
                ),
            )

        # alice: follow-ups due now, and one in three months (W18)
        due = self.story(nc(s - 9 * d - 20 * m, a), do(s - 7 * d - 2 * h, "followup", a, "2 weeks"))
        self.story(do(s - 21 * d - h, "followup", a, "6 weeks"))
        self.story(nc(s - 20 * d, a), do(s - 20 * d + 2 * m, "followup", a, "6 months"))
        # alice: an appointment today and one in three days (W4)
        booked(self.story(st(s - d - 30 * m, "needs-offer", a)), a, s - d, 0, 17)
        booked(self.story(st(s - 2 * h - 30 * m, "needs-offer", a)), a, s - 2 * h, 3, 10)
        # alice: an offer rejected a week ago; the hold runs out in three hours (W9)
        held = now + 3 * h - 7 * d
        self.story(st(held - d, "offer-made", a, amount=85_000), st(held, "offer-rejected", a))
        # alice: her claimed leads, some mid triple-dial, one with a wrong-number report 2 of 3 (W1, W12, W14)
        self.story(do(s - d, "claim", a), nc(s - 50 * m, a))
        self.story(do(s - 2 * d, "claim", a), nc(s - 48 * m, a), nc(s - 47 * m, a), want=several)
        self.story(do(s - 3 * h, "claim", a), nc(s - 46 * m, a))
        for i in range(3):
            self.story(do(s - 2 * h - 7 * i * m, "claim", a))
        self.story(
            do(s - 2 * d, "claim", a),
            st(s - d - h, "wrong-number", a),
            st(s - 35 * m, "wrong-number", a),
            want=several,
        )
        # alice: today's session in the pool
        for i in range(6):
            self.story(*triple(s - 95 * m + 4 * i * m, a), want=several if i % 2 else single)
        for i in range(3):
            self.story(nc(s - 70 * m + 3 * i * m, a))
        self.story(st(s - 68 * m, "needs-offer", a))
        self.story(st(s - 3 * d, "needs-offer", a), st(s - 30 * m, "offer-made", a, amount=142_000))
        self.story(nc(s - 62 * m, a), st(s - 60 * m, "not-interested", a))
        self.story(st(s - 55 * m, "listed-with-agent", a))
        # alice: contracts (W6, W7)
        self.story(
            st(s - 6 * d, "needs-offer", a),
            st(s - 5 * d, "offer-made", a, amount=95_000),
            st(s - d - h, "send-contract", a),
        )
        self.story(
            st(s - 12 * d, "offer-made", a, amount=120_000),
            st(s - 10 * d, "send-contract", a),
            st(s - 2 * d, "under-contract", a),
        )
        # alice: kills (W10, W11, W12)
        self.story(st(s - 3 * d, "dead-deal", a))
        self.story(
            st(s - d - 2 * h, "already-sold", a, source="propstream", confirm=True),
            want=lambda lead: lead.others,
        )
        self.story(*(st(s - 2 * d - 3 * h + i * m, "wrong-number", a) for i in range(3)), want=single)

        # bob: leads of his own, so out of alice's queue
        for i in range(4):
            self.story(do(s - d - i * h, "claim", b))
        self.story(st(s - 80 * m, "needs-offer", b))
        texting = self.story(st(s - 20 * m, "needs-offer", b))
        booked(self.story(st(s - h - 5 * m, "needs-offer", b)), b, s - h, 1, 14)
        self.story(st(s - 2 * d, "offer-made", b, amount=60_000), st(s - 2 * d + h, "offer-rejected", b))
        self.story(do(s - 7 * d - 5 * h, "followup", b, "2 weeks"))
        for i in range(3):
            self.story(*triple(s - 90 * m + 5 * i * m, b))
        self.story(do(s - d, "claim", b), nc(s - 40 * m, b))
        self.story(st(s - 65 * m, "not-interested", b))
        self.story(st(s - 4 * d, "dead-deal", b))
        self.story(st(s - 8 * d, "dead-deal", b), do(s - 7 * d, "revive", DEMO_MANAGER, DEMO_PIN))

        # carmen, in her first 30 days: her Dead Deals wait for morgan (W13)
        for i in range(2):
            self.story(*triple(s - 85 * m + 5 * i * m, c))
        for i in range(2):
            self.story(nc(s - 75 * m + 2 * i * m, c))
        self.story(st(s - 25 * m, "needs-offer", c))
        self.story(do(s - d, "claim", c), st(s - 15 * m, "dead-deal", c))
        self.story(
            do(s - 3 * d, "claim", c),
            st(s - 2 * d - 2 * h, "dead-deal", c),
            do(
                s - 2 * d - h,
                "reject",
                "Owner said call back in the spring: that's a follow-up (f), not a dead deal",
            ),
        )
        self.story(
            do(s - 5 * d, "claim", c), st(s - 4 * d - 3 * h, "dead-deal", c), do(s - 4 * d - h, "approve")
        )
        self.story(do(s - 6 * d, "assign", c, DEMO_MANAGER))

        # drip replies matched to leads by phone (W17), one from a number on no lead, one cleared
        pool = [lead for lead in self.order if lead.id not in self.used and lead.number]
        landlord = next(lead for lead in pool[5:] if lead.others)
        texts = (
            (pool[0].number, "Yes I might sell, what's your number"),
            (pool[1].number, f"Is this about the house on {pool[1].street}?"),
            (pool[2].number, "[red]STOP[/red] texting me"),
            (pool[3].number, "Stop"),
            (pool[4].number, "Wrong number"),
            (landlord.number, "How much are you offering? I have a couple more on the same street"),
            (due.number, "Call me after 5pm"),
            (texting.number, "Text me the offer, I'm at work"),
            ("+16465550142", "Who gave you this number?"),
        )
        for i, (number, body) in enumerate(texts):
            self.reply(number, body, now - (5 * i + 2) * h, cleared=i == 3)
