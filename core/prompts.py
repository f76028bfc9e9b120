"""Prompt and answer templates live as files in prompts/, loaded by name.

Each file may start with HTML comment lines that document the variables it takes;
they are stripped before the template is used with str.format.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .config import get_settings


@lru_cache(maxsize=64)
def _load(folder: Path, name: str) -> str:
    path = folder / f"{name}.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.lstrip().startswith("<!--")]
    return "\n".join(body).strip("\n")


def load_prompt(name: str) -> str:
    """The template called `name` (prompts/NAME.md), comments stripped."""
    return _load(get_settings().prompts_dir, name)


def render(name: str, **values: object) -> str:
    """Fill the template `name` with `values`."""
    return load_prompt(name).format(**values)
