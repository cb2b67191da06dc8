"""Staff accounts for the front desk: names and argon2 hashes in users.json, never handouts.yaml.

The file lives at the project's root with mode 0600 (keep it out of version control). It
holds, per account, an argon2id hash (argon2-cffi's defaults, RFC 9106's second choice:
64 MiB, 3 passes, 4 lanes) and when it was made; never a password.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from handouts.atomic import atomic_write
from handouts.errors import ProjectError, UsageError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger(__name__)

USERS_FILE = "users.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def check_name(name: str) -> str:
    """An account name in its stored form (lower case); raise UsageError naming the field."""
    folded = name.strip().lower()
    if not NAME.match(folded):
        raise UsageError(
            "{field}: use 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(e.g. reception)",
            field="name",
            code="bad-name",
        )
    return folded


def check_password(password: str) -> str:
    """The password, when long enough and not too long; raise UsageError naming the field."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(
            "{field}: use at least {least} characters (a few words make a good one)",
            field="password",
            code="too-short",
            least=MIN_PASSWORD,
        )
    if len(password) > MAX_PASSWORD:
        raise UsageError(
            "{field}: at most {most} characters", field="password", code="too-long", most=MAX_PASSWORD
        )
    return password


def password_from_env(variable: str) -> str:
    """The password in $variable (field password_env when unset or empty)."""
    value = os.environ.get(variable)
    if not value:
        raise UsageError(
            "{field}: the environment variable {variable} is not set or empty",
            field="password_env",
            code="unset",
            variable=variable,
        )
    return check_password(value)


def _hasher(cost: tuple[int, int, int] | None) -> PasswordHasher:
    from argon2 import PasswordHasher

    if cost is None:
        return PasswordHasher()
    time_cost, memory_kib, lanes = cost
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes)


@dataclass
class Users:
    """The accounts in one users.json; thread-safe, re-read when the file changes on disk."""

    path: Path
    # argon2 (passes, memory in KiB, lanes); None: argon2-cffi's defaults.
    cost: tuple[int, int, int] | None = None
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stamp: tuple[int, int] | None = field(default=None, repr=False)
    _dummy: str | None = field(default=None, repr=False)

    @classmethod
    def of_project(cls, root: Path, cost: tuple[int, int, int] | None = None) -> Users:
        users = cls(root / USERS_FILE, cost)
        users.reload()
        return users

    def reload(self) -> None:
        """Read the file (an absent file: no accounts); raise ProjectError when unreadable."""
        with self._lock:
            self._read()

    def _read(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self.accounts, self._stamp = {}, None
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        if stat.S_IMODE(info.st_mode) & 0o077:
            log.warning("%s: readable by others; setting mode 0600", self.path)
            self.path.chmod(0o600)
        try:
            data = json.loads(self.path.read_text("utf-8"))
            accounts = data["users"]
            assert isinstance(accounts, dict)
            self.accounts = {
                str(name): {"hash": str(entry["hash"]), "created": str(entry.get("created", ""))}
                for name, entry in accounts.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            raise ProjectError(
                "{path}: not a users file handouts can read; restore it, or move it away "
                "and add the accounts again with 'handouts users add NAME'",
                path=self.path,
            ) from None
        self._stamp = stamp

    def _write(self) -> None:
        data: dict[str, Any] = {"format": 1, "users": self.accounts}
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), 0o600)
        info = self.path.stat()
        self._stamp = (info.st_mtime_ns, info.st_size)

    def names(self) -> list[str]:
        with self._lock:
            self._read()
            return sorted(self.accounts)

    def add(self, name: str, password: str, replace: bool = False) -> str:
        """Add the account (or, with replace, set its password); return its stored name."""
        name = check_name(name)
        check_password(password)
        if not replace and name in self.names():  # before the hash, which is slow on purpose
            self._exists(name)
        digest = _hasher(self.cost).hash(password)
        with self._lock:
            self._read()
            if name in self.accounts and not replace:
                self._exists(name)
            created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self.accounts[name] = {"hash": digest, "created": created}
            self._write()
        log.info("account %s %s", name, "changed" if replace else "added")
        return name

    @staticmethod
    def _exists(name: str) -> NoReturn:
        raise UsageError(
            "{field}: an account '{name}' exists; choose another name or remove it first",
            field="name",
            code="exists",
            name=name,
        )

    def remove(self, name: str) -> str:
        name = check_name(name)
        with self._lock:
            self._read()
            if name not in self.accounts:
                known = ", ".join(sorted(self.accounts)) or "none"
                raise UsageError(
                    "{field}: no account '{name}' (accounts: {known})",
                    field="name",
                    code="unknown",
                    name=name,
                    known=known,
                )
            del self.accounts[name]
            self._write()
        log.info("account %s removed", name)
        return name

    def verify(self, name: str, password: str) -> str | None:
        """The account's name when password is its password, else None (as slow either way)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            folded = check_name(name)
        except UsageError:
            folded = ""
        with self._lock:
            self._read()
            entry = self.accounts.get(folded)
        hasher = _hasher(self.cost)
        if entry is None:
            # Spend the same time on an unknown name, so timing does not tell which names exist.
            if self._dummy is None:
                self._dummy = hasher.hash("not a password of anyone's")
            with contextlib.suppress(VerificationError):
                hasher.verify(self._dummy, password[:MAX_PASSWORD] or "-")
            return None
        try:
            hasher.verify(entry["hash"], password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if hasher.check_needs_rehash(entry["hash"]):
            with self._lock:
                if folded in self.accounts:
                    self.accounts[folded]["hash"] = hasher.hash(password)
                    self._write()
        return folded
