"""The schema as numbered migrations; PRAGMA user_version says which have run."""

from __future__ import annotations

APPLICATION_ID = 0x4C454144  # "LEAD": tells our files from other SQLite files

# Keep leads_fts (external content: leads) in step with leads.
FTS_TRIGGERS = """
    CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
        INSERT INTO leads_fts(rowid, owner_name, address, city, zip, source_status)
        VALUES (new.id, new.owner_name, new.address, new.city, new.zip, new.source_status);
    END;
    CREATE TRIGGER leads_fts_update AFTER UPDATE OF owner_name, address, city, zip, source_status ON leads BEGIN
        INSERT INTO leads_fts(leads_fts, rowid, owner_name, address, city, zip, source_status)
        VALUES ('delete', old.id, old.owner_name, old.address, old.city, old.zip, old.source_status);
        INSERT INTO leads_fts(rowid, owner_name, address, city, zip, source_status)
        VALUES (new.id, new.owner_name, new.address, new.city, new.zip, new.source_status);
    END;
    CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
        INSERT INTO leads_fts(leads_fts, rowid, owner_name, address, city, zip, source_status)
        VALUES ('delete', old.id, old.owner_name, old.address, old.city, old.zip, old.source_status);
    END;
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE reps (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('rep', 'manager')),
        started TEXT NOT NULL,
        pin_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );

    CREATE TABLE leads (
        id INTEGER PRIMARY KEY,
        owner_name TEXT NOT NULL,
        address TEXT NOT NULL,
        city TEXT, state TEXT, zip TEXT,
        mailing_address TEXT, mailing_city TEXT, mailing_state TEXT, mailing_zip TEXT,
        apn TEXT, county TEXT,
        emails TEXT NOT NULL DEFAULT '[]',
        source_list TEXT, source_status TEXT,
        owner_key TEXT, address_key TEXT,
        notes TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        owner TEXT REFERENCES reps(name),
        hold_until TEXT, next_call_at TEXT, appointment_at TEXT,
        offer_amount REAL, contract_path TEXT, followup_requested_at TEXT,
        cur_phone INTEGER, dial_run INTEGER NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX leads_queue ON leads(owner, next_call_at, id) WHERE dead = 0;
    CREATE INDEX leads_status ON leads(status, owner) WHERE dead = 0;
    CREATE INDEX leads_hold ON leads(hold_until) WHERE hold_until IS NOT NULL;
    CREATE INDEX leads_parcel ON leads(county, apn) WHERE apn IS NOT NULL;
    CREATE INDEX leads_address_key ON leads(address_key);
    CREATE INDEX leads_owner_key ON leads(owner_key);
    CREATE INDEX leads_source_status ON leads(source_status) WHERE source_status IS NOT NULL;

    CREATE VIRTUAL TABLE leads_fts USING fts5(
        owner_name, address, city, zip, source_status,
        content='leads', content_rowid='id', prefix='2 3'
    );
"""
    + FTS_TRIGGERS
    + """
    CREATE TABLE phones (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        position INTEGER NOT NULL,
        number TEXT NOT NULL,
        type TEXT,
        dnc INTEGER NOT NULL DEFAULT 0,
        litigator INTEGER NOT NULL DEFAULT 0,
        bad INTEGER NOT NULL DEFAULT 0,
        wrong_reports INTEGER NOT NULL DEFAULT 0,
        tz TEXT,
        UNIQUE (lead_id, position),
        UNIQUE (lead_id, number)
    );
    CREATE INDEX phones_number ON phones(number);

    -- Append-only: one row per thing that happened; undo is a new row naming the one it undoes.
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER REFERENCES leads(id),
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        rep TEXT,
        kind TEXT NOT NULL,
        status TEXT,
        phone_id INTEGER REFERENCES phones(id),
        dial INTEGER NOT NULL DEFAULT 0,
        kpi TEXT,
        undoes INTEGER REFERENCES events(id),
        before TEXT,
        after TEXT,
        data TEXT
    );
    CREATE INDEX events_lead ON events(lead_id, id);
    CREATE INDEX events_dials ON events(phone_id, at) WHERE dial = 1;
    CREATE INDEX events_kpi ON events(day, rep) WHERE kpi IS NOT NULL;
    CREATE UNIQUE INDEX events_undoes ON events(undoes) WHERE undoes IS NOT NULL;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN
        SELECT RAISE(ABORT, 'events are append-only');
    END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN
        SELECT RAISE(ABORT, 'events are append-only');
    END;

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        event_id INTEGER NOT NULL REFERENCES events(id),
        action TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'logged', 'failed', 'dead', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        lease_until TEXT,
        last_error TEXT,
        done_at TEXT,
        payload TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state IN ('pending', 'failed');
    CREATE INDEX outbox_lead ON outbox(lead_id, state);
    CREATE INDEX outbox_event ON outbox(event_id);

    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        rep TEXT NOT NULL REFERENCES reps(name),
        status TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled')),
        requested_at TEXT NOT NULL,
        event_id INTEGER REFERENCES events(id),
        inputs TEXT NOT NULL DEFAULT '{}',
        decided_by TEXT,
        decided_at TEXT,
        why TEXT
    );
    CREATE INDEX approvals_state ON approvals(state, id);
    CREATE INDEX approvals_lead ON approvals(lead_id);

    CREATE TABLE replies (
        id INTEGER PRIMARY KEY,
        from_number TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at TEXT NOT NULL,
        lead_id INTEGER REFERENCES leads(id),
        cleared_by TEXT,
        cleared_at TEXT,
        UNIQUE (from_number, received_at, body)
    );
    CREATE INDEX replies_open ON replies(received_at) WHERE cleared_at IS NULL;
    """,
    # 2: indexes for the screen: today's appointments, killed leads by status, undo lookups
    """
    CREATE INDEX IF NOT EXISTS leads_appointment ON leads(owner, appointment_at) WHERE appointment_at IS NOT NULL AND dead = 0;
    CREATE INDEX IF NOT EXISTS leads_dead ON leads(status) WHERE dead = 1;
    CREATE INDEX IF NOT EXISTS events_undoes ON events(undoes) WHERE undoes IS NOT NULL;
    """,
    # 3: a search index half the work to build and a sixth the size: no token positions
    # (search asks for words by prefix, never phrases) and prefixes of 2 only. At 1M leads,
    # building it took 3.6 s instead of 6.8 s (19 MB, not 107); two-word searches read in
    # 1-11 ms, not 1-5 ms. A first import's search left to do (store.indexes) is filled here.
    """
    DROP TRIGGER IF EXISTS leads_fts_insert;
    DROP TRIGGER IF EXISTS leads_fts_update;
    DROP TRIGGER IF EXISTS leads_fts_delete;
    DROP TABLE leads_fts;
    CREATE VIRTUAL TABLE leads_fts USING fts5(
        owner_name, address, city, zip, source_status,
        content='leads', content_rowid='id', detail=none, prefix='2'
    );
"""
    + FTS_TRIGGERS
    + """    INSERT INTO leads_fts(leads_fts) VALUES ('rebuild');
    UPDATE meta SET value = json_set(
        json_remove(value, '$.sql.leads_fts_insert', '$.sql.leads_fts_update', '$.sql.leads_fts_delete'),
        '$.searched', (SELECT coalesce(max(id), 0) FROM leads))
    WHERE key = 'deferred_by_import';
    """,
    # 4: reservations (F2): the lead a station shows as current, for its rep, for a short lease
    """
    CREATE TABLE reservations (
        lead_id INTEGER PRIMARY KEY REFERENCES leads(id),
        rep TEXT NOT NULL COLLATE NOCASE,
        station TEXT NOT NULL,
        since TEXT NOT NULL,
        until TEXT NOT NULL
    );
    CREATE INDEX reservations_station ON reservations(station);
    """,
    # 5: manager PIN lockout (hardening): wrong tries in a row, and until when the PIN is locked
    """
    ALTER TABLE reps ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reps ADD COLUMN pin_locked_until TEXT;
    """,
    # 6: the call log (D2): one row per call placed, or reported with its outcome on a floor that
    # dials by hand. Caps (B3, D1) count these rows; undo never removes one. Dials recorded before
    # it existed become reported rows, so a floor's caps carry over.
    """
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES leads(id),
        phone_id INTEGER NOT NULL REFERENCES phones(id),
        number TEXT NOT NULL,
        rep TEXT NOT NULL COLLATE NOCASE,
        station TEXT NOT NULL,
        system TEXT NOT NULL,
        remote_id TEXT NOT NULL DEFAULT '',
        placed_at TEXT NOT NULL,
        day TEXT NOT NULL,
        ringing_at TEXT,
        answered_at TEXT,
        ended_at TEXT,
        end_reason TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        outcome_status TEXT,
        outcome_event_id INTEGER REFERENCES events(id),
        notes TEXT NOT NULL DEFAULT '',
        recording TEXT NOT NULL DEFAULT '',
        reported INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX calls_phone ON calls(phone_id, placed_at);
    CREATE INDEX calls_number ON calls(number, placed_at);
    CREATE INDEX calls_lead ON calls(lead_id, id);
    CREATE INDEX calls_rep ON calls(rep, placed_at);
    CREATE INDEX calls_day ON calls(day, rep);
    CREATE INDEX calls_outcome ON calls(outcome_event_id);
    CREATE INDEX calls_open ON calls(rep) WHERE outcome_event_id IS NULL;
    CREATE TRIGGER calls_no_delete BEFORE DELETE ON calls BEGIN
        SELECT RAISE(ABORT, 'calls are never deleted');
    END;
    INSERT INTO calls (lead_id, phone_id, number, rep, station, system, placed_at, day,
                       outcome_status, outcome_event_id, reported)
        SELECT e.lead_id, e.phone_id, p.number, coalesce(e.rep, ''), '', 'manual', e.at, e.day,
               e.status, e.id, 1
        FROM events e JOIN phones p ON p.id = e.phone_id
        WHERE e.dial = 1 ORDER BY e.id;
    """,
    # 7: the manager's inbox (issue 16): a rep's reason on an approval request; a follow-up's
    # scope (callback 'mine': the lead stays the rep's; 'anyone': it goes back to the pool when
    # due); replies read by their lead. Follow-ups made before it (asked for, still scheduled and
    # held) become 'mine', as W18 kept them.
    """
    ALTER TABLE approvals ADD COLUMN reason TEXT;
    ALTER TABLE leads ADD COLUMN callback TEXT CHECK (callback IN ('mine', 'anyone'));
    UPDATE leads SET callback = 'mine'
        WHERE followup_requested_at IS NOT NULL AND next_call_at IS NOT NULL AND owner IS NOT NULL AND dead = 0;
    CREATE INDEX leads_callback ON leads(next_call_at) WHERE callback IS NOT NULL AND dead = 0;
    CREATE INDEX replies_lead ON replies(lead_id, received_at);
    """,
    # 8: the live floor (issue 16): one row per running station, kept by its own writer: what it
    # is doing (idle, on a lead, dialling, in a call, wrapping up; offline once closed) since when,
    # on which lead and call, its pause and reason, and its heartbeat (stopped: offline). And the
    # rep's last status, read at once for the floor view.
    """
    CREATE TABLE stations (
        station TEXT PRIMARY KEY,
        rep TEXT NOT NULL COLLATE NOCASE,
        state TEXT NOT NULL CHECK (state IN ('idle', 'lead', 'dialling', 'call', 'wrapup', 'offline')),
        since TEXT NOT NULL,
        lead_id INTEGER REFERENCES leads(id),
        call_id INTEGER REFERENCES calls(id),
        pause_reason TEXT,
        paused_at TEXT,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    );
    CREATE INDEX stations_seen ON stations(heartbeat_at);
    CREATE INDEX events_rep_status ON events(rep, id) WHERE kind = 'status';
    """,
    # 9: cool-off (issue 16): a lead a status released stays out of every queue until
    # cooloff_until (the playbook's cooloff_days). And the vendor's property facts, one typed
    # column each (core.facts: search compares them as numbers, export writes each).
    """
    ALTER TABLE leads ADD COLUMN cooloff_until TEXT;
    ALTER TABLE leads ADD COLUMN est_value INTEGER;
    ALTER TABLE leads ADD COLUMN equity INTEGER;
    ALTER TABLE leads ADD COLUMN equity_pct REAL;
    ALTER TABLE leads ADD COLUMN beds INTEGER;
    ALTER TABLE leads ADD COLUMN baths REAL;
    ALTER TABLE leads ADD COLUMN sqft INTEGER;
    ALTER TABLE leads ADD COLUMN year_built INTEGER;
    ALTER TABLE leads ADD COLUMN last_sale_date TEXT;
    ALTER TABLE leads ADD COLUMN last_sale_price INTEGER;
    ALTER TABLE leads ADD COLUMN mls_status TEXT;
    ALTER TABLE leads ADD COLUMN vacant INTEGER;
    ALTER TABLE leads ADD COLUMN property_type TEXT;
    """,
    # 10: KPIs (issue 16, W20): the indexes the leaderboard, the 14-day chart and `report kpi` read
    # through, covering, in their GROUP BY order (day, rep): the counters credited (and when, for
    # per-hour figures), and the call log's times. On 1M leads with 30 days of 20 reps' presses
    # (benchmarks/bench_manager.py) the floor's 14-day read of events went from 73 to 13 ms (undone
    # ones read apart, through the undos of those days: events_undos), of calls from 27 to 14 ms.
    """
    DROP INDEX events_kpi;
    CREATE INDEX events_kpi ON events(day, rep, kpi, at) WHERE kpi IS NOT NULL;
    DROP INDEX calls_day;
    CREATE INDEX calls_day ON calls(day, rep, placed_at, answered_at, ended_at);
    CREATE INDEX events_undos ON events(day, undoes) WHERE undoes IS NOT NULL;
    """,
    # 11: callbacks by rep (issue 16, inbox): a rep's callbacks and the pool's are two short ranges
    # (their badge, their view, the pool's due calls at the top of every queue), and the sweep reads
    # only the anyone's callbacks still held, not a walk of the whole floor's callbacks. On 1M leads
    # with 20,000 callbacks due, a rep's due count went from 31 to 0.1 ms and the sweep from 35 to 1 ms.
    """
    CREATE INDEX leads_callback_owner ON leads(owner, next_call_at) WHERE callback IS NOT NULL AND dead = 0;
    CREATE INDEX leads_callback_held ON leads(next_call_at)
        WHERE callback = 'anyone' AND owner IS NOT NULL AND dead = 0;
    """,
    # 12: KPIs by day (issue 16, W20): each rep's day of counters, kept by triggers in the same
    # transaction as the event or the call that changes it (a credit, an undo, a call placed, answered,
    # ended), so the 14-day chart and `report kpi` read a row per rep-day, not every event and call
    # (on the 1M-lead floor with 30 days of 20 reps, benchmarks/bench_manager.py: the floor's chart
    # from ~45 to ~3 ms, 30 days of `report kpi` from ~85 to ~5 ms; a key press costs no more within
    # bench_status's noise). Filled from the events and the call log as they stand.
    """
    CREATE TABLE kpi_days (
        day TEXT NOT NULL,
        rep TEXT NOT NULL COLLATE NOCASE,
        dials INTEGER NOT NULL DEFAULT 0,
        contacts INTEGER NOT NULL DEFAULT 0,
        appointments INTEGER NOT NULL DEFAULT 0,
        offers INTEGER NOT NULL DEFAULT 0,
        contracts INTEGER NOT NULL DEFAULT 0,
        under_contract INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        connects INTEGER NOT NULL DEFAULT 0,
        talk_seconds INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, rep)
    ) WITHOUT ROWID;
    CREATE TRIGGER kpi_days_credit AFTER INSERT ON events WHEN new.kpi IS NOT NULL AND new.rep IS NOT NULL
    BEGIN
        INSERT INTO kpi_days (day, rep, dials, contacts, appointments, offers, contracts, under_contract)
        SELECT new.day, new.rep, instr(k, ',dials,') > 0, instr(k, ',contacts,') > 0,
               instr(k, ',appointments,') > 0, instr(k, ',offers,') > 0, instr(k, ',contracts,') > 0,
               instr(k, ',under_contract,') > 0
        FROM (SELECT ',' || new.kpi || ',' AS k) WHERE true
        ON CONFLICT (day, rep) DO UPDATE SET
            dials = dials + excluded.dials, contacts = contacts + excluded.contacts,
            appointments = appointments + excluded.appointments, offers = offers + excluded.offers,
            contracts = contracts + excluded.contracts, under_contract = under_contract + excluded.under_contract;
    END;
    CREATE TRIGGER kpi_days_undo AFTER INSERT ON events WHEN new.undoes IS NOT NULL
    BEGIN
        UPDATE kpi_days SET
            dials = dials - (SELECT instr(',' || kpi || ',', ',dials,') > 0 FROM events WHERE id = new.undoes),
            contacts = contacts - (SELECT instr(',' || kpi || ',', ',contacts,') > 0 FROM events WHERE id = new.undoes),
            appointments = appointments
                - (SELECT instr(',' || kpi || ',', ',appointments,') > 0 FROM events WHERE id = new.undoes),
            offers = offers - (SELECT instr(',' || kpi || ',', ',offers,') > 0 FROM events WHERE id = new.undoes),
            contracts = contracts - (SELECT instr(',' || kpi || ',', ',contracts,') > 0 FROM events WHERE id = new.undoes),
            under_contract = under_contract
                - (SELECT instr(',' || kpi || ',', ',under_contract,') > 0 FROM events WHERE id = new.undoes)
        WHERE (day, rep) = (SELECT day, rep FROM events WHERE id = new.undoes AND kpi IS NOT NULL);
    END;
    CREATE TRIGGER kpi_days_call AFTER INSERT ON calls
    BEGIN
        INSERT INTO kpi_days (day, rep, calls, connects, talk_seconds)
        VALUES (new.day, new.rep, 1, new.answered_at IS NOT NULL, CASE WHEN new.answered_at IS NOT NULL AND new.ended_at IS NOT NULL THEN max(0, CAST(round((julianday(new.ended_at) - julianday(new.answered_at)) * 86400) AS INTEGER)) ELSE 0 END)
        ON CONFLICT (day, rep) DO UPDATE SET calls = calls + 1, connects = connects + excluded.connects,
            talk_seconds = talk_seconds + excluded.talk_seconds;
    END;
    CREATE TRIGGER kpi_days_call_times AFTER UPDATE OF answered_at, ended_at ON calls
    BEGIN
        UPDATE kpi_days SET
            connects = connects + (new.answered_at IS NOT NULL) - (old.answered_at IS NOT NULL),
            talk_seconds = talk_seconds + CASE WHEN new.answered_at IS NOT NULL AND new.ended_at IS NOT NULL THEN max(0, CAST(round((julianday(new.ended_at) - julianday(new.answered_at)) * 86400) AS INTEGER)) ELSE 0 END - CASE WHEN old.answered_at IS NOT NULL AND old.ended_at IS NOT NULL THEN max(0, CAST(round((julianday(old.ended_at) - julianday(old.answered_at)) * 86400) AS INTEGER)) ELSE 0 END
        WHERE day = new.day AND rep = new.rep;
    END;
    INSERT INTO kpi_days (day, rep, dials, contacts, appointments, offers, contracts, under_contract)
        SELECT day, rep, sum(instr(k, ',dials,') > 0), sum(instr(k, ',contacts,') > 0),
               sum(instr(k, ',appointments,') > 0), sum(instr(k, ',offers,') > 0),
               sum(instr(k, ',contracts,') > 0), sum(instr(k, ',under_contract,') > 0)
        FROM (SELECT e.day, e.rep, ',' || e.kpi || ',' AS k FROM events e
              WHERE e.kpi IS NOT NULL AND e.rep IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id))
        WHERE true GROUP BY day, rep
        ON CONFLICT (day, rep) DO UPDATE SET
            dials = dials + excluded.dials, contacts = contacts + excluded.contacts,
            appointments = appointments + excluded.appointments, offers = offers + excluded.offers,
            contracts = contracts + excluded.contracts, under_contract = under_contract + excluded.under_contract;
    INSERT INTO kpi_days (day, rep, calls, connects, talk_seconds)
        SELECT c.day, c.rep, count(*), count(c.answered_at), sum(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL THEN max(0, CAST(round((julianday(c.ended_at) - julianday(c.answered_at)) * 86400) AS INTEGER)) ELSE 0 END) FROM calls c WHERE true GROUP BY c.day, c.rep
        ON CONFLICT (day, rep) DO UPDATE SET calls = calls + excluded.calls,
            connects = connects + excluded.connects, talk_seconds = talk_seconds + excluded.talk_seconds;
    """,
)
