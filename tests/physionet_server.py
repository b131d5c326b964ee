"""A fake PhysioNet on 127.0.0.1 for the download tests.

It serves a folder laid out as ``<root>/files/<slug>/<version>/...`` over HTTP, honours
``Range: bytes=<start>-[<end>]`` (206 with ``Content-Range``, 416 past the end), logs every
request, and has switches for failure injection (see :class:`FakePhysioNet`).
"""

from __future__ import annotations

import hashlib
import http.server
import posixpath
import re
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

SUMS_FILE = "SHA256SUMS.txt"
WRONG_SUM = "0" * 64


@dataclass(frozen=True)
class Request:
    path: str
    range: str | None


def write_sums(db_root: Path) -> None:
    """Write ``db_root/SHA256SUMS.txt`` listing every file under ``db_root``."""
    lines = []
    for path in sorted(p for p in db_root.rglob("*") if p.is_file() and p.name != SUMS_FILE):
        rel = path.relative_to(db_root).as_posix()
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()} {rel}\n")
    (db_root / SUMS_FILE).write_text("".join(lines), encoding="utf-8")


class FakePhysioNet:
    """A threaded HTTP server for ``root``; use as a context manager.

    Switches (reset by :meth:`reset`):

    ``cut_after``
        URL path -> number of bytes: the first request for that path sends the full headers but
        only that many body bytes, then closes the connection.
    ``wrong_sums``
        URL paths of files whose line in their database's ``SHA256SUMS.txt`` carries a wrong sum.
    ``ignore_range``
        Answer every request with 200 and the whole file, as a server without Range support.
    ``stall_s``
        Seconds to wait after the headers before sending a body.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.reset()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL to give to ``download_database`` (ends in ``/files/``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/files/"

    def reset(self) -> None:
        self._release.set()  # wake any handler still stalled by a previous test
        self._release = threading.Event()
        with self._lock:
            self.requests.clear()
        self.cut_after: dict[str, int] = {}
        self.wrong_sums: set[str] = set()
        self.ignore_range = False
        self.stall_s = 0.0

    def requests_for(self, suffix: str) -> list[Request]:
        """The requests whose path ends with ``suffix``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    def __enter__(self) -> FakePhysioNet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                url_path = urllib.parse.urlsplit(self.path).path
                with fake._lock:
                    fake.requests.append(Request(url_path, self.headers.get("Range")))
                    cut = fake.cut_after.pop(url_path, None)
                rel = posixpath.normpath(urllib.parse.unquote(url_path)).lstrip("/")
                file = fake.root / rel
                if ".." in rel.split("/") or not file.is_file():
                    self.send_error(404)
                    return
                body = file.read_bytes()
                if file.name == SUMS_FILE and fake.wrong_sums:
                    body = self._falsify(body, posixpath.dirname(url_path))
                start, end, status = 0, len(body), 200
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
                if match and not fake.ignore_range:
                    start = int(match[1])
                    end = min(int(match[2]) + 1, len(body)) if match[2] else len(body)
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Length", str(end - start))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
                self.end_headers()
                if fake.stall_s:
                    fake._release.wait(fake.stall_s)
                payload = body[start:end] if cut is None else body[start : start + cut]
                self.wfile.write(payload)
                self.wfile.flush()
                self.close_connection = True

            def _falsify(self, body: bytes, db_url: str) -> bytes:
                lines = body.decode().splitlines(keepends=True)
                for i, line in enumerate(lines):
                    digest, rel = line.split(maxsplit=1)
                    if f"{db_url}/{rel.strip()}" in fake.wrong_sums:
                        lines[i] = f"{WRONG_SUM} {rel}"
                return "".join(lines).encode()

        return Handler


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy")


def connect_directly(monkeypatch) -> None:
    """For a download test: no proxy between the client and 127.0.0.1, and no wait between
    retries (``monkeypatch`` is pytest's fixture)."""
    from threekg_lite.data import download

    for var in PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)


def count_concurrent_downloads(monkeypatch) -> dict[str, int]:
    """Count, on the client side, how many files ``threekg_lite.data.download`` fetches at
    once: returns a dict whose ``"max"`` is the most at any moment."""
    from threekg_lite.data import download

    counts = {"now": 0, "max": 0}
    lock = threading.Lock()
    real = download._download_file

    def counted(*args, **kwargs):
        with lock:
            counts["now"] += 1
            counts["max"] = max(counts["max"], counts["now"])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                counts["now"] -= 1

    monkeypatch.setattr(download, "_download_file", counted)
    return counts
