"""The built book in a real browser: every page of ``_toc.yml`` opened in headless Chromium
(Playwright driving Debian's ``chromium``), served from ``_build/html`` on 127.0.0.1.

A page fails on: a broken internal link (missing file or missing ``#anchor``), an image that
did not load, a notebook cell error shown on the page, a JavaScript error, a local resource
that did not load, a request to an unexpected outside host, or content wider than the
window. A full-page screenshot of each page is saved in ``_build/screenshots`` (look at
them: figures readable, nothing cut off).

The book is built first when it was never built whole or is older than its sources (``make
book`` before ``make test``, as ``.ci/run`` does, spares that). Without Playwright or a
Chromium the tests skip, unless ``THREEKG_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import functools
import html.parser
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
BUILT = ROOT / "_build" / ".book-built"  # touched by `make book` after a whole build
REQUIRED = os.environ.get("THREEKG_REQUIRE_BROWSER") == "1"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Outside hosts the book may ask for (fetched by readers' browsers; blocked here, offline):
# MathJax from jsDelivr and Thebe (live code) from unpkg, both added by Jupyter Book.
OUTSIDE_HOSTS = {"cdn.jsdelivr.net", "unpkg.com"}
SOURCES = ("_config.yml", "_toc.yml", "book", "notebooks", "threekg_lite")
WIDTH, HEIGHT = 1280, 900

pytestmark = pytest.mark.browser


def toc_pages() -> list[str]:
    """The pages of ``_toc.yml`` as paths relative to ``_build/html`` (``book/intro.html``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [f"{name}.html" for name in files]


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]


def _unavailable(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"THREEKG_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


def _chromium() -> str | None:
    explicit = os.environ.get("THREEKG_CHROMIUM")
    if explicit:
        return explicit
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts and ".ipynb_checkpoints" not in f.parts:
                newest = max(newest, f.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def book() -> Path:
    """``_build/html``, built (as ``make book`` does) if missing or older than its sources.

    ``make book`` touches :data:`BUILT` after a whole build (Sphinx rewrites only the pages
    that changed, so no page's own date tells when the book was last built)."""
    if not BUILT.exists() or BUILT.stat().st_mtime < _newest_source():
        command = [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(ROOT),
            "--all",
            "--warningiserror",
            "--nitpick",
            "--keep-going",
        ]
        build = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert build.returncode == 0, f"the book did not build:\n{build.stdout[-4000:]}"
        BUILT.touch()
    missing = [p for p in PAGES if not (HTML / p).exists()]
    assert not missing, f"pages of _toc.yml missing from {HTML}: {missing}"
    return HTML


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture(scope="module")
def server(book: Path) -> Iterator[str]:
    """The built book served on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    executable = _chromium()
    if executable is None:
        _unavailable(f"no Chromium found ({', '.join(BROWSERS)}; or set THREEKG_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


class _Anchors(html.parser.HTMLParser):
    """The ``id`` and ``name`` attributes of one HTML file (link targets)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.anchors)


def broken_links(page_url: str, hrefs: list[str], base: str, root: Path) -> list[str]:
    """Internal links of a page whose file or ``#anchor`` does not exist under ``root``."""
    broken = []
    for href in hrefs:
        url = urljoin(page_url, href)
        if not url.startswith(base):
            continue  # outside the book (GitHub, Colab, DOIs): not checked offline
        parts = urlsplit(url)
        relative = unquote(parts.path[len(urlsplit(base).path) :])
        target = root / relative
        if relative == "" or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file {relative or 'index.html'})")
        elif parts.fragment and target.suffix == ".html":
            if unquote(parts.fragment) not in _anchors(target):
                broken.append(f"{href} (no anchor #{parts.fragment} in {target.name})")
    return sorted(set(broken))


# Run in the page: what a reader would see go wrong.
_INSPECT = """() => {
  const imgs = Array.from(document.images);
  const text = (sel) => Array.from(document.querySelectorAll(sel)).map(e => e.innerText);
  return {
    hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
    brokenImages: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
    images: imgs.map(i => ({src: i.src, width: i.naturalWidth, shown: i.clientWidth})),
    tracebacks: text('.cell_output .traceback, .cell_output .output.error'),
    stderr: text('.cell_output .output.stderr'),
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    colab: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]'))
      .map(a => a.href),
    headings: text('h1, h2, h3'),
    body: document.body.innerText,
  };
}"""


