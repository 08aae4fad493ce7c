"""UI strings from worktrack/locales/<lang>.yaml; Chinese is the default language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language, flattened to dotted keys."""
    data = yaml.safe_load((LOCALES_DIR / f"{lang}.yaml").read_text(encoding="utf-8")) or {}
    flat: dict[str, str] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            full = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, full + ".")
            else:
                flat[full] = str(value)

    walk(data, "")
    return flat


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The string for key in lang (falling back to Chinese, then the key), formatted with values."""
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**values) if values else text
