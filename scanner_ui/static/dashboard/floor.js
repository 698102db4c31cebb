// Tasks in progress, grouped by the operator who last confirmed or scanned on each
// (GET /reports/floor). Scans emit no live event, so besides refreshing after task and stock
// events the panel also refreshes on a slow timer, which also keeps "2 min ago" honest.
import { api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { ago, dateTime, el, label, number, throttle, workflowName } from "./format.js";

const list = document.getElementById("floor-list");
const empty = document.getElementById("floor-empty");
const count = document.getElementById("floor-count");
let warehouse = "";
let timer = null;
let latest = 0;

function taskRow(task) {
  const progress = el("progress", { max: Math.max(task.lines_total, 1), value: task.lines_done,
                                    "aria-label": t("floor.progress", { done: task.lines_done, total: task.lines_total }) });
  const notes = [];
  if (task.lines_waiting) notes.push(el("span", { class: "pill wait" }, t("floor.waiting", { count: task.lines_waiting })));
  if (task.lines_discrepancy) notes.push(el("span", { class: "pill bad" }, t("floor.discrepancies", { count: task.lines_discrepancy })));
  return el("li", { class: "task", dataset: { task: task.id } },
    el("span", { class: "task-name" },
      el("strong", {}, `#${task.id}`), " ", workflowName(task.workflow),
      task.reference ? el("span", { class: "muted" }, ` ${task.reference}`) : "",
      !warehouse ? el("span", { class: "muted" }, ` · ${task.warehouse}`) : ""),
    el("span", { class: "task-progress" }, progress,
      el("span", { class: "muted" }, `${number(task.lines_done)}/${number(task.lines_total)}`), ...notes),
    task.last_activity_at
      ? el("time", { datetime: task.last_activity_at, title: dateTime(task.last_activity_at) }, ago(task.last_activity_at))
      : "");
}

function render(report) {
  const people = report.operators.map((person) => el("li", { class: "person" },
    el("div", { class: "person-head" },
      el("strong", {}, person.display_name),
      el("span", { class: "muted" }, label("role", person.role)),
      el("time", { datetime: person.last_activity_at, title: dateTime(person.last_activity_at) },
        t("floor.last_seen", { when: ago(person.last_activity_at) }))),
    el("ul", { class: "tasks" }, ...person.tasks.map(taskRow))));
  if (report.unassigned.length) {
    people.push(el("li", { class: "person unassigned" },
      el("div", { class: "person-head" }, el("strong", {}, t("floor.unassigned")),
        el("span", { class: "muted" }, t("floor.unassigned_hint"))),
      el("ul", { class: "tasks" }, ...report.unassigned.map(taskRow))));
  }
  list.replaceChildren(...people);
  const tasks = report.operators.reduce((n, p) => n + p.tasks.length, 0) + report.unassigned.length;
  empty.hidden = tasks > 0;
  count.textContent = tasks ? t("floor.count", { people: number(report.operators.length), tasks: number(tasks) }) : "";
}

export async function refresh() {
  const asked = ++latest;
  const query = warehouse ? `?warehouse=${encodeURIComponent(warehouse)}` : "";
  try {
    const report = await api("GET", `/reports/floor${query}`);
    if (asked === latest) render(report);   // an older answer arriving late must not win
  } catch (error) {
    console.warn("floor report failed", error);
  }
}

// Events arrive in bursts (a confirmation posts moves and updates its task): one refresh per burst.
export const refreshSoon = throttle(refresh, 800);

export function start(code) {
  warehouse = code;
  clearInterval(timer);
  timer = setInterval(refresh, 30_000);
  return refresh();
}
