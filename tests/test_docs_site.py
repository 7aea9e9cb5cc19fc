"""The documentation site, built and looked at in a browser.

`mkdocs build --strict` must pass (a broken link, anchor or API reference
fails it). The built site is then served on 127.0.0.1 and every page opened in
headless Chromium over the DevTools protocol: no request may fail or answer
>= 400 (a missing stylesheet, script or plot), and every `<img>` must have
decoded (`naturalWidth > 0`). The home page and the lengths report are
screenshotted with their plot scrolled into view, and a screenshot must not be
blank. `KERAS_FNET_SCREENSHOTS=DIR` keeps the screenshots.

Chromium is Debian's `chromium` package (`.ci/run` installs it). Without it
the browser test is skipped, unless `KERAS_FNET_REQUIRE_BROWSER=1` (set in CI)
makes that a failure.
"""

import base64
import fcntl
import functools
import http.server
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.conftest import runs_once

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--remote-debugging-pipe"]
SCREENSHOTS = {"index.html": "index.png", "reports/speed_lengths/index.html": "report.png"}
WIDTH, HEIGHT = 1280, 1000


def build_site(site_dir):
    """`mkdocs build --strict` into `site_dir`; the build log on failure."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(site_dir)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def _above_4(fd):
    """`fd` moved to a number above 4, so that the child's `3<&` and `4>&` cannot clobber it."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """Headless Chromium driven over `--remote-debugging-pipe` (fds 3 and 4)."""

    def __init__(self, executable, profile):
        to_chrome, self._to_chrome = map(_above_4, os.pipe())
        self._from_chrome, from_chrome = map(_above_4, os.pipe())
        # The protocol pipes must be the child's fds 3 (commands) and 4 (replies); bash, not
        # dash, takes two-digit fd numbers in a redirection.
        command = ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome} 4>&{from_chrome}', executable,
                   *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.process = subprocess.Popen(command, pass_fds=(to_chrome, from_chrome),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._reader = os.fdopen(self._from_chrome, "rb")
        self._next_id = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=WIDTH, height=HEIGHT,
                  deviceScaleFactor=1, mobile=False)

    def _read(self):
        data = bytearray()
        while True:
            byte = self._reader.read(1)
            if not byte:
                raise RuntimeError("Chromium closed its DevTools pipe")
            if byte == b"\0":
                return json.loads(data)
            data += byte

    def call(self, method, session=False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[: i + 1]
                    return event
            self.events.append(self._read())
        raise TimeoutError(method)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def open(self, url):
        """Load `url`; returns the problems: failed requests and answers >= 400."""
        self.events = []
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        problems = []
        for event in self.events:
            params = event.get("params", {})
            if event.get("method") == "Network.loadingFailed" and not params.get("canceled"):
                problems.append(f"failed: {params.get('errorText')} ({params.get('requestId')})")
            if event.get("method") == "Network.responseReceived":
                status = params["response"]["status"]
                if status >= 400:
                    problems.append(f"{status}: {params['response']['url']}")
        return problems

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", session=True,
                                          format="png")["data"])

    def close(self):
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass
        self.process.wait(timeout=30)
        self._reader.close()
        os.close(self._to_chrome)


IMAGES = """Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))
  .then(() => Array.from(document.images).map(
    i => ({src: i.currentSrc || i.src, width: i.naturalWidth})))"""
SHOW_PLOT = """(() => {
  const img = document.querySelector("article img");
  if (!img) return null;
  img.scrollIntoView({block: "center"});
  const box = img.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, height: box.height, viewport: window.innerHeight};
})()"""


def _serve(folder):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("KERAS_FNET_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _not_blank(png):
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    # A page with text and a plot has many distinct colours and a real spread.
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    return colours > 50 and float(pixels.std()) > 0.05


@runs_once
def test_site_builds_and_every_page_loads_with_its_images(tmp_path):
    chromium = _chromium()
    site = build_site(tmp_path / "site")
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if p.name == "index.html")
    assert set(SCREENSHOTS) <= set(pages)
    server = _serve(site)
    browser = Browser(chromium, tmp_path / "profile")
    keep = os.environ.get("KERAS_FNET_SCREENSHOTS")
    checked_images = 0
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        for page in pages:
            problems = browser.open(base + page)
            assert not problems, f"{page}: {problems}"
            images = browser.evaluate(IMAGES)
            broken = [i["src"] for i in images if i["width"] <= 0]
            assert not broken, f"{page}: images that did not load: {broken}"
            checked_images += len(images)
            if page in SCREENSHOTS:
                assert images, f"{page} shows no plot"
                box = browser.evaluate(SHOW_PLOT)
                assert box and box["height"] > 200, f"{page}: the plot is not shown ({box})"
                assert box["top"] < box["viewport"] and box["bottom"] > 0, box
                time.sleep(1)  # The header's title fades to the page's title on scrolling.
                png = browser.screenshot()
                assert _not_blank(png), f"{page}: the screenshot is blank"
                (tmp_path / SCREENSHOTS[page]).write_bytes(png)
                if keep:
                    os.makedirs(keep, exist_ok=True)
                    shutil.copyfile(tmp_path / SCREENSHOTS[page],
                                    os.path.join(keep, SCREENSHOTS[page]))
    finally:
        browser.close()
        server.shutdown()
    assert checked_images >= 10  # The report pages' plots, the home page's.
