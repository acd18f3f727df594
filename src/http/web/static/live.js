// rel04d status page: live updates without reloading. The server sends the
// newest transition id over Server-Sent Events (GET /live); when it is newer than
// the page's, the page fetches itself again and swaps in every element marked
// data-live (same id), leaving the filter box and focus alone.
"use strict";
(function () {
  var body = document.body;
  var shown = Number(body.dataset.latestTransition || 0);
  var status = document.getElementById("live-status");
  var fetching = false, again = false;

  function say(text) { if (status) { status.textContent = text; } }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var replacement = fresh.getElementById(old.id);
          if (replacement) { old.replaceWith(document.importNode(replacement, true)); }
        });
        var latest = Number(fresh.body.dataset.latestTransition || shown);
        if (latest > shown) { shown = latest; }
        body.dataset.latestTransition = String(shown);
        document.title = fresh.title;
        say("Live: updated at " + new Date().toLocaleTimeString() + " (transition " + shown + ")");
      })
      .catch(function (error) { say("Live: cannot refresh (" + error.message + ")"); })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  function connect() {
    var source = new EventSource("/live");
    source.addEventListener("open", function () { say("Live: on"); });
    source.addEventListener("transition", function (message) {
      var id = Number(message.data);
      if (id > shown) { shown = id; refresh(); }
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        say("Live: off, retrying in 10 s");
        setTimeout(connect, 10000);
      } else {
        say("Live: reconnecting…");
      }
    });
  }

  if (window.EventSource && window.fetch) { connect(); } else { say("Live: not supported by this browser; reload to update"); }
})();
