// Keyboard shortcuts of the moderator's pages. Every one of them has a link or button on the
// page, so nothing here is needed to work; it only saves hands a trip to the mouse.
(function () {
  "use strict";

  function typing(event) {
    var target = event.target;
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName) &&
      target.tagName !== "BUTTON";
  }

  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row] a"));
  }

  function moveInQueue(step) {
    var links = queueRows();
    if (!links.length) { return false; }
    var at = links.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(Math.max(at + step, 0), links.length - 1);
    links[next].focus();
    return true;
  }

  function preset(status) {
    var form = document.getElementById("decision-form");
    if (!form) { return false; }
    var reasons = {verified: "proof_sufficient", partially_verified: "proof_partial",
                   rejected: "evidence_insufficient", needs_info: "evidence_insufficient"};
    form.elements.status.value = status;
    form.elements.reason.value = reasons[status];
    form.elements.note.focus();
    return true;
  }

  function clickKey(key) {
    var element = document.querySelector('[data-key="' + key + '"]');
    if (!element) { return false; }
    element.click();
    return true;
  }

  var PRESETS = {v: "verified", p: "partially_verified", r: "rejected", i: "needs_info"};

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    var key = event.key, done = false;
    if (key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) { help.open = !help.open; help.querySelector("summary").focus(); done = true; }
    } else if (key === "j" || key === "k") {
      done = moveInQueue(key === "j" ? 1 : -1) || clickKey(key);
    } else if (key === "c") {
      done = clickKey("c");
    } else if (PRESETS[key]) {
      done = preset(PRESETS[key]) || clickKey(key);
    }
    if (done) { event.preventDefault(); }
  });
})();
