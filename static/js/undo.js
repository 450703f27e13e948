// The notice of the last action, at the foot of the page: a new one
// replaces it, and it goes away by itself after data-seconds (the server's
// UNDO_SECONDS, or what is left of them when the notice came late from
// another tab). While it offers Undo, z takes it. The user's other tabs
// hear of the action on the event stream, show the same notice and can
// undo too; whichever tab undoes, the others drop the notice.
const $ = (selector, root = document) => root.querySelector(selector);

let timer = null;

function statusLine() {
  return $("#bulk-status");
}

function hideLater() {
  const box = statusLine();
  clearTimeout(timer);
  if (!box || !box.textContent.trim()) return;
  const own = $("[data-seconds]", box);
  const seconds = Number(own ? own.dataset.seconds : box.dataset.seconds) || 10;
  timer = setTimeout(() => {
    box.textContent = "";
  }, seconds * 1000);
}

function undoButton() {
  return $('#bulk-status [data-action="undo"]');
}

function shownUrl() {
  return $("#bulk-status form.undo")?.getAttribute("action");
}

// z: undo the last action, while its notice shows.
export function undoLast() {
  const button = undoButton();
  if (button) button.click();
}

function undoUrl(data) {
  const template = $("#events")?.dataset.undoUrl;
  if (!template || !data.account || !data.id) return null;
  return template.replace(/\/\d+\/undo\/\d+$/, `/${data.account}/undo/${data.id}`);
}

function parse(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return {};
  }
}

// An "undoable" event: an action of this user's, maybe from this very tab.
export async function showUndoable(event) {
  const url = undoUrl(parse(event));
  const box = statusLine();
  if (!url || !box) return;
  if (shownUrl() === url) return;
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) return;
  const html = await response.text();
  if (!html.trim()) return;
  // This tab's own answer may have shown the action's notice meanwhile (in
  // its own words: "Archived."): that one stays.
  if (shownUrl() === url) return;
  box.innerHTML = html;
  if (window.htmx) window.htmx.process(box);
}

// An "undone" event: the notice of that action has nothing more to offer.
export function dropUndone(event) {
  const url = undoUrl(parse(event));
  if (url && shownUrl() === url) {
    statusLine().textContent = "";
  }
}

const box = statusLine();
if (box) {
  new MutationObserver(hideLater).observe(box, {
    childList: true,
    subtree: true,
    characterData: true,
  });
  hideLater();
}