def visit(browser, base: str, page: str, screenshot: Path | None = None) -> dict:
    """Open one page; return what :data:`_INSPECT` found plus the errors seen on the way."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    tab = context.new_page()
    seen: dict[str, list[str]] = {"js": [], "console": [], "local": [], "outside": []}

    def route(r) -> None:
        host = urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", None) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            seen["outside"].append(r.request.url)
            r.abort()  # no internet here, and none needed to read the book

    tab.route("**/*", route)
    tab.on("pageerror", lambda error: seen["js"].append(str(error)))

    def console(message) -> None:
        location = message.location.get("url", "") if message.location else ""
        if message.type == "error" and not (
            location and urlsplit(location).hostname not in ("127.0.0.1", None)
        ):
            seen["console"].append(message.text)

    tab.on("console", console)
    tab.on(
        "response",
        lambda response: (
            response.status >= 400 and seen["local"].append(f"{response.status} {response.url}")
        ),
    )
    tab.on(
        "requestfailed",
        lambda request: (
            urlsplit(request.url).hostname == "127.0.0.1"
            and seen["local"].append(f"failed {request.url}")
        ),
    )
    url = urljoin(base, page)
    tab.goto(url, wait_until="load")
    tab.wait_for_load_state("networkidle")
    found = tab.evaluate(_INSPECT)
    url = tab.url  # after redirects (index.html forwards to the root page)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(screenshot), full_page=True)
    context.close()
    # Console lines about blocked outside resources name no local file: keep only the rest.
    seen["console"] = [c for c in seen["console"] if "net::ERR_FAILED" not in c]
    return {**found, **seen, "url": url}


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_errors(browser, server, book, page):
    shot = SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")
    seen = visit(browser, server, page, screenshot=shot)
    problems = []
    if seen["js"]:
        problems.append(f"JavaScript errors: {seen['js']}")
    if seen["console"]:
        problems.append(f"console errors: {seen['console']}")
    if seen["local"]:
        problems.append(f"local resources that did not load: {seen['local']}")
    if seen["brokenImages"]:
        problems.append(f"images that did not load: {seen['brokenImages']}")
    if seen["tracebacks"]:
        problems.append(f"cell errors shown on the page: {seen['tracebacks']}")
    bad_stderr = [s for s in seen["stderr"] if "Traceback" in s or "Error" in s]
    if bad_stderr:
        problems.append(f"errors in a cell's stderr: {bad_stderr}")
    outside = {urlsplit(u).hostname for u in seen["outside"]} - OUTSIDE_HOSTS
    if outside:
        problems.append(f"requests to unexpected outside hosts: {sorted(outside)}")
    links = broken_links(seen["url"], seen["hrefs"], server, book)
    if links:
        problems.append(f"broken internal links: {links}")
    if seen["scrollWidth"] > seen["clientWidth"] + 1:
        problems.append(
            f"content wider than the window: {seen['scrollWidth']} > {seen['clientWidth']} px"
        )
    assert not problems, f"{page}:\n" + "\n".join(problems)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_shows_its_figures_goals_exercises_and_colab_button(browser, server, page):
    seen = visit(browser, server, page)
    notebook = page.removesuffix(".html") + ".ipynb"
    assert any(link.endswith(notebook) for link in seen["colab"]), (
        f"{page}: no Colab launch button for {notebook} (found {seen['colab']})"
    )
    figures = [i for i in seen["images"] if "/_images/" in i["src"]]
    assert len(figures) >= 2, f"{page}: {len(figures)} figures rendered"
    small = [i["src"] for i in figures if i["width"] < 300]
    assert not small, f"{page}: figures too small to read: {small}"
    titles = [re.sub(r"^[\d.]+\s*", "", h).strip() for h in seen["headings"]]  # "5.7. Summary"
    assert any(t.startswith("Summary") for t in titles), (
        f"{page}: no Summary section ({seen['headings']})"
    )
    for words in ("You will learn", "Prerequisites", "Exercises", "Solutions"):
        assert words in seen["body"], f"{page}: no '{words}' on the page"


def test_every_toc_page_is_reachable_from_the_start_page(browser, server):
    """``index.html`` leads to the root page, whose links reach every page of the toc."""
    seen = visit(browser, server, "index.html")
    assert seen["url"] == urljoin(server, PAGES[0]), f"index.html shows {seen['url']}"
    reached = {PAGES[0]}
    for href in seen["hrefs"]:
        url = urljoin(seen["url"], href)
        if url.startswith(server):
            reached.add(urlsplit(url).path.removeprefix(urlsplit(server).path))
    missing = [p for p in PAGES if p not in reached]
    assert not missing, f"pages of _toc.yml not linked from the start page: {missing}"


def test_broken_links_are_found(tmp_path):
    """The link check itself: a missing file and a missing anchor are reported."""
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1>')
    base = "http://127.0.0.1:1/"
    hrefs = ["a.html#top", "a.html#nowhere", "b.html", "https://example.org/x", "#top"]
    found = broken_links(base + "a.html", hrefs, base, tmp_path)
    assert found == ["a.html#nowhere (no anchor #nowhere in a.html)", "b.html (no file b.html)"]
