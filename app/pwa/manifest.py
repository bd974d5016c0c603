"""The web app manifest: what a phone needs to install CityHive on its home screen.

Chromium installs a site whose manifest has a name or short name, a start URL within its scope,
`display` standalone (or fullscreen, minimal-ui), and icons of 192 and 512 pixels; a maskable
icon fills the launcher's shape instead of sitting in a white circle.

The browser fetches the manifest with the page's cookies, so its words (name, description,
shortcuts) and its `lang` are the reader's language, as the pages are.
"""

from __future__ import annotations

from typing import Any

from app.assets import StaticAssets
from app.web import i18n
from app.web.i18n import N_, _, translate

NAME = N_("CityHive: urban beekeeping")
SHORT_NAME = "CityHive"  # a proper name: the same in every language
DESCRIPTION = N_(
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
        "name": translate(NAME),
        "short_name": SHORT_NAME,
        "description": translate(DESCRIPTION),
        "lang": i18n.language(),
        "dir": "ltr",  # English, German and French all read left to right
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
                "name": _("Record an inspection"),
                # Translators: a home screen shortcut's label, at most 12 characters.
                "short_name": _("Inspection"),
                "description": _("Pick a hive and record what you saw."),
                "url": "/hives",
                "icons": shortcut_icon,
            },
            {
                "name": _("Map of my hives"),
                # Translators: a home screen shortcut's label, at most 12 characters.
                "short_name": _("Map"),
                "description": _("Find a hive on the map."),
                "url": "/map",
                "icons": shortcut_icon,
            },
        ],
    }
