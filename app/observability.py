"""Structured JSON logs: one line per event, every line of a request carrying its request id
and its route's template, never its raw path."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """JSON lines to `stream`: stdout for the server, stderr for commands whose output is data.

    The lines are made by orjson, written as bytes straight to the stream's buffer where it has
    one: the request line is on every request's path, and the standard library's json plus a
    text write cost several times as much (docs/benchmarks.md)."""
    stream = sys.stdout if stream is None else stream  # the one in place now, not at import
    logging.basicConfig(format="%(message)s", stream=stream, level=level, force=True)
    # aiohttp's access log writes the raw request line, secret links and query strings
    # included; the `request` line (app/web/middlewares.py) replaces it, however the app is run.
    logging.getLogger("aiohttp.access").disabled = True
    buffer = getattr(stream, "buffer", None)  # stdout, a file; not a test's StringIO
    if buffer is not None:
        stream.flush()  # what was written as text goes first
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            path_is_the_route_template,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=json_bytes if buffer else json_text),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=(
            structlog.BytesLoggerFactory(buffer) if buffer else structlog.PrintLoggerFactory(stream)
        ),
    )


def json_bytes(event: Any, **options: Any) -> bytes:
    """One event as a JSON line's bytes; what orjson cannot serialize goes through `default`
    (structlog's: repr()), and keys that are not strings are written as strings."""
    return orjson.dumps(event, default=options.get("default"), option=orjson.OPT_NON_STR_KEYS)


def json_text(event: Any, **options: Any) -> str:
    return json_bytes(event, **options).decode()


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
