// The meeting stage. Runs inside the component's frame (same origin as the dashboard), so it can listen to
// the keyboard of the whole page, cover the page while presenting, and remember the slide across reloads.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("wt-config").textContent);
  const words = config.words;
  const slides = Array.from(document.querySelectorAll("#wt-deck > section.slide"));
  const total = slides.length;
  const storeKey = "worktrack.meeting." + config.deck;
  const frame = window.frameElement;
  const host = frame ? window.parent : null;
  let index = clamp(parseInt(readStore() || "0", 10));
  let presenting = false;

  function clamp(i) { return Math.max(0, Math.min(total - 1, isNaN(i) ? 0 : i)); }
  function readStore() { try { return window.localStorage.getItem(storeKey); } catch (e) { return null; } }
  function writeStore(i) { try { window.localStorage.setItem(storeKey, String(i)); } catch (e) { /* private mode */ } }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---------------------------------------------------------------- the stage
  function buildStage() {
    const app = el("div", {id: "wt-app"});
    const bar = el("div", {id: "wt-toolbar"});
    const prev = el("button", {id: "wt-prev", type: "button", title: "←"}, "◀ " + words.prev);
    const count = el("span", {class: "count", id: "wt-count"});
    const next = el("button", {id: "wt-next", type: "button", title: "→"}, words.next + " ▶");
    const present = el("button", {id: "wt-present", type: "button", class: "primary"}, words.present);
    const presenter = el("button", {id: "wt-presenter-open", type: "button"}, words.presenter);
    bar.append(prev, count, next, present, presenter, el("span", {class: "keys"}, words.keys));
    const viewport = el("div", {id: "wt-viewport"});
    const stage = el("div", {id: "wt-stage"});
    slides.forEach((s) => stage.appendChild(s));
    const leave = el("button", {id: "wt-leave", type: "button"}, words.leave);
    viewport.append(stage, leave);
    const progress = el("div", {id: "wt-progress"});
    progress.appendChild(el("div", {id: "wt-progress-bar"}));
    app.append(bar, viewport, progress);
    document.body.appendChild(app);
    prev.addEventListener("click", () => go(index - 1));
    next.addEventListener("click", () => go(index + 1));
    present.addEventListener("click", () => setPresenting(true));
    leave.addEventListener("click", () => setPresenting(false));
    presenter.addEventListener("click", openPresenter);
    viewport.addEventListener("click", (e) => { if (presenting && e.target.id !== "wt-leave") go(index + 1); });
  }

  function fit() {
    const viewport = document.getElementById("wt-viewport");
    const stage = document.getElementById("wt-stage");
    const w = viewport.clientWidth, h = viewport.clientHeight;
    const scale = Math.min(w / 1280, h / 720);
    stage.style.transform = "scale(" + scale + ")";
    stage.style.left = Math.max(0, (w - 1280 * scale) / 2) + "px";
    stage.style.top = Math.max(0, (h - 720 * scale) / 2) + "px";
    document.body.dataset.scale = scale.toFixed(4);
  }

  function show() {
    slides.forEach((s, i) => s.classList.toggle("active", i === index));
    const count = document.getElementById("wt-count");
    if (count) count.textContent = (index + 1) + " / " + total;
    const prev = document.getElementById("wt-prev"), next = document.getElementById("wt-next");
    if (prev) prev.disabled = index === 0;
    if (next) next.disabled = index === total - 1;
    const bar = document.getElementById("wt-progress-bar");
    if (bar) bar.style.width = ((index + 1) / total * 100) + "%";
    document.body.dataset.slide = String(index);
    if (config.view === "presenter") renderPresenter();
  }

  function go(i) {
    const next = clamp(i);
    if (next === index) return;
    index = next;
    writeStore(index);
    show();
  }

  let saved = null;
  function setPresenting(on) {
    presenting = on;
    document.body.classList.toggle("presenting", on);
    if (frame) {
      if (on) {
        saved = {css: frame.style.cssText, overflow: host.document.documentElement.style.overflow};
        frame.style.cssText = "position:fixed;inset:0;width:100vw;height:100vh;z-index:999999;border:0;" +
                              "background:#000;margin:0;max-width:none;";
        host.document.documentElement.style.overflow = "hidden";
      } else if (saved) {
        frame.style.cssText = saved.css;
        host.document.documentElement.style.overflow = saved.overflow;
      }
    }
    fit();
    window.focus();
  }

  function openPresenter() {
    if (!host) return;
    const url = new URL(host.location.href);
    url.searchParams.set("view", "presenter");
    host.open(url.toString(), "_blank");
  }

  // ---------------------------------------------------------------- the presenter's view
  let started = Date.now();
  function buildPresenter() {
    const root = el("div", {id: "wt-presenter"});
    const header = el("header");
    header.append(el("span", {id: "wt-count"}), el("span", {class: "clock", id: "wt-clock"}),
                  el("span", {class: "label"}, words.keys));
    const current = el("div", {class: "pane", id: "wt-current"});
    const side = el("div", {class: "side"});
    const upcoming = el("div", {class: "pane", id: "wt-upcoming"});
    const notes = el("div", {class: "notes", id: "wt-notes"});
    side.append(el("div", {class: "label"}, words.next_slide), upcoming, notes);
    root.append(header, current, side);
    document.body.appendChild(root);
    setInterval(() => {
      const s = Math.floor((Date.now() - started) / 1000);
      document.getElementById("wt-clock").textContent =
        words.elapsed + " " + String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    }, 1000);
    if (frame) { frame.style.height = "100vh"; frame.height = host.innerHeight; }
  }

  function place(pane, slide) {
    pane.replaceChildren();
    if (!slide) { pane.appendChild(el("div", {class: "label", style: "padding:12px"}, words.end)); return; }
    const scaler = el("div", {class: "scaler"});
    scaler.appendChild(slide.cloneNode(true));
    pane.appendChild(scaler);
    const scale = Math.min(pane.clientWidth / 1280, pane.clientHeight / 720) || 0.5;
    scaler.style.transform = "scale(" + scale + ")";
    if (pane.clientHeight === 0) pane.style.height = Math.round(720 * scale) + "px";
  }

  function renderPresenter() {
    const current = document.getElementById("wt-current"), upcoming = document.getElementById("wt-upcoming");
    current.style.height = Math.round(current.clientWidth * 9 / 16) + "px";
    upcoming.style.height = Math.round(upcoming.clientWidth * 9 / 16) + "px";
    place(current, slides[index]);
    place(upcoming, slides[index + 1]);
    document.getElementById("wt-notes").textContent = slides[index].querySelector("aside.notes").textContent;
    document.getElementById("wt-count").textContent = (index + 1) + " / " + total + " · " + config.titles[index];
  }

  // ---------------------------------------------------------------- keyboard and clicker
  function onKey(event) {
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const key = event.key;
    let handled = true;
    if (key === "ArrowRight" || key === "PageDown" || (key === " " && !event.shiftKey) || key === "ArrowDown") {
      go(index + 1);
    } else if (key === "ArrowLeft" || key === "PageUp" || (key === " " && event.shiftKey) || key === "ArrowUp") {
      go(index - 1);
    } else if (key === "Home") {
      go(0);
    } else if (key === "End") {
      go(total - 1);
    } else if ((key === "f" || key === "F" || key === "F5") && config.view !== "presenter") {
      setPresenting(!presenting);
    } else if (key === "Escape" && presenting) {
      setPresenting(false);
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  }

  window.addEventListener("keydown", onKey);
  if (host) {
    // one listener on the page at a time: a rerun replaces this frame, and its listener with it
    try {
      if (host.__worktrackStageKeys) host.document.removeEventListener("keydown", host.__worktrackStageKeys);
      const relay = (event) => {
        if (!frame.isConnected) { host.document.removeEventListener("keydown", relay); return; }
        onKey(event);
      };
      host.__worktrackStageKeys = relay;
      host.document.addEventListener("keydown", relay);
    } catch (e) { /* a page that is not ours: keys work once the slide has focus */ }
  }
  window.addEventListener("storage", (event) => {
    if (event.key === storeKey && event.newValue !== null) { index = clamp(parseInt(event.newValue, 10)); show(); }
  });
  window.addEventListener("resize", () => { if (config.view === "presenter") renderPresenter(); else fit(); });

  if (config.view === "presenter") { buildPresenter(); } else { buildStage(); fit(); }
  show();
  writeStore(index);
})();
