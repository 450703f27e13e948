// Writing in HTML on the compose form, with Squire (static/vendor/squire.js).
// Without JavaScript the plain textarea "body" is the message. With it, a
// checkbox switches each message between plain text and formatted text;
// the editor's HTML goes into the form as "html" with "format" = "html"
// (webmail/mail/richtext.py sanitizes it again before it is sent). Images
// pasted or dropped into the text stay in it as data: URLs, which the
// server turns into inline parts; their total is kept under the limit.

const section = document.querySelector("[data-editor]");

// What the editor may hold of pasted or set HTML: anything else is
// unwrapped (its text kept) or, for these, removed with its content.
const DROPPED = new Set([
  "SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH",
  "NOSCRIPT", "TITLE", "HEAD", "META", "LINK", "BASE", "FORM", "INPUT",
  "BUTTON", "SELECT", "TEXTAREA", "AUDIO", "VIDEO", "CANVAS", "FRAME",
  "FRAMESET", "APPLET",
]);
const KEPT = new Set([
  "A", "B", "BLOCKQUOTE", "BR", "CODE", "DIV", "EM", "H1", "H2", "H3", "H4",
  "H5", "H6", "HR", "I", "IMG", "LI", "OL", "P", "PRE", "S", "SPAN", "STRONG",
  "SUB", "SUP", "TABLE", "TBODY", "TD", "TH", "THEAD", "TR", "U", "UL",
]);
const ATTRIBUTES = {
  A: ["href", "title"],
  IMG: ["src", "alt", "width", "height"],
  BLOCKQUOTE: ["type"],
  OL: ["start"],
  TD: ["colspan", "rowspan"],
  TH: ["colspan", "rowspan"],
};

function safeUrl(name, value) {
  const url = value.trim();
  if (name === "href") return /^(https?:|mailto:)/i.test(url);
  if (name === "src") return /^data:image\/(png|jpeg|gif|webp);base64,/i.test(url);
  return true;
}

function clean(node) {
  for (const child of [...node.childNodes]) {
    if (child.nodeType === Node.COMMENT_NODE) {
      child.remove();
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = child.nodeName.toUpperCase();
    if (DROPPED.has(tag)) {
      child.remove();
      continue;
    }
    clean(child);
    if (!KEPT.has(tag)) {
      child.replaceWith(...child.childNodes);
      continue;
    }
    const allowed = ATTRIBUTES[tag] || [];
    for (const attribute of [...child.attributes]) {
      const name = attribute.name.toLowerCase();
      if (!allowed.includes(name) || !safeUrl(name, attribute.value)) {
        child.removeAttribute(attribute.name);
      }
    }
    if (tag === "IMG" && !child.hasAttribute("src")) child.remove();
  }
}

// Squire's hook for turning HTML into nodes: parsed in an inert template
// (nothing loads or runs), then cut down to what a message may hold.
function sanitizeToDOMFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  clean(template.content);
  return document.importNode(template.content, true);
}

function textToHtml(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  return lines
    .map((line) => {
      const div = document.createElement("div");
      if (line.trim()) div.textContent = line;
      else div.append(document.createElement("br"));
      return div.outerHTML;
    })
    .join("");
}

// The editor's content as plain text, as the server writes the text
// alternative (webmail/mime/plaintext.py): "- " items, "> " quotes.
const BLOCK_TAGS = new Set(["DIV", "P", "LI", "UL", "OL", "BLOCKQUOTE", "PRE",
  "H1", "H2", "H3", "H4", "H5", "H6", "TR", "TABLE", "HR"]);

function toPlain(root) {
  const lines = [];
  let line = "";
  let depth = 0;
  const prefix = () => (depth ? `${">".repeat(depth)} ` : "");
  const end = (force) => {
    const text = line.replace(/\s+$/, "");
    if (text && /^\s*(-|\d+\.)\s*$/.test(line) && !force) return;
    if (text || force) lines.push((prefix() + text).replace(/\s+$/, ""));
    line = "";
  };
  const walk = (node, lists) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        line += child.data.replace(/[ \t\n\r\u00a0]+/g, " ");
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = child.nodeName;
      if (tag === "BR") {
        end(true);
        continue;
      }
      if (BLOCK_TAGS.has(tag)) end(false);
      if (tag === "BLOCKQUOTE") depth += 1;
      if (tag === "LI") {
        const list = lists[lists.length - 1];
        const indent = "  ".repeat(Math.max(0, lists.length - 1));
        line = list && list.ordered ? `${indent}${list.next++}. ` : `${indent}- `;
      }
      const inner = tag === "UL" || tag === "OL"
        ? [...lists, { ordered: tag === "OL", next: 1 }]
        : lists;
      walk(child, inner);
      if (tag === "A") {
        const href = child.getAttribute("href") || "";
        const shown = href.replace(/^mailto:/i, "");
        const text = child.textContent.trim();
        if (/^(https?|mailto):/i.test(href) && text !== href && text !== shown) {
          line += ` <${shown}>`;
        }
      }
      if (BLOCK_TAGS.has(tag)) end(false);
      if (tag === "BLOCKQUOTE") depth -= 1;
    }
  };
  walk(root, []);
  end(false);
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+|\n+$/g, "");
}

