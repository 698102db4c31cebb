// The task list: what this operator can work on now, grouped by workflow, with "To verify" first
// (lines someone else confirmed that wait for a second person). Scanning a bin or an item narrows
// the list to the tasks that touch it.

import { ApiError, api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { h, replace } from "./dom.js";
import { bad, good } from "./feedback.js";
import { uuid } from "./queue.js";
import { WORKFLOW_ORDER } from "./workflows.js";

const ACTIVE = ["open", "in_progress"];

// Lines still to be done (a line awaiting verification is someone else's to verify).
export function workLines(task) {
  return task.lines.filter((line) => line.status === "open");
}

// Lines waiting for a second person that this user did not confirm first (the server refuses the
// same person anyway; the list does not offer it).
export function verifyLines(task, me) {
  return task.lines.filter((line) => line.status === "awaiting_verification"
    && !line.confirmed_by.some((c) => c.user_id === me.user_id));
}

async function loadTasks() {
  const pages = await Promise.all(ACTIVE.map((status) => api("GET", `/tasks?status=${status}&per_page=500`)));
  return pages.flat().sort((a, b) => a.id - b.id);
}

export function showTaskList(app, main) {
  let tasks = [...app.tasks.values()].filter((task) => ACTIVE.includes(task.status));
  let narrowed = null; // { label, test(task) } after a scan
  let left = false; // a load that finishes after the operator opened a task must not draw over it
  const warehouse = () => localStorage.getItem("handheld.warehouse") || "";

  function card(task, mode, count) {
    const bins = [...new Set(task.lines.map((l) => l.location || l.to_location).filter(Boolean))];
    return h("button.task", {
      type: "button", "data-testid": `task-${task.id}-${mode}`,
      onclick: () => app.go(`#/task/${task.id}/${mode}`),
    },
      h("span.task-title", { text: task.reference || `${t("workflow." + task.workflow)} ${task.id}` }),
      h("span.task-meta", { text: `${task.warehouse} · ${t(mode === "verify" ? "tasks.to_verify_count" : "tasks.lines_open", { count })}` }),
      h("span.task-meta", { text: bins.slice(0, 3).join(", ") + (bins.length > 3 ? " …" : "") }));
  }

  function startPutaway(code) {
    return h("button.big.secondary", {
      type: "button", "data-testid": `start-putaway-${code}`, text: t("tasks.start_putaway", { warehouse: code }),
      onclick: async () => {
        try {
          const task = await api("POST", "/putaway-tasks", { warehouse: code }, { idempotencyKey: uuid() });
          app.rememberTask(task);
          good();
          app.go(`#/task/${task.id}/work`);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          bad();
          app.status(error.offline ? t("offline.action") : error.message, "error");
        }
      },
    });
  }

  function render() {
    if (left) return;
    const me = app.me;
    const codes = [...new Set(tasks.map((task) => task.warehouse))].sort();
    const chosen = codes.includes(warehouse()) ? warehouse() : "";
    const visible = tasks.filter((task) => (!chosen || task.warehouse === chosen) && (!narrowed || narrowed.test(task)));
    const sections = [];

    const verifying = visible.map((task) => [task, verifyLines(task, me).length]).filter(([, n]) => n > 0);
    if (verifying.length) {
      sections.push(h("section.group", { "data-testid": "group-verify" },
        h("h2", { text: t("tasks.verify") }), verifying.map(([task, n]) => card(task, "verify", n))));
    }
    for (const workflow of WORKFLOW_ORDER) {
      const open = visible.filter((task) => task.workflow === workflow)
        .map((task) => [task, workLines(task).length]).filter(([, n]) => n > 0);
      const extra = workflow === "putaway" && !narrowed ? (chosen ? [chosen] : codes).map(startPutaway) : [];
      if (!open.length && !extra.length) continue;
      sections.push(h("section.group", { "data-testid": `group-${workflow}` },
        h("h2", { text: t("workflow." + workflow) }), open.map(([task, n]) => card(task, "work", n)), extra));
    }

    const filters = codes.length > 1 ? h("div.chips", {}, ["", ...codes].map((code) => h("button.chip", {
      type: "button", "aria-pressed": String(code === chosen), text: code || t("tasks.all"),
      onclick: () => { localStorage.setItem("handheld.warehouse", code); render(); },
    }))) : null;

    replace(main, h("section.screen.tasks", { "data-testid": "task-list" },
      h("div.prompt", { text: narrowed ? t("tasks.narrowed", { what: narrowed.label }) : t("tasks.prompt") }),
      narrowed ? h("button.big.secondary", { type: "button", text: t("tasks.show_all"),
                                             onclick: () => { narrowed = null; render(); } }) : null,
      filters,
      sections.length ? sections : h("p.empty", { text: t("tasks.none") }),
      h("button.big.secondary", { type: "button", text: t("tasks.refresh"), onclick: () => refresh() })));
  }

  async function refresh() {
    try {
      tasks = await loadTasks();
      for (const task of tasks) app.rememberTask(task);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (left) return;
      if (error.status === 401) return app.forget();
      app.status(error.offline ? t("offline.list") : error.message, "error");
    }
    render();
  }

  async function onScan(raw) {
    try {
      const scan = await api("POST", "/scans/resolve", { raw, device: app.device, context: "tasks" });
      if (scan.kind === "location" && scan.location) {
        const code = scan.location.code;
        narrowed = { label: code, test: (task) => task.lines.some((l) => l.location === code || l.to_location === code) };
      } else if (scan.item) {
        const sku = scan.item.sku;
        narrowed = { label: `${sku} ${scan.item.name}`, test: (task) => task.lines.some((l) => l.sku === sku) };
      } else {
        bad();
        app.status(t("tasks.scan_unused"), "error");
        return;
      }
      good();
      app.status("");
      render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      bad();
      app.status(error.offline ? t("offline.scan_list") : error.message, "error");
    }
  }

  // A task changed somewhere (a line confirmed, a task made or finished): reload the list, at most
  // once per burst of events.
  let pending = null;
  function taskUpdated() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 300);
  }

  render();
  refresh();
  return { onScan, refresh, taskUpdated, redraw: render, leave: () => { left = true; clearTimeout(pending); } };
}
