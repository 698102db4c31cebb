"""Browser tests: the real screens in headless Chromium, driven by Playwright.

Chromium is the system one (Debian's ``chromium``; ``WAREHOUSE_CHROMIUM`` overrides the path):
Playwright never downloads a browser here. Where Chromium is absent these tests skip with the
reason, unless ``E2E_REQUIRED=1`` (CI sets it), where they fail instead.

Every test gets the service over real HTTP on loopback with the demo data, as a new user sees it
after ``make run``. Every page refuses requests that would leave 127.0.0.1 and the test fails if
one was attempted: the screens must work on a closed warehouse network.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pytest
from flask import Flask
from sqlalchemy import create_engine

from tests.conftest import closing_files, make_test_app
from warehouse import demo
from warehouse.db import Database
from warehouse.migrate import upgrade

pytestmark = pytest.mark.e2e

HANDHELD = {"width": 360, "height": 640}
SCREENSHOTS = Path(os.environ.get("WAREHOUSE_SCREENSHOT_DIR", "artifacts/screenshots"))
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--metrics-recording-only",
                "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider"]


def chromium_path() -> str | None:
    configured = os.environ.get("WAREHOUSE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if chromium_path() is None:
        _unavailable("no Chromium found (apt-get install chromium, or set WAREHOUSE_CHROMIUM)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def launch(playwright_driver: Any) -> Iterator[Callable[..., Any]]:
    """Start a headless Chromium with extra flags (e.g. a fake camera); all are closed at the end."""
    browsers: list[Any] = []

    def start(*extra_args: str) -> Any:
        browser = playwright_driver.chromium.launch(executable_path=chromium_path(), headless=True,
                                                    args=[*BROWSER_ARGS, *extra_args])
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()


@pytest.fixture(scope="session")
def browser(launch: Callable[..., Any]) -> Any:
    return launch()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo data, built once and copied for each test."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    database = Database(f"sqlite:///{path}")
    demo.seed(database)
    database.dispose()
    return path


@dataclass
class DemoServer:
    url: str
    app: Flask
    database: Database
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture
def demo_server(demo_template: Path, tmp_path: Path) -> Iterator[DemoServer]:
    from werkzeug.serving import make_server

    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_template, copy)
    database = Database(f"sqlite:///{copy}")
    app = make_test_app(database, tmp_path, WEBHOOK_DISPATCHER="off")
    server = make_server("127.0.0.1", 0, closing_files(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield DemoServer(f"http://127.0.0.1:{server.server_port}", app, database)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        database.dispose()


def guard_loopback(context: Any, server: DemoServer) -> None:
    """Abort (and remember) any request for a host other than 127.0.0.1."""

    def route(request_route: Any) -> None:
        url = request_route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            request_route.continue_()
        else:
            server.outside_requests.append(url)
            request_route.abort()

    context.route("**/*", route)


@pytest.fixture
def new_context(browser: Any, demo_server: DemoServer) -> Iterator[Callable[..., Any]]:
    """Open browser contexts on the demo server (a handheld by default); checks no request left loopback."""
    contexts: list[Any] = []

    def open_context(*, on: Any = None, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        handheld = viewport is None
        # Playwright cannot route what a service worker fetches: tests that are not about the handheld's
        # offline copy keep it out, so that every request stays visible to them.
        options.setdefault("service_workers", "block")
        context = (on or browser).new_context(base_url=demo_server.url, viewport=viewport or HANDHELD,
                                              has_touch=handheld, is_mobile=handheld, locale="en-GB", **options)
        context.set_default_timeout(10_000)
        guard_loopback(context, demo_server)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert demo_server.outside_requests == [], f"requests left 127.0.0.1: {demo_server.outside_requests}"


def screenshot(page: Any, name: str) -> Path:
    """Keep a picture of the screen as a CI artefact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
