"""Open the report in headless Debian chromium: no console errors, every image decodes.

Chromium is driven through its DevTools protocol over ``--remote-debugging-pipe``
(NUL-separated JSON on file descriptors 3 and 4), so no websocket client is needed.
Skipped with a message where chromium is absent, unless ``GALAXY_XAI_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where a missing chromium fails.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from galaxy_xai.report import build_report
from galaxy_xai.report.build import OPTIONAL_SECTIONS, SECTION_TITLES
from test_report_build import make_synthetic_run

#: The sections every report shows (optional ones appear only with their panels).
SHOWN = {k: v for k, v in SECTION_TITLES.items() if k not in OPTIONAL_SECTIONS}

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
    "--window-size=1280,900",
)
TIMEOUT_S = 25.0


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "headless chromium not found (apt-get install chromium); browser test skipped"
    if os.environ.get("GALAXY_XAI_REQUIRE_BROWSER") == "1":
        pytest.fail(message.replace("skipped", "required by GALAXY_XAI_REQUIRE_BROWSER=1"))
    pytest.skip(message)


class DevTools:
    """A minimal DevTools-protocol client over chromium's debugging pipe."""

    def __init__(self, executable: str, user_data_dir: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def _wire_fds() -> None:  # runs in the child: commands on fd 3, replies on fd 4
            # copy both ends above fd 10 first: os.pipe() may itself have returned 3 or 4
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3, inheritable=True)
            os.dup2(high_w, 4, inheritable=True)

        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_wire_fds,
            close_fds=False,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], remaining)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise ConnectionError("chromium closed the debugging pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None):
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError, ConnectionError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


_PAGE_CHECK = """
(async () => {
  const images = Array.from(document.images);
  const widths = await Promise.all(images.map(
      img => img.decode().then(() => img.naturalWidth, () => 0)));
  return JSON.stringify({
    title: document.title,
    headings: Array.from(document.querySelectorAll("section > h2")).map(
        h => [h.parentElement.id, h.textContent]),
    toc: Array.from(document.querySelectorAll("nav#toc a")).map(a => a.getAttribute("href")),
    widths: widths,
    missing: document.querySelectorAll(".missing").length,
    height: document.documentElement.scrollHeight,
  });
})()
"""


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args", []))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "")[:300])
    return errors


def test_report_opens_in_headless_chromium(tmp_path: Path) -> None:
    executable = _chromium()
    report = build_report(make_synthetic_run(tmp_path / "run", title="galaxy-xai browser test"))
    browser = DevTools(executable, tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Page.navigate", {"url": report.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        result = browser.call(
            "Runtime.evaluate",
            {"expression": _PAGE_CHECK, "awaitPromise": True, "returnByValue": True},
            session=session,
        )
        page = json.loads(result["result"]["value"])
        shot = browser.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": 1280,
                    "height": min(page["height"], 6000),
                    "scale": 1,
                },
            },
            session=session,
        )
    finally:
        browser.close()

    assert page["title"] == "galaxy-xai browser test"
    assert page["headings"] == [[sid, title] for sid, title in SHOWN.items()]
    assert page["toc"] == [f"#{sid}" for sid in SHOWN]
    assert len(page["widths"]) == 7 and all(w > 0 for w in page["widths"]), page["widths"]
    assert page["missing"] == 0
    assert _console_errors(browser.events) == []

    png = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(png)
    screenshot = Image.open(io.BytesIO(png))
    assert screenshot.width == 1280 and screenshot.height > 900
    assert np.asarray(screenshot.convert("L")).std() > 10  # not a blank page
