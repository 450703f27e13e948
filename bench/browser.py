"""Time the mailbox in headless Chromium: loading the page, opening a message.

Usage: python bench/browser.py [--count 100000] [--runs 10]

Starts the engine benchmark's stack (Dovecot, Redis, a Celery worker and
uvicorn; bench/_support.py) with a mailbox of --count messages, signs in
with Playwright driving Debian's Chromium, waits for the first sync, then
measures with the page's own clocks (the Performance API):

- the mailbox page with an empty browser cache (the cache is cleared
  before each run) and on later visits: domInteractive, loadEventEnd, and
  the moment the message list is present and htmx has initialised;
- opening a message from the list (a click on a row) until the body
  frame's document (the text) has arrived, and until the frame has loaded
  with its images: new mail at the top, which the worker rendered ahead
  (BODY_PREFETCH); a message below it, never opened before (the worker
  fetches it from IMAP); and that message again (cached body).

Prints p50/p95 beside the targets. Everything it starts it stops.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

from bench._support import PASSWORD, Mailbox, Stack, Stat, fmt, poll
from devtools.dovecot import make_traversable
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS

# Notes when the list is on the page and htmx has started (htmx:load).
READY_SCRIPT = """
(() => {
  let htmxLoaded = false;
  const check = () => {
    if (window.__ready === undefined && htmxLoaded &&
        document.querySelector("#list .row")) {
      window.__ready = performance.now();
    }
  };
  document.addEventListener("htmx:load", () => { htmxLoaded = true; check(); });
  document.addEventListener("DOMContentLoaded", check);
})();
"""

# Clicks a row and resolves with the milliseconds until the body frame's
# document (the message text) had arrived, and until the frame loaded (its
# images too). The reading pane carries the document as the frame's srcdoc:
# it has arrived when the frame is in the page. A frame with a document of
# its own (src) is sandboxed on an opaque origin, so the page sees that
# document only as a resource timing entry.
OPEN_SCRIPT = """
(uid) => new Promise((resolve) => {
  const started = performance.now();
  const watch = new MutationObserver(() => {
    const frame = document.querySelector(
      `#reader .message[data-uid="${uid}"] iframe.body`);
    if (frame && !frame.dataset.timed) {
      frame.dataset.timed = "1";
      const arrived = performance.now() - started;
      frame.addEventListener("load", () => {
        watch.disconnect();
        const loaded = performance.now() - started;
        const entry = frame.src && performance.getEntriesByName(frame.src).pop();
        const text = entry ? entry.responseEnd - started : arrived;
        resolve([text, loaded]);
      });
    }
  });
  watch.observe(document.body, { childList: true, subtree: true });
  document.querySelector(`#m${uid} a.open`).click();
})
"""

TARGETS = {"first": 1000.0, "later": 300.0, "open": 150.0}


def sign_in(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="username"]', login)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    # A never-synced INBOX shows a waiting page that reloads itself.
    expect(page.locator("#list .row").first).to_be_visible(timeout=300_000)


def visit(page: Page, url: str) -> dict[str, float]:
    """Load the mailbox page; return its navigation timings in milliseconds."""
    page.goto(url)
    page.wait_for_function("window.__ready !== undefined", timeout=60_000)
    page.wait_for_load_state("load")
    timing: dict[str, float] = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType("navigation")[0];
            return {response: nav.responseStart, interactive: nav.domInteractive,
                    load: nav.loadEventEnd, ready: window.__ready};
        }"""
    )
    return timing


def measure_visits(page: Page, url: str, runs: int, cold: bool) -> dict[str, Stat]:
    stats = {name: Stat() for name in ("response", "interactive", "load", "ready")}
    cdp = page.context.new_cdp_session(page)
    if not cold:
        visit(page, url)  # fills the cache
    for _ in range(runs):
        if cold:
            cdp.send("Network.clearBrowserCache")
        for name, value in visit(page, url).items():
            stats[name].add(value)
    return stats


