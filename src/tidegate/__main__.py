"""``python -m tidegate``: the same as the ``tidegate`` command."""

from tidegate.cli.main import run

run()
