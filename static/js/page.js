// The settings and operator pages: the language menu applies a choice at
// once, as in the mailbox (without JS its button does it).
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
