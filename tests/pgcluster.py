"""A throwaway PostgreSQL server for the tests: Debian's binaries, initdb in a temporary folder,
a Unix socket only (no TCP port), run as an unprivileged user when the tests run as root."""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

USER = "handouts"  # the cluster's superuser (initdb -U), trusted on the socket only


def find_bin() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin (the Debian layout, not /usr/local/bin links)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name or 0)
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed: run the tests with ./dev test (it installs "
            "Debian's postgresql), or apt-get install postgresql"
        )
    return found[-1].parent


class Cluster:
    def __init__(self, folder: Path, bindir: Path, as_user: list[str]) -> None:
        self.folder = folder
        self.bindir = bindir
        self.as_user = as_user
        self.data = folder / "data"
        self.socket = folder / "socket"
        self._names = itertools.count(1)

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.folder,
            timeout=120,
        )

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@/{database}?host={self.socket}"

    def create_database(self) -> str:
        """A fresh, empty database (one per test)."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(host=str(self.socket), user=USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def dump(self, database: str) -> str:
        """pg_dump's plain SQL of a database (what a backup would hold)."""
        out = subprocess.run(
            [str(self.bindir / "pg_dump"), "-h", str(self.socket), "-U", USER, database],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return out.stdout.decode("utf-8")


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Make a cluster with initdb, start it on a socket, yield it, then stop it and delete it."""
    bindir = find_bin()
    folder = Path(tempfile.mkdtemp(prefix="handouts-pg-"))
    as_user: list[str] = []
    if os.getuid() == 0:  # initdb refuses to run as root
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]
    cluster = Cluster(folder, bindir, as_user)
    try:
        cluster.socket.mkdir()
        if as_user:
            os.chown(cluster.socket, nobody.pw_uid, nobody.pw_gid)
        env_locale = ["--locale=C.UTF-8", "--encoding=UTF8"]
        cluster.run("initdb", "-D", str(cluster.data), "-U", USER, "--auth=trust", *env_locale)
        options = f"-c listen_addresses='' -c unix_socket_directories={cluster.socket} -c fsync=off"
        cluster.run("pg_ctl", "-D", str(cluster.data), "-w", "-t", "60", "-o", options,
                    "-l", str(folder / "server.log"), "start")  # fmt: skip
        try:
            yield cluster
        finally:
            cluster.run("pg_ctl", "-D", str(cluster.data), "-w", "-m", "fast", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
