"""Message catalogues of the dashboard (English and Danish).

Every text a page shows comes from ``en.yaml`` / ``da.yaml`` in this package, addressed by a
dotted key (``rct.title``). Catalogues are nested YAML mappings; placeholders use
``str.format`` names (``{site}``). Both catalogues must have the same keys (a test checks it).
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalogue", "translate"]

LANGUAGES: tuple[str, ...] = ("en", "da")
DEFAULT_LANGUAGE = "en"
MISSING = "⟦{key}⟧"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = str(value)
    return flat


@functools.lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """The flat catalogue (dotted key → text) of ``language``; ``ValueError`` if unknown."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; languages: {', '.join(LANGUAGES)}")
    text = (resources.files("dashboards.i18n") / f"{language}.yaml").read_text(encoding="utf-8")
    return _flatten(yaml.safe_load(text) or {})


def translate(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text of ``key`` in ``language``, formatted with ``values``.

    A key missing from the language falls back to English; a key missing everywhere shows as
    ``⟦key⟧`` so that a gap is visible on the page (and caught by the tests) instead of
    crashing it.
    """
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
    if text is None:
        return MISSING.format(key=key)
    return text.format(**values) if values else text
