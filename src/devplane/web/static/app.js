// devplane's page behaviour, loaded as a file (the CSP allows no inline script or on* attributes).
"use strict";
(function () {
  var OAUTH_TYPE = "mcp-oauth2-complete";

  // Authentication section: show only the chosen type's fields (the others stay in the DOM,
  // disabled, so they are neither shown nor sent).
  function syncAuth(select) {
    document.querySelectorAll("[data-auth]").forEach(function (box) {
      var on = box.getAttribute("data-auth") === select.value;
      box.hidden = !on;
      box.querySelectorAll("input, textarea, select").forEach(function (el) { el.disabled = !on; });
    });
  }

  // <dialog> confirms: open with showModal (focus trap, Esc closes), Cancel closes.
  function onClick(event) {
    var target = event.target.closest("[data-open-dialog], [data-close-dialog], [data-copy], a.oauth-connect");
    if (!target) return;
    if (target.hasAttribute("data-open-dialog")) {
      document.getElementById(target.getAttribute("data-open-dialog")).showModal();
    } else if (target.hasAttribute("data-close-dialog")) {
      target.closest("dialog").close();
    } else if (target.hasAttribute("data-copy")) {
      var field = document.getElementById(target.getAttribute("data-copy"));
      var status = target.parentElement.querySelector("[data-copy-status]");
      field.select();
      navigator.clipboard.writeText(field.value).then(
        function () { if (status) status.textContent = "Copied."; },
        function () { if (status) status.textContent = "Select the text and copy it."; }
      );
    } else {
      connect(event, target);
    }
  }

  // OAuth2 Connect: a 900x600 popup opened from the click; the completion message counts only
  // from our origin, from that popup, with the right type and the server id being connected.
  function connect(event, link) {
    var serverId = link.getAttribute("data-server-id");
    var popup = window.open(link.href, "devplane-oauth", "width=900,height=600");
    var status = document.querySelector('[data-oauth-status="' + serverId + '"]');
    if (!popup) {
      // Blocked: the link itself (target=_blank) still works; say so.
      if (status) status.textContent = "The popup was blocked; the link opens in a new tab instead.";
      return;
    }
    event.preventDefault();
    if (status) status.textContent = "Waiting for the provider…";
    function onMessage(msg) {
      if (msg.origin !== window.location.origin || msg.source !== popup) return;
      var data = msg.data || {};
      if (data.type !== OAUTH_TYPE || data.serverID !== serverId) return;
      window.removeEventListener("message", onMessage);
      if (status) status.textContent = "Connected.";
      document.body.setAttribute("data-oauth-connected", serverId);
      window.location.reload();
    }
    window.addEventListener("message", onMessage);
    var poll = window.setInterval(function () {
      if (popup.closed) {
        window.clearInterval(poll);
        if (status && status.textContent === "Waiting for the provider…") status.textContent = "";
      }
    }, 500);
  }

  // The chat stream: htmx-ext-sse when the chat loop serves it; otherwise say reloads are needed.
  function startStream() {
    var box = document.getElementById("transcript");
    if (!box || !window.EventSource) return;
    var url = box.getAttribute("data-stream-url");
    var live = document.getElementById("live");
    var announce = document.getElementById("announce");
    var stop = document.getElementById("stop");
    var source = new EventSource(url);
    var opened = false;
    source.onopen = function () { opened = true; };
    source.onerror = function () {
      if (!opened) {
        source.close();
        document.getElementById("stream-note").hidden = false;
      }
    };
    source.addEventListener("message_part", function (e) {
      var data = JSON.parse(e.data);
      live.setAttribute("aria-busy", "true");
      if (stop) stop.disabled = false;
      // ChatStreamEvent: {"type": "message_part", "message_part": {"role": ..., "part": {...}}}.
      var part = (data.message_part && data.message_part.part) || {};
      var text = part.type === "text" ? part.text || "" : "";
      live.appendChild(document.createTextNode(text));
    });
    // Committed messages are shown by reloading the page, once per turn: reloading on every
    // `message` event would reload up to three times a tool step and race the user's typing.
    // The event carries ChatStreamEvent.status = {status, last_error}.
    var busy = false;
    var dirty = false;
    function reloadIfSettled() {
      if (dirty && !busy) {
        dirty = false;
        announce.textContent = "Response complete.";
        window.location.reload();
      }
    }
    source.addEventListener("message", function () {
      dirty = true;
      // A message with no turn around it (another tab's edit): reload unless a status follows.
      if (!busy) window.setTimeout(reloadIfSettled, 1000);
    });
    source.addEventListener("status", function (e) {
      var data = JSON.parse(e.data);
      var status = data.status && data.status.status;
      busy = status === "running" || status === "pending";
      live.setAttribute("aria-busy", busy ? "true" : "false");
      if (stop) stop.disabled = !busy;
      reloadIfSettled();
    });
    if (stop) {
      stop.addEventListener("click", function () {
        var token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
        fetch(stop.getAttribute("data-interrupt-url"), { method: "POST", headers: { "X-CSRF-Token": token } });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-auth-select]");
    if (select) {
      syncAuth(select);
      select.addEventListener("change", function () { syncAuth(select); });
    }
    document.addEventListener("click", onClick);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    startStream();
  });

  // After an htmx swap, move focus to the new result so keyboard and screen-reader users hear it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var result = event.detail.target.querySelector("[tabindex='-1']");
    if (result) result.focus();
  });
})();
