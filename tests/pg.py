"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port in a temp dir.

The cluster runs as the `postgres` user when the tests run as root (PostgreSQL refuses to run as
root), as the current user otherwise. Each test gets its own database (`fresh_database`), so tests
never see each other's rows. `cluster_binaries()` is None where the Debian package `postgresql`
is not installed; the fixtures then skip with that reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.browser import free_port

SKIP_REASON = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"


def cluster_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class Cluster:
    directory: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"),
                                        "-m", "immediate", "-w", "stop"]), capture_output=True, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    """initdb a new cluster in a temp dir and start it on a free loopback port (trust authentication).

    Tests run it without fsync (nothing needs to survive a crash of the machine); durable=True keeps
    PostgreSQL's defaults (fsync, synchronous commit), for timings comparable with a real server.
    """
    bin_dir = cluster_binaries()
    if bin_dir is None:
        raise RuntimeError(SKIP_REASON)
    directory = Path(tempfile.mkdtemp(prefix="worktrack-pg-"))
    if os.geteuid() == 0:
        server = pwd.getpwnam("postgres")
        os.chown(directory, server.pw_uid, server.pw_gid)
    os.chmod(directory, 0o700)
    data = directory / "data"
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                    "-E", "UTF8", "--locale=C", "--no-sync"]),
                   check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {directory} -c max_connections=200 -c shared_buffers=128MB"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    done = subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"),
                                           "-o", options, "-w", "-t", "60", "start"]), capture_output=True)
    if done.returncode != 0:
        log = (directory / "log").read_text(errors="replace") if (directory / "log").exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.decode(errors='replace')} {log}")
    cluster = Cluster(directory, port, bin_dir)
    _wait_ready(cluster.url)
    return cluster


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def fresh_database(cluster: Cluster) -> str:
    """A new empty database in the cluster; its URL."""
    import psycopg

    name = f"wt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return cluster.database_url(name)
