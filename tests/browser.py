"""Headless Debian Chromium for browser tests: finding it, starting it, and serving test pages from another origin."""
from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from .waiting import wait_until  # noqa: F401  (browser tests import it from here too)

PAGES = Path(__file__).resolve().parent / 'pages'
CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome')
CHROMIUM_FLAGS = (
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=800,800',
    '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--disable-features=WebRtcHideLocalIpsWithMdns',
)

# The mean RGB of a video (the CSS selector in the first argument), drawn small on a canvas, averaged over five
# samples 100 ms apart.
MEAN_COLOUR = '''
const [selector, done] = arguments;
const video = document.querySelector(selector);
const canvas = Object.assign(document.createElement("canvas"), {width: 64, height: 64});
const context = canvas.getContext("2d", {willReadFrequently: true});
const total = [0, 0, 0];
let samples = 0;
const sample = () => {
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < pixels.length; i += 4) {
    total[0] += pixels[i]; total[1] += pixels[i + 1]; total[2] += pixels[i + 2];
  }
  samples += 1;
  if (samples < 5) { setTimeout(sample, 100); return; }
  done(total.map((sum) => sum / (samples * canvas.width * canvas.height)));
};
sample();
'''


def chromium_binary() -> str | None:
    """The Chromium executable on PATH, if any."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def missing_browser() -> str | None:
    """Why a browser test cannot run here (None when Chromium and chromedriver are both on PATH)."""
    missing = [name for name, path in (('chromium', chromium_binary()), ('chromedriver', shutil.which('chromedriver')))
               if path is None]
    if missing:
        return f'{" and ".join(missing)} not on PATH (install with scripts/setup --system)'
    return None


def start_chromium(user_data_dir: Path, without: tuple[str, ...] = ()) -> webdriver.Chrome:
    """Headless Chromium under chromedriver from PATH, with a fresh profile and nothing downloaded by Selenium
    (`without`: flags to leave out, e.g. `--allow-loopback-in-peer-connection` so WebRTC cannot connect)."""
    os.environ['SE_OFFLINE'] = 'true'  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary() or 'chromium'
    for flag in (*(f for f in CHROMIUM_FLAGS if f not in without), f'--user-data-dir={user_data_dir}'):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which('chromedriver')))
    driver.set_script_timeout(30)
    return driver


def console_log(driver: webdriver.Chrome) -> str:
    """The browser console so far, one message a line (for failure messages)."""
    try:
        entries: list[dict[str, Any]] = driver.get_log('browser')
    except Exception as error:  # a failure message must not fail itself
        return f'(no console log: {error})'
    return '\n'.join(f'{entry["level"]} {entry["message"]}' for entry in entries) or '(console empty)'


class StaticSite:
    """The test pages folder served over HTTP on a free loopback port: an origin other than the server's."""

    def __init__(self, folder: Path = PAGES) -> None:
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.origin = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, name='static-site', daemon=True)

    def url(self, path: str, **query: str) -> str:
        """The address of a page, with query parameters."""
        return f'{self.origin}/{path}' + (f'?{urlencode(query)}' if query else '')

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """Make the page's viewport exactly `width` x `height`."""
    driver.set_window_size(width, height)
    inner = driver.execute_script('return [innerWidth, innerHeight]')
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
