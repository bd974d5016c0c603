# syntax=docker/dockerfile:1
#
# CityHive: a two-stage image. The builder resolves the locked runtime dependencies
# (uv.lock, no dev group) into /app/.venv; the final stage holds that venv and the app files.
# Build:  docker build -t cityhive .
# Run:    docker compose up   (see docs/containers.md)

# Both stages must use the same Python: the venv's interpreter links to /usr/local/bin/python3.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.9.30 AS uv

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

COPY --from=uv /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies only: this layer is rebuilt when the lock changes, not when the code does.
# [tool.uv] package = false, so there is no project to install, only its dependencies.
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# HOST=0.0.0.0: reachable from outside the container (the app's default is localhost).
# DEMO_DATA=false: never load the demo account (known password) unless asked to.
# DATA_DIR: where a SECRET_KEY is generated and kept if none is given (prefer giving one).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/app/.venv/bin:${PATH}" \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_LEVEL=INFO \
    DEMO_DATA=false \
    DATA_DIR=/app/.data

RUN groupadd --system --gid 10001 cityhive \
 && useradd --system --uid 10001 --gid cityhive --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin cityhive \
 && mkdir -p /app/.data \
 && chown cityhive:cityhive /app/.data

WORKDIR /app

# Owned by root and read-only to the app user; only /app/.data is writable.
COPY --from=builder /app/.venv /app/.venv
COPY pyproject.toml uv.lock alembic.ini ./
COPY migrations ./migrations
COPY static ./static
COPY templates ./templates
COPY app ./app

USER cityhive

EXPOSE 8080

# 200 only when the database answers; urlopen raises (exit 1) on 503 or no connection.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health/ready', timeout=4)"]

# DATABASE_URL is required: without it `run` would try to start a local PostgreSQL cluster.
# `run` with a DATABASE_URL = apply migrations, load demo data once if DEMO_DATA=true, serve.
# exec: the Python process replaces the shell and receives SIGTERM from `docker stop`.
CMD ["sh", "-c", ": ${DATABASE_URL:?DATABASE_URL must be set to postgresql://user:pass@host:port/db}; exec python -m app run"]
