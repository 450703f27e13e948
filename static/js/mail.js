// The mailbox page's behaviour that htmx does not cover: keyboard shortcuts,
// the list cursor, the help overlay, live updates from the event stream.
import { togglePick } from "./selection.js";
import { notifyNewMail } from "./notify.js";
import { installShortcuts, shouldHandle } from "./shortcuts.js";
import { dropUndone, showUndoable, undoLast } from "./undo.js";
import "./dialogs.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

document.documentElement.classList.add("js");

function rows() {
  return $$("#list .row");
}

// A row and the open message are matched by the message's URL: UIDs repeat
// across folders, and search results mix folders.
function rowKey(row) {
  const link = $("a.open", row);
  return link ? link.getAttribute("href") : row.dataset.uid;
}

function openUid() {
  const article = $("#reader .message");
  return article ? article.dataset.url || article.dataset.uid : null;
}

// The row the keyboard acts on. It follows the open message, and j/k move it.
let cursorUid = null;

function cursorRow() {
  const all = rows();
  return all.find((row) => rowKey(row) === cursorUid) || null;
}

function setCursor(row) {
  for (const other of $$("#list .row.cursor")) other.classList.remove("cursor");
  cursorUid = row ? rowKey(row) : null;
  if (!row) return;
  row.classList.add("cursor");
  row.scrollIntoView({ block: "nearest" });
}

function markCurrent() {
  const uid = openUid();
  for (const row of rows()) row.classList.toggle("current", rowKey(row) === uid);
  const app = $("#app");
  if (app) app.classList.toggle("reading", uid !== null);
  const current = rows().find((row) => rowKey(row) === (uid || cursorUid));
  setCursor(current || rows()[0] || null);
}

function openRow(row) {
  const link = row && $("a.open", row);
  if (link) link.click();
}

function move(step) {
  const all = rows();
  if (all.length === 0) return;
  const index = all.indexOf(cursorRow());
  const next = all[Math.min(Math.max(index + step, 0), all.length - 1)];
  if (index === -1) {
    setCursor(all[0]);
  } else {
    setCursor(next);
  }
  // With a message open, moving the cursor opens the next message.
  if (openUid() !== null && cursorRow() && rowKey(cursorRow()) !== openUid()) {
    openRow(cursorRow());
  }
}

function clickAction(name) {
  const inReader = $(`#reader [data-action="${name}"]`);
  if (inReader) {
    inReader.click();
    return true;
  }
  return false;
}

// v or m: the reading pane's "Move to…" menu opens, its folder list focused.
function openMoveMenu() {
  const menu = $("#reader .move-menu");
  if (!menu) return;
  menu.open = true;
  const select = $("select", menu);
  if (select) select.focus();
}

function toggleHelp() {
  const dialog = $("#help");
  if (!dialog) return;
  if (dialog.open) dialog.close();
  else dialog.showModal();
}

const actions = {
  j: () => move(1),
  k: () => move(-1),
  o: () => openRow(cursorRow()),
  x: () => togglePick(cursorRow()),
  Enter: () => openRow(cursorRow()),
  u: () => clickAction("back"),
  s: () => {
    if (clickAction("star")) return;
    const row = cursorRow();
    const star = row && $('[data-action="star"]', row);
    if (star) star.click();
  },
  "#": () => clickAction("delete"),
  U: () => clickAction("unread"),
  e: () => clickAction("archive"),
  "!": () => clickAction("spam") || clickAction("not-spam"),
  v: openMoveMenu,
  m: openMoveMenu,
  r: () => clickAction("reply"),
  a: () => clickAction("reply-all"),
  f: () => clickAction("forward"),
  c: () => {
    const write = $('[data-action="compose"]');
    if (write) write.click();
  },
  "/": () => {
    const search = $('[data-shortcut="search"]');
    if (search) {
      search.focus();
      search.select();
    }
  },
  z: undoLast,
  "?": toggleHelp,
};

