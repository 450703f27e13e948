// Moving messages by dragging them onto a folder in the sidebar. A row
// that is part of the selection carries the whole selection; any other row
// goes alone. The drop submits the list's bulk form with "move" and that
// folder, so it is the toolbar's move: through the outbox, with the notice
// that offers Undo.

const list = () => document.getElementById("list");
let carried = null; // the rows' checkboxes being dragged

function pickOf(row) {
  return row.querySelector("input[data-pick]");
}

document.addEventListener("dragstart", (event) => {
  const row = event.target.closest && event.target.closest("#list li[data-uid]");
  const box = row && pickOf(row);
  if (!box) return;
  const picked = [...list().querySelectorAll("input[data-pick]:checked")];
  carried = box.checked ? picked : [box];
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", `${carried.length}`);
  for (const one of carried) one.closest("li")?.classList.add("dragged");
});

document.addEventListener("dragend", () => {
  for (const row of list()?.querySelectorAll("li.dragged") || []) {
    row.classList.remove("dragged");
  }
  for (const line of document.querySelectorAll("#folders li.drop-target")) {
    line.classList.remove("drop-target");
  }
  carried = null;
});

// The folder line under the pointer, if the carried rows may go there: a
// folder of the move menu (which leaves out the one shown and those that
// hold no messages).
function targetOf(event) {
  if (!carried) return null;
  const line = event.target.closest && event.target.closest("#folders li[data-folder-id]");
  const form = document.getElementById("bulk");
  if (!line || !form) return null;
  const option = form.querySelector(
    `select[name=target] option[value="${line.dataset.folderId}"]`,
  );
  return option ? line : null;
}

document.addEventListener("dragover", (event) => {
  const line = targetOf(event);
  if (!line) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  line.classList.add("drop-target");
});

document.addEventListener("dragleave", (event) => {
  const line = targetOf(event);
  if (line) line.classList.remove("drop-target");
});

document.addEventListener("drop", (event) => {
  const line = targetOf(event);
  if (!line) return;
  event.preventDefault();
  line.classList.remove("drop-target");
  const form = document.getElementById("bulk");
  const moving = new Set(carried);
  for (const box of list().querySelectorAll("input[data-pick]")) {
    box.checked = moving.has(box);
  }
  form.querySelector("[data-everything]").value = "";
  form.querySelector("select[name=target]").value = line.dataset.folderId;
  // The action as the Move button would send it, whoever submits.
  const action = document.createElement("input");
  action.type = "hidden";
  action.name = "action";
  action.value = "move";
  form.append(action);
  form.requestSubmit();
  action.remove();
});
