// "Send later": the browser's local date and time, sent with its offset so
// that the server reads the moment the user meant, whatever its own zone.

const form = document.querySelector("form.compose-form");
const local = form?.querySelector("[data-send-at-local]");

form?.addEventListener("formdata", (event) => {
  if (!local?.value) return;
  const when = new Date(local.value);
  if (!Number.isNaN(when.getTime())) event.formData.set("send_at", when.toISOString());
});