def measure_opens(page: Page, url: str, runs: int) -> dict[str, Stat]:
    """Open messages from the list: rendered ahead, fetched on demand, again.

    The worker renders the newest BODY_PREFETCH new messages of a sync before
    anyone opens them: the top rows. The rows below them are fetched when
    opened; the second opening of those is a cache hit.
    """
    from django.conf import settings

    ahead, cold, warm = Stat(), Stat(), Stat()
    # The same opens, until the frame (images included) had loaded.
    loaded = {id(stat): Stat() for stat in (ahead, cold, warm)}
    page.goto(url)
    page.wait_for_function("window.__ready !== undefined")
    uids = page.locator("#list .row").evaluate_all(
        "rows => rows.map(row => row.dataset.uid)"
    )
    skip = int(settings.BODY_PREFETCH)
    plan: list[tuple[str, tuple[Stat, ...]]]
    plan = [(uid, (ahead,)) for uid in uids[: min(runs, skip)]]
    plan += [(uid, (cold, warm)) for uid in uids[skip : skip + runs]]
    for uid, stats in plan:
        for stat in stats:
            if stat is warm:
                # Back to the list, then the same message again.
                page.goto(url)
                page.wait_for_function("window.__ready !== undefined")
            try:
                text, whole = page.evaluate(OPEN_SCRIPT, uid)
                stat.add(text)
                loaded[id(stat)].add(whole)
            except PlaywrightError as exc:
                # The click navigated instead of swapping the reading pane.
                print(f"  opening message {uid} failed: {exc}".splitlines()[0])
                stat.failures += 1
                continue
            body = page.frame_locator("#reader iframe.body").locator("body")
            expect(body).not_to_have_text("", timeout=30_000)
    return {
        "ahead": ahead,
        "cold": cold,
        "warm": warm,
        "ahead_loaded": loaded[id(ahead)],
        "cold_loaded": loaded[id(cold)],
        "warm_loaded": loaded[id(warm)],
    }


def row(name: str, stat: Stat, target: float | None) -> str:
    verdict = ""
    if target is not None and stat.p50 is not None:
        verdict = "ok" if stat.p50 < target else "over"
    goal = f"< {target:.0f}" if target is not None else ""
    failed = f"  ({stat.failures} failed)" if stat.failures else ""
    return (
        f"{name:<44} {fmt(stat.p50):>8} {fmt(stat.p95):>8} {goal:>8} {verdict:>5}"
        + failed
    )


def print_table(count: int, results: dict[str, dict[str, Stat]]) -> None:
    print(f"\nMailbox of {count} messages, times in ms (p50, p95):\n")
    print(f"{'measurement':<44} {'p50':>8} {'p95':>8} {'target':>8}")
    first, later, opens = results["first"], results["later"], results["open"]
    print(row("first visit: responseStart (server)", first["response"], None))
    print(row("first visit: domInteractive", first["interactive"], None))
    print(row("first visit: loadEventEnd", first["load"], None))
    print(row("first visit: list + htmx ready", first["ready"], TARGETS["first"]))
    print(row("later visit: responseStart (server)", later["response"], None))
    print(row("later visit: domInteractive", later["interactive"], None))
    print(row("later visit: loadEventEnd", later["load"], None))
    print(row("later visit: list + htmx ready", later["ready"], TARGETS["later"]))
    print("open a message, until its text has arrived:")
    print(row("  new mail, body rendered ahead", opens["ahead"], TARGETS["open"]))
    print(row("  body fetched by the worker", opens["cold"], None))
    print(row("  body cached", opens["warm"], TARGETS["open"]))
    print("open a message, until its frame has loaded (images too):")
    print(row("  new mail, body rendered ahead", opens["ahead_loaded"], None))
    print(row("  body fetched by the worker", opens["cold_loaded"], None))
    print(row("  body cached", opens["warm_loaded"], None))


def run(stack: Stack, count: int, runs: int) -> dict[str, dict[str, Stat]]:
    box = Mailbox(stack, count)
    box.create()
    base = f"http://127.0.0.1:{stack.web_port}"
    results: dict[str, Any] = {}
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse the ORM calls that read the cache.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(READY_SCRIPT)
        page = context.new_page()
        started = time.perf_counter()
        sign_in(page, base, box.login)
        print(f"  signed in, first page after {time.perf_counter() - started:.1f} s")
        if not poll(lambda: box.inbox_id(), 30):
            raise RuntimeError("The INBOX never appeared in the cache.")
        box.folder_id = box.inbox_id()
        # Measure a settled mailbox: during the backfill every batch is an
        # event that makes the page reload its list.
        if not poll(lambda: box.cached() >= box.expected, 900, interval=0.5):
            print("  the backfill did not finish; measuring anyway")
        print(f"  backfill done after {time.perf_counter() - started:.1f} s")
        url = f"{base}{box.folder_path}"
        results["first"] = measure_visits(page, url, runs, cold=True)
        results["later"] = measure_visits(page, url, runs, cold=False)
        results["open"] = measure_opens(page, url, runs)
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bb-", dir="/tmp"))
    make_traversable(root)
    stack = Stack(root, None)
    results: dict[str, dict[str, Stat]] = {}
    try:
        stack.start()
        results = run(stack, options.count, options.runs)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    if results:
        print_table(options.count, results)


if __name__ == "__main__":
    main()