function wire(Squire) {
  const form = section.closest("form");
  const textarea = form.elements.body;
  const textPara = textarea.closest("p");
  const formatInput = form.querySelector("[data-editor-format]");
  const htmlInput = form.querySelector("[data-editor-html]");
  const toggle = section.querySelector("[data-editor-toggle]");
  const area = section.querySelector("[data-editor-area]");
  const alertBox = section.querySelector("[data-editor-alert]");
  const limit = Number(section.dataset.inlineLimit) || 0;
  const editor = new Squire(area, { sanitizeToDOMFragment });
  let mode = "text";

  function say(text) {
    alertBox.textContent = text;
    alertBox.hidden = !text;
  }

  function setMode(next) {
    mode = next;
    section.dataset.mode = next;
    toggle.checked = next === "html";
    textPara.hidden = next === "html";
    formatInput.value = next;
  }

  function toHtml() {
    editor.setHTML(htmlInput.value || textToHtml(textarea.value));
    htmlInput.value = "";
    setMode("html");
  }

  function toText() {
    textarea.value = toPlain(area);
    htmlInput.value = "";
    setMode("text");
  }

  toggle.addEventListener("change", () => {
    say("");
    if (toggle.checked) {
      toHtml();
      editor.focus();
    } else if (window.confirm(section.dataset.textToPlain)) {
      toText();
      textarea.focus();
    } else {
      toggle.checked = true;
    }
  });

  // The toolbar: each button toggles its format where the cursor is.
  const has = {
    bold: () => editor.hasFormat("B") || editor.hasFormat("STRONG"),
    italic: () => editor.hasFormat("I") || editor.hasFormat("EM"),
    bullets: () => editor.hasFormat("UL"),
    numbers: () => editor.hasFormat("OL"),
    link: () => editor.hasFormat("A"),
    quote: () => editor.hasFormat("BLOCKQUOTE"),
  };
  const commands = {
    bold: () => (has.bold() ? editor.removeBold() : editor.bold()),
    italic: () => (has.italic() ? editor.removeItalic() : editor.italic()),
    bullets: () => (has.bullets() ? editor.removeList() : editor.makeUnorderedList()),
    numbers: () => (has.numbers() ? editor.removeList() : editor.makeOrderedList()),
    quote: () =>
      has.quote() ? editor.decreaseQuoteLevel() : editor.increaseQuoteLevel(),
    clear: () => editor.removeAllFormatting(),
    link: () => {
      if (has.link()) {
        editor.removeLink();
        return;
      }
      let url = (window.prompt(section.dataset.textLink, "https://") || "").trim();
      if (!url || url === "https://") return;
      if (!/^(https?:|mailto:)/i.test(url)) {
        url = url.includes("@") ? `mailto:${url}` : `https://${url}`;
      }
      editor.makeLink(url);
    },
  };
  const buttons = section.querySelectorAll("[data-command]");
  function showState() {
    for (const button of buttons) {
      const test = has[button.dataset.command];
      if (test) button.setAttribute("aria-pressed", String(test()));
    }
  }
  for (const button of buttons) {
    button.addEventListener("click", () => {
      commands[button.dataset.command]();
      editor.focus();
      showState();
    });
  }
  editor.addEventListener("pathChange", showState);
  editor.addEventListener("select", showState);

  // Images pasted or dropped inside the text.
  function inlineSize() {
    let size = 0;
    for (const image of area.querySelectorAll("img[src^='data:']")) {
      size += Math.floor((image.src.length - image.src.indexOf(",") - 1) * 0.75);
    }
    return size;
  }
  function insertImages(files) {
    for (const file of files) {
      if (limit && inlineSize() + file.size > limit) {
        say(section.dataset.textTooLarge);
        return;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        if (limit && inlineSize() + file.size > limit) {
          say(section.dataset.textTooLarge);
          return;
        }
        say("");
        editor.insertImage(reader.result, { alt: file.name || "" });
      });
      reader.readAsDataURL(file);
    }
  }
  function images(dataTransfer) {
    return [...(dataTransfer?.files || [])].filter((file) =>
      /^image\/(png|jpeg|gif|webp)$/.test(file.type),
    );
  }
  editor.addEventListener("pasteImage", (event) => {
    insertImages(images(event.detail.clipboardData));
  });
  // An image pasted here is the text's, not an attachment of the form.
  area.addEventListener("paste", (event) => {
    if (images(event.clipboardData).length) event.stopPropagation();
  });
  area.addEventListener("drop", (event) => {
    const files = images(event.dataTransfer);
    if (!files.length) return; // other files: attachments (attachments.js)
    event.preventDefault();
    event.stopPropagation();
    const range = document.caretRangeFromPoint?.(event.clientX, event.clientY);
    if (range && area.contains(range.startContainer)) editor.setSelection(range);
    insertImages(files);
  });

  // The form carries the editor's HTML, whoever reads the form.
  form.addEventListener("formdata", (event) => {
    event.formData.set("format", mode);
    if (mode === "html") {
      event.formData.set("html", editor.getHTML());
      event.formData.set("body", toPlain(area));
    }
  });

  section.hidden = false;
  const focused = document.activeElement === textarea;
  if (section.dataset.format === "html") {
    toHtml();
    if (focused) editor.focus();
  } else {
    setMode("text");
  }
}

function start() {
  if (section && window.Squire) wire(window.Squire);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
