"""What the load and fault scripts share: a beekeeper who signed up through the app's own forms,
with their session cookie, CSRF token, API key, hives and sensors, and the server's memory from
/proc.

Imported by bench/load.py and bench/faults.py (`python bench/X.py` puts bench/ first on sys.path).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from _common import Reply, cookie_from, get, request

FORM = "application/x-www-form-urlencoded"
PASSWORD = "a long load-test passphrase"  # noqa: S105 - a throwaway account in a throwaway database
# Berlin, where the hives stand; the map's box covers them all.
WEST, SOUTH, EAST, NORTH = 13.25, 52.45, 13.55, 52.58
BBOX = f"{WEST},{SOUTH},{EAST},{NORTH}"
CSRF_FIELD = re.compile(rb'name="_csrf" value="([^"]+)"')
NEW_KEY = re.compile(rb'id="new-key"[^>]*value="(ch_[^"]+)"')


@dataclass
class Beekeeper:
    email: str
    cookie: str  # "cityhive_session=…", signed in
    csrf: str  # the session's token, for form posts
    key: str  # a live API key
    hives: list[int]
    # The sensors added by add_sensors: id → kind ("weight" or "temperature").
    sensors: dict[int, str] = field(default_factory=dict)

    @property
    def sensor_hives(self) -> list[int]:
        """The hives with sensors: their pages show charts."""
        return self.hives[: len(self.sensors) // 2]


def csrf_of(reply: Reply) -> str:
    found = CSRF_FIELD.search(reply.body)
    if reply.status != 200 or found is None:
        raise SystemExit(f"no form with a CSRF token: {reply.status} {reply.body[:300]!r}")
    return found.group(1).decode()


def post_form(
    port: int, path: str, cookie: str | None, fields: dict[str, str], timeout: float = 30
) -> Reply:
    headers = {"Content-Type": FORM}
    if cookie is not None:  # a visitor without a session has none (a stateless CSRF token)
        headers["Cookie"] = cookie
    return request(port, "POST", path, headers, urlencode(fields).encode(), timeout=timeout)


def hive_json(name: str, rng: random.Random) -> dict[str, object]:
    return {
        "name": name,
        "latitude": round(rng.uniform(SOUTH, NORTH), 6),
        "longitude": round(rng.uniform(WEST, EAST), 6),
        "frame_type": rng.choice(["langstroth", "dadant", "national"]),
        "site": rng.choice(["Roof", "Allotment", "Courtyard", "Park"]),
    }


def hive_form(name: str, rng: random.Random) -> dict[str, str]:
    return {key: str(value) for key, value in hive_json(name, rng).items()}


def sign_up(port: int, email: str, hives: int, seed: int = 8) -> Beekeeper:
    """A new account through /signup, an API key from the profile page, `hives` hives by API."""
    page = get(port, path="/signup")
    cookie = cookie_from(page)  # None: a visitor's first page sets no session cookie
    form = {"name": "Load Tester", "email": email, "password": PASSWORD, "_csrf": csrf_of(page)}
    reply = post_form(port, "/signup", cookie, form)
    if reply.status != 303:
        raise SystemExit(f"POST /signup answered {reply.status}: {reply.body[:300]!r}")
    cookie = cookie_from(reply)
    if cookie is None:
        raise SystemExit("POST /signup set no session cookie")
    csrf = csrf_of(get(port, {"Cookie": cookie}, "/profile"))
    reply = post_form(port, "/profile/api-keys", cookie, {"key_name": "load", "_csrf": csrf})
    found = NEW_KEY.search(reply.body)
    if reply.status != 201 or found is None:
        raise SystemExit(f"POST /profile/api-keys answered {reply.status}")
    key = found.group(1).decode()
    rng = random.Random(seed)
    ids = [create_hive(port, key, f"Hive {n}", rng) for n in range(hives)]
    return Beekeeper(email, cookie, csrf, key, ids)


def create_hive(port: int, key: str, name: str, rng: random.Random) -> int:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(hive_json(name, rng)).encode()
    reply = request(port, "POST", "/api/v1/hives", headers, body, timeout=30)
    if reply.status != 201:
        raise SystemExit(f"POST /api/v1/hives answered {reply.status}: {reply.body[:300]!r}")
    hive_id: int = json.loads(reply.body)["id"]
    return hive_id


def add_sensors(port: int, who: Beekeeper, hives: int) -> None:
    """A scale and an inside temperature probe on each of the first `hives` hives, added
    through the sensor form; their ids from the API."""
    for hive in who.hives[:hives]:
        for kind in ("weight", "temperature"):
            fields = {"name": f"{kind} {hive}", "kind": kind, "placement": "inside"}
            fields["_csrf"] = who.csrf
            reply = post_form(port, f"/hives/{hive}/sensors", who.cookie, fields)
            if reply.status != 303:
                raise SystemExit(f"POST /hives/{hive}/sensors answered {reply.status}")
    reply = get(port, {"Authorization": f"Bearer {who.key}"}, "/api/v1/sensors")
    if reply.status != 200:
        raise SystemExit(f"GET /api/v1/sensors answered {reply.status}")
    who.sensors = {item["id"]: item["kind"] for item in json.loads(reply.body)["items"]}


def memory_kib(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        name: int(re.search(rf"^{name}:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]
        for name in ("VmRSS", "VmHWM")
    }
