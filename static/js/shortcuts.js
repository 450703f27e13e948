// Single-key shortcuts that stay out of the way of typing: none fires while
// an input method is composing (Japanese, Chinese, ...), inside a text
// field, or with Ctrl, Alt or Meta held.

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  return target.matches("input, textarea, select");
}

export function shouldHandle(event) {
  // keyCode 229 is what browsers send for keys that an IME consumes.
  if (event.isComposing || event.keyCode === 229) return false;
  if (event.ctrlKey || event.altKey || event.metaKey) return false;
  if (event.defaultPrevented) return false;
  return !isTyping(event.target);
}

export function installShortcuts(root, actions) {
  root.addEventListener("keydown", (event) => {
    if (!shouldHandle(event)) return;
    const action = actions[event.key];
    if (!action) return;
    // Enter on a link or button keeps its own meaning.
    if (event.key === "Enter" && event.target.closest("a, button")) return;
    event.preventDefault();
    action(event);
  });
}
