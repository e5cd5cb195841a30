// docs default theme: dark-mode toggle, mobile menu, copy buttons, search.
// Plain JS, no framework, no network beyond this site's own files.
(function () {
  "use strict";
  var root = document.body.dataset.root || "";
  var html = document.documentElement;

  // Dark mode: follows the OS until the reader picks, then persists.
  var toggle = document.querySelector(".theme-toggle");
  if (toggle) toggle.addEventListener("click", function () {
    var dark = html.dataset.theme ? html.dataset.theme === "dark"
      : window.matchMedia("(prefers-color-scheme: dark)").matches;
    html.dataset.theme = dark ? "light" : "dark";
    try { localStorage.setItem("docs-theme", html.dataset.theme); } catch (e) {}
  });

  var menu = document.querySelector(".menu-toggle");
  if (menu) menu.addEventListener("click", function () {
    var open = document.body.classList.toggle("nav-open");
    menu.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Copy buttons on every code block.
  document.querySelectorAll("figure.code").forEach(function (fig) {
    var code = fig.querySelector("pre code");
    if (!code) return;
    var b = document.createElement("button");
    b.type = "button"; b.className = "copy"; b.textContent = "Copy";
    b.setAttribute("aria-label", "Copy code to clipboard");
    b.addEventListener("click", function () {
      var text = code.innerText;
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else { fallbackCopy(text); done(); }
    });
    fig.appendChild(b);
  });
  // Buttons that copy a command (`docs run … --only STEP` on runbook steps).
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var text = b.getAttribute("data-copy");
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else { fallbackCopy(text); done(); }
    });
  });
  function fallbackCopy(text) {
    var t = document.createElement("textarea");
    t.value = text; t.style.position = "fixed"; t.style.opacity = "0";
    document.body.appendChild(t); t.select();
    try { document.execCommand("copy"); } catch (e) {}
    document.body.removeChild(t);
  }

  // Search: the index is a script loaded on first use (works from file://).
  var input = document.getElementById("search");
  var box = document.getElementById("search-results");
  if (!input || !box) return;
  var loading = false, pending = false;
  function ensureIndex(then) {
    if (window.DOCS_SEARCH_INDEX) return then();
    pending = then;
    if (loading) return;
    loading = true;
    var s = document.createElement("script");
    s.src = root + "search-index.js";
    s.onload = function () { if (pending) pending(); };
    s.onerror = function () { box.hidden = false; box.innerHTML = '<div class="none">Search index could not be loaded.</div>'; };
    document.head.appendChild(s);
  }
  function words(q) {
    return q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(function (w) { return w.length >= 2; });
  }
  function decode(list) {
    var out = [], prev = 0;
    list.split(",").forEach(function (d) { prev += parseInt(d, 36); out.push(prev); });
    return out;
  }
  function lookup(idx, w, prefix) {
    var hits = {};
    if (idx.terms[w]) decode(idx.terms[w]).forEach(function (p) { hits[p] = 2; });
    if (prefix) for (var t in idx.terms) {
      if (t.length > w.length && t.lastIndexOf(w, 0) === 0) decode(idx.terms[t]).forEach(function (p) { if (!hits[p]) hits[p] = 1; });
    }
    return hits;
  }
  function search(q) {
    var idx = window.DOCS_SEARCH_INDEX, ws = words(q);
    if (!ws.length) return [];
    var score = null;
    ws.forEach(function (w, i) {
      var hits = lookup(idx, w, i === ws.length - 1);
      var next = {};
      for (var p in hits) if (score === null || score[p] !== undefined) next[p] = (score ? score[p] : 0) + hits[p];
      score = next;
    });
    return Object.keys(score).map(function (p) {
      var page = idx.pages[p], s = score[p], t = page.t.toLowerCase(), heading = null;
      ws.forEach(function (w) { if (t.indexOf(w) >= 0) s += 5; });
      page.h.forEach(function (h) {
        var ht = h[1].toLowerCase();
        if (!heading && ws.every(function (w) { return ht.indexOf(w) >= 0; })) heading = h;
      });
      if (heading) s += 3;
      return { page: page, score: s, heading: heading, order: +p };
    }).sort(function (a, b) { return b.score - a.score || a.order - b.order; }).slice(0, 20);
  }
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  var active = -1;
  function show() {
    var q = input.value.trim();
    if (!q) { box.hidden = true; return; }
    ensureIndex(function () {
      var results = search(input.value.trim());
      active = -1;
      box.hidden = false;
      if (!results.length) { box.innerHTML = '<div class="none">No results for “' + esc(q) + '”</div>'; return; }
      box.innerHTML = results.map(function (r) {
        var href = root + r.page.u + (r.heading ? "#" + r.heading[0] : "");
        var title = esc(r.page.t) + (r.heading ? " › " + esc(r.heading[1]) : "");
        return '<a role="option" href="' + esc(href) + '">' + title + "<small>" + esc(r.page.d) + "</small></a>";
      }).join("");
    });
  }
  input.addEventListener("input", show);
  input.addEventListener("focus", function () { ensureIndex(function () {}); if (input.value) show(); });
  input.addEventListener("keydown", function (e) {
    var links = box.querySelectorAll("a");
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!links.length) return;
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : links.length - 1)) % links.length;
      links.forEach(function (a, i) { a.classList.toggle("active", i === active); });
    } else if (e.key === "Enter" && links.length) {
      e.preventDefault();
      window.location.href = links[Math.max(active, 0)].getAttribute("href");
    } else if (e.key === "Escape") {
      box.hidden = true; input.blur();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== input && !/INPUT|TEXTAREA/.test(document.activeElement.tagName)) {
      e.preventDefault(); input.focus();
    }
  });
  document.addEventListener("click", function (e) { if (!e.target.closest(".search")) box.hidden = true; });
})();
