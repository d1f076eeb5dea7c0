// While the home page's list is being prepared (a first training, a list being computed),
// ask the server for that part of the page every few seconds and put it in place: no
// reload, so the page keeps its scroll position and focus. A static file, not an inline
// script, for the site's Content-Security-Policy.
(function () {
  const MAX_DELAY_S = 30;

  function slot() {
    return document.getElementById("feed-slot");
  }

  function schedule(delayS) {
    const current = slot();
    if (!current || !current.dataset.refreshUrl) return;
    window.setTimeout(() => refresh(current.dataset.refreshUrl, delayS), delayS * 1000);
  }

  async function refresh(url, delayS) {
    let next = null;
    try {
      const response = await fetch(url, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" },
      });
      if (response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        next = doc.getElementById("feed-slot");
      }
    } catch (error) {
      next = null; // offline or the server restarting: try again later
    }
    const current = slot();
    if (!current) return;
    if (next) {
      if (next.innerHTML !== current.innerHTML || next.dataset.state !== current.dataset.state) {
        current.replaceWith(document.importNode(next, true));
      }
      schedule(Number(next.dataset.refreshSeconds) || delayS);
    } else {
      // Back off while the server does not answer, up to MAX_DELAY_S.
      window.setTimeout(() => refresh(url, Math.min(delayS * 2, MAX_DELAY_S)), delayS * 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const current = slot();
    if (current) schedule(Number(current.dataset.refreshSeconds) || 3);
  });
})();
