#!/usr/bin/env python3
"""Set up air in ./.venv and run it: `python3 bootstrap.py up` or `python3 bootstrap.py test`.

Needs nothing but Python 3.11+ (with pip or ensurepip). The virtual environment is
(re)installed only when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".air-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
USAGE = """usage: python3 bootstrap.py COMMAND [ARGS...]

  up      install air into .venv and start the whole platform (`air up`)
  test    install air with its test tools and run the whole test suite (pytest ARGS...)
  air     install air and run any `air` command, e.g. `python3 bootstrap.py air validate`
"""


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must run on old Pythons to say so
        print(f"error: air needs Python 3.11 or newer, this is {sys.version.split()[0]}",
              file=sys.stderr)
        return 2
    if not argv or argv[0] not in {"up", "test", "air"}:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_installed()
    if command == "test":
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    elif command == "up":
        args = [str(BIN / "air"), "up", *rest]
    else:
        args = [str(BIN / "air"), *rest]
    os.chdir(ROOT)
    os.execv(args[0], args)


def ensure_installed() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    python = BIN / "python"
    if not python.exists():
        create_venv()
    print("bootstrap: installing air and its dependencies into .venv ...", file=sys.stderr)
    pip = [str(python), "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
        # A venv made without ensurepip: drive the outer pip at it instead.
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
    # -qq: errors only (some machines configure pip with noisy find-links warnings).
    run([*pip, "install", "-qq", "--disable-pip-version-check", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


def create_venv() -> None:
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError):
        # Debian's python3 without python3-venv has no ensurepip.
        venv.EnvBuilder(with_pip=False, clear=True).create(VENV)


def run(args: list[str]) -> None:
    result = subprocess.run(args)
    if result.returncode != 0:
        print(f"bootstrap: command failed ({result.returncode}): {' '.join(args)}", file=sys.stderr)
        sys.exit(result.returncode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
