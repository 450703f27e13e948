// "Mark read after N seconds": the reading pane carries data-seen-url and
// data-seen-after (seconds) when the user chose that setting. If the same
// message (or conversation) is still open when the time is up, it is marked
// read; the answer is its list row (or line), swapped in out of band.

let timer = null;

function csrfHeaders() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  } catch {
    return {};
  }
}

function arm() {
  clearTimeout(timer);
  timer = null;
  // An open message, or an open conversation (the whole thread).
  const article = document.querySelector("#reader [data-seen-url]");
  if (!article) return;
  const seconds = Number(article.dataset.seenAfter);
  if (!Number.isFinite(seconds) || seconds < 0) return;
  timer = setTimeout(() => {
    timer = null;
    // Another message opened, or the pane closed: nothing to mark.
    if (!article.isConnected) return;
    window.htmx.ajax("POST", article.dataset.seenUrl, {
      source: article,
      swap: "none",
      headers: csrfHeaders(),
    });
    delete article.dataset.seenUrl;
  }, seconds * 1000);
}

document.addEventListener("htmx:afterSettle", arm);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", arm);
} else {
  arm();
}
