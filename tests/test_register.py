"""The consent register: the same tests on SQLite and on a real PostgreSQL server started here."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from handouts.errors import RegisterError, UsageError
from handouts.register import chain, keys
from handouts.register.query import (
    expired,
    export_csv,
    history,
    list_entries,
    prune,
    reconsent,
    verify,
)
from handouts.register.record import (
    FormReturned,
    Issued,
    MessageSent,
    PacketMade,
    PatientKey,
    Register,
)
from handouts.register.settings import RegisterSettings, parse_settings
from pgcluster import Cluster, running_cluster

KEY = "k" * 40
NAME = "Zoë Quibbleworth"
DOB = dt.date(1980, 2, 3)
ADDRESS = "zoe.quibbleworth@example.org"
INFO = Issued("tiny-info", "1.0", "1" * 64)
CONSENT = Issued("tiny-consent", "1.0", "2" * 64)
CONSENT_11 = Issued("tiny-consent", "1.1", "3" * 64)


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    with running_cluster() as cluster:
        yield cluster


class Clock:
    """Register times under the test's control: one microsecond apart from a start."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> str:
        self.now += dt.timedelta(microseconds=1)
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Register]:
    """A function making a Register on this backend (same database for every call in a test)."""
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("HANDOUTS_REGISTER_KEY", KEY)
    if request.param == "sqlite":
        database = "register.sqlite"
    else:
        cluster: Cluster = request.getfixturevalue("pg")
        database = cluster.url(cluster.create_database())
    made: list[Register] = []

    def make(clock: Callable[[], str] | None = None, **settings: Any) -> Register:
        reg = Register(RegisterSettings(database=database, **settings), tmp_path, actor="user:tester",
                       clock=clock or Clock())  # fmt: skip
        made.append(reg)
        return reg

    yield make  # type: ignore[misc]
    for reg in made:
        reg.close()


@pytest.fixture
def reg(backend: Callable[..., Register]) -> Register:
    return backend()


def packet(reg: Register, ref: str | None, packet_id: str = "p1", docs: tuple[Issued, ...] = (INFO, CONSENT),
           name: str | None = NAME, therapist: str | None = "Sam Lee") -> int:  # fmt: skip
    return reg.record(
        PacketMade(packet_id, "tiny", "en", "fillable", docs, dt.date(2026, 12, 1), therapist, "cli"),
        PatientKey(ref, name, DOB if name else None),
    )


def returned(reg: Register, packet_id: str | None, doc: Issued = CONSENT, status: str = "clear",
             signed: bool = True, ref: str | None = None) -> int:  # fmt: skip
    return reg.record(
        FormReturned(doc.document, doc.version, doc.fingerprint, status, packet_id,
                     ("pregnancy",) if status == "flagged" else (), signed, "none", "a" * 64, "archive"),
        PatientKey(ref) if ref else None,
    )  # fmt: skip


def raw_sql(reg: Register, *statements: str) -> None:
    """Change the register behind handouts' back, as someone with database access could."""
    from sqlalchemy import text

    engine = reg.engine()
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
        connection.commit()


# --- recording ---------------------------------------------------------------------------------


def test_packet_is_a_row_per_document_with_its_version_and_fingerprint(reg: Register) -> None:
    seq = packet(reg, "C-1001")
    rows = list_entries(reg)
    assert [r.seq for r in rows] == [seq, seq + 1]
    assert [(r.document, r.version, r.fingerprint) for r in rows] == [
        (INFO.document, "1.0", "1" * 64),
        (CONSENT.document, "1.0", "2" * 64),
    ]
    first = rows[0]
    assert (first.kind, first.source, first.packet_id, first.patient_ref) == ("packet", "cli", "p1", "C-1001")
    assert (first.brand, first.lang, first.variant, first.appointment, first.therapist) == (
        "tiny", "en", "fillable", "2026-12-01", "Sam Lee")  # fmt: skip
    assert first.actor == "user:tester"
    assert first.at.endswith("Z") and first.at.startswith("2026-12-01T09:00:00.")
    assert {r.event for r in rows} == {seq}
    assert first.patient_hash == keys.patient_hash(KEY.encode(), NAME, DOB)


