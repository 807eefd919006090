"""F4: a station's commit waits at most a moment for any other writer.

Writers take turns at a gate (`store.db.Gate`, a lock file next to the database); floor-wide
jobs write in short chunks; a manager's PIN is checked with no transaction open. Real SQLite
files and real connections, no mocks, nothing timed.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest
from conftest import MANAGER, PIN, REP, add_lead

from leadtui.core.pins import hash_pin
from leadtui.errors import Busy, LeadtuiError, Refused
from leadtui.service.jobs import PROGRESS
from leadtui.store.db import Gate, connect

pytestmark = pytest.mark.skipif(
    not Gate.available(), reason="the gate needs open file description locks (Linux)"
)


class Boom(Exception):
    pass


def test_f4_the_gate_is_released_after_an_exception(make_service):
    svc = make_service()
    other = connect(svc.db.path, busy_timeout_ms=0)  # would fail at once if the gate stayed taken
    try:
        with pytest.raises(Boom), svc.db.write() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('f4', 'rolled back')")
            raise Boom
        with other.write() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('f4', 'other')")
        assert svc.db.conn.execute("SELECT value FROM meta WHERE key = 'f4'").fetchone()[0] == "other"
    finally:
        other.close()


def test_f4_busy_when_another_writer_holds_the_gate_past_the_timeout(make_service):
    svc = make_service()
    other = connect(svc.db.path, busy_timeout_ms=50)
    try:
        with svc.db.write(), pytest.raises(Busy, match="locked"), other.write() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('f4', 'never')")
        assert svc.db.conn.execute("SELECT count(*) FROM meta WHERE key = 'f4'").fetchone()[0] == 0
    finally:
        other.close()


def test_f4_busy_when_a_writer_outside_the_gate_holds_the_lock(make_service):
    """The sqlite3 shell, another program: SQLite's own lock, past a short busy timeout, is Busy too."""
    svc = make_service()
    holder = sqlite3.connect(svc.db.path, isolation_level=None)
    short = connect(svc.db.path, busy_timeout_ms=50)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Busy), short.write() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('f4', 'never')")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        short.close()


def test_f4_a_busy_error_is_still_a_leadtui_error_exit_2():
    assert issubclass(Busy, LeadtuiError) and Busy.exit_code == 2


def test_f4_many_connections_each_write_once_and_none_is_lost(make_service):
    svc = make_service()
    path = svc.db.path
    errors: list[BaseException] = []

    def station(n: int) -> None:
        db = connect(path, busy_timeout_ms=30_000)
        try:
            for _ in range(25):
                with db.write(background=n % 3 == 0) as conn:
                    value = int(
                        conn.execute(
                            "SELECT coalesce((SELECT value FROM meta WHERE key = 'count'), 0)"
                        ).fetchone()[0]
                    )
                    conn.execute(
                        "INSERT INTO meta(key, value) VALUES ('count', ?) ON CONFLICT(key)"
                        " DO UPDATE SET value = excluded.value",
                        (str(value + 1),),
                    )
        except BaseException as exc:  # noqa: BLE001 (whatever it is, handed to the test)
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=station, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert svc.db.conn.execute("SELECT value FROM meta WHERE key = 'count'").fetchone()[0] == str(8 * 25)


def test_f4_the_gate_file_has_the_database_permissions_and_goes_with_the_last_writer(make_service):
    svc = make_service()
    path = svc.db.path
    gate = f"{path}-writer"
    svc.close()
    assert not os.path.exists(gate)  # the last writer closed
    os.chmod(path, 0o660)
    first, second = connect(path), connect(path)
    try:
        for db in (first, second):
            with db.write() as conn:
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('f4', 'x')")
        assert stat.S_IMODE(os.stat(gate).st_mode) == 0o660
        first.close()
        assert os.path.exists(gate)  # the second still has it open
    finally:
        first.close()
        second.close()
    assert not os.path.exists(gate)


def test_f4_a_floor_only_read_gets_no_gate_file(make_service):
    svc = make_service()
    path = svc.db.path
    svc.close()
    reader = connect(path)
    try:
        with reader.read() as conn:
            conn.execute("SELECT count(*) FROM leads").fetchone()
        assert not os.path.exists(f"{path}-writer")
    finally:
        reader.close()


def test_f4_sweep_over_several_chunks_releases_every_hold_once(make_service, clock):
    svc = make_service()
    ids = [add_lead(svc)["id"] for _ in range(7)]
    with svc.db.write() as conn:
        conn.execute(
            f"UPDATE leads SET owner = ?, hold_until = '2026-11-01T00:00:00+00:00'"
            f" WHERE id IN ({', '.join('?' * len(ids))})",
            (REP, *ids),
        )
    released = svc.sweep(chunk=3)
    assert sorted(released) == ids
    rows = svc.db.conn.execute("SELECT owner, hold_until FROM leads").fetchall()
    assert all(r["owner"] is None and r["hold_until"] is None for r in rows)
    events = svc.db.conn.execute(
        "SELECT lead_id FROM events WHERE kind = 'hold_expired' ORDER BY lead_id"
    ).fetchall()
    assert [e[0] for e in events] == ids
    assert svc.sweep(chunk=3) == []


