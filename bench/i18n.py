"""What speaking the reader's language costs: pages rendered in English, German and French.

    make bench        # every benchmark
    uv run --locked python bench/i18n.py

In one process, with the app's own template environment (app.main.TEMPLATE_OPTIONS and
configure_templates), the same pages are rendered in turns in each language: English looks up
nothing (the source texts), German and French look every text up in a catalogue compiled from
its .po file, and format dates and numbers through Babel for their locale. Pages: the offline
page (the shell: navigation, footer, language chooser) and the sign-up and log-in forms with a
message beside each field. Every round renders each page `--renders` times per language, the
languages in a rotating order, and the table gives the median of the rounds per page. A second
table times the lookups alone: every message of the catalogue through `_()` in each language,
and the date and number filters.

It rewrites the `<!-- bench:i18n -->` section of docs/benchmarks.md (`--no-write` to leave it).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from _common import DOC, ROOT, load_average, write_section

sys.path.insert(0, str(ROOT))  # import app as `python -m app` does

from app import catalogues
from app.assets import StaticAssets
from app.main import STATIC, TEMPLATE_OPTIONS, configure_templates
from app.settings import Settings
from app.web import formatting, i18n
from app.web.forms import Form

BEGIN, END = "<!-- bench:i18n -->", "<!-- /bench:i18n -->"
LANGUAGES = ("en", "de", "fr")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(**TEMPLATE_OPTIONS)  # noqa: S701 - autoescape is in the options
    settings = Settings.model_construct(time_zone="Europe/Berlin")
    configure_templates(env, settings, StaticAssets(STATIC))
    env.globals["user_tag"] = lambda request: ""  # the shell's tag needs a real app
    return env


def pages(env: jinja2.Environment) -> dict[str, Callable[[], str]]:
    request = SimpleNamespace(path="/signup", path_qs="/signup", query={}, headers={}, get={}.get)
    shell = {
        "request": request,
        "user": None,
        "csrf_token": "t" * 43,
        "current_path": "/signup",
        "back_here": "/signup",
    }
    errors = {
        "name": "This field is required.",
        "email": "Enter an email address.",
        "password": "Use at least 12 characters.",
    }
    signup = Form(values={"name": "", "email": "x"}, errors=errors, labels={})
    login = Form(values={"email": "x"}, errors={"email": "This field is required."}, labels={})
    offline = env.get_template("pwa/offline.html")
    signup_page = env.get_template("accounts/signup.html")
    login_page = env.get_template("accounts/login.html")
    return {
        "offline page (the shell)": lambda: offline.render(shell),
        "sign-up form, 3 field errors": lambda: signup_page.render(
            shell | {"form": signup, "next": "/"}
        ),
        "log-in form, 1 field error": lambda: login_page.render(
            shell | {"form": login, "next": "/", "message": "", "notice": ""}
        ),
    }


def timed(render: Callable[[], Any], times: int) -> float:
    start = time.perf_counter()
    for _ in range(times):
        render()
    return (time.perf_counter() - start) / times * 1e6  # µs


def lookups(times: int) -> dict[str, dict[str, float]]:
    messages = [
        m.id
        for m in catalogues.read(catalogues.catalogue_path("de"), "de")
        if m.id and isinstance(m.id, str)
    ]
    moment = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)
    zone = Settings.model_construct(time_zone="Europe/Berlin").zone
    found: dict[str, dict[str, float]] = {}
    for language in LANGUAGES:
        i18n.use(language)
        for message in messages:  # the catalogue compiled, Babel's locale data loaded
            i18n._(message)
        formatting.date_time(moment, zone)
        formatting.number(Decimal("1204.5"))
        found[language] = {
            f"_() of each of {len(messages)} messages": timed(
                lambda: [i18n._(m) for m in messages], times
            )
            / len(messages),
            "the datetime filter": timed(lambda: formatting.date_time(moment, zone), times * 20),
            "the number filter": timed(lambda: formatting.number(Decimal("1204.5")), times * 20),
        }
    return found


def facts() -> dict[str, str]:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": model.group(1).strip() if model else platform.machine(),
        "Python": platform.python_version(),
        "packages": ", ".join(f"{n} {metadata.version(n)}" for n in ("babel", "jinja2")),
        "load average at the end": load_average(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--renders", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    env = environment()
    renders = pages(env)
    for language in LANGUAGES:  # compile and warm every page in every language
        i18n.use(language)
        for render in renders.values():
            render()
    rounds: dict[tuple[str, str], list[float]] = {}
    for round_number in range(args.rounds):
        order = LANGUAGES[round_number % 3 :] + LANGUAGES[: round_number % 3]
        for language in order:
            i18n.use(language)
            for name, render in renders.items():
                rounds.setdefault((name, language), []).append(timed(render, args.renders))
    medians = {key: statistics.median(values) for key, values in rounds.items()}
    looked_up = lookups(max(1, args.renders // 10))

    stamp = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    lines = [
        BEGIN,
        "## Languages: pages rendered in English, German and French",
        "",
        f"Measured {stamp} with `uv run --locked python bench/i18n.py` ({args.rounds} rounds of "
        f"{args.renders} renders per page and language, median of the rounds). English is the "
        "source (no look-up); German and French look every text up in a catalogue compiled "
        "in memory from its .po file and format through Babel.",
        "",
        *[f"- {k}: {v}" for k, v in facts().items()],
        "",
        "| page | en | de | fr | de / en | fr / en |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in renders:
        en, de, fr = (medians[(name, language)] for language in LANGUAGES)
        times = f"{en:,.0f} µs | {de:,.0f} µs | {fr:,.0f} µs"
        lines.append(f"| {name} | {times} | {de / en:.2f} | {fr / en:.2f} |")
    lines += ["", "| look-up | en | de | fr |", "|---|---:|---:|---:|"]
    for what in looked_up["en"]:
        lines.append(
            f"| {what} | "
            + " | ".join(f"{looked_up[language][what]:.2f} µs" for language in LANGUAGES)
            + " |"
        )
    lines.append(END)
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text, BEGIN, END, DOC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
