// Hash the public API-key id in the browser (Web Crypto) so that only its SHA-256 is sent.
// The field holding the id has no name attribute: the form can never submit it.
(function () {
  "use strict";
  var form = document.getElementById("leaked-key-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  form.addEventListener("submit", function (event) {
    var input = document.getElementById("key-id");
    var hidden = form.querySelector("input[name=key_hash]");
    if (hidden.value) { return; }
    event.preventDefault();
    var bytes = new TextEncoder().encode(input.value.trim());
    window.crypto.subtle.digest("SHA-256", bytes).then(function (digest) {
      hidden.value = Array.from(new Uint8Array(digest)).map(function (b) {
        return b.toString(16).padStart(2, "0");
      }).join("");
      input.value = "";
      form.submit();
    });
  });
  document.getElementById("key-hash-note").hidden = true;
})();
