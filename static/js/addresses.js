// To, Cc and Bcc as address chips, with suggestions from the address book and
// the addresses the user's mail shows (GET data-suggest?q=...).
//
// Without this script each field is a plain text input of comma-separated
// addresses, and the server reads it as typed. With it, the text input
// keeps only what is being typed; a hidden input of the same name carries
// the chips and that text, so the form posts exactly what it did before.
//
// Keys: arrows move in the list, Enter takes the highlighted suggestion (or
// the typed address), a comma or semicolon makes the typed text a chip,
// Backspace in an empty field removes the last chip, Escape closes the list.
// While an input method is composing (Japanese), keys are the IME's.
//
// The identity picker: choosing another identity swaps its signature into
// the message text, if the text still has the one before.

const DELAY_MS = 120;

function splitTyped(text) {
  // At commas and semicolons outside quotes and angle brackets, as the server.
  const parts = [];
  let current = "";
  let quoted = false;
  let angled = false;
  for (const char of text.replace(/\n/g, " ")) {
    if (char === '"') quoted = !quoted;
    else if (char === "<" && !quoted) angled = true;
    else if (char === ">" && !quoted) angled = false;
    if ((char === "," || char === ";") && !quoted && !angled) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function formatted(name, address) {
  if (!name) return address;
  return `"${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}" <${address}>`;
}

function shownName(value) {
  // "Name" <a@b> -> Name; a@b -> a@b
  const match = value.match(/^\s*"?(.*?)"?\s*<([^>]*)>\s*$/);
  if (match && match[1]) return match[1].replace(/\\(.)/g, "$1");
  return match ? match[2] : value;
}

class AddressField {
  constructor(input) {
    this.input = input;
    this.url = input.dataset.suggest;
    this.removeLabel = input.dataset.removeLabel || "×";
    this.chips = [];
    this.suggestions = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0;

    this.hidden = document.createElement("input");
    this.hidden.type = "hidden";
    this.hidden.name = input.name;
    input.removeAttribute("name");
    input.dataset.chipsName = this.hidden.name;

    this.box = document.createElement("span");
    this.box.className = "address-chips";
    this.list = document.createElement("ul");
    this.list.className = "address-suggestions";
    this.list.setAttribute("role", "listbox");
    this.list.id = `${input.id}-suggestions`;
    this.list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.list.id);
    input.setAttribute("aria-expanded", "false");

    const wrap = document.createElement("span");
    wrap.className = "address-field";
    input.before(wrap);
    wrap.append(this.box, input, this.list, this.hidden);
    wrap.addEventListener("click", (e) => {
      if (e.target === wrap || e.target === this.box) input.focus();
    });

    for (const value of splitTyped(input.value)) this.addChip(value, false);
    input.value = "";
    this.sync();

    input.addEventListener("keydown", (e) => this.onKey(e));
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("blur", () => {
      setTimeout(() => this.close(), 150);
    });
  }

  sync() {
    const typed = this.input.value.trim();
    this.hidden.value = [...this.chips.map((c) => c.value), typed]
      .filter(Boolean)
      .join(", ");
  }

  addChip(value, focus = true) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.dataset.value = value;
    chip.title = value;
    const label = document.createElement("span");
    label.textContent = shownName(value);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `${this.removeLabel}: ${value}`);
    const entry = { value, chip };
    remove.addEventListener("click", () => {
      this.removeChip(entry);
      this.input.focus();
    });
    chip.append(label, remove);
    this.box.append(chip);
    this.chips.push(entry);
    this.sync();
    if (focus) this.input.focus();
  }

  removeChip(entry) {
    entry.chip.remove();
    this.chips = this.chips.filter((c) => c !== entry);
    this.sync();
  }

  takeTyped() {
    for (const value of splitTyped(this.input.value)) this.addChip(value);
    this.input.value = "";
    this.sync();
    this.close();
  }

  pick(index) {
    const found = this.suggestions[index];
    if (!found) return;
    this.input.value = "";
    this.addChip(formatted(found.name, found.address));
    this.close();
  }

  onKey(e) {
    if (e.isComposing || e.keyCode === 229) return;
    const open = !this.list.hidden && this.suggestions.length > 0;
    if (e.key === "ArrowDown" && open) {
      e.preventDefault();
      this.highlight((this.active + 1) % this.suggestions.length);
    } else if (e.key === "ArrowUp" && open) {
      e.preventDefault();
      const count = this.suggestions.length;
      this.highlight((this.active - 1 + count) % count);
    } else if (e.key === "Enter") {
      if (open && this.active >= 0) {
        e.preventDefault();
        this.pick(this.active);
      } else if (this.input.value.trim()) {
        e.preventDefault();
        this.takeTyped();
      }
    } else if (e.key === "," || e.key === ";") {
      if (this.input.value.trim() && !this.insideQuotes()) {
        e.preventDefault();
        if (open && this.active >= 0) this.pick(this.active);
        else this.takeTyped();
      }
    } else if (e.key === "Backspace" && this.input.value === "") {
      const last = this.chips[this.chips.length - 1];
      if (last) {
        e.preventDefault();
        this.removeChip(last);
      }
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      this.close();
    }
  }

  insideQuotes() {
    const text = this.input.value;
    return (text.split('"').length - 1) % 2 === 1 || text.lastIndexOf("<") > text.lastIndexOf(">");
  }

  onInput() {
    this.sync();
    clearTimeout(this.timer);
    const typed = this.input.value.trim();
    if (!typed) {
      this.close();
      return;
    }
    this.timer = setTimeout(() => this.ask(typed), DELAY_MS);
  }

  async ask(typed) {
    const asked = ++this.asked;
    let results = [];
    try {
      const response = await fetch(`${this.url}?q=${encodeURIComponent(typed)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      results = (await response.json()).results || [];
    } catch {
      return; // offline: the field still takes typed addresses
    }
    if (asked !== this.asked) return; // a later keystroke asked again
    const taken = new Set(this.chips.map((c) => c.value.toLowerCase()));
    this.suggestions = results.filter(
      (r) => !taken.has(formatted(r.name, r.address).toLowerCase()),
    );
    this.render();
  }

  render() {
    this.list.replaceChildren();
    this.active = -1;
    if (!this.suggestions.length) {
      this.close();
      return;
    }
    this.suggestions.forEach((found, index) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.id = `${this.list.id}-${index}`;
      item.className = found.book ? "in-book" : "";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = found.name;
      const address = document.createElement("span");
      address.className = "address";
      address.textContent = found.address;
      item.append(name, address);
      // mousedown, not click: the input must not lose focus first.
      item.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.pick(index);
      });
      this.list.append(item);
    });
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.highlight(0);
  }

  highlight(index) {
    this.active = index;
    [...this.list.children].forEach((item, i) => {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    const item = this.list.children[index];
    if (item) this.input.setAttribute("aria-activedescendant", item.id);
  }

  close() {
    this.list.hidden = true;
    this.list.replaceChildren();
    this.suggestions = [];
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}

function signatureBlock(text) {
  return text ? `\n\n-- \n${text.trim()}` : "";
}

function watchIdentity(form) {
  const picker = form.querySelector("select[name=identity]");
  const body = form.querySelector("textarea[name=body]");
  if (!picker || !body) return;
  let before = picker.selectedOptions[0]?.dataset.signature || "";
  picker.addEventListener("change", () => {
    const now = picker.selectedOptions[0]?.dataset.signature || "";
    const old = signatureBlock(before);
    const fresh = signatureBlock(now);
    if (old && body.value.includes(old)) {
      body.value = body.value.replace(old, fresh);
    } else if (!old && fresh) {
      // No signature yet: it goes above any quote, as the server puts it.
      const quote = body.value.search(/\n\n[^\n]*\n> /);
      body.value =
        quote >= 0
          ? body.value.slice(0, quote) + fresh + body.value.slice(quote)
          : body.value.replace(/\s*$/, "") + fresh;
    }
    before = now;
  });
}

function init() {
  for (const input of document.querySelectorAll("input[data-suggest]")) {
    if (input.dataset.chips) continue;
    input.dataset.chips = "on";
    new AddressField(input);
  }
  for (const form of document.querySelectorAll("form.compose-form")) {
    if (form.dataset.identityWatch) continue;
    form.dataset.identityWatch = "on";
    watchIdentity(form);
  }
}

document.addEventListener("htmx:afterSettle", init);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
