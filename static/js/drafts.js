// Autosave of the compose page. A few seconds after typing stops, and when
// the page is left, the form's text goes to the draft URL (views/drafts.py);
// the worker then stores it in Drafts, and the page asks once a second
// until it has. One save at a time: what is typed meanwhile goes next.
//
// A save names the version this tab knows. If another tab or device saved
// the draft since, the server says so (409) and nothing is overwritten until
// the user chooses to keep their version. If the session ended (401), or
// the webmail cannot be reached, the text is kept in localStorage and
// offered back on the next compose page of the account.

const DELAY_MS = 2500;
const WATCH_MS = 1000;
const WATCH_TIMES = 30;
const FIELDS = [
  "csrfmiddlewaretoken", "to", "cc", "bcc", "subject", "body", "identity",
  "in_reply_to", "references", "original", "format", "html",
];
const TYPED = ["to", "cc", "bcc", "subject", "body"];

function start(form) {
  const box = document.getElementById("draft-status");
  const noteLine = box.querySelector("[data-draft-note]");
  const conflictBar = box.querySelector("[data-draft-conflict]");
  const keptBar = box.querySelector("[data-draft-kept]");
  const loginBar = box.querySelector("[data-draft-login]");
  const storageKey = `webmail.draft.${form.dataset.account}`;
  let draftUrl = form.dataset.draftUrl || "";
  let version = Number(form.elements.draft_version.value) || null;
  let timer = null;
  let watcher = null;
  let inFlight = false;
  let again = false;
  let dirty = false;
  let blocked = false; // a conflict, a sent draft or a lost session: wait
  let sending = false;
  let current = Promise.resolve();

  const text = (name) =>
    box.querySelector(`template[data-text="${name}"]`)?.content.textContent || "";

  function note(message) {
    noteLine.textContent = message;
  }

  function value(name) {
    const field = form.elements[name];
    return field ? field.value : "";
  }

  function formData(force) {
    // Read through the form, so that the HTML editor adds what it holds
    // (its "formdata" handler, static/js/editor.js).
    const all = new FormData(form);
    const data = new FormData();
    for (const name of FIELDS) data.set(name, all.get(name) ?? "");
    // The form's files (attachments.js): the forwarded message's parts it
    // keeps, uploads, and the draft's own.
    const files = [
      ...all.getAll("forward_part").map((part) => `f${part}`),
      ...all.getAll("upload").map((id) => `u${id}`),
      ...all.getAll("draft_file"),
    ];
    data.set("files", files.join(" "));
    data.set("version", version === null ? "" : String(version));
    if (force) data.set("force", "1");
    return data;
  }

  function keep() {
    const fields = {};
    for (const name of TYPED) fields[name] = value(name);
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify({ fields, url: draftUrl, version, at: Date.now() }),
      );
    } catch {
      // Storage full or refused: the text is still in the form.
    }
  }

  function forgetKept() {
    try {
      localStorage.removeItem(storageKey);
    } catch {
      // Nothing kept.
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => save(false), DELAY_MS);
  }

  function signedOut() {
    keep();
    blocked = true;
    note(text("signed_out"));
    const link = loginBar.querySelector("a");
    link.href = form.dataset.loginUrl;
    loginBar.hidden = false;
  }

  function conflict(answer) {
    blocked = true;
    note(answer.error || "");
    const other = conflictBar.querySelector('[data-action="open-theirs"]');
    other.href = `${form.action}?edit=${answer.id}`;
    conflictBar.hidden = false;
  }

  function saved(answer) {
    draftUrl = answer.url;
    version = answer.version;
    form.elements.draft.value = String(answer.id);
    form.elements.draft_version.value = String(version);
    forgetKept();
    note(text("saved"));
    watch();
  }

  async function save(force) {
    clearTimeout(timer);
    if (sending || (blocked && !force)) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    dirty = false;
    note(text("saving"));
    let done;
    current = new Promise((resolve) => {
      done = resolve;
    });
    try {
      const response = await fetch(draftUrl || form.dataset.draftsUrl, {
        method: "POST",
        body: formData(force),
        credentials: "same-origin",
        redirect: "manual",
        headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        saved(answer);
      } else if (answer.conflict) {
        conflict(answer);
      } else if (
        response.status === 401 ||
        response.status === 403 ||
        response.type === "opaqueredirect"
      ) {
        signedOut();
      } else {
        blocked = Boolean(answer.gone);
        if (!blocked) keep();
        note(answer.error || text("offline"));
      }
    } catch {
      keep();
      dirty = true;
      note(text("offline"));
    } finally {
      inFlight = false;
      done();
    }
    if ((again || dirty) && !blocked) {
      again = false;
      schedule();
    }
  }

  // Until the worker has stored this version in Drafts, or says why not.
  function watch() {
    clearInterval(watcher);
    let times = 0;
    const watched = version;
    watcher = setInterval(async () => {
      times += 1;
      if (times > WATCH_TIMES || watched !== version || !draftUrl) {
        clearInterval(watcher);
        return;
      }
      try {
        const response = await fetch(draftUrl, {
          credentials: "same-origin",
          redirect: "manual",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) return;
        const state = await response.json();
        if (state.error) {
          clearInterval(watcher);
          if (!state.saved) keep();
          note(state.error);
        } else if (state.saved && state.version === watched) {
          clearInterval(watcher);
          note(text("stored"));
        }
      } catch {
        // The next tick asks again.
      }
    }, WATCH_MS);
  }

  // While saving waits for the user (a conflict, a lost session), what
  // they type is kept in the browser instead.
  function changed() {
    dirty = true;
    if (blocked) keep();
    else schedule();
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", (event) => {
    clearTimeout(timer);
    // A first save still on its way: send once the draft has its id, so
    // that sending removes it from Drafts.
    if (inFlight && !draftUrl && !sending) {
      event.preventDefault();
      sending = true;
      current.finally(() => form.requestSubmit());
      return;
    }
    sending = true;
  });

  conflictBar
    .querySelector('[data-action="keep-mine"]')
    .addEventListener("click", () => {
      conflictBar.hidden = true;
      blocked = false;
      save(true);
    });

  // Leaving the page: what was typed since the last save goes now.
  function leave() {
    if (!dirty || sending) return;
    if (blocked) {
      keep();
      return;
    }
    dirty = false;
    const data = formData(false);
    if (inFlight) {
      // The save on its way decides the version; this one is sent as if it
      // went through, and kept here in case it did not.
      keep();
      if (!draftUrl) return;
      data.set("version", String((version || 0) + 1));
    }
    try {
      fetch(draftUrl || form.dataset.draftsUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        keepalive: true,
      }).catch(() => keep());
    } catch {
      keep(); // too large for a request that outlives the page
    }
  }
  window.addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") leave();
  });

  offerKept();

  // Text kept when a session ended: offered back, then saved as a draft.
  function offerKept() {
    let kept = null;
    try {
      kept = JSON.parse(localStorage.getItem(storageKey) || "null");
    } catch {
      kept = null;
    }
    if (!kept || !kept.fields) return;
    if (TYPED.every((name) => (kept.fields[name] || "") === value(name))) {
      forgetKept();
      return;
    }
    note(text("kept"));
    keptBar.hidden = false;
    keptBar
      .querySelector('[data-action="restore-kept"]')
      .addEventListener("click", () => {
        for (const name of TYPED) {
          if (form.elements[name]) form.elements[name].value = kept.fields[name] || "";
        }
        if (!draftUrl && kept.url) {
          draftUrl = kept.url;
          version = kept.version;
        }
        keptBar.hidden = true;
        save(false);
      });
    keptBar
      .querySelector('[data-action="drop-kept"]')
      .addEventListener("click", () => {
        forgetKept();
        keptBar.hidden = true;
        note("");
      });
  }
}

const form = document.querySelector("form.compose-form[data-drafts-url]");
if (form) start(form);
