// Desktop notifications for new mail. The browser is asked for permission
// only after a click on "Notify me of new mail", never on page load; the
// choice is remembered in localStorage. A tab the user is looking at shows
// the new row in its list and makes no notification.
const KEY = "webmail.notify";
const $ = (selector) => document.querySelector(selector);

function supported() {
  return "Notification" in window;
}

function enabled() {
  return (
    supported() &&
    window.Notification.permission === "granted" &&
    localStorage.getItem(KEY) === "on"
  );
}

function showButton() {
  const button = $('[data-action="notify"]');
  if (!button || !supported() || window.Notification.permission === "denied") return;
  button.dataset.onLabel = button.dataset.onLabel || button.textContent;
  button.textContent = enabled() ? button.dataset.offLabel : button.dataset.onLabel;
  button.hidden = false;
}

async function toggle() {
  if (enabled()) {
    localStorage.setItem(KEY, "off");
  } else {
    const answer = await window.Notification.requestPermission();
    localStorage.setItem(KEY, answer === "granted" ? "on" : "off");
  }
  showButton();
}

function looking() {
  return document.visibilityState === "visible" && document.hasFocus();
}

// Messages this tab has told about already: the same arrival can be reported
// twice (the IDLE watcher and a sync both see it), but is shown once.
const announced = new Set();

// Handles a "new" event of the stream: {account, folder, uids}.
export async function notifyNewMail(event) {
  if (!enabled() || looking()) return;
  const source = $("#events");
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  if (!source || !data.uids) return;
  const tag = (uid) => `mail-${data.account}-${data.folder}-${uid}`;
  const fresh = data.uids.filter((uid) => !announced.has(tag(uid)));
  if (fresh.length === 0) return;
  for (const uid of fresh) announced.add(tag(uid));
  const query = new URLSearchParams({
    account: data.account,
    folder: data.folder,
    uids: fresh.join(","),
  });
  const response = await fetch(`${source.dataset.newMailUrl}?${query}`, {
    credentials: "same-origin",
  });
  if (!response.ok) return;
  const { messages } = await response.json();
  for (const message of messages) {
    // The tag makes the notifications of several open tabs replace each other.
    const note = new window.Notification(message.sender, {
      body: message.subject,
      tag: tag(message.uid),
    });
    note.onclick = () => {
      window.focus();
      note.close();
      window.location.assign(message.url);
    };
  }
}

document.addEventListener("click", (event) => {
  if (event.target.closest('[data-action="notify"]')) toggle();
});
showButton();
