"""Run the CLI as `python -m handouts`."""

from __future__ import annotations

from handouts.cli import run

if __name__ == "__main__":
    run()
