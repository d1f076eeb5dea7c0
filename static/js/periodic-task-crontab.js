// django-celery-beat's periodic task form: show the chosen crontab in words under the field.
// The package does this in an inline script; a static file keeps the admin inside the CSP.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  if (!data || !select) return;
  const readable = JSON.parse(data.textContent);
  const help = document.querySelector(".field-crontab .help");
  const original = help ? help.textContent.trim() : "";
  for (const row of document.querySelectorAll(".field-crontab_translation")) row.style.display = "none";
  select.addEventListener("change", () => {
    if (!help) return;
    const words = readable[select.value];
    help.replaceChildren(original, ...(words ? [document.createElement("br"), `Translation: ${words}`] : []));
  });
});
