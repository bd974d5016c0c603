"""Structured JSON logs: one line per event, every line of a request carrying its request id
and its route's template, never its raw path."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger


def configure_logging(level: str, stream: TextIO = sys.stdout) -> None:
    """JSON lines to `stream`: stdout for the server, stderr for commands whose output is data."""
    logging.basicConfig(format="%(message)s", stream=stream, level=level, force=True)
    # aiohttp's access log writes the raw request line, secret links and query strings
    # included; the `request` line (app/web/middlewares.py) replaces it, however the app is run.
    logging.getLogger("aiohttp.access").disabled = True
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            path_is_the_route_template,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
    )


def path_is_the_route_template(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """Inside a request, `path` on every line is the route's template (`/calendar/{secret}.ics`),
    whatever the call passed: raw paths and queries carry secret links (calendar feeds, swarm
    status pages) and keys. The request middleware binds the template (app/web/middlewares.py)."""
    template = structlog.contextvars.get_contextvars().get("path")
    if template is not None:
        event_dict["path"] = template
    return event_dict
