// Attachments of the compose form: files picked, dropped on the page or
// pasted are sent in chunks (webmail/views/attachments.py), each with a
// progress bar and a remove button. An upload cut off halfway says so and
// offers Retry, which asks the server how far it got and goes on from
// there. A finished upload is in the form as <input name="upload">; a file
// of the draft being edited (kept on the server) as <input name="draft_file">.
// Adding or removing a file is a change of the form, which the autosave
// (drafts.js) stores in the draft.

const section = document.querySelector("[data-attachments]");

function csrfHeaders() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  } catch {
    return {};
  }
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// One request; resolves with {status, body} (body parsed as JSON when it is).
function send(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    for (const [name, value] of Object.entries(csrfHeaders())) {
      request.setRequestHeader(name, value);
    }
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    }
    request.addEventListener("load", () => {
      let parsed = {};
      try {
        parsed = JSON.parse(request.responseText || "{}");
      } catch {
        parsed = {};
      }
      resolve({ status: request.status, body: parsed });
    });
    request.addEventListener("error", () => reject(new Error("network")));
    request.addEventListener("abort", () => reject(new Error("abort")));
    request.send(body);
  });
}

// Files the message keeps from its draft or from the forwarded message count
// toward the limit too; the server knows only the uploads.
function keptBytes() {
  let total = 0;
  for (const row of section.querySelectorAll("[data-attachment-list] li[data-size]")) {
    const box = row.querySelector("input[type=checkbox]");
    if (box && !box.checked) continue;
    total += Number(row.dataset.size) || 0;
  }
  return total;
}

function changed() {
  section.closest("form").dispatchEvent(new Event("change"));
}

function alertText(text) {
  const alert = section.querySelector("[data-attach-alert]");
  alert.textContent = text;
  alert.hidden = !text;
}

class Upload {
  constructor(file) {
    this.file = file;
    this.url = null;
    this.received = 0;
    this.chunk = 1024 * 1024;
    const template = section.querySelector("template[data-attachment-row]");
    this.row = template.content.firstElementChild.cloneNode(true);
    this.row.querySelector(".name").textContent = file.name || "attachment";
    this.row.querySelector(".size").textContent = formatSize(file.size);
    this.progress = this.row.querySelector("progress");
    this.progress.max = Math.max(file.size, 1);
    this.status = this.row.querySelector(".status");
    this.retryButton = this.row.querySelector("[data-retry]");
    this.retryButton.addEventListener("click", () => this.retry());
    this.row.querySelector("[data-remove]").addEventListener("click", () => this.remove());
    this.row.upload = this;
    section.querySelector("[data-attachment-list]").append(this.row);
  }

  setState(state, text = "") {
    this.row.dataset.state = state;
    this.status.textContent = text;
    this.retryButton.hidden = state !== "interrupted";
  }

  async start() {
    const form = new FormData();
    form.append("key", section.closest("form").elements.upload_key.value);
    form.append("name", this.file.name || "");
    form.append("type", this.file.type || "");
    form.append("size", String(this.file.size));
    form.append("kept", String(keptBytes()));
    let answer;
    try {
      answer = await send("POST", section.dataset.startUrl, form);
    } catch {
      this.interrupted();
      return;
    }
    if (answer.status !== 201) {
      this.setState("refused", answer.body.error || "");
      this.status.setAttribute("role", "alert");
      return;
    }
    this.url = answer.body.url;
    this.chunk = answer.body.chunk || this.chunk;
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "upload";
    input.value = String(answer.body.id);
    this.row.prepend(input);
    this.row.dataset.url = this.url;
    await this.sendChunks();
  }

  async sendChunks() {
    this.setState("uploading");
    while (this.received < this.file.size) {
      const offset = this.received;
      const piece = this.file.slice(offset, offset + this.chunk);
      let answer;
      try {
        answer = await send("POST", `${this.url}?offset=${offset}`, piece, (loaded) => {
          this.progress.value = offset + loaded;
        });
      } catch {
        this.interrupted();
        return;
      }
      if (answer.status === 200 || answer.status === 409) {
        // 409: the server has a different count (a retry); go on from it.
        this.received = answer.body.received;
        this.progress.value = this.received;
      } else {
        if (answer.body.error) this.interrupted(answer.body.error);
        else this.interrupted();
        return;
      }
    }
    this.progress.value = this.progress.max;
    this.setState("done", section.dataset.textDone);
    changed();
  }

  interrupted(text) {
    this.setState("interrupted", text || section.dataset.textInterrupted);
    this.status.setAttribute("role", "alert");
  }

  async retry() {
    this.status.removeAttribute("role");
    if (!this.url) {
      this.row.querySelector("input[name=upload]")?.remove();
      await this.start();
      return;
    }
    try {
      const answer = await send("GET", this.url, null);
      if (answer.status !== 200) throw new Error("gone");
      this.received = answer.body.received;
    } catch {
      this.interrupted();
      return;
    }
    await this.sendChunks();
  }

  remove() {
    if (this.url) send("DELETE", this.url, null).catch(() => {});
    this.row.remove();
    changed();
  }
}

function addFiles(files) {
  alertText("");
  for (const file of files) {
    new Upload(file).start();
  }
}

function wire() {
  const input = section.querySelector("[data-attach-input]");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  // Drop anywhere on the page: a file dropped beside the form must not
  // make the browser leave the message to show the file.
  document.addEventListener("dragover", (event) => {
    if (event.dataTransfer?.types.includes("Files")) {
      event.preventDefault();
      section.classList.add("dropping");
    }
  });
  document.addEventListener("dragleave", () => section.classList.remove("dropping"));
  document.addEventListener("drop", (event) => {
    if (!event.dataTransfer?.files.length) return;
    event.preventDefault();
    section.classList.remove("dropping");
    addFiles([...event.dataTransfer.files]);
  });
  section.closest("form").addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });
  // Rows the server rendered (the form came back with an error).
  for (const row of section.querySelectorAll("li[data-url]")) {
    row.querySelector("[data-remove]")?.addEventListener("click", () => {
      send("DELETE", row.dataset.url, null).catch(() => {});
      row.remove();
      changed();
    });
  }
  // The draft's files stay on the server: removing one leaves it out of
  // the next version of the draft, and of the message sent.
  for (const row of section.querySelectorAll("li[data-draft-file]")) {
    row.querySelector("[data-remove]").addEventListener("click", () => {
      row.remove();
      changed();
    });
  }
  section.closest("form").addEventListener("submit", (event) => {
    const waiting = section.querySelector(
      "li[data-state=uploading], li[data-state=interrupted]",
    );
    if (waiting) {
      event.preventDefault();
      alertText(section.dataset.textUnfinished);
    }
  });
}

if (section) wire();
