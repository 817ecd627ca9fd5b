"""Driving the studio in headless Chromium as a person does: tabs, fields, toggles, what the page shows."""
from __future__ import annotations

import io
import os
import shutil
import struct
import time
import wave
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from .browser import console_log, start_chromium, viewport, wait_until
from .server import ROOT, RunningServer

ARTIFACTS = ROOT / 'artifacts'


def studio_browser(server: RunningServer, profile: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium at 1440x900 on the studio, allowed to use the clipboard (for a module fixture)."""
    driver = start_chromium(profile)
    try:
        driver.execute_cdp_cmd('Browser.grantPermissions', {
            'origin': server.url, 'permissions': ['clipboardReadWrite', 'clipboardSanitizedWrite']})
        viewport(driver, 1440, 900)
        open_studio(driver, server.url + '/')
        yield driver
    finally:
        driver.quit()


def open_studio(driver: webdriver.Chrome, url: str) -> webdriver.Chrome:
    """Load a studio page (the studio's own, or a session's link) and wait until its controls are there."""
    driver.get(url)
    assert wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '.ds-prompt textarea')), console_log(driver)
    return driver


def open_tab(driver: webdriver.Chrome, name: str) -> None:
    """Click a tab (again, if the page re-rendered it meanwhile) until it is the one shown."""

    def clicked() -> bool:
        try:
            tab = driver.find_element(By.XPATH, f'//div[contains(@class, "q-tab ")][.//div[text()="{name}"]]')
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', tab)  # not under the header
            tab.click()
            return active_tab(driver) == name
        except WebDriverException:
            return False

    assert wait_until(clicked), f'the {name} tab does not open'


def load(server: RunningServer, pipeline_id: str) -> None:
    """Load a pipeline over REST and wait until it is loaded."""
    httpx.post(f'{server.url}/api/v1/pipeline/load', json={'pipeline_ids': [pipeline_id]}).raise_for_status()
    assert wait_until(lambda: (status := httpx.get(f'{server.url}/api/v1/pipeline/status').json())['status'] ==
                      'loaded' and status['pipeline_ids'] == [pipeline_id], 60), f'{pipeline_id} did not load'


def studio_session(server: RunningServer) -> dict[str, object]:
    """The studio session as the REST API describes it (with its parameters)."""
    sessions = httpx.get(f'{server.url}/api/v1/sessions').json()['sessions']
    studio_id = next(s['id'] for s in sessions if s['name'] == 'studio')
    detail: dict[str, object] = httpx.get(f'{server.url}/api/v1/sessions/{studio_id}').json()
    return detail


def prompt_text(driver: webdriver.Chrome) -> str | None:
    fields = driver.find_elements(By.CSS_SELECTOR, '.ds-prompt textarea')
    return fields[0].get_attribute('value') if fields else None


def visible_text(driver: webdriver.Chrome, text: str) -> str | None:
    """The page's visible text when it contains `text`."""
    body: str = driver.execute_script('return document.body.innerText')
    return body if text in body else None


def shown(driver: webdriver.Chrome, selector: str) -> WebElement | None:
    """The first displayed element matching a CSS selector."""
    return next((e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()), None)


def field(driver: webdriver.Chrome, label: str) -> WebElement:
    """The input of the displayed Quasar field with this label."""
    inputs = driver.find_elements(By.XPATH, f'//label[.//div[text()="{label}"]]//input')
    fields = [e for e in inputs if e.is_displayed()]
    assert fields, f'no field {label!r} in view'
    return fields[0]


def switch(driver: webdriver.Chrome, label: str) -> WebElement:
    """The displayed Quasar toggle (a switch) with this label."""
    toggles = [e for e in driver.find_elements(
        By.XPATH, f'//div[contains(@class, "q-toggle")][.//div[normalize-space()="{label}"]]') if e.is_displayed()]
    assert toggles, f'no switch {label!r} in view'
    return toggles[0]


def is_on(toggle: WebElement) -> bool:
    return toggle.get_attribute('aria-checked') == 'true'


def chosen(driver: webdriver.Chrome, option: str) -> bool:
    """Whether the button `option` of a displayed toggle group is the highlighted (chosen) one."""
    buttons = [b for b in driver.find_elements(
        By.XPATH, f'//div[contains(@class, "q-btn-group")]//button[.//span[normalize-space()="{option}"]]')
        if b.is_displayed()]
    assert buttons, f'no option {option!r} in view'
    return 'bg-primary' in (buttons[0].get_attribute('class') or '')


def active_tab(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.CSS_SELECTOR, '.ds-tabs .q-tab--active .q-tab__label').text.strip()


def visible_panel(driver: webdriver.Chrome) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, '.ds-panels .q-tab-panel')


