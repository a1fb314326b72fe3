"""`make run`: the whole system on a laptop, in one terminal.

1. PostgreSQL and Redis: `DATABASE_URL` / `REDIS_URL` when set, otherwise the embedded ones from
   scripts/devservices.py (data under `.data/`, or `$EHCASE_DATA_DIR`, kept between runs);
2. `manage.py migrate --noinput`, then `manage.py seed_demo` (idempotent);
3. together, each line of output prefixed with its name:
   web    gunicorn serving ehcase.wsgi on 127.0.0.1:$PORT (`HOST=0.0.0.0` to listen on every
          interface); WhiteNoise serves the static files straight from their sources in local
          mode (WHITENOISE_USE_FINDERS), so no collectstatic is needed;
   worker a Celery worker;
   beat   Celery beat, its schedule in the data folder.

Once the web server answers it prints the address and the demo logins. Ctrl-C (SIGINT), SIGTERM
or SIGHUP stops everything: the children's process groups are sent SIGTERM, stragglers are killed
after a timeout, then the embedded services started here are stopped. If a child dies on its own,
the rest are stopped and the exit status is non-zero.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import devservices  # noqa: E402 - needs the path above

PY = sys.executable
DEMO_PASSWORD = "early-help-demo"
# The demo accounts' authenticator-app key (ehcase.demo.DEMO_TOTP_SECRET; docs/two-factor.md).
DEMO_TOTP_SECRET = "EARLYHELPDEMOSECRETKEY2345ABCDEF"
DEMO_LOGINS = [
    ("sam.practitioner", "practitioner, Riverside Primary School (North hub)"),
    ("hana.healthvisitor", "health visitor, North Health Visiting Team"),
    ("chris.coordinator", "North hub coordinator"),
    ("alex.schoolmanager", "headteacher, Riverside Primary School (agency manager)"),
    ("morgan.manager", "Early Help manager (partnership-wide)"),
    ("quinn.auditor", "quality auditor (partnership-wide)"),
    ("ola.outsider", "practitioner, Southfield Academy (South hub)"),
    ("admin", "system administrator (/admin/)"),
]
STOP_TIMEOUT = float(os.environ.get("EHCASE_STOP_TIMEOUT", "15"))  # seconds before SIGKILL
READY_TIMEOUT = 180.0  # seconds for the web server to answer at all
HEALTHY_GRACE = 20.0  # after it answers, how long the banner waits for /healthz to say "ok"
# The access log names the path only (%(U)s), never the query string or the Referer, which may hold
# search terms or an earlier page's address (docs/hardening.md). docker/entrypoint.sh uses the same.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

_COLOURS = itertools.cycle(["36", "33", "35", "32", "34", "31"])
_print_lock = threading.Lock()


# ---------------------------------------------------------------- output


class Output:
    """Writes lines to stdout as `name   | text`, one writer at a time."""

    def __init__(self, stream: IO[str] = sys.stdout):
        self.stream = stream
        self.colour = stream.isatty() and os.environ.get("NO_COLOR") is None
        self.colours: dict[str, str] = {"run": "1"}

    def line(self, name: str, text: str) -> None:
        label = f"{name:<7}|"
        if self.colour:
            code = self.colours.setdefault(name, next(_COLOURS))
            label = f"\033[{code}m{label}\033[0m"
        with _print_lock:
            try:
                self.stream.write(f"{label} {text}\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line("run", part)


OUT = Output()


def _pump(name: str, pipe: IO[bytes]) -> None:
    with pipe:
        for raw in iter(pipe.readline, b""):
            OUT.line(name, raw.decode("utf-8", "replace").rstrip("\r\n"))


# ---------------------------------------------------------------- children


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if this script dies without cleaning up (kill -9)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class Child:
    """One command in its own session (so its own process group), its output pumped with a prefix."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # see main(): no pump thread runs while the children fork
        )
        self.pid = self.proc.pid  # == its process group id
        self.thread: threading.Thread | None = None

    def pump(self) -> None:
        assert self.proc.stdout is not None
        self.thread = threading.Thread(target=_pump, args=(self.name, self.proc.stdout), daemon=True)
        self.thread.start()

    def poll(self) -> int | None:
        return self.proc.poll()

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def signal_leader(self, sig: int) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.stop_signal: int | None = None  # set by the signal handler
        self.signals_seen = 0

    # Signals only set flags here (no output: the main thread may be half-way through a write);
    # the loops below look at them.
    def _on_signal(self, signum: int, _frame) -> None:
        self.signals_seen += 1
        if self.stop_signal is None:
            self.stop_signal = signum

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when a stop was asked for."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, argv, env)
        self.children.append(child)
        return child

    def run_step(self, name: str, argv: list[str], env: dict[str, str]) -> int | None:
        """Run a one-off command to completion; its exit code, or None if a stop was asked for."""
        child = self.start(name, argv, env)
        child.pump()
        while child.poll() is None:
            if self.stopping:
                return None
            time.sleep(0.1)
        if child.thread:
            child.thread.join(timeout=5)
        self.children.remove(child)
        return child.proc.returncode

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM each child, wait, then SIGKILL the process groups of any still there."""
        live = [c for c in self.children if c.poll() is None or c.group_alive()]
        if not live:
            return
        OUT.say("stopping " + ", ".join(c.name for c in live) + " ...")
        for child in live:
            # The leader (gunicorn's master, Celery's main process) stops its own workers cleanly;
            # if it has already gone, whatever is left of its group is told directly.
            if child.poll() is None:
                child.signal_leader(signal.SIGTERM)
            else:
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.signals_seen < 2:
            for child in live:
                if child.poll() is not None and child.group_alive():
                    child.signal_group(signal.SIGTERM)  # orphaned workers of an exited leader
            if all(c.poll() is not None and not c.group_alive() for c in live):
                break
            time.sleep(0.1)
        for child in live:
            if child.poll() is None or child.group_alive():
                why = "a second signal" if self.signals_seen >= 2 else f"not stopped after {timeout:.0f}s"
                OUT.say(f"killing {child.name} ({why})")
                child.signal_group(signal.SIGKILL)
        for child in live:
            try:
                child.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if child.thread:
                child.thread.join(timeout=2)
        self.children.clear()


# ---------------------------------------------------------------- helpers


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP proxy


def _get(url: str, timeout: float = 3.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with _opener.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _start_services() -> devservices.Started:
    """devservices.start(), but if it fails half-way, stop what it had already started."""
    pg = devservices.EmbeddedPostgres(devservices.DATA) if not os.environ.get("DATABASE_URL") else None
    redis = devservices.EmbeddedRedis(devservices.DATA) if not os.environ.get("REDIS_URL") else None
    pg_before = pg.running_port() if pg else None
    redis_before = redis.running_port() if redis else None
    try:
        return devservices.start()
    except BaseException:
        if redis and not redis_before and redis.running_port():
            redis.stop()
        if pg and not pg_before and pg.running_port():
            pg.stop()
        raise


def _banner(url: str, healthy: bool) -> str:
    width = max(len(u) for u, _ in DEMO_LOGINS)
    lines = ["", f"Early Help case management is running at {url}"]
    if not healthy:
        lines.append(f"(not everything in {url}healthz is up yet: see the log above)")
    lines += [
        f"Demo logins, password {DEMO_PASSWORD}:",
        *(f"  {username:<{width}}  {who}" for username, who in DEMO_LOGINS),
        f"Two-factor codes: add the key {DEMO_TOTP_SECRET} to an authenticator app (docs/two-factor.md)",
        f"Health: {url}healthz    API docs: {url}api/docs/",
        f"Ctrl-C stops everything; the data stays in {devservices.DATA}",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main() -> int:
    port = int(os.environ.get("PORT") or "8000")
    host = os.environ.get("HOST") or "127.0.0.1"
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    browse_host = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104
    url = f"http://{'[' + browse_host + ']' if ':' in browse_host else browse_host}:{port}/"
    probe = f"http://127.0.0.1:{port}/healthz" if host == "0.0.0.0" else f"{url}healthz"  # noqa: S104

    if not _port_free(host, port):
        OUT.say(f"port {port} on {host} is in use: stop whatever holds it, or choose one: PORT=8001 make run")
        return 1

    sup = Supervisor()
    sup.install_signal_handlers()  # from here on a signal only sets a flag; we clean up below
    started: devservices.Started | None = None
    try:
        OUT.say("starting PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set) ...")
        try:
            started = _start_services()
        except Exception as exc:  # noqa: BLE001 - report it plainly and stop
            OUT.say(f"could not start the database or Redis: {exc}")
            return 1
        env = {
            **os.environ,
            **started.env,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "ehcase.settings"),
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("DATABASE_URL", "REDIS_URL"):
            where = "embedded" if key in started.env else "from the environment"
            OUT.say(f"{key} {where}: {env[key]}")
        if sup.stopping:
            return 0

        devservices.DATA.mkdir(parents=True, exist_ok=True)
        manage = [PY, str(ROOT / "manage.py")]
        for name, argv in (
            ("migrate", [*manage, "migrate", "--noinput"]),
            ("seed", [*manage, "seed_demo"]),
        ):
            result = sup.run_step(name, argv, env)
            if result is None:  # asked to stop
                return 0
            if result != 0:
                OUT.say(f"`{' '.join(argv[1:])}` failed (exit code {result})")
                return result or 1

        gunicorn = [
            PY, "-m", "gunicorn", "ehcase.wsgi:application",
            "--bind", bind,
            "--workers", os.environ.get("WEB_WORKERS", "2"),
            "--threads", os.environ.get("WEB_THREADS", "3"),
            "--graceful-timeout", "10",
            "--timeout", "120",
            "--access-logfile", "-",
            "--access-logformat", ACCESS_LOG_FORMAT,
            "--error-logfile", "-",
            "--no-control-socket",  # else every gunicorn on the machine shares ~/.gunicorn/gunicorn.ctl
        ]  # fmt: skip
        celery = [PY, "-m", "celery", "-A", "ehcase"]
        schedule = str(devservices.DATA / "celerybeat-schedule")
        processes = [
            ("web", gunicorn),
            ("worker", [*celery, "worker", "-l", "info", "--concurrency", "2"]),
            ("beat", [*celery, "beat", "-l", "info", "--schedule", schedule]),
        ]
        # Start all three before any output thread, so that no thread is running while one forks.
        children = [sup.start(name, argv, env) for name, argv in processes]
        for child in children:
            child.pump()

        return _supervise(sup, children, url, probe)
    finally:
        sup.stop_all()
        if started is not None:
            OUT.say("stopping the embedded services started here ...")
            try:
                devservices.stop(started)
            except Exception as exc:  # noqa: BLE001
                OUT.say(f"could not stop them cleanly: {exc}")
        OUT.say(f"stopped{' (' + signal.Signals(sup.stop_signal).name + ')' if sup.stop_signal else ''}.")


def _supervise(sup: Supervisor, children: list[Child], url: str, probe: str) -> int:
    """Watch the children; print the banner once the web server answers. Returns the exit code."""
    t0 = time.monotonic()
    answered_at: float | None = None
    announced = False
    next_probe = 0.0
    while not sup.stopping:
        for child in children:
            status = child.poll()
            if status is not None:
                OUT.say(f"{child.name} exited unexpectedly (exit code {status}): stopping the rest")
                return status if status > 0 else 1
        now = time.monotonic()
        if not announced and now >= next_probe:
            next_probe = now + 0.5
            status = _get(probe, timeout=3.0)
            if status is not None and answered_at is None:
                answered_at = now
            healthy = status == 200
            if answered_at is not None and (healthy or now - answered_at > HEALTHY_GRACE):
                OUT.say(_banner(url, healthy))
                announced = True
            elif answered_at is None and now - t0 > READY_TIMEOUT:
                OUT.say(f"the web server did not answer on {probe} within {READY_TIMEOUT:.0f}s")
                return 1
        sup.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
