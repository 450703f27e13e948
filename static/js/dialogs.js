// Focus stays inside an open dialog: the help overlay (a modal <dialog>)
// and a "Delete for good?" confirmation (role="alertdialog"). Tab from its
// last control goes to its first, Shift+Tab from its first to its last;
// left alone, Tab would leave a modal for the browser's own controls, and
// a confirmation for the rest of the page behind it.
const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  '[tabindex]:not([tabindex="-1"])',
].join(", ");

function openDialog() {
  const modal = document.querySelector("dialog[open]");
  if (modal) return modal;
  const confirm = document.querySelector('[role="alertdialog"]');
  // A confirmation holds the focus only while the user is in it: a click
  // elsewhere on the page leaves it.
  return confirm && confirm.contains(document.activeElement) ? confirm : null;
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) return;
  const dialog = openDialog();
  if (!dialog) return;
  const controls = [...dialog.querySelectorAll(FOCUSABLE)].filter(
    (element) => element.getClientRects().length > 0,
  );
  if (controls.length === 0) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const inside = dialog.contains(document.activeElement);
  if (event.shiftKey && (!inside || document.activeElement === first)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (!inside || document.activeElement === last)) {
    event.preventDefault();
    first.focus();
  }
});
