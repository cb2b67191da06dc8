"""What every request of one app shares: the project, the clock, locks, the preview's watcher,
the login policy and the front desk's day list.

Blueprints import this module, never the app factory, so the app and its pages never import
each other.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from flask import current_app

from handouts.project import Project
from handouts.web.day import DayDesk

if TYPE_CHECKING:
    from handouts.web.auth import Auth
    from handouts.web.watch import Watcher

EXTENSION = "handouts"
# Forms screened at once (each may hold a few hundred MB while pypdf reads a hostile file);
# a request finding them all busy waits this long for one, then gets 503.
SCREENING_AT_ONCE = 2
SCREENING_WAIT_SECONDS = 10.0


@dataclass
class WebState:
    """What every request of one app needs: the project, and the locks around shared work."""

    project: Project
    preview: bool
    today: Callable[[], dt.date]
    # One packet or render at a time: builds share out/, and WeasyPrint process-wide state.
    lock: threading.Lock = field(default_factory=threading.Lock)
    watcher: Watcher | None = None
    # Hashes of (address, packet) sent by email in this run, never the addresses themselves.
    sent: set[str] = field(default_factory=set)
    # The consent register, opened on first use (see records.py): a Register, or OFF.
    register: object = None
    # The login policy, its sessions and throttles (web.auth); the app factory sets it.
    auth: Auth | None = None
    # Today's list and its one background run (web.day), in this process's memory only.
    desk: DayDesk = field(default_factory=DayDesk)
    # The cap on concurrent screening: memory stays bounded however many uploads arrive.
    screening: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(SCREENING_AT_ONCE)
    )
    screening_wait: float = SCREENING_WAIT_SECONDS


def state() -> WebState:
    """The state of the app serving the current request."""
    return cast(WebState, current_app.extensions[EXTENSION])
