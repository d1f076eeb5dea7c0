// Embed every Bokeh plot of the page: each target names the json_script holding its item.
// One static file, so the Content-Security-Policy needs neither inline scripts nor eval.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.Bokeh) return;
  for (const target of document.querySelectorAll("[data-bokeh-item]")) {
    const source = document.getElementById(target.dataset.bokehItem);
    if (!source) continue;
    window.Bokeh.embed.embed_item(JSON.parse(source.textContent), target.id);
  }
});
