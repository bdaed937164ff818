"""Drive a headless Chromium to render frames of an exported web player (tests, benchmarks, checks).

Chromium is started with ``--remote-debugging-pipe`` and spoken to over the DevTools protocol on file descriptors 3
(commands) and 4 (replies), NUL-separated JSON; no network port, no websocket library, no browser download. WebGL2
runs on SwiftShader (the software renderer) unless ``gpu=True``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageDynamicsError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SOFTWARE_FLAGS = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader")
COMMON_FLAGS = ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--mute-audio", "--force-device-scale-factor=1", "--force-color-profile=srgb",
                "--hide-scrollbars", "--enable-webgl", "--ignore-gpu-blocklist")


class BrowserError(ImageDynamicsError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable on ``PATH``, or ``None``."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class HeadlessChromium:
    """One headless Chromium with one page, controlled over the DevTools pipe. Use as a context manager.

    Args:
        executable: the browser (default: :func:`find_chromium`).
        gpu: use the machine's GPU instead of SwiftShader.
        window: ``(width, height)`` of the window in CSS pixels.
        timeout: seconds any one command may take.
    """

    def __init__(self, executable: str | None = None, gpu: bool = False, window: tuple[int, int] = (1280, 800),
                 timeout: float = 120.0) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError("no Chromium found on PATH (install Debian's `chromium`: apt-get install -y chromium).")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="image-dynamics-chromium-")
        flags = list(COMMON_FLAGS) + ([] if gpu else list(SOFTWARE_FLAGS))
        flags += [f"--user-data-dir={self.profile}", f"--window-size={window[0]},{window[1]}",
                  "--remote-debugging-pipe", "about:blank"]
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # the browser reads commands on fd 3 and writes replies on fd 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        # pass_fds keeps 3 and 4 open: subprocess closes every other descriptor after wire_fds has run
        self.process = subprocess.Popen([exe, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=wire_fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None
        try:
            targets = self.send("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
            self.send("Page.enable")
            self.send("Runtime.enable")
        except BaseException:
            self.close()
            raise

    # -- protocol ----------------------------------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not answer in time.")
            if self.process.poll() is not None:
                raise BrowserError(f"Chromium exited (status {self.process.returncode}).")
            ready, _, _ = select.select([self._from_browser], [], [], 0.2)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe.")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (raises :class:`BrowserError` on a protocol error)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails'].get('text')} "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    # -- pages -------------------------------------------------------------------------------------------------------

    def open(self, url: str, timeout: float | None = None) -> str:
        """Navigate to ``url`` and wait until the player's ``body[data-state]`` is ``ready``, ``playing`` or
        ``error``; returns that state."""
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + (timeout or self.timeout)
        state = ""
        while time.monotonic() < deadline:
            state = self.evaluate("document.body ? (document.body.dataset.state || '') : ''")
            if state in ("ready", "playing", "error"):
                return state
            time.sleep(0.05)
        raise BrowserError(f"{url}: the page did not finish (state {state!r}) in time.")

    def set_viewport(self, width: int, height: int) -> None:
        """Make the page's viewport ``width x height`` CSS pixels at device pixel ratio 1 (next navigation on)."""
        self.send("Emulation.setDeviceMetricsOverride", width=int(width), height=int(height), deviceScaleFactor=1,
                  mobile=False)

    def frame(self, index: Path, frame: int, width: int | None = None) -> np.ndarray:
        """Frame ``frame`` of the player at ``index`` as uint8 ``[H, W, 4]`` (rows top to bottom)."""
        url = index.resolve().as_uri() + f"?frame={frame}" + (f"&width={width}" if width else "")
        state = self.open(url)
        if state != "ready":
            raise BrowserError(f"{url}: the player shows an error: {self.message()}")
        size = self.evaluate("[imageDynamicsPlayer.player.size[0], imageDynamicsPlayer.player.size[1]]")
        raw = base64.b64decode(self.evaluate("imageDynamicsPlayer.readPixelsBase64()"))
        return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0], 4)

    def message(self) -> str:
        """The text of the page's error box (empty when there is none)."""
        return self.evaluate("document.getElementById('message').textContent") or ""

    def notices(self) -> list[str]:
        """The page's notices (e.g. about data blocks the player does not know)."""
        return self.evaluate("[...document.querySelectorAll('#notices .notice')].map(e => e.textContent)") or []

    def canvas_visible(self) -> bool:
        return bool(self.evaluate("getComputedStyle(document.getElementById('view')).display !== 'none'"))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