def _legacy_floor(svc, n: int) -> None:
    for _ in range(n):
        add_lead(svc)
    with svc.db.write() as conn:
        conn.execute(
            "UPDATE leads SET source_status = CASE id % 3 WHEN 0 THEN 'Hot' WHEN 1 THEN 'New' ELSE 'Exclude' END"
        )
        conn.execute("UPDATE leads SET status = 'needs-offer' WHERE id = 2")  # a rep decided: kept


def _state(svc) -> tuple:
    statuses = svc.db.conn.execute("SELECT status, count(*) FROM leads GROUP BY 1 ORDER BY 1").fetchall()
    migrated = svc.db.conn.execute(
        "SELECT lead_id, count(*) FROM events WHERE kind = 'migrate' GROUP BY 1"
    ).fetchall()
    return [tuple(r) for r in statuses], sorted(tuple(r) for r in migrated)


MAPPING = {"hot": "needs-offer", "new": "new", "exclude": "not-interested"}


def test_f4_migrate_statuses_stopped_after_some_chunks_then_run_again_gives_one_runs_totals(
    make_service, tmp_path
):
    whole = make_service()
    _legacy_floor(whole, 11)
    one_run = whole.migrate_statuses(MAPPING, None, chunk=2)
    expected = _state(whole)
    whole.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"leads.db{suffix}").unlink(missing_ok=True)

    svc = make_service()
    _legacy_floor(svc, 11)
    chunks: list[int] = []

    def stop_after_two(last: int) -> None:
        chunks.append(last)
        if len(chunks) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        svc.migrate_statuses(MAPPING, None, chunk=2, progress=stop_after_two)
    assert svc.db.conn.execute("SELECT count(*) FROM meta WHERE key = ?", (PROGRESS,)).fetchone()[0] == 1
    again = svc.migrate_statuses(MAPPING, None, chunk=2)
    assert again == one_run
    assert _state(svc) == expected
    assert all(count == 1 for _, count in expected[1])  # one event per lead changed
    assert svc.db.conn.execute("SELECT count(*) FROM meta WHERE key = ?", (PROGRESS,)).fetchone()[0] == 0


def test_f4_migrate_statuses_with_another_map_starts_over(make_service):
    svc = make_service()
    _legacy_floor(svc, 6)
    with pytest.raises(KeyboardInterrupt):
        svc.migrate_statuses(
            MAPPING, None, chunk=2, progress=lambda last: (_ for _ in ()).throw(KeyboardInterrupt)
        )
    result = svc.migrate_statuses({"hot": "not-interested"}, None, chunk=2)
    assert result["map"] == [{"from": "Hot", "to": "not-interested", "count": 2}]


def test_f4_a_wrong_pin_is_refused_while_another_station_holds_the_write_lock(make_service):
    """The PIN is checked before the write transaction: a wrong one is refused at once, even while
    the database is locked (checked inside it, this waited for the lock and failed Busy)."""
    svc = make_service()
    lead = add_lead(svc)
    holder = make_service()
    short = make_service()
    short.db.busy_ms = 50
    short.db.conn.execute("PRAGMA busy_timeout = 50")
    with holder.db.write():
        with pytest.raises(Refused, match="wrong PIN"):
            short.revive(lead["id"], MANAGER, "0000")
        with pytest.raises(Refused, match="wrong PIN"):
            short.add_rep("second", manager=True, pin="905173", acting=MANAGER, acting_pin="0000")


def test_f4_the_pin_is_checked_before_the_transaction_and_checked_unchanged_inside(make_service):
    """approve() checks the PIN, then waits its turn at the gate; the manager's PIN changes
    meanwhile (in the transaction it waits for): the approval is refused, nothing changed."""
    svc = make_service()
    lead = add_lead(svc)
    outcome = svc.set_status(lead["id"], "dead-deal", "newbie")
    approval = outcome.approval_id
    assert approval is not None
    holder = make_service()
    result: list = []

    def approve() -> None:
        try:
            result.append(svc.approve(approval, MANAGER, PIN))
        except BaseException as exc:  # noqa: BLE001 (whatever it is, handed to the test)
            result.append(exc)

    with holder.db.write() as conn:
        thread = threading.Thread(target=approve)
        thread.start()
        gate = holder.db.gate()
        for _ in range(10_000):  # until approve() waits at the gate: its PIN check is done by then
            if gate.stations_waiting() or not thread.is_alive():
                break
            time.sleep(0.001)
        assert gate.stations_waiting(), "approve() never waited for the write lock"
        conn.execute("UPDATE reps SET pin_hash = ? WHERE name = ?", (hash_pin("9999"), MANAGER))
    thread.join()
    assert isinstance(result[0], Refused) and "changed meanwhile" in str(result[0])
    assert (
        svc.db.conn.execute("SELECT state FROM approvals WHERE id = ?", (approval,)).fetchone()[0]
        == "pending"
    )
