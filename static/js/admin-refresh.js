// Reload the page every few seconds while a training run is in progress, so staff see
// its progress bar move. A static file, not an inline script, for the site's CSP.
(function () {
  var script = document.currentScript;
  var seconds = Number(script && script.dataset.seconds) || 3;
  setTimeout(function () { window.location.reload(); }, seconds * 1000);
})();