def test_message_and_return_inherit_the_packets_patient(reg: Register) -> None:
    packet(reg, "C-1001")
    reg.record(MessageSent("p1", ADDRESS, "sent", "smtp", "batch"))
    returned(reg, "p1", status="flagged")
    message, back = list_entries(reg, kinds=("message", "return"))
    assert (message.kind, message.status, message.channel, message.patient_ref) == (
        "message", "sent", "smtp", "C-1001")  # fmt: skip
    assert message.recipient_hash == keys.recipient_hash(KEY.encode(), ADDRESS.upper())
    assert (back.kind, back.status, back.flagged, back.signed, back.signature, back.sha256) == (
        "return", "flagged", "pregnancy", 1, "none", "a" * 64)  # fmt: skip
    assert back.patient_ref == "C-1001" and back.patient_hash == message.patient_hash is not None


def test_bad_values_are_refused_naming_the_field(reg: Register) -> None:
    with pytest.raises(UsageError, match="patient_ref"):
        packet(reg, "Jane Doe")
    with pytest.raises(UsageError, match="status"):
        returned(reg, "p1", status="fine")
    assert list_entries(reg) == []


def test_no_key_means_reference_only(
    backend: Callable[..., Register], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOUTS_REGISTER_KEY")
    reg = backend()
    packet(reg, "C-7")
    assert {r.patient_hash for r in list_entries(reg)} == {None}
    with pytest.raises(RegisterError, match="HANDOUTS_REGISTER_KEY"):
        list_entries(reg, patient=(NAME, DOB))


def test_short_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HANDOUTS_REGISTER_KEY", "short")
    with pytest.raises(RegisterError, match="shorter than 16 bytes"):
        Register(RegisterSettings(), tmp_path)


def test_no_name_dob_or_address_in_the_stored_data(
    reg: Register, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    packet(reg, "C-1001")
    reg.record(MessageSent("p1", ADDRESS, "sent", "smtp"))
    returned(reg, "p1")
    if reg.settings.is_sqlite:
        files = sorted(tmp_path.glob("register.sqlite*"))
        assert files and files[0].stat().st_mode & 0o077 == 0  # owner only
        stored = b"".join(f.read_bytes() for f in files)
    else:
        cluster: Cluster = request.getfixturevalue("pg")
        stored = cluster.dump(reg.engine().url.database).encode()
        assert b"register_entries" in stored and b"C-1001" in stored  # the dump holds the data
    for secret in (NAME, "Quibbleworth", "quibbleworth", "zoe quibbleworth", DOB.isoformat(), "19800203",
                   ADDRESS, "zoe.quibbleworth", KEY):  # fmt: skip
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in stored, secret


# --- queries ---------------------------------------------------------------------------------


def test_list_filters(backend: Callable[..., Register]) -> None:
    clock = Clock()
    reg = backend(clock)
    packet(reg, "C-1", "p1")
    clock.now = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
    packet(reg, "C-2", "p2", docs=(INFO,), name="Other Person")
    returned(reg, "p1")
    assert {r.packet_id for r in list_entries(reg, patient_ref="C-1")} == {"p1"}
    by_name = list_entries(reg, patient=("  zoe QUIBBLEWORTH ", DOB))  # normalised before hashing
    assert [r.patient_ref for r in by_name] == ["C-1", "C-1", "C-1"]
    assert list_entries(reg, patient=(NAME, dt.date(1980, 2, 4))) == []
    assert [r.packet_id for r in list_entries(reg, since=dt.date(2026, 12, 5))] == ["p2", "p1"]
    assert [r.packet_id for r in list_entries(reg, until=dt.date(2026, 12, 1))] == ["p1", "p1"]
    assert [r.kind for r in list_entries(reg, document="tiny-consent")] == ["packet", "return"]
    assert list_entries(reg, patient_ref="C-404") == []  # unknown: empty, no error
    assert [(e.kind, e.document) for e in history(reg, "C-1", limit=2)] == [
        ("return", "tiny-consent"), ("packet", "tiny-consent")]  # fmt: skip


def test_export_neutralises_formula_cells(reg: Register) -> None:
    packet(reg, "C-1", therapist='=HYPERLINK("http://example.org")')
    data = export_csv(list_entries(reg)).decode("utf-8-sig")
    header, first, *_ = data.splitlines()
    assert header.split(",") == list(chain.COLUMNS)
    assert "'=HYPERLINK" in first and ",=HYPERLINK" not in first


def test_reconsent(backend: Callable[..., Register]) -> None:
    reg = backend()
    packet(reg, "C-old", "p1")
    returned(reg, "p1", CONSENT)  # signed v1.0
    packet(reg, "C-new", "p2", name=None)
    returned(reg, "p2", CONSENT_11)  # signed v1.1
    packet(reg, "C-none", "p3")  # never came back
    packet(reg, "C-unsigned", "p4")
    returned(reg, "p4", CONSENT_11, status="incomplete", signed=False)
    packet(reg, "C-again", "p5")
    returned(reg, "p5", CONSENT_11)
    returned(reg, "p5", CONSENT, ref="C-again")  # an old form read back later: latest is v1.0
    current = {"tiny-consent": "1.1"}
    found = {r.patient_ref: r for r in reconsent(reg, current)}
    assert sorted(found) == ["C-again", "C-none", "C-old", "C-unsigned"]
    assert (found["C-old"].latest_version, found["C-old"].current_version) == ("1.0", "1.1")
    assert found["C-none"].latest_version is None and found["C-unsigned"].latest_version is None
    at_10 = reconsent(reg, {"tiny-consent": "1.0"})  # 1.0 or newer is fine
    assert [(r.patient_ref, r.latest_version) for r in at_10] == [("C-none", None), ("C-unsigned", None)]
    today = reconsent(reg, current, refs=["C-new", "C-old", "C-walk-in"])
    assert [(r.patient_ref, r.latest_version) for r in today] == [("C-old", "1.0"), ("C-walk-in", None)]


def test_prune_dry_run_lists_what_is_past_retention(backend: Callable[..., Register]) -> None:
    clock = Clock()
    clock.now = dt.datetime(2014, 3, 1, tzinfo=dt.UTC)
    reg = backend(clock, retention_years=10)
    packet(reg, "C-gone", "p1")
    packet(reg, "C-back", "p2")
    clock.now = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    packet(reg, "C-back", "p3")  # came back: kept 10 years from here
    old = expired(reg, today=dt.date(2026, 12, 1))
    assert [(e.patient_ref, e.rows, e.keep_until) for e in old] == [("C-gone", 2, dt.date(2024, 3, 1))]
    assert expired(reg, today=dt.date(2024, 2, 28)) == []
    assert len(list_entries(reg)) == 6  # a dry run deletes nothing


def test_prune_deletes_what_is_past_retention_and_verify_accepts_it(backend: Callable[..., Register]) -> None:
    clock = Clock()
    clock.now = dt.datetime(2014, 3, 1, tzinfo=dt.UTC)
    reg = backend(clock)
    packet(reg, "C-gone", "p1")  # rows 1, 2
    packet(reg, "C-back", "p2")  # rows 3, 4
    returned(reg, "p1")  # row 5, C-gone's
    clock.now = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    packet(reg, "C-back", "p3")  # rows 6, 7
    result = prune(reg, today=dt.date(2026, 12, 1), actor="user:admin")
    assert (result.rows, result.seq, [g.patient_ref for g in result.groups]) == (3, 8, ["C-gone"])
    left = list_entries(reg)
    assert [e.seq for e in left] == [3, 4, 6, 7, 8] and list_entries(reg, patient_ref="C-gone") == []
    record = left[-1]
    assert (record.kind, record.actor, record.patient_ref, record.patient_hash) == (
        "prune",
        "user:admin",
        None,
        None,
    )
    assert NAME not in (record.detail or "") and "C-gone" not in (record.detail or "")
    verdict = verify(reg)
    assert (verdict.ok, verdict.rows, verdict.head_seq) == (True, 5, 8)
    assert prune(reg, today=dt.date(2026, 12, 1)).seq is None  # nothing more; the prune entry stays
    packet(reg, "C-new", "p4")  # the chain goes on after a prune
    assert verify(reg).ok
    raw_sql(reg, "DELETE FROM register_entries WHERE seq = 4")  # a deletion no prune accounts for
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 4) and "removed" in (verdict.problem or "")


def test_a_register_at_the_first_revision_is_upgraded_on_first_write(
    backend: Callable[..., Register],
) -> None:
    from alembic import command
    from alembic.config import Config

    from handouts.register.store import MIGRATIONS, current_revision

    reg = backend()
    if reg.settings.is_sqlite:
        (reg.root / "register.sqlite").touch()
    with reg.engine().begin() as connection:  # what handouts 0001 left behind
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        assert current_revision(connection) == "0001"
        old = dict.fromkeys(c for c in chain.COLUMNS if c != "detail")
        old.update(at="2025-01-01T00:00:00.000000Z", actor="user:old", kind="packet", source="cli",
                   patient_ref="C-1", document="tiny-info", version="0.9")  # fmt: skip
        chain.seal([old], 0, chain.GENESIS)
        marks = ", ".join("?" if reg.settings.is_sqlite else "%s" for _ in old)
        statement = f"INSERT INTO register_entries ({', '.join(old)}) VALUES ({marks})"
        connection.exec_driver_sql(statement, tuple(old.values()))
        connection.exec_driver_sql(f"UPDATE register_head SET seq = 1, hash = '{old['hash']}' WHERE id = 1")
    packet(reg, "C-1", "p2")
    with reg.engine().connect() as connection:
        assert current_revision(connection) == chain.HEAD_REVISION
    assert [e.version for e in list_entries(reg, patient_ref="C-1")] == ["0.9", "1.0", "1.0"]
    assert verify(reg).ok  # the old row's hash still holds after the new column


# --- the chain -------------------------------------------------------------------------------


def chained(reg: Register, count: int = 5) -> None:
    for i in range(count):
        returned(reg, f"p{i}", ref=f"C-{i}")


def test_verify_holds(reg: Register) -> None:
    assert verify(reg).ok and verify(reg).rows == 0
    chained(reg)
    verdict = verify(reg)
    assert (verdict.ok, verdict.rows, verdict.head_seq) == (True, 5, 5)


def test_verify_names_a_changed_row(reg: Register) -> None:
    chained(reg)
    raw_sql(reg, "UPDATE register_entries SET status = 'flagged' WHERE seq = 3")
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 3)
    assert verdict.problem == "row 3 was changed: its content no longer matches its hash"


