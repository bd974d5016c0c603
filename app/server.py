"""Serving the app on every core: WORKERS processes on one port under gunicorn's master.

The master binds the port and forks the workers; each worker builds its own app (its own
database pools, its own background tasks, which are safe side by side as they are across
replicas) and serves the shared socket with aiohttp's gunicorn worker. The master replaces a
worker that dies, restarts them one after another on SIGHUP (a new deploy, no dropped
connections) and stops them gracefully on SIGTERM or SIGINT.

One worker needs no master: `serve` then runs the app in its own process, as the tests do.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from gunicorn.app.base import BaseApplication

from app.main import create_app
from app.settings import Settings

log = structlog.get_logger()

# How long a worker has to finish its requests on a restart or stop before it is killed.
GRACEFUL_SECONDS = 30


class Workers(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn configured from the settings, never from a file or its own command line."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options().items():
            self.cfg.set(name, value)

    def options(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "bind": [f"{settings.host}:{settings.port}"],
            "workers": settings.workers,
            "worker_class": "aiohttp.GunicornWebWorker",
            "graceful_timeout": GRACEFUL_SECONDS,
            # A worker's heartbeat; an event loop blocked this long is killed and replaced.
            "timeout": 60,
            "proc_name": "cityhive",
            # The `request` log line replaces the access log (app/observability.py).
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "post_fork": worker_started,
            "child_exit": worker_ended,
            # No control socket: nothing here drives gunicorn but signals.
            "control_socket_disable": True,
        }

    def load(self) -> web.Application:
        """Called in each worker after the fork: an app of its own."""
        return create_app(self.settings)


def worker_started(server: Any, worker: Any) -> None:
    log.info("worker_started", pid=worker.pid)


def worker_ended(server: Any, worker: Any) -> None:
    log.info("worker_ended", pid=worker.pid)


def serve(settings: Settings) -> None:
    """Serve until stopped: WORKERS processes, or this one alone."""
    log.info("serving", url=f"http://{settings.host}:{settings.port}", workers=settings.workers)
    if settings.workers == 1:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=None,
        )
        return
    Workers(settings).run()
