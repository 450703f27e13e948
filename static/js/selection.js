// Selecting messages in the list for the bulk actions' toolbar (#bulk).
// Each row has a checkbox (input[data-pick]); a click selects one, a
// shift+click selects the range from the last one clicked, "Select all"
// takes the page and then offers the whole folder, or every result of a
// search (all=1, applied by the server). The selection survives the list's
// live refreshes and, in search results, the list shown again.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

let anchor = null;
// What was selected, per list URL, so that a refresh can put it back.
let remembered = { list: null, uids: new Set(), everything: false };

function boxes() {
  return $$("#list input[data-pick]");
}

// Which list is shown: a folder's list by its URL, search results (which are
// not refreshed live) by the URL of their page.
function listUrl() {
  const list = $("#list");
  return list ? list.dataset.selectionKey || list.dataset.refreshUrl : null;
}

function update() {
  const form = $("#bulk");
  const all = boxes();
  const picked = all.filter((box) => box.checked);
  for (const box of all) {
    const row = box.closest(".row");
    if (row) row.classList.toggle("picked", box.checked);
  }
  if (!form) return;
  const everything = $("[data-everything]", form);
  if (picked.length < all.length) everything.value = "";
  const folderCount = Number(form.dataset.folderCount || 0);
  const pickAll = $("[data-pick-all]", form);
  pickAll.checked = all.length > 0 && picked.length === all.length;
  pickAll.indeterminate = picked.length > 0 && picked.length < all.length;
  form.classList.toggle("active", picked.length > 0);
  const label = $("[data-picked]", form);
  if (everything.value === "1") {
    label.textContent = form.dataset.everythingText;
  } else if (picked.length) {
    label.textContent = form.dataset.pickedText.replace("{count}", picked.length);
  } else {
    label.textContent = "";
  }
  const offer = $("[data-offer]", form);
  if (offer) {
    offer.hidden = !(pickAll.checked && folderCount > all.length);
    $('[data-action="select-everything"]', offer).hidden = everything.value === "1";
    $('[data-action="clear-selection"]', offer).hidden = everything.value !== "1";
  }
  remembered = {
    list: listUrl(),
    uids: new Set(picked.map((box) => box.value)),
    everything: everything.value === "1",
  };
}

function setAll(checked) {
  for (const box of boxes()) box.checked = checked;
}

// x: select or unselect the row under the keyboard cursor.
export function togglePick(row) {
  const box = row && $("input[data-pick]", row);
  if (!box) return;
  box.checked = !box.checked;
  anchor = box;
  update();
}

document.addEventListener("click", (event) => {
  const box = event.target.closest("#list input[data-pick]");
  if (box) {
    const all = boxes();
    if (event.shiftKey && anchor && all.includes(anchor)) {
      const [from, to] = [all.indexOf(anchor), all.indexOf(box)].sort((a, b) => a - b);
      for (const other of all.slice(from, to + 1)) other.checked = box.checked;
    }
    anchor = box;
    update();
    return;
  }
  const action = event.target.closest("#bulk [data-action]");
  if (!action) return;
  const everything = $("#bulk [data-everything]");
  if (action.dataset.action === "select-everything") {
    setAll(true);
    everything.value = "1";
  } else if (action.dataset.action === "clear-selection") {
    setAll(false);
    everything.value = "";
  }
  update();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("#bulk [data-pick-all]")) {
    setAll(event.target.checked);
    update();
  } else if (event.target.matches("#list input[data-pick]")) {
    update();
  }
});

// An action's answer is a fresh list: nothing stays selected after it.
document.body.addEventListener("htmx:beforeRequest", (event) => {
  if (event.target.id === "bulk") remembered = { list: null, uids: new Set() };
});

// An action the server refused (too many messages at once, say) says why in
// the status line, and the selection stays for another try.
document.body.addEventListener("htmx:responseError", (event) => {
  const { elt, xhr } = event.detail;
  const status = $("#bulk-status");
  const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
  if (elt.id !== "bulk" || !status || !plain) return;
  status.textContent = xhr.responseText;
  update();
});

document.body.addEventListener("htmx:afterSettle", () => {
  if (remembered.list !== null && remembered.list === listUrl()) {
    for (const box of boxes()) {
      if (remembered.uids.has(box.value)) box.checked = true;
    }
    const everything = $("#bulk [data-everything]");
    if (everything && remembered.everything) everything.value = "1";
  }
  anchor = boxes().includes(anchor) ? anchor : null;
  update();
});

update();
