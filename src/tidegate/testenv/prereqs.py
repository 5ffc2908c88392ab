"""The system tools the test bed needs, and the Debian packages that provide them.

The list is ``system-packages.yaml`` beside this module (command -> package, one line each);
``./dev`` reads the same file and installs the packages of missing commands before anything else
runs, so a machine prepared by ``./dev`` passes :func:`check`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml

from tidegate.model import errors

PACKAGE_LIST = "system-packages.yaml"
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
"""Searched after PATH: a non-root PATH often leaves out where sshd lives."""

OVERRIDE_ENV = "TIDEGATE_{}"
"""``TIDEGATE_SSHD=/path/to/sshd`` (the command's name, upper-cased, ``-`` as ``_``) uses that
executable instead of looking the command up."""


def packages() -> dict[str, str]:
    """Command -> Debian package, as declared in ``system-packages.yaml``."""
    text = (resources.files("tidegate.testenv") / PACKAGE_LIST).read_text()
    loaded = yaml.safe_load(text) or {}
    return {str(command): str(package) for command, package in loaded.items()}


def override_env(command: str) -> str:
    return OVERRIDE_ENV.format(command.upper().replace("-", "_"))


def find(command: str) -> Path | None:
    """Where ``command`` is: its override variable, then PATH, then :data:`EXTRA_BIN_DIRS`."""
    configured = os.environ.get(override_env(command))
    if configured:
        return Path(configured)
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_BIN_DIRS])
    found = shutil.which(command, path=search)
    return Path(found) if found else None


def require(command: str) -> Path:
    """Where ``command`` is, or an error naming the package that provides it."""
    check([command])
    found = find(command)
    assert found is not None
    return found


def check(commands: Iterable[str]) -> None:
    """Fail, naming every missing command and its package, unless all of ``commands`` exist."""
    declared = packages()
    absent = [c for c in commands if find(c) is None]
    if not absent:
        return
    needed = sorted({declared.get(c, c) for c in absent})
    raise errors.TestEnvError(
        f"the test bed needs {', '.join(absent)}, not found on this machine: install "
        f"{'it' if len(absent) == 1 else 'them'} with `apt-get install -y {' '.join(needed)}` "
        "(or run ./dev, which installs what is missing)"
    )