installShortcuts(document, actions);

document.addEventListener("click", (event) => {
  const button = event.target.closest('[data-action="help"]');
  if (button) toggleHelp();
  // On narrow screens the folder list opens over the page, and any click
  // (on a folder or beside the list) closes it again.
  const opener = event.target.closest('[data-action="folders"]');
  if (opener) {
    document.body.classList.toggle("show-folders");
  } else if (!event.target.closest("#folders .accounts")) {
    document.body.classList.remove("show-folders");
  }
  const row = event.target.closest("#list .row");
  if (row) setCursor(row);
});

// The language menu applies a choice at once (a button does it without JS).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});

document.body.addEventListener("htmx:afterSettle", markCurrent);
markCurrent();

// Live updates: any event about this user's mail refreshes the list and the
// folder counts; several events close together cause one refresh.
// The list redraws the page the user is on (its URL keeps the page's
// cursor), and the open message's own buttons follow too.
function refreshList() {
  if (!window.htmx) return;
  const list = $("#list");
  const url = list && list.dataset.refreshUrl;
  if (url) window.htmx.ajax("GET", url, { target: "#list", swap: "outerHTML" });
  const flags = $("#pane-flags");
  if (flags && flags.dataset.url) {
    window.htmx.ajax("GET", flags.dataset.url, {
      target: "#pane-flags",
      swap: "outerHTML",
    });
  }
}

// An action refused in a conversation (plain text) says why in the status line.
document.body.addEventListener("htmx:responseError", (event) => {
  const { elt, xhr } = event.detail;
  const status = $("#bulk-status");
  const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
  if (!status || !plain || !elt.closest || !elt.closest(".conversation")) return;
  status.textContent = xhr.responseText;
});

// An action posted from the reading pane or a conversation says which page
// of the list the user is on, so that the answer redraws that page.
document.body.addEventListener("htmx:configRequest", (event) => {
  const list = $("#list");
  const detail = event.detail;
  if (!list || list.dataset.list === undefined || detail.verb !== "post") return;
  if (!event.target.closest || !event.target.closest("#reader")) return;
  if (detail.parameters.list === undefined) detail.parameters.list = list.dataset.list;
});

const events = $("#events");
if (events && events.dataset.url && "EventSource" in window) {
  let timer = null;
  const source = new EventSource(events.dataset.url);
  source.addEventListener("open", () => {
    events.dataset.state = "open";
  });
  source.addEventListener("error", () => {
    events.dataset.state = "reconnecting";
  });
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refreshList, 250);
  };
  // Event types of webmail/shared/events.py; each says "re-read what you show"
  // ("outbox": an action was refused, or done in part, and the list says so).
  // ("undone": an action was undone, its messages are back in their folder).
  const types = [
    "flags",
    "new",
    "expunged",
    "previews",
    "folder",
    "folders",
    "outbox",
    "undone",
  ];
  for (const type of types) {
    source.addEventListener(type, later);
  }
  source.addEventListener("new", notifyNewMail);
  source.addEventListener("undoable", showUndoable);
  source.addEventListener("undone", dropUndone);
}

// An undo's answer: the list shows the messages back at once. A move's
// answer took its rows out; the list fills its page again.
document.body.addEventListener("webmail-undone", refreshList);
document.body.addEventListener("webmail-moved", refreshList);

// Keyboard and screen-reader users: once a message opens, its subject has
// the focus (and is read out); Escape from the message goes back to its
// row, where the user was.
document.body.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target && event.detail.target.id !== "reader") return;
  const heading = $("#reader h2.subject");
  if (heading) heading.focus({ preventScroll: true });
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !shouldHandle(event)) return;
  if (!document.activeElement || !document.activeElement.closest("#reader")) return;
  const row = cursorRow();
  const link = row && $("a.open", row);
  if (!link) return;
  event.preventDefault();
  link.focus();
});
