// Embed every Bokeh plot of the page: each target names the json_script holding its item.
// One static file, so the Content-Security-Policy needs neither inline scripts nor eval.
// A plot inside a closed <details> is embedded when it is first opened: Bokeh cannot
// measure a hidden target, and a closed section should cost nothing.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.Bokeh) return;
  const embed = (target) => {
    const source = document.getElementById(target.dataset.bokehItem);
    if (!source || target.dataset.bokehEmbedded) return;
    target.dataset.bokehEmbedded = "true";
    window.Bokeh.embed.embed_item(JSON.parse(source.textContent), target.id);
  };
  for (const target of document.querySelectorAll("[data-bokeh-item]")) {
    const closed = target.closest("details:not([open])");
    if (!closed) {
      embed(target);
      continue;
    }
    closed.addEventListener("toggle", () => { if (closed.open) embed(target); });
  }
});
