#!/usr/bin/env bash
# Make sure the system packages CityHive needs are here: PostgreSQL with PostGIS (for the local
# database); with --browser, a Chromium for the end-to-end tests; with --bench, wrk.
#
# As root on Debian or Ubuntu, missing packages are installed with apt-get. Anywhere else this
# says exactly what to install and stops. Nothing is done when DATABASE_URL is set and
# --browser is not asked for (the database is then yours to provide).
set -euo pipefail

want_browser=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --bench) want_bench=1 ;;
  esac
done

have_postgis() {
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    [ -x "$bin/initdb" ] || continue
    [ -f "/usr/share/postgresql/$(basename "$(dirname "$bin")")/extension/postgis.control" ] && return 0
  done
  return 1
}

have_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

is_debian_like() {
  [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1
}

missing=()
if [ -z "${DATABASE_URL:-}" ] && ! have_postgis; then
  missing+=(postgresql postgresql-postgis)
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  command -v uv >/dev/null 2>&1 || missing+=(python3 python3-venv)
fi
# Debian's chromium is a real package; Ubuntu's is a snap wrapper, so there Playwright's own
# browser is used instead (see the Makefile's browser step). The end-to-end tests drive the
# headless shell (the same Chromium without the browser around it, what Playwright runs headless
# by default; half the CPU of chromium --headless); Lighthouse and people use chromium.
if [ "$want_browser" = 1 ] && grep -qi '^ID=debian' /etc/os-release 2>/dev/null; then
  have_chromium || missing+=(chromium)
  command -v chromium-headless-shell >/dev/null 2>&1 || missing+=(chromium-headless-shell)
fi

if [ "$want_bench" = 1 ] && ! command -v wrk >/dev/null 2>&1; then
  missing+=(wrk)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && is_debian_like; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "CityHive needs these system packages: ${missing[*]}" >&2
if is_debian_like; then
  echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
else
  echo "Install PostgreSQL with the PostGIS extension (and Chromium for the tests) with your" >&2
  echo "system's package manager, or set DATABASE_URL to a PostGIS database you run." >&2
fi
exit 1
