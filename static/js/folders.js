// Moving a folder in the sidebar by drag and drop: a folder line dropped on
// another makes it a subfolder of that one. The move is the folder page's
// "Rename or move" form (POST, same name, new parent); the tree then comes
// back with the "folders" event, as on every other tab. A refused move
// (into itself, a name taken there) says why.

const nav = () => document.getElementById("folders");
let dragged = null;

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  } catch {
    return "";
  }
}

document.addEventListener("dragstart", (event) => {
  const line = event.target.closest && event.target.closest("#folders li[data-move-url]");
  if (!line) return;
  dragged = line;
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", line.dataset.label);
});

document.addEventListener("dragend", () => {
  dragged = null;
  for (const line of nav()?.querySelectorAll(".drop-target") || []) {
    line.classList.remove("drop-target");
  }
});

function target(event) {
  const line = event.target.closest && event.target.closest("#folders li[data-folder-id]");
  return dragged && line && line !== dragged ? line : null;
}

document.addEventListener("dragover", (event) => {
  const line = target(event);
  if (!line) return;
  event.preventDefault();
  line.classList.add("drop-target");
});

document.addEventListener("dragleave", (event) => {
  const line = target(event);
  if (line) line.classList.remove("drop-target");
});

document.addEventListener("drop", async (event) => {
  const line = target(event);
  if (!line) return;
  event.preventDefault();
  line.classList.remove("drop-target");
  const moving = dragged;
  const body = new FormData();
  body.set("name", moving.dataset.label);
  body.set("parent", line.dataset.folderId);
  const answer = await fetch(moving.dataset.moveUrl, {
    method: "POST",
    body,
    headers: { "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
  if (!answer.ok) {
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const why = page.querySelector("#folder-admin [role=alert]");
    const note = document.createElement("p");
    note.className = "notice error folder-refused";
    note.setAttribute("role", "alert");
    note.textContent = why ? why.textContent : answer.statusText;
    nav()?.append(note);
  }
});
