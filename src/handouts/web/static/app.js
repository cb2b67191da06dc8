// Progressive enhancement only: every form works without this script.
(function () {
  "use strict";

  // After a failed submit, move focus to the list of problems so it is read out first.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  var result = document.getElementById("screen-result");
  if (!summary && result) result.focus();

  // Print: fetch the packet and open the browser's print dialog on it, without leaving the page.
  var form = document.getElementById("packet-form");
  var status = document.getElementById("print-status");
  function say(text) { if (status) status.textContent = text; }
  if (form && window.fetch && window.URL && URL.createObjectURL) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || button.value !== "print") return;
      event.preventDefault();
      var data = new FormData(form);
      data.set("action", "print");
      say("Preparing the packet for printing…");
      // form.action would be the buttons named "action": read the attribute.
      fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (response.ok && type.indexOf("application/pdf") === 0) {
            return response.blob().then(printPdf);
          }
          // Not a packet: submit normally, so the page shows the problems beside the fields.
          submitHere("print");
        })
        .catch(function () { submitHere("print"); });
    });
  }

  function submitHere(action) {
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "action";
    hidden.value = action;
    form.appendChild(hidden);
    form.removeAttribute("target");
    form.submit();
  }

  function printPdf(blob) {
    var url = URL.createObjectURL(blob);
    var old = document.getElementById("print-frame");
    if (old) old.remove();
    var frame = document.createElement("iframe");
    frame.id = "print-frame";
    frame.title = "Packet to print";
    frame.className = "visually-hidden";
    frame.addEventListener("load", function () {
      try {
        frame.contentWindow.focus();
        frame.contentWindow.print();
        say("The print dialog is open.");
      } catch (e) {
        window.open(url, "_blank");
        say("The packet opened in a new tab: print it from there.");
      }
    });
    frame.src = url;
    document.body.appendChild(frame);
  }

  // Preview pages reload by themselves when a file under content/ or templates/ changes.
  var body = document.body;
  var version = body.getAttribute("data-version");
  var versionUrl = body.getAttribute("data-version-url");
  if (version && versionUrl && window.fetch) {
    window.setInterval(function () {
      fetch(versionUrl, { cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && data.version && data.version !== version) {
            version = data.version;
            window.location.reload();
          }
        })
        .catch(function () { /* server restarting: try again next time */ });
    }, 1000);
  }
})();
