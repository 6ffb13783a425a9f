"""Dash callbacks, one module per page. Each module exposes ``register(app)``."""
from __future__ import annotations

import importlib
import pkgutil

import dash


def register_all(app: dash.Dash) -> None:
    """Import every callback module of this package and call its register(app)."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
