"""The register's settings (`register:` in handouts.yaml), read without pydantic or SQLAlchemy.

`register:` takes a path (relative to the project), a database URL, `off`, or a mapping:

    register:
      database: register.sqlite      # or postgresql://frontdesk@db.example.org/handouts, or off
      retention_years: 10            # kept this long after a patient reference's last entry
      key_env: HANDOUTS_REGISTER_KEY # the variable holding the key of the keyed hashes
      password_env: HANDOUTS_REGISTER_DB_PASSWORD   # a PostgreSQL password, if it needs one
      wait: 10                       # seconds to wait for a locked database

Secrets never go in the file: a key or a password there (or in the URL) is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from handouts.errors import ProjectError, RegisterError

DEFAULT_FILE = "register.sqlite"
DEFAULT_KEY_ENV = "HANDOUTS_REGISTER_KEY"
DEFAULT_RETENTION_YEARS = 10
DEFAULT_WAIT = 10.0
MIN_KEY_BYTES = 16
KEYS = ("database", "retention_years", "key_env", "password_env", "wait")
SECRET_KEYS = ("key", "hmac_key", "secret", "password")
URL_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres", "sqlite")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SettingsProblem(ValueError):
    """A bad value under `register:`; field is the key below it ('' for `register` itself)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{'register.' + field if field else 'register'}: {message}")
        self.field = field


@dataclass(frozen=True)
class RegisterSettings:
    """Where the register lives and how long it keeps entries; database None means off."""

    database: str | None = DEFAULT_FILE
    retention_years: int = DEFAULT_RETENTION_YEARS
    key_env: str = DEFAULT_KEY_ENV
    password_env: str | None = None
    wait: float = DEFAULT_WAIT

    @property
    def enabled(self) -> bool:
        return self.database is not None

    @property
    def is_url(self) -> bool:
        return self.database is not None and "://" in self.database

    @property
    def is_sqlite(self) -> bool:
        return self.database is not None and (not self.is_url or self.database.startswith("sqlite:"))

    def sqlite_path(self, root: Path) -> Path:
        """The SQLite file, absolute (a relative path is relative to the project)."""
        assert self.database is not None and self.is_sqlite
        text = self.database.removeprefix("sqlite:///") if self.is_url else self.database
        path = Path(text).expanduser()
        return path if path.is_absolute() else root / path

    def url(self, root: Path) -> str:
        """The database as a URL SQLAlchemy opens (psycopg 3 for PostgreSQL), with no password."""
        assert self.database is not None
        if self.is_sqlite:
            return f"sqlite:///{self.sqlite_path(root)}"
        scheme, _, rest = self.database.partition("://")
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else self.database

    def password(self) -> str | None:
        """The database password from password_env; refused when the variable is named but unset."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if not value:
            raise RegisterError(
                "register.password_env: the environment variable {variable} is not set",
                variable=self.password_env,
            )
        return value

    def key(self) -> bytes | None:
        """The key of the keyed hashes, from the environment; None when the variable is unset."""
        value = os.environ.get(self.key_env)
        if not value:
            return None
        key = value.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise RegisterError(
                "register.key_env: the key in {variable} is shorter than {limit} bytes; use a long "
                "random one (e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`)",
                variable=self.key_env,
                limit=MIN_KEY_BYTES,
            )
        return key


def parse_settings(value: object) -> RegisterSettings:
    """Check the value of `register:`; raise SettingsProblem naming the field."""
    if value is None:
        return RegisterSettings()
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return RegisterSettings(database=None)
    if isinstance(value, str):
        return RegisterSettings(database=_database("", value))
    if not isinstance(value, dict):
        raise SettingsProblem("", "give a path, a database URL, off, or a mapping (see README)")
    for key in value:
        if key in SECRET_KEYS:
            what = "password" if key == "password" else "key"
            env = "password_env" if key == "password" else "key_env"
            raise SettingsProblem(
                key,
                f"remove it: never write the {what} in handouts.yaml; put it in an environment "
                f"variable and give that variable's name as '{env}'",
            )
        if key not in KEYS:
            raise SettingsProblem(str(key), f"unknown key (a typo?); known keys: {', '.join(KEYS)}")
    database = value.get("database", DEFAULT_FILE)
    if database is False or (isinstance(database, str) and database.strip().lower() == "off"):
        db: str | None = None
    elif isinstance(database, str):
        db = _database("database", database)
    else:
        raise SettingsProblem("database", "give a path, a database URL or off")
    return RegisterSettings(
        database=db,
        retention_years=_int(
            "retention_years", value.get("retention_years", DEFAULT_RETENTION_YEARS), 1, 100
        ),
        key_env=_env_name("key_env", value.get("key_env", DEFAULT_KEY_ENV)),
        password_env=(
            _env_name("password_env", value["password_env"])
            if value.get("password_env") is not None
            else None
        ),
        wait=_number("wait", value.get("wait", DEFAULT_WAIT), 0, 600),
    )


def _database(field: str, text: str) -> str:
    text = text.strip()
    if not text:
        raise SettingsProblem(field, "is empty; give a path, a database URL or off")
    if "://" not in text:
        return text
    parts = urlsplit(text)
    if parts.scheme not in URL_SCHEMES:
        raise SettingsProblem(
            field, f"unsupported database '{parts.scheme}'; use a file path or postgresql://"
        )
    if parts.password is not None or "password" in parse_qs(parts.query):
        raise SettingsProblem(
            field,
            "remove the password from the URL: never write it in handouts.yaml; put it in an "
            "environment variable and give that variable's name as 'password_env'",
        )
    return text


def _int(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsProblem(field, f"give a whole number of years from {low} to {high}")
    return value


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SettingsProblem(field, f"give a number of seconds from {low:g} to {high:g}")
    return float(value)


def _env_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not ENV_NAME.match(value):
        raise SettingsProblem(
            field, "give the name of an environment variable (letters, digits, _), not its value"
        )
    return value


def load_settings(root: Path) -> RegisterSettings:
    """The project's register settings from handouts.yaml (defaults when it has none)."""
    from handouts.content.yamlsrc import YamlProblem, load_yaml
    from handouts.project import CONFIG_FILE, Project

    path = root / CONFIG_FILE
    if not path.exists():
        return RegisterSettings()
    try:
        data = load_yaml(path, root, Project(root).settings_fence)
    except YamlProblem as exc:
        raise ProjectError("{where}: {problem}", where=_where(exc.line), problem=str(exc)) from None
    if not isinstance(data.data, dict):
        return RegisterSettings()
    try:
        return parse_settings(data.data.get("register"))
    except SettingsProblem as exc:
        loc: tuple[str, ...] = ("register", exc.field) if exc.field else ("register",)
        where = _where(data.source.line_of(loc))
        raise ProjectError("{where}: {problem}", where=where, problem=str(exc)) from None


def _where(line: int | None) -> str:
    from handouts.project import CONFIG_FILE

    return f"{CONFIG_FILE}:{line}" if line else CONFIG_FILE
