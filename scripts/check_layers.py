"""Check the import contracts in pyproject.toml ([tool.importlinter]) against this checkout.

    .venv/bin/python scripts/check_layers.py

The installed package maps top-level folders (core/, runtime/, ...) into ``promptdaw.``; import-
linter reads packages from disk, so the folders are first laid out as the installed package
(plus ``training/``) in a temporary directory, and the contracts are checked there.
Exit status 0 when every contract is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stage(destination: Path) -> None:
    """Copy the Python sources as the installed package layout, with training/ beside it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    ignore = shutil.ignore_patterns("__pycache__", "*.onnx", "*.json", "*.md")
    for package, folder in sorted(package_dir.items(), key=lambda item: item[0].count(".")):
        target = destination.joinpath(*package.split("."))
        shutil.copytree(REPO / folder, target, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(REPO / "training", destination / "training", ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", destination / "pyproject.toml")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="promptdaw-layers-") as tmp:
        staged = Path(tmp)
        stage(staged)
        env = {**os.environ, "PYTHONPATH": str(staged)}
        command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                   "sys.exit(lint_imports_command())", "--no-cache"]  # fmt: skip
        return subprocess.run(command, cwd=staged, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
