() => {
  // What a person would notice on a page, measured in Chromium
  // (tests/ui/test_pages_design_browser.py): a list of what is wrong.
  const found = [];
  const sheet = [...document.styleSheets].find((s) => /css\/app/.test(s.href || ""));
  if (!sheet || !sheet.cssRules.length) found.push("app.css is not applied");
  const page = document.scrollingElement;
  if (page.scrollWidth > window.innerWidth)
    found.push(`scrolls sideways: ${page.scrollWidth} > ${window.innerWidth}`);
  for (const th of document.querySelectorAll("main th")) {
    // The text's own box: a cell is as tall as its row.
    const range = document.createRange();
    range.selectNodeContents(th);
    const lines = new Set([...range.getClientRects()].filter((r) => r.width > 1)
      .map((r) => Math.round(r.top)));
    if (lines.size > 1) found.push(`header "${th.textContent.trim()}" wraps`);
  }
  // A page taller than the window must scroll (the mailbox clips its body).
  const clipped = (e) => ["hidden", "clip"].includes(getComputedStyle(e).overflowY);
  if (page.scrollHeight > window.innerHeight + 1
      && (clipped(document.documentElement) || clipped(document.body)))
    found.push("taller than the window, but it does not scroll");
  for (const label of document.querySelectorAll("main .field > label, main .field > legend")) {
    const control = label.parentElement.querySelector(".control");
    if (control && label.getBoundingClientRect().bottom > control.getBoundingClientRect().top + 1)
      found.push(`label "${label.textContent.trim()}" is not above its field`);
  }
  for (const input of document.querySelectorAll("main [aria-invalid=true]")) {
    const ids = (input.getAttribute("aria-describedby") || "").split(" ");
    const error = ids.map((id) => document.getElementById(id)).find((e) => e && e.matches(".field-error"));
    if (!error) { found.push(`${input.name}: no error beside it`); continue; }
    const a = input.getBoundingClientRect(), b = error.getBoundingClientRect();
    const beside = b.left >= a.right - 1 && b.top < a.bottom;
    const under = b.top >= a.bottom - 1 && b.top - a.bottom < 16;
    if (!(beside || under)) found.push(`${input.name}: its error is not next to it`);
  }
  const filled = (b) => {
    const bg = getComputedStyle(b).backgroundColor;
    return !b.matches(".danger") && bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent";
  };
  for (const form of document.querySelectorAll("main form")) {
    const submits = [...form.querySelectorAll("button[type=submit], button:not([type])")]
      .filter((b) => b.offsetParent !== null);
    const primary = submits.filter(filled);
    if (primary.length > 1) found.push(`${primary.length} primary buttons in one form`);
    if (primary.length && submits[0] !== primary[0])
      found.push(`"${primary[0].textContent.trim()}" is primary but not the first button`);
  }
  for (const b of document.querySelectorAll("form[action$='/logout/'] button")) {
    if (filled(b)) found.push("Sign out is a filled button");
  }
  return found;
}
