// kerf API docs: renders the OpenAPI document served by this daemon.
// Hand-written and dependency-free; it only reads the document.
"use strict";

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};

// resolve follows a local "$ref" ("#/components/schemas/Job").
function resolve(doc, obj) {
  let seen = 0;
  while (obj && obj.$ref && seen++ < 20) {
    obj = obj.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), doc);
  }
  return obj || {};
}

// schemaText renders a schema as a compact JSON-like sketch.
function schemaText(doc, schema, depth = 0) {
  const name = schema && schema.$ref ? schema.$ref.split("/").pop() : "";
  schema = resolve(doc, schema);
  if (depth > 3) return name || schema.type || "…";
  if (schema.type === "array") return "[" + schemaText(doc, schema.items || {}, depth + 1) + "]";
  if (schema.properties) {
    const pad = "  ".repeat(depth + 1);
    const req = new Set(schema.required || []);
    const lines = Object.entries(schema.properties).map(([k, v]) =>
      pad + k + (req.has(k) ? "" : "?") + ": " + schemaText(doc, v, depth + 1) +
      (resolve(doc, v).description ? "  // " + resolve(doc, v).description.split("\n")[0] : ""));
    return (name ? name + " " : "") + "{\n" + lines.join("\n") + "\n" + "  ".repeat(depth) + "}";
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return name || schema.type || (schema.format ? schema.format : "any");
}

function renderOp(doc, path, method, op, pathParams) {
  const role = op["x-kerf-role"] || "?";
  const det = el("details", { class: "op " + method, "data-search": [method, path, op.summary, role].join(" ").toLowerCase() });
  det.append(el("summary", {},
    el("span", { class: "method" }, method.toUpperCase()),
    el("span", { class: "path" }, path),
    el("span", { class: "summary" }, op.summary || ""),
    el("span", { class: "role", title: "least role that may call it" }, role)));
  const body = el("div");
  if (op.description) body.append(el("p", {}, op.description));
  const params = [...(pathParams || []), ...(op.parameters || [])].map((p) => resolve(doc, p));
  if (params.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "description")));
    for (const p of params) t.append(el("tr", {}, el("td", {}, p.name + (p.required ? "" : "?")), el("td", {}, p.in), el("td", {}, p.description || "")));
    body.append(el("h4", {}, "Parameters"), t);
  }
  if (op.requestBody) {
    const rb = resolve(doc, op.requestBody);
    body.append(el("h4", {}, "Request body"));
    for (const [ct, media] of Object.entries(rb.content || {})) {
      body.append(el("p", {}, ct), el("pre", {}, schemaText(doc, media.schema || {})));
    }
  }
  const t = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "meaning"), el("th", {}, "body")));
  for (const [code, r0] of Object.entries(op.responses || {})) {
    const r = resolve(doc, r0);
    const media = Object.entries(r.content || {})[0];
    t.append(el("tr", {}, el("td", {}, code), el("td", {}, r.description || ""),
      el("td", {}, media ? el("pre", {}, media[0] + "\n" + schemaText(doc, media[1].schema || {})) : "")));
  }
  body.append(el("h4", {}, "Responses"), t);
  det.append(body);
  return det;
}

function render(doc) {
  document.getElementById("title").textContent = doc.info.title;
  document.title = doc.info.title;
  document.getElementById("version").textContent = "version " + doc.info.version;
  if (doc.info.description) document.getElementById("intro").append(el("p", {}, doc.info.description));
  const sec = document.getElementById("security");
  sec.append(el("h2", {}, "Authentication"));
  for (const [name, s] of Object.entries((doc.components || {}).securitySchemes || {})) {
    sec.append(el("p", {}, el("b", {}, name + ": "), (s.description || s.type)));
  }
  const ops = document.getElementById("ops");
  ops.textContent = "";
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const tag = (op.tags && op.tags[0]) || path.split("/")[3] || path.split("/")[1];
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(renderOp(doc, path, method, op, item.parameters));
    }
  }
  for (const [tag, list] of groups) {
    ops.append(el("h2", {}, tag), ...list);
  }
}

function filter(q) {
  q = q.trim().toLowerCase();
  for (const d of document.querySelectorAll("details.op")) {
    d.hidden = q !== "" && !d.dataset.search.includes(q);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("filter").addEventListener("input", (e) => filter(e.target.value));
  fetch("/api/v1/openapi.json", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
    .then(render)
    .catch((err) => {
      const ops = document.getElementById("ops");
      ops.textContent = "";
      ops.append(el("p", { class: "error" }, "Cannot load the API description: " + err.message));
    });
});
