"""Shared fixtures: tiny projects in temporary folders (see helpers.py), and the suite's options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cups_server import CupsServer, start_cups
from cups_server import missing as cups_missing
from helpers import RELIABILITY, built_french, built_tiny, copy_project, write_tiny


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Return a function writing a tiny project (plus overrides) and returning its root."""

    def make(files: dict[str, str | bytes] | None = None, name: str = "proj") -> Path:
        return write_tiny(tmp_path / name, files)

    return make


@pytest.fixture
def tiny(make_project: Callable[..., Path]) -> Path:
    return make_project()


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny project, built once per test run (in two worker processes). Never change it: copy it."""
    built = built_tiny(tmp_path_factory, "tiny-built", "-j", "2")
    yield built
    # A test that wrote into it (a register, say) makes later copies start from its leftovers.
    written = sorted(p.name for p in built.glob("register.sqlite*"))
    assert not written, f"a test wrote {written} into the shared tiny_built project: use a copy"


@pytest.fixture(scope="session")
def french_built(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project plus French (aftercare untranslated) and a logo brand, built once. Never change it."""
    return built_french(tmp_path_factory, tiny_built)


@pytest.fixture
def built_project(tiny_built: Path, tmp_path: Path) -> Path:
    """A copy of the built tiny project, for one test to change (its snapshot is current)."""
    return copy_project(tiny_built, tmp_path / "proj")


@pytest.fixture(scope="module")
def module_built(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built tiny project shared by one module's tests."""
    return copy_project(tiny_built, tmp_path_factory.mktemp("module-built") / "proj")


@pytest.fixture(scope="session")
def cups() -> Iterator[CupsServer]:
    """A real CUPS scheduler for the session: queues 'pdf' (default) and 'paused' (stopped).

    CUPS_SERVER points every CUPS client of the session (ours, in-process or not) at it.
    """
    why = cups_missing()
    if why:
        pytest.fail(why)
    server = start_cups()
    try:
        server.add_pdf_queue("pdf", default=True)
        server.add_pdf_queue("paused")
        server.disable("paused", "out of paper")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CUPS_SERVER", str(server.socket))
            yield server
    finally:
        server.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", help="run the robustness suite with many more examples")


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import HealthCheck, settings

    common = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    }
    settings.register_profile("ci", max_examples=40, **common)
    settings.register_profile("long", max_examples=400, **common)
    settings.load_profile("long" if config.getoption("--long") else "ci")


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: pytest.Config) -> None:
    if RELIABILITY:
        write = terminalreporter.write_line  # type: ignore[attr-defined]
        write("reliability figures: " + ", ".join(f"{k}={v}" for k, v in sorted(RELIABILITY.items())))