def file_input(driver: webdriver.Chrome) -> WebElement:
    """The file input of the drop zone in the tab that is shown."""
    return visible_panel(driver).find_element(By.CSS_SELECTOR, '.ds-upload input[type=file]')


def preset_card(driver: webdriver.Chrome, name: str) -> WebElement | None:
    cards = driver.find_elements(By.XPATH, '//div[contains(concat(" ", normalize-space(@class), " "), " ds-preset ")]'
                                           f'[.//span[text()="{name}"]]')
    return next((card for card in cards if card.is_displayed()), None)


# NiceGUI's own transport when its socket reconnects on a starved machine: not an error of the page
TRANSPORT_NOISE = 'WebSocket is already in CLOSING or CLOSED state'


def severe_console_lines(driver: webdriver.Chrome) -> list[str]:
    """The console's errors since the last read (the page's, not NiceGUI's socket reconnecting)."""
    return [line for line in console_log(driver).splitlines()
            if line.startswith('SEVERE') and TRANSPORT_NOISE not in line]


def settle(seconds: float = 1.0, driver: webdriver.Chrome | None = None) -> None:
    """Let animations end before a screenshot (never before an assertion), and with a `driver`, give the video up to
    15 s to play smoothly again (a busy machine stutters; the picture is taken either way)."""
    time.sleep(seconds)
    if driver is not None:
        wait_until(lambda: float(driver.execute_script(
            'return document.querySelector(".ds-overlay")?.dataset.fps || "0"')) >= 12)


def silence_wav(seconds: float = 1.0) -> bytes:
    """A short silent mono WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, 'wb') as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(44_100)
        file.writeframes(bytes(int(2 * 44_100 * seconds)))
    return buffer.getvalue()


def page_text(driver: webdriver.Chrome) -> str:
    return driver.execute_script('return document.body.innerText')


def set_prompt(driver: webdriver.Chrome, text: str) -> None:
    """Replace the first prompt's text and press Enter."""
    open_tab(driver, 'Prompt')
    field = driver.find_element(By.CSS_SELECTOR, '.ds-prompt textarea')
    field.send_keys(Keys.CONTROL, 'a')
    field.send_keys(Keys.DELETE)
    field.send_keys(text)
    field.send_keys(Keys.ENTER)


def button(driver: webdriver.Chrome, label: str) -> list[WebElement]:
    return [b for b in driver.find_elements(By.XPATH, f'//button[.//span[normalize-space()="{label}"]]')
            if b.is_displayed()]


def click_button(driver: webdriver.Chrome, label: str, index: int = -1) -> None:
    buttons = wait_until(lambda: button(driver, label))
    assert buttons, f'no button {label!r}'
    buttons[index].click()
    time.sleep(0.3)


def choose(driver: webdriver.Chrome, label: str, option: str) -> None:
    """Pick an option of a Quasar select by its label."""

    def opened() -> bool:  # a field in a section that is still unfolding cannot be clicked yet
        fields = [e for e in driver.find_elements(
            By.XPATH, f'//label[contains(@class, "q-select")][.//div[text()="{label}"]]') if e.is_displayed()]
        try:
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', fields[0])
            fields[0].click()
        except (IndexError, WebDriverException):
            return False
        return bool(driver.find_elements(By.CSS_SELECTOR, '.q-menu'))

    assert wait_until(opened), f'the select {label!r} does not open'
    item = wait_until(lambda: [i for i in driver.find_elements(By.CSS_SELECTOR, '.q-menu .q-item')
                               if i.text.strip() == option])
    assert item, f'no option {option!r} in {label}'
    item[0].click()
    time.sleep(0.3)


def screenshot(driver: webdriver.Chrome, name: str, docs: bool = True) -> None:
    """Save a screenshot as a test artifact (and, with DREAMSTAGE_UPDATE_DOCS=1, as the README's picture)."""
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))
    if docs and os.environ.get('DREAMSTAGE_UPDATE_DOCS') == '1':  # a test run leaves the work tree as it was
        (ROOT / 'docs').mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, ROOT / 'docs' / name)


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A one-colour PNG image."""
    rows = b''.join(b'\x00' + bytes(colour) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