def test_verify_names_a_changed_row_whose_hash_was_rewritten(reg: Register) -> None:
    chained(reg)
    row = {e.seq: e for e in list_entries(reg)}[2].to_json()
    row["status"] = "tampered"
    new_hash = chain.row_hash(row)
    raw_sql(reg, f"UPDATE register_entries SET status = 'tampered', hash = '{new_hash}' WHERE seq = 2")
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 2) and "changed" in (verdict.problem or "")


def test_verify_names_a_removed_row(reg: Register) -> None:
    chained(reg)
    raw_sql(reg, "DELETE FROM register_entries WHERE seq = 2")
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 2) and "removed" in (verdict.problem or "")


def test_verify_names_rows_cut_off_the_end(reg: Register) -> None:
    chained(reg)
    raw_sql(reg, "DELETE FROM register_entries WHERE seq >= 4")
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 4)
    assert verdict.problem == "rows 4 to 5 were removed from the end of the register"


def test_verify_names_an_inserted_row(reg: Register) -> None:
    chained(reg)
    rows = {e.seq: e.to_json() for e in list_entries(reg)}
    forged = dict(rows[3], status="clear", patient_ref="C-forged", prev_hash=rows[2]["hash"])
    forged["hash"] = chain.row_hash(forged)  # a careful forger: its own hash and link are right
    columns = ", ".join(chain.COLUMNS)
    values = ", ".join("NULL" if forged[c] is None else repr(forged[c]) if isinstance(forged[c], int)
                       else f"'{forged[c]}'" for c in chain.COLUMNS)  # fmt: skip
    raw_sql(reg, *(f"UPDATE register_entries SET seq = {s + 100} WHERE seq = {s}" for s in (5, 4, 3)),
            *(f"UPDATE register_entries SET seq = {s + 1} WHERE seq = {s + 100}" for s in (3, 4, 5)),
            f"INSERT INTO register_entries ({columns}) VALUES ({values})")  # fmt: skip
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 3)
    assert (verdict.problem or "").startswith("row 3 was inserted")


