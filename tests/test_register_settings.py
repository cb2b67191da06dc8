"""The register without a server: settings, keyed hashes, and the SQLite hot path."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from handouts.errors import ProjectError
from handouts.register import chain, keys
from handouts.register.query import list_entries
from handouts.register.record import Issued, PacketMade, PatientKey, Register
from handouts.register.settings import RegisterSettings, SettingsProblem, load_settings, parse_settings

DOB = dt.date(1980, 2, 3)
INFO = Issued("tiny-info", "1.0", "1" * 64)
CONSENT = Issued("tiny-consent", "1.0", "2" * 64)


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("postgresql://clinic:s3cret@db.example.org/handouts", "", "remove the password"),
        ({"database": "postgresql://db.example.org/h?password=x"}, "database", "remove the password"),
        ({"key": "abc"}, "key", "never write the key"),
        ({"password": "abc"}, "password", "never write the password"),
        ({"key_env": "my secret key value"}, "key_env", "name of an environment variable"),
        ({"retention_years": 0}, "retention_years", "whole number"),
        ({"retension_years": 5}, "retension_years", "unknown key"),
        ("mysql://db/h", "", "unsupported database"),
    ],
)
def test_settings_refused(value: object, field: str, words: str) -> None:
    with pytest.raises(SettingsProblem, match=words) as caught:
        parse_settings(value)
    assert caught.value.field == field


def test_settings_shapes(tmp_path: Path) -> None:
    assert parse_settings(None) == RegisterSettings()
    assert not parse_settings(False).enabled and not parse_settings("off").enabled
    assert not parse_settings({"database": False}).enabled
    url = parse_settings("postgresql://frontdesk@db.example.org/handouts")
    assert url.url(tmp_path) == "postgresql+psycopg://frontdesk@db.example.org/handouts"
    path = parse_settings({"database": "records/r.sqlite", "retention_years": 12, "wait": 3})
    assert path.sqlite_path(tmp_path) == tmp_path / "records/r.sqlite" and path.retention_years == 12


def test_settings_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "handouts.yaml").write_text("out: out\nregister:\n  database: r.sqlite\n  key: abc\n")
    with pytest.raises(ProjectError, match=r"^handouts.yaml:4: register.key: remove it"):
        load_settings(tmp_path)
    (tmp_path / "handouts.yaml").write_text("register: off\n")
    assert not load_settings(tmp_path).enabled


def test_keys_normalise_and_depend_on_the_key() -> None:
    assert keys.normalise_name("  Léa  TREMBLAY-Roy ") == keys.normalise_name("lea tremblay roy")
    one = keys.patient_hash(b"a" * 32, "Léa Tremblay", DOB)
    assert one == keys.patient_hash(b"a" * 32, "LEA  tremblay", DOB)
    assert one != keys.patient_hash(b"b" * 32, "Léa Tremblay", DOB)
    assert one != keys.patient_hash(b"a" * 32, "Léa Tremblay", dt.date(1980, 2, 4))
    assert one != keys.recipient_hash(b"a" * 32, "lea tremblay")


# --- the hot path ------------------------------------------------------------------------------


def test_hot_insert_is_the_statement_sqlalchemy_compiles() -> None:
    from sqlalchemy import insert
    from sqlalchemy.dialects import sqlite

    from handouts.register.schema import entries

    assert tuple(entries.c.keys()) == chain.COLUMNS
    assert str(insert(entries).compile(dialect=sqlite.dialect())) == chain.INSERT_ENTRY


def test_sqlite_paths_give_the_same_rows(tmp_path: Path) -> None:
    from handouts.register.store import append

    fast = Register(RegisterSettings(database="fast.sqlite"), tmp_path, actor="user:t", clock=lambda: "T")
    core = Register(RegisterSettings(database="core.sqlite"), tmp_path, actor="user:t", clock=lambda: "T")
    event = PacketMade("p1", "tiny", "en", "print", (INFO, CONSENT))
    fast.record(event, PatientKey("C-1"))
    append(core, core.rows(event, PatientKey("C-1"), None), False)
    assert [e.to_json() for e in list_entries(fast)] == [e.to_json() for e in list_entries(core)]


RECORD_TWICE = """
import sys
from pathlib import Path
from handouts.register.record import open_register, PacketMade, Issued, PatientKey
root = Path(sys.argv[1])
reg = open_register(root)
if reg is not None:
    reg.record(PacketMade("p9", "tiny", "en", "print", (Issued("tiny-info", "1.0", "f"),)), PatientKey("C-9"))
print(",".join(m for m in ("sqlalchemy", "alembic", "sqlite3", "psycopg", "pydantic") if m in sys.modules))
"""


def test_recording_imports_no_database_stack(tmp_path: Path) -> None:
    def run() -> str:
        command = [sys.executable, "-c", RECORD_TWICE, str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    assert "sqlalchemy" in run()  # the first write creates the schema through Alembic
    assert run() == "sqlite3"  # later ones: the sqlite3 module alone
    (tmp_path / "handouts.yaml").write_text("register: off\n")
    assert run() == ""
    assert len(list_entries(Register(RegisterSettings(), tmp_path))) == 2


LIST = """
import sys
from pathlib import Path
from handouts.register.query import list_entries
from handouts.register.record import open_register
reg = open_register(Path(sys.argv[1]))
assert reg is not None
print(len(list_entries(reg)), "alembic" in sys.modules)
"""


def test_reading_a_current_register_needs_no_alembic(tmp_path: Path) -> None:
    reg = Register(RegisterSettings(), tmp_path)
    reg.record(PacketMade("p1", "tiny", "en", "print", (INFO, CONSENT)), PatientKey("C-1"))
    reg.close()
    command = [sys.executable, "-c", LIST, str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2", "False"]  # migrations only when the schema must change
