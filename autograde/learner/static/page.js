// The module page's own script: loaded in <head> by the Voilà template "hcwh"
// (autograde/learner/share/voila/templates/hcwh), served at <base>/hcwh/page.js by autograde.learner.
//
// 1. Lost connection or kernel (its websocket closed; the kernel restarting or dead; or a request
//    unanswered for 10 s): a banner (role=alert) says so, and what was saved: the time of the
//    newest save the kernel confirmed (status lines carry data-hcwh-saved, set only after answers.json
//    was written: curriculum/learner.py _status).
// 2. Reflections kept in the browser (sessionStorage, this tab) from each keystroke until the kernel
//    confirms that the same words are saved; a reload puts back any not confirmed, which saves them.
// 3. Role-play reactions and endings (class hcwh-announce, a live region): the focus moves to each as
//    it appears, so a screen reader reads it and the next Tab reaches the button after it.
// 4. Radio buttons and tick boxes in a named group (ipywidgets gives neither group a role or name).
(function () {
  "use strict";
  var DRAFT = "hcwh-draft:" + location.pathname + ":";
  var savedAt = 0, lost = null, leaving = false;
  var ANSWER_MS = 10000;

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], {hour: "numeric", minute: "2-digit"});
  }
  function drafts() {
    var n = 0;
    try {
      for (var i = 0; i < sessionStorage.length; i++) {
        if (sessionStorage.key(i).indexOf(DRAFT) === 0) { n++; }
      }
    } catch (e) { /* storage refused: nothing kept */ }
    return n;
  }

  // -- 1. the banner -----------------------------------------------------------------------------
  function banner(why) {
    if (lost || leaving) { return; }
    lost = why;
    var box = document.createElement("div");
    box.id = "hcwh-connection";
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = (why === "kernel" ? "This page has stopped working. " : "Not connected. ") +
      (savedAt ? "Your answers up to " + clock(savedAt) + " are saved. "
               : "Nothing you answered on this page is saved yet. ") +
      (drafts() ? "The reflection you were typing is kept in this browser and comes back when you reload. " : "") +
      "Reload the page to go on.";
    var again = document.createElement("button");
    again.type = "button";
    again.textContent = "Reload the page";
    again.addEventListener("click", function () { location.reload(); });
    box.appendChild(p);
    box.appendChild(again);
    (document.getElementById("hcwh-connection-area") || document.body).appendChild(box);
  }

  // The kernel's state from one frame of its websocket: JSON text, or jupyter_server's v1 binary
  // frame (a count, offsets, then channel, header, parent header, metadata, content, buffers).
  function kernelState(data) {
    try {
      var header, content;
      if (typeof data === "string") {
        var msg = JSON.parse(data);
        header = msg.header; content = msg.content;
      } else if (data instanceof ArrayBuffer) {
        var view = new DataView(data), n = Number(view.getBigUint64(0, true)), at = [];
        if (n < 6) { return null; }
        for (var i = 0; i < n; i++) { at.push(Number(view.getBigUint64(8 * (i + 1), true))); }
        var text = function (k) { return new TextDecoder().decode(new Uint8Array(data, at[k], at[k + 1] - at[k])); };
        header = JSON.parse(text(1));
        if (!header || header.msg_type !== "status") { return null; }
        content = JSON.parse(text(4));
      } else { return null; }
      return header && header.msg_type === "status" ? content.execution_state : null;
    } catch (e) { return null; }
  }

  var Native = window.WebSocket;
  function Watched(url, protocols) {
    var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    if (/\/api\/kernels\/[^/]+\/channels/.test(String(url))) {
      // A kernel shut down leaves its websocket open and silent: a request with no answer at all
      // (every request makes the kernel say "busy") within ANSWER_MS means it is gone.
      var waiting = null, send = ws.send;
      ws.send = function () {
        if (waiting === null) { waiting = setTimeout(function () { banner("kernel"); }, ANSWER_MS); }
        return send.apply(ws, arguments);
      };
      ws.addEventListener("close", function () { banner("connection"); });
      ws.addEventListener("message", function (e) {
        clearTimeout(waiting);
        waiting = null;
        var state = kernelState(e.data);
        if (state === "restarting" || state === "dead") { banner("kernel"); }
      });
    }
    return ws;
  }
  Watched.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Watched[k] = Native[k]; });
  window.WebSocket = Watched;
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("beforeunload", function () { leaving = true; });

  // -- 2. reflections kept until saved -----------------------------------------------------------
  function reflection(el) {
    var box = el && el.closest ? el.closest(".hcwh-reflection") : null;
    var m = box ? /(?:^|\s)hcwh-r-(\S+)/.exec(box.className) : null;
    return m ? {box: box, key: DRAFT + m[1]} : null;
  }
  document.addEventListener("input", function (e) {
    var r = e.target && e.target.tagName === "TEXTAREA" ? reflection(e.target) : null;
    if (r) {  // after a loss too: what is typed then comes back on reload
      try { sessionStorage.setItem(r.key, e.target.value); } catch (err) { /* storage refused */ }
    }
  }, true);

  function confirmed(status) {
    var ms = Number(status.getAttribute("data-hcwh-saved"));
    if (ms > savedAt) { savedAt = ms; }
    var r = status.hasAttribute("data-hcwh-text") ? reflection(status) : null;
    try {
      if (r && sessionStorage.getItem(r.key) === status.getAttribute("data-hcwh-text")) {
        sessionStorage.removeItem(r.key);
      }
    } catch (e) { /* storage refused */ }
  }
  function restore(area) {
    var r = reflection(area), kept = null;
    try { kept = r ? sessionStorage.getItem(r.key) : null; } catch (e) { return; }
    if (kept === null || kept === area.value) { return; }
    area.value = kept;  // the widget sends it to the kernel, which saves it and confirms
    area.dispatchEvent(new Event("input", {bubbles: true}));
  }

  // -- 4. groups named: a radio group by its "Your answer:", a question's tick boxes by its first line
  var ids = 0;
  function named(target, label, role) {
    if (!label || !label.textContent.trim()) { return; }
    label.id = label.id || "hcwh-label-" + (++ids);
    target.setAttribute("role", role);
    target.setAttribute("aria-labelledby", label.id);
  }
  function group(node) {
    var radio = node.closest(".widget-radio");
    if (radio) { named(radio.querySelector(".widget-radio-box"), radio.querySelector(":scope > .widget-label"), "radiogroup"); }
    var q = node.closest(".hcwh-question");
    if (q && !q.hasAttribute("role") && q.querySelector(".widget-checkbox")) {
      named(q, q.querySelector(".widget-html-content p"), "group");
    }
  }

  function seen(node) {
    if (node.nodeType !== 1) { return; }
    group(node);
    var all = function (sel) { return (node.matches(sel) ? [node] : []).concat([].slice.call(node.querySelectorAll(sel))); };
    all("[data-hcwh-saved]").forEach(confirmed);
    all(".hcwh-reflection textarea").forEach(function (a) { setTimeout(function () { restore(a); }, 0); });
    // -- 3. reactions and endings get the focus ----------------------------------------------------
    all(".hcwh-announce").forEach(function (a) { if (!lost) { a.focus(); } });
  }
  new MutationObserver(function (changes) {
    changes.forEach(function (c) { [].forEach.call(c.addedNodes, seen); });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
