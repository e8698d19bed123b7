"""A real headless Chromium for the report tests, driven over the DevTools protocol on a pipe.

Chromium is started with `--remote-debugging-pipe`: it reads JSON commands on fd 3 and writes
replies and events on fd 4, each message ended by a NUL byte. That needs nothing beyond the
standard library, and no port, so tests never touch the network. `Browser.open(path)` loads a
page and records everything a person would call an error: uncaught exceptions, console errors,
messages in the browser's log (a blocked script or a resource the page's policy refused) and any
request for something other than the file itself.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The flags of the machine's documented headless set-up: no sandbox (tests run as root), and no
# background connections, which this machine's closed network would refuse noisily.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-pipe",
]
TIMEOUT_S = 60.0


def find_chromium() -> str | None:
    """Debian's chromium (what .ci/run installs), or another Chromium on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


@dataclass
class Page:
    """What loading one page produced, and a handle to ask it more."""

    browser: Browser
    session: str
    url: str
    exceptions: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Everything that went wrong since the page started loading, up to now."""
        self.browser.collect(self)
        return self.exceptions + self.console_errors + self.log_errors

    @property
    def foreign_requests(self) -> list[str]:
        """Requests for anything but the page itself (a self-contained page makes none)."""
        self.browser.collect(self)
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]

    def eval(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable results only)."""
        reply = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} raised: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def resize(self, width: int, height: int = 900) -> None:
        """Lay the page out for a window `width` CSS pixels wide (a TA's laptop, a wide screen)."""
        self.browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            self.session,
        )
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def media(self, kind: str = "") -> None:
        """Lay the page out as for `print` (or the screen again, with "")."""
        self.browser.call("Emulation.setEmulatedMedia", {"media": kind}, self.session)
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def overflow(self) -> list[str]:
        """Every box something sticks out of, at the current width ([] when the page fits).

        The document must not scroll sideways, and no card (the page's main column, a section,
        a banner, a figure, a table cell) may hold content wider than itself, or a message gets
        cut off or pushes the page wider. A table may be wider than the page only inside its
        own scroll box (`.scroll`), and a traceback inside its own `pre`, each scrolling alone.
        """
        return self.eval(OVERFLOW_JS)

    def screenshot(self, path: Path, width: int = 1200, top: int = 0, height: int = 0) -> Path:
        """A PNG of the page (from `top`, `height` pixels, or all of it), to look at."""
        height = height or int(self.eval("document.documentElement.scrollHeight"))
        self.browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False},
            self.session,
        )
        self.eval(f"window.scrollTo(0, {top})")
        shot = self.browser.call("Page.captureScreenshot", {"format": "png"}, self.session)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


OVERFLOW_JS = """(() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1)
    out.push(`the document: ${doc.scrollWidth} > ${doc.clientWidth} px`);
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className ? '.' + e.className.replace(/ /g, '.') : '');
  const cards = 'main, header, section, footer, .banner, details, figure, td, th, dd, li';
  for (const card of document.querySelectorAll(cards)) {
    // Inside a box that scrolls by itself: only that box has to fit.
    if (card.parentElement && card.parentElement.closest('.scroll, pre')) continue;
    if (card.scrollWidth > card.clientWidth + 1)
      out.push(`${name(card)}: content ${card.scrollWidth} px in ${card.clientWidth} px`);
  }
  const main = document.querySelector('main').getBoundingClientRect();
  for (const box of document.querySelectorAll('.scroll, pre, svg, img, table')) {
    if (box.parentElement && box.parentElement.closest('.scroll, pre')) continue;
    const r = box.getBoundingClientRect();
    if (r.right > main.right + 1 || r.left < main.left - 1)
      out.push(`${name(box)}: ${Math.round(r.left)}..${Math.round(r.right)} outside the page `
        + `${Math.round(main.left)}..${Math.round(main.right)}`);
  }
  return out;
})()"""


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """One Chromium process; `open` gives each page its own tab."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="grader-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium's ends move to fds >= 10 first, so that moving them onto 3 and 4 below never
        # overwrites one with the other.
        to_chrome_r, from_chrome_w = (_high_fd(to_chrome_r), _high_fd(from_chrome_w))
        # A tiny Python trampoline puts the pipe ends on the fds Chromium expects (3 in, 4 out)
        # and execs it (sh cannot name fds above 9).
        move = (
            "import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); "
            "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", move, str(to_chrome_r), str(from_chrome_w), executable]
            + [*FLAGS, f"--user-data-dir={self._profile}"],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._next_id = 0
        self._events: list[dict] = []
        try:
            self.version = self.call("Browser.getVersion")["product"]
        except BrowserError:
            self.close()  # a Chromium that never answered left its profile folder in /tmp
            raise

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"Chromium exited (code {self.proc.poll()})") from None
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _read(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"Chromium did not answer within {TIMEOUT_S:.0f} s")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self.proc.poll()})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not any(
            e["method"] == method and e.get("sessionId") == session for e in self._events
        ):
            if time.monotonic() > deadline:
                raise BrowserError(f"no {method} within {TIMEOUT_S:.0f} s")
            self._events.append(self._read())

    def open(self, path: Path) -> Page:
        """Load a file in a fresh tab and collect its errors and requests."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        url = Path(path).resolve().as_uri()
        page = Page(self, session, url)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session)
        self._wait_event("Page.loadEventFired", session)
        # Let what runs after the load event finish (one frame and a tick is plenty for ours).
        page.eval("new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
        return page

    def collect(self, page: Page) -> None:
        """Move the events received so far into `page`'s records (other tabs' are dropped)."""
        for e in self._events:
            if e.get("sessionId") != page.session:
                continue
            p = e.get("params", {})
            m = e["method"]
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                page.exceptions.append(d.get("exception", {}).get("description") or d["text"])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                page.console_errors.append(" ".join(str(a.get("value")) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                page.log_errors.append(p["entry"]["text"])
            elif m == "Network.requestWillBeSent":
                page.requests.append(p["request"]["url"])
        self._events.clear()

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)
