/**
 * Charts for the bench drivers and the docs: a Vega-Lite spec compiled by vega-lite, rendered to SVG
 * by vega's headless View (no canvas, no browser), rasterized to PNG by resvg (a Rust renderer that
 * ships prebuilt per platform as an optional dependency, so nothing is built on install).
 *
 *   const png = await lineChartPng({ title, xLabel, yLabel, series: [{ name: "1B", points: [[16, 52]] }] });
 *   writeFileSync("docs/x.png", png);
 *
 * The fonts are resvg's system fonts (sans-serif); rendering is deterministic for one machine.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface Series {
  name: string;
  /** [x, y] pairs; drawn in the order given. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Logarithmic x axis (prompt lengths 16…256 read better on one). Default linear. */
  xLog?: boolean;
  /** Logarithmic y axis (base 10), for series that differ by orders of magnitude. Default linear from 0. */
  yLog?: boolean;
  width?: number;
  height?: number;
}

export interface BarChart {
  title: string;
  yLabel: string;
  /** One bar per entry, grouped by `group` when present (e.g. group "1B", label "weights"). */
  bars: ReadonlyArray<{ label: string; value: number; group?: string }>;
  width?: number;
  height?: number;
}

const BASE = { background: "white", config: { font: "sans-serif" } } as const;

/** A line chart (one line with points per series), as SVG text. */
export async function lineChartSvg(c: LineChart): Promise<string> {
  const values = c.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  const spec: TopLevelSpec = {
    ...BASE,
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: c.title,
    width: c.width ?? 560,
    height: c.height ?? 320,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: c.xLabel,
        scale: c.xLog ? { type: "log", base: 2 } : { zero: true },
      },
      y: {
        field: "y",
        type: "quantitative",
        title: c.yLabel,
        scale: c.yLog ? { type: "log", base: 10 } : { zero: true },
      },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: c.series.map((s) => s.name),
        legend: { labelLimit: 600 },
      },
    },
  };
  return render(spec);
}

/** A bar chart (grouped when bars carry a group), as SVG text. */
export async function barChartSvg(c: BarChart): Promise<string> {
  const grouped = c.bars.some((b) => b.group !== undefined);
  const values = c.bars.map((b) => ({ label: b.label, value: b.value, group: b.group ?? "" }));
  const spec: TopLevelSpec = {
    ...BASE,
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: c.title,
    width: c.width ?? 560,
    height: c.height ?? 320,
    data: { values },
    mark: { type: "bar" },
    encoding: grouped
      ? {
          x: { field: "group", type: "nominal", title: null, sort: null, axis: { labelAngle: 0 } },
          xOffset: { field: "label", type: "nominal", sort: null },
          y: { field: "value", type: "quantitative", title: c.yLabel },
          color: { field: "label", type: "nominal", title: null, sort: null, legend: { labelLimit: 600 } },
        }
      : {
          x: { field: "label", type: "nominal", title: null, sort: null, axis: { labelAngle: 0 } },
          y: { field: "value", type: "quantitative", title: c.yLabel },
        },
  };
  return render(spec);
}

/** SVG text to PNG bytes (2× scale, so the chart stays sharp in docs). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    background: "white",
  });
  return r.render().asPng();
}

export async function lineChartPng(c: LineChart): Promise<Buffer> {
  return svgToPng(await lineChartSvg(c));
}

export async function barChartPng(c: BarChart): Promise<Buffer> {
  return svgToPng(await barChartSvg(c));
}

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
