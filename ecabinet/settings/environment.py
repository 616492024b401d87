"""Reading the environment: settings are read from ``os.environ`` here and nowhere else.

A secret may also be given as ``<NAME>_FILE`` pointing at a file (systemd credentials, Docker secrets), in
the manner of healthchecks. The settings modules of this package read every variable through these helpers.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    return env(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(env(name, default))


VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))
