"""Where promptdaw keeps things: models, logs, caches. Each can be moved with an env var."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "models_dir", "state_dir"]


def models_dir() -> Path:
    """``$PROMPTDAW_MODELS_DIR``, else the ``models/`` folder shipped with the package."""
    if env := os.environ.get("PROMPTDAW_MODELS_DIR"):
        return Path(env)
    # A data package (manifests and weights), looked up by name: the core imports no model code.
    spec = importlib.util.find_spec("promptdaw.models")
    assert spec is not None and spec.origin is not None, "promptdaw.models is part of the package"
    return Path(spec.origin).parent


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
