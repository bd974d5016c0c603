"""Structured JSON logs: one line per event, every line of a request carrying its request id."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(level: str, stream: TextIO = sys.stdout) -> None:
    """JSON lines to `stream`: stdout for the server, stderr for commands whose output is data."""
    logging.basicConfig(format="%(message)s", stream=stream, level=level, force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
