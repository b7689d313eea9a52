// The compose page, enhanced. Without this script every button posts the form and the page comes
// back focused where the button acted. With it: questions are added, removed, moved and filled from
// a template in place; the window or the records follow the visit type; the conditions filter as
// the ATP types; and the warnings and the preview are asked of the server after each change (the
// same rules and the same page as a post, fetched and swapped in), so nothing is decided here.
(function () {
  "use strict";
  var form = document.querySelector("form.compose");
  if (!form) { return; }
  document.documentElement.classList.add("js");

  var questions = form.querySelector("#questions");
  var list = questions.querySelector(".question-list");
  var max = parseInt(questions.getAttribute("data-max"), 10) || 20;
  var VERBS = ["up", "down", "remove"];
  var LIVE = ["guard-notes", "physician-notes", "preview-body"];

  function boxes() { return Array.prototype.slice.call(list.querySelectorAll(".question")); }
  function area(box) { return box.querySelector("textarea"); }

  function renumber() {
    var all = boxes();
    all.forEach(function (box, i) {
      var n = i + 1, label = box.querySelector("label");
      label.textContent = "Question " + n;
      label.htmlFor = "question-" + n;
      area(box).id = "question-" + n;
      var buttons = box.querySelectorAll(".question-moves button");
      Array.prototype.forEach.call(buttons, function (button, j) {
        button.value = VERBS[j] + "-" + i;
        button.querySelector(".visually-hidden").textContent = " question " + n;
      });
      buttons[0].disabled = i === 0;
      buttons[1].disabled = i === all.length - 1;
    });
    questions.querySelector("button[value='add-question']").disabled = all.length >= max;
  }

  function appendBox(text) {
    var box = boxes()[0].cloneNode(true);
    area(box).removeAttribute("autofocus");
    area(box).value = text;
    list.appendChild(box);
    return box;
  }

  // The box a question button leaves the ATP on; undefined for any other button.
  function act(action) {
    var all = boxes(), match = /^(up|down|remove)-(\d+)$/.exec(action);
    if (action === "add-question") { return all.length < max ? appendBox("") : null; }
    if (action === "add-template") {
      var text = questions.querySelector("#template").value;
      var blank = all.filter(function (box) { return !area(box).value.trim(); })[0];
      if (blank) { area(blank).value = text; return blank; }
      return all.length < max ? appendBox(text) : null;
    }
    if (!match) { return undefined; }
    var i = parseInt(match[2], 10), box = all[i];
    if (!box) { return null; }
    if (match[1] === "remove") {
      if (all.length === 1) { area(box).value = ""; return box; }
      var stay = all[i + 1] || all[i - 1];
      box.parentNode.removeChild(box);
      return stay;
    }
    if (match[1] === "up" && i > 0) { list.insertBefore(box, all[i - 1]); }
    if (match[1] === "down" && i < all.length - 1) { list.insertBefore(all[i + 1], box); }
    return box;
  }

  questions.addEventListener("click", function (event) {
    var button = event.target.closest("button[name='action']");
    if (!button) { return; }
    var box = act(button.value);
    if (box === undefined) { return; }
    event.preventDefault();
    renumber();
    if (box) { area(box).focus(); }
    refreshSoon(0);
  });

  // Show only what the visit type needs.
  var modality = form.querySelector("#modality-select");
  function showSections() {
    var value = modality.value;
    form.querySelector("#window").hidden = !(value === "in-person" || value === "telehealth");
    form.querySelector("#records").hidden = value !== "record-review";
  }
  modality.addEventListener("change", showSections);

  // Filter the conditions as the ATP types; the field is not posted, so the server never filters too.
  var filter = form.querySelector("#find-condition");
  if (filter) {
    filter.removeAttribute("name");
    filter.addEventListener("keydown", function (event) { if (event.key === "Enter") { event.preventDefault(); } });
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0, total = 0;
      Array.prototype.forEach.call(form.querySelectorAll("#reasons .choice[data-filter]"), function (choice) {
        var text = choice.getAttribute("data-filter").toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) >= 0; });
        choice.hidden = !match;
        total += 1;
        shown += match ? 1 : 0;
      });
      Array.prototype.forEach.call(form.querySelectorAll("#reasons .condition-group"), function (group) {
        group.hidden = !group.querySelector(".choice:not([hidden])");
      });
      form.querySelector("#condition-count").textContent = words.length
        ? shown + " of " + total + " match \u201c" + filter.value.trim() + "\u201d."
        : "Type part of a name, a body site or a year.";
    });
  }

  // Warnings and the preview, from the server: the physician's, the IME guard's, the due date.
  var timer = null, pending = null;
  function refreshSoon(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, delay);
  }
  function refresh() {
    var data = new URLSearchParams(new FormData(form));
    data.set("action", "refresh");
    if (pending) { pending.abort(); }
    pending = new AbortController();
    window.fetch(form.getAttribute("data-step-url"), {
      method: "POST", body: data, credentials: "same-origin", signal: pending.signal,
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html) { swap(new DOMParser().parseFromString(html, "text/html")); }
    }).catch(function () { /* offline or aborted: the buttons still post */ });
  }
  function swap(page) {
    LIVE.forEach(function (id) {
      var mine = document.getElementById(id), theirs = page.getElementById(id);
      if (!mine || !theirs || mine.innerHTML === theirs.innerHTML) { return; }
      var focused = mine.contains(document.activeElement) ? document.activeElement.id : "";
      mine.innerHTML = theirs.innerHTML;
      if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    });
  }

  questions.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") { refreshSoon(500); }
  });
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (["physician", "modality", "window_start", "window_end", "due_by", "acknowledge"].indexOf(name) >= 0) {
      refreshSoon(0);
    }
  });
  var preview = form.querySelector("#preview button[name='action']");
  preview.addEventListener("click", function (event) { event.preventDefault(); refresh(); });

  showSections();
  renumber();
}());
