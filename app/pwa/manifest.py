"""The web app manifest: what a phone needs to install CityHive on its home screen.

Chromium installs a site whose manifest has a name or short name, a start URL within its scope,
`display` standalone (or fullscreen, minimal-ui), and icons of 192 and 512 pixels; a maskable
icon fills the launcher's shape instead of sitting in a white circle.
"""

from __future__ import annotations

from typing import Any

from app.assets import StaticAssets

NAME = "CityHive: urban beekeeping"
SHORT_NAME = "CityHive"
DESCRIPTION = (
    "Your hives on a map; inspections and harvests recorded in under a minute, online or off."
)
THEME_COLOUR = "#f2b01e"  # --honey in app.css and <meta name="theme-color">
BACKGROUND_COLOUR = "#fffdf7"  # --paper: the splash screen while the app starts
ICONS = (  # (file under static/icons/, pixels, purpose)
    ("icon-192.png", 192, "any"),
    ("icon-512.png", 512, "any"),
    ("icon-maskable-512.png", 512, "maskable"),
)


def manifest(assets: StaticAssets) -> dict[str, Any]:
    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        return {
            "src": assets.url(f"icons/{name}"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    shortcut_icon = [icon("icon-192.png", 192, "any")]
    return {
        "id": "/",
        "name": NAME,
        "short_name": SHORT_NAME,
        "description": DESCRIPTION,
        "lang": "en",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "categories": ["lifestyle", "productivity", "utilities"],
        "icons": [icon(*spec) for spec in ICONS],
        "shortcuts": [
            {
                "name": "Record an inspection",
                "short_name": "Inspection",
                "description": "Pick a hive and record what you saw.",
                "url": "/hives",
                "icons": shortcut_icon,
            },
            {
                "name": "Map of my hives",
                "short_name": "Map",
                "description": "Find a hive on the map.",
                "url": "/map",
                "icons": shortcut_icon,
            },
        ],
    }