def test_verify_names_a_row_appended_behind_the_registers_back(reg: Register) -> None:
    chained(reg, 3)
    last = list_entries(reg)[-1].to_json()
    forged = dict(last, seq=4, event=4, patient_ref="C-forged", prev_hash=last["hash"])
    forged["hash"] = chain.row_hash(forged)
    raw_sql(reg, f"INSERT INTO register_entries (seq, event, at, actor, kind, source, prev_hash, hash) "
                 f"SELECT 4, 4, at, actor, kind, source, '{last['hash']}', '{forged['hash']}' "
                 f"FROM register_entries WHERE seq = 3")  # fmt: skip
    verdict = verify(reg)
    assert (verdict.ok, verdict.bad_seq) == (False, 4)


def test_concurrent_writers_keep_one_chain(backend: Callable[..., Register]) -> None:
    writers = [backend() for _ in range(4)]
    errors: list[BaseException] = []

    def write(reg: Register, n: int) -> None:
        try:
            for i in range(15):
                returned(reg, f"w{n}-{i}", ref=f"C-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    packet(writers[0], "C-0")  # the schema exists before the race
    threads = [threading.Thread(target=write, args=(reg, n)) for n, reg in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    verdict = verify(writers[0])
    assert (verdict.ok, verdict.rows) == (True, 2 + 4 * 15)
    assert [e.seq for e in list_entries(writers[0])] == list(range(1, 63))


# --- bad input and faults ----------------------------------------------------------------------


def test_newer_schema_is_refused_in_one_line(reg: Register) -> None:
    packet(reg, "C-1")
    raw_sql(reg, f"UPDATE {chain.VERSION_TABLE} SET version_num = '0099'")
    for action in (lambda: packet(reg, "C-1"), lambda: list_entries(reg), lambda: verify(reg)):
        with pytest.raises(RegisterError) as caught:
            action()
        message = str(caught.value)
        assert (
            "\n" not in message and "0099" in message and "newer" in message and "upgrade handouts" in message
        )


def test_locked_database_waits_then_says_so(backend: Callable[..., Register]) -> None:
    holder = backend()
    packet(holder, "C-1")
    waiting = backend(wait=0.5)
    engine = holder.engine()
    with engine.connect() as connection:
        # The engine begins SQLite transactions IMMEDIATE: the first statement takes the lock.
        connection.exec_driver_sql(
            "SELECT seq FROM register_head WHERE id = 1"
            + (" FOR UPDATE" if connection.dialect.name == "postgresql" else "")
        )
        started = time.monotonic()
        with pytest.raises(RegisterError, match="locked") as caught:
            packet(waiting, "C-2")
        assert time.monotonic() - started >= 0.45  # it waited first
        assert "\n" not in str(caught.value)
        connection.rollback()
    packet(waiting, "C-2")  # free again: it goes through
    assert verify(holder).ok and verify(holder).rows == 4


def test_reads_do_not_wait_for_a_writer(backend: Callable[..., Register]) -> None:
    holder = backend()
    packet(holder, "C-1")
    reader = backend(wait=0.5)
    with holder.engine().connect() as connection:
        connection.exec_driver_sql("SELECT seq FROM register_head WHERE id = 1" + (
            " FOR UPDATE" if connection.dialect.name == "postgresql" else ""))  # fmt: skip
        started = time.monotonic()
        assert len(list_entries(reader, patient_ref="C-1")) == 2 and verify(reader).ok
        assert time.monotonic() - started < 0.45
        connection.rollback()


def test_password_env_must_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOUTS_TEST_DB_PW", raising=False)
    settings = parse_settings(
        {"database": "postgresql://clinic@db.example.org/h", "password_env": "HANDOUTS_TEST_DB_PW"}
    )
    reg = Register(settings, tmp_path)
    with pytest.raises(RegisterError, match="HANDOUTS_TEST_DB_PW is not set"):
        packet(reg, "C-1")


def test_migration_from_an_empty_database(reg: Register) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from handouts.register.schema import metadata
    from handouts.register.store import current_revision, ensure_schema

    ensure_schema(reg)
    ensure_schema(reg)  # a second time: nothing to do
    with reg.engine().connect() as connection:
        assert current_revision(connection) == chain.HEAD_REVISION
        context = MigrationContext.configure(connection, opts={"version_table": chain.VERSION_TABLE})
        assert compare_metadata(context, metadata) == []  # the migrations give schema.py's tables
        assert connection.exec_driver_sql("SELECT id, seq, hash FROM register_head").all() == [
            (1, 0, chain.GENESIS)]  # fmt: skip


def test_sqlite_register_in_an_empty_file_or_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.sqlite").write_bytes(b"")
    reg = Register(RegisterSettings(database="empty.sqlite"), tmp_path, clock=Clock())
    packet(reg, "C-1")
    assert verify(reg).rows == 2
    nowhere = Register(RegisterSettings(database="no/such/folder/r.sqlite"), tmp_path)
    with pytest.raises(RegisterError, match="does not exist"):
        packet(nowhere, "C-1")
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database at all" * 100)
    junk = Register(RegisterSettings(database="junk.sqlite"), tmp_path)
    with pytest.raises(RegisterError, match="junk.sqlite"):
        packet(junk, "C-1")


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/none?host={tmp_path}"  # no server listens there
    reg = Register(RegisterSettings(database=url, wait=1), tmp_path)
    with pytest.raises(RegisterError, match="cannot reach") as caught:
        packet(reg, "C-1")
    assert "\n" not in str(caught.value)


KILLED_WRITER = """
import sys, time
from pathlib import Path
import handouts.register.store as store
from handouts.register import chain
from handouts.register.record import Register, FormReturned, PatientKey
from handouts.register.settings import RegisterSettings

def stall(*args, **kwargs):
    print("inside", flush=True)  # the rows are inserted, the transaction still open
    time.sleep(60)

database = sys.argv[2]
if database == "register.sqlite":
    import sqlite3
    real_connect = sqlite3.connect
    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        con.create_function("stall", 0, lambda: stall() or 1)
        return con
    sqlite3.connect = connect
    chain.UPDATE_HEAD = chain.UPDATE_HEAD + " AND stall() = 1"
else:
    real_update = store.update
    store.update = lambda *a: stall() or real_update(*a)
reg = Register(RegisterSettings(database=database), Path(sys.argv[1]))
reg.record(FormReturned("tiny-consent", "1.0", "f", "clear"), PatientKey("C-killed"))
"""


def test_a_killed_writer_leaves_no_partial_row(reg: Register, tmp_path: Path) -> None:
    packet(reg, "C-1")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path), str(reg.settings.database)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert list_entries(reg, patient_ref="C-killed") == []
    assert verify(reg).ok and verify(reg).rows == 2
    packet(reg, "C-2")  # the next writer goes on from the same head
    assert verify(reg).ok and verify(reg).rows == 4
