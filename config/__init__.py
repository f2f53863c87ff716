"""Data files: run defaults (``defaults.toml``) and per-model-family presets (``presets/*.toml``)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any


def load_defaults() -> dict[str, Any]:
    """Return the parsed ``defaults.toml``."""
    return tomllib.loads(resources.files(__name__).joinpath("defaults.toml").read_text())


def preset_names() -> list[str]:
    """Names of the model families that have a preset file."""
    folder = resources.files(__name__).joinpath("presets")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(family: str) -> dict[str, Any]:
    """Return the parsed preset of one model family; ``KeyError`` lists the known names."""
    if family not in preset_names():
        raise KeyError(f"unknown model family {family!r}; known: {', '.join(preset_names())}")
    return tomllib.loads(resources.files(__name__).joinpath("presets", f"{family}.toml").read_text())
