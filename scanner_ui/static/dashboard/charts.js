// Today's throughput per hour (GET /reports/throughput) as two uPlot charts: lines finished and
// units moved, one series per workflow. "Today" is the browser's local day: the report is asked
// for with the browser's UTC offset, so hour 8 on the axis is 08:00 on the supervisor's clock.
import { api } from "../common/api.js";
import { t } from "../common/i18n.js";
import { el, formatLocale, number, throttle, workflowName } from "./format.js";

// Fixed colours per workflow so a series keeps its colour from one day (and chart) to the next.
const COLOURS = { receiving: "#2563eb", putaway: "#0891b2", picking: "#16a34a", packing: "#65a30d",
                  counting: "#9333ea", returns: "#ea580c", adjustment: "#64748b" };
const HEIGHT = 190;

const totals = document.getElementById("charts-totals");
const charts = {
  lines: { node: document.getElementById("chart-lines"), plot: null },
  units: { node: document.getElementById("chart-units"), plot: null },
};
let warehouse = "";
let timer = null;
let latest = 0;

function localDate(now = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function draw(chart, report, key) {
  const start = Date.parse(report.start) / 1000;
  const hours = Array.from({ length: 24 }, (_, h) => start + h * 3600);
  const workflows = report.workflows.filter((w) => key !== "lines" || w !== "adjustment");
  const data = [hours, ...workflows.map((w) => report[key][w])];
  const hourFormat = new Intl.DateTimeFormat(formatLocale(), { hour: "2-digit", minute: "2-digit" });
  const options = {
    width: Math.max(chart.node.clientWidth, 200),
    height: HEIGHT,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
    axes: [
      { values: (u, splits) => splits.map((s) => hourFormat.format(new Date(s * 1000))), space: 50 },
      { values: (u, splits) => splits.map((s) => number(s)), size: 48 },
    ],
    series: [
      { label: t("charts.hour"), value: (u, v) => (v === null ? "–" : hourFormat.format(new Date(v * 1000))) },
      ...workflows.map((w) => ({
        label: workflowName(w),
        stroke: COLOURS[w] || "#334155",
        fill: (COLOURS[w] || "#334155") + "22",
        width: 2,
        points: { size: 5 },
        paths: window.uPlot.paths.stepped({ align: 1 }),
        value: (u, v) => (v === null ? "–" : number(v)),
      })),
    ],
  };
  chart.plot?.destroy();
  chart.node.replaceChildren();
  chart.plot = new window.uPlot(options, data, chart.node);
  chart.node.dataset.series = workflows.join(",");
  chart.node.dataset.total = String(workflows.reduce((n, w) => n + report[key][w].reduce((a, b) => a + b, 0), 0));
  if (!workflows.length) chart.node.append(el("p", { class: "chart-empty" }, t("charts.empty")));
}

function render(report) {
  draw(charts.lines, report, "lines");
  draw(charts.units, report, "units");
  const sum = (series) => Object.entries(series).reduce((n, [, values]) => n + values.reduce((a, b) => a + b, 0), 0);
  totals.textContent = t("charts.totals", { lines: number(sum(report.lines)), units: number(sum(report.units)),
                                            moves: number(report.moves.reduce((a, b) => a + b, 0)) });
}

export async function refresh() {
  const asked = ++latest;
  const query = new URLSearchParams({ date: localDate(), utc_offset: -new Date().getTimezoneOffset() });
  if (warehouse) query.set("warehouse", warehouse);
  try {
    const report = await api("GET", `/reports/throughput?${query}`);
    if (asked === latest) render(report);
  } catch (error) {
    console.warn("throughput report failed", error);
  }
}

// At most one report every few seconds however busy the floor is.
export const refreshSoon = throttle(refresh, 3000);

export function start(code) {
  warehouse = code;
  clearInterval(timer);
  // Every few minutes, so the current hour fills in and the day rolls over at midnight.
  timer = setInterval(refresh, 5 * 60_000);
  return refresh();
}

export function setup() {
  const observer = new ResizeObserver(() => {
    for (const chart of Object.values(charts)) {
      if (chart.plot) chart.plot.setSize({ width: Math.max(chart.node.clientWidth, 200), height: HEIGHT });
    }
  });
  for (const chart of Object.values(charts)) observer.observe(chart.node.parentElement);
}
