// The physician's opinion form: keep a draft on the server as they type (the form works without this).
(function () {
  "use strict";
  var form = document.getElementById("opinion-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = document.getElementById("draft-status");
  var url = form.getAttribute("data-draft-url");
  var timer = null;
  var dirty = false;

  function say(text) { if (status) { status.textContent = text; } }

  function save() {
    timer = null;
    if (!dirty) { return; }
    dirty = false;
    var body = new FormData(form);
    body.delete("attest");
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        var at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        say(answer.saved ? "Draft saved at " + at + "." : "This opinion is already signed.");
      })
      .catch(function () {
        dirty = true;
        say("The draft could not be saved just now; it will be tried again. Use Save draft to be sure.");
      });
  }

  function changed() {
    dirty = true;
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(save, 1500);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  window.addEventListener("pagehide", function () {
    if (!dirty || !navigator.sendBeacon) { return; }
    var body = new FormData(form);
    body.delete("attest");
    navigator.sendBeacon(url, body);
  });
}());
