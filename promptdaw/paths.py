"""Where promptdaw keeps things: models, logs, caches. Each can be moved with an env var."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "models_dir", "state_dir"]


def models_dir() -> Path:
    """``$PROMPTDAW_MODELS_DIR``, else the ``models/`` folder shipped with the package."""
    if env := os.environ.get("PROMPTDAW_MODELS_DIR"):
        return Path(env)
    from . import models

    return Path(models.__file__).parent


def state_dir() -> Path:
    """Daemon logs and other per-user state (``$PROMPTDAW_STATE_DIR`` overrides)."""
    path = Path(os.environ.get("PROMPTDAW_STATE_DIR") or platformdirs.user_state_dir("promptdaw"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Downloaded wheels and other re-creatable files (``$PROMPTDAW_CACHE_DIR`` overrides)."""
    path = Path(os.environ.get("PROMPTDAW_CACHE_DIR") or platformdirs.user_cache_dir("promptdaw"))
    path.mkdir(parents=True, exist_ok=True)
    return path
