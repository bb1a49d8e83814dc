// funcmlp derive --format html: the step control and the chain rule of a clicked weight.
// Reads the page's JSON (id "data"); fetches nothing.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const stages = Array.from(document.querySelectorAll(".stage"));
  const select = document.getElementById("stage-list");
  let current = 0;

  function element(id) { return document.getElementById(id); }

  function show(index) {
    current = Number.isInteger(index) ? Math.max(0, Math.min(stages.length - 1, index)) : 0;
    stages.forEach((stage, i) => { stage.hidden = i !== current; });
    select.value = String(current);
    document.querySelectorAll(".reads, .writes").forEach((e) => e.classList.remove("reads", "writes"));
    // the numbers of the current step's stages only (a gradient step is a group); a parameter's new value
    // ("w", in its box) sends away what stood beside its old one
    const group = data.stages[current].group;
    let start = current;
    while (start > 0 && data.stages[start - 1].group === group) start -= 1;
    const values = {};
    data.stages.slice(start, current + 1).forEach((stage) => {
      stage.marks.forEach(([id, key, text]) => {
        if (key === "w") values[id] = {};
        (values[id] = values[id] || {})[key] = text;
      });
    });
    document.querySelectorAll(".weight").forEach((node) => {
      const box = node.querySelector("text:not(.values)");
      const shown = values[node.id] || {};
      box.textContent = "w" in shown ? shown.w : box.dataset.initial;
    });
    document.querySelectorAll("[data-values]").forEach((node) => {
      const shown = values[node.dataset.values] || {};
      const keys = JSON.parse(node.dataset.keys);
      node.querySelectorAll("tspan").forEach((span, i) => {
        const key = keys[i];
        span.textContent = key in shown ? key + " " + shown[key] : "";
      });
    });
    const stage = data.stages[current];
    stage.reads.forEach((id) => { const e = element(id); if (e) e.classList.add("reads"); });
    stage.writes.forEach((id) => { const e = element(id); if (e) e.classList.add("writes"); });
    element("position").textContent = (current + 1) + " / " + stages.length;
    link("step", String(current + 1));
  }

  function link(name, value) {  // the address follows the page: a link to what is shown
    const asked = new URLSearchParams(location.hash.slice(1));
    asked.set(name, value);
    history.replaceState(null, "", "#" + decodeURIComponent(asked.toString()));  // w^2_{1,1} as written
  }

  function choose(name) {
    document.querySelectorAll(".weight.chosen").forEach((e) => e.classList.remove("chosen"));
    const weight = document.querySelector('.weight[data-name="' + CSS.escape(name) + '"]');
    if (weight) weight.classList.add("chosen");
    const panel = element("chain");
    panel.innerHTML = data.chain[name] || data.no_chain;
    panel.dataset.weight = name;
    link("weight", name);
  }

  document.querySelectorAll(".weight text:not(.values)").forEach((box) => { box.dataset.initial = box.textContent; });
  element("previous").addEventListener("click", () => show(current - 1));
  element("next").addEventListener("click", () => show(current + 1));
  select.addEventListener("change", () => show(Number(select.value)));
  document.addEventListener("keydown", (event) => {
    if (event.target === select) return;  // the list moves by its own arrow keys
    if (event.key === "ArrowRight") show(current + 1);
    if (event.key === "ArrowLeft") show(current - 1);
  });
  document.querySelectorAll(".weight").forEach((weight) => {
    weight.addEventListener("click", () => {  // the chain rule is under the board: bring it into the window
      choose(weight.dataset.name);
      element("chain-section").scrollIntoView({ block: "nearest" });
    });
  });
  // a link may name a step and a weight: page.html#step=12&weight=w^2_{1,1}; a changed link goes there
  function follow() {
    const asked = new URLSearchParams(location.hash.slice(1));
    const step = Number(asked.get("step"));
    show(Number.isInteger(step) && step >= 1 ? step - 1 : 0);
    if (asked.has("weight")) choose(asked.get("weight"));
  }
  window.addEventListener("hashchange", follow);
  follow();
  document.body.dataset.ready = "true";
})();
