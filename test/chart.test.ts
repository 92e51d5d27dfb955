import { describe, expect, it } from "vitest";
import { barChartPng, lineChartSvg, svgToPng } from "../bench/lib/chart.js";

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The chart helper of the bench drivers: vega-lite -> vega SVG -> resvg PNG, all in process.
describe("bench chart helper", () => {
  it("draws a line chart with its title, axis labels and one path per series", async () => {
    const svg = await lineChartSvg({
      title: "TTFT vs prompt length",
      xLabel: "prompt tokens",
      yLabel: "ms",
      xLog: true,
      series: [
        {
          name: "1B English",
          points: [
            [16, 50],
            [64, 120],
            [256, 300],
          ],
        },
        {
          name: "3B Chinese",
          points: [
            [16, 80],
            [64, 200],
            [256, 500],
          ],
        },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    for (const text of ["TTFT vs prompt length", "prompt tokens", "1B English", "3B Chinese"]) {
      expect(svg).toContain(text);
    }
    expect(svg.match(/aria-roledescription="line mark"/g)?.length).toBe(2);
    const png = svgToPng(svg);
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    // Width of the raster (big-endian at byte 16): the 2× zoom of a ~600 px wide chart.
    expect(png.readUInt32BE(16)).toBeGreaterThan(1000);
  });

  it("draws grouped bars as a PNG", async () => {
    const png = await barChartPng({
      title: "memory",
      yLabel: "MB",
      bars: [
        { group: "1B", label: "weights", value: 1300 },
        { group: "1B", label: "KV", value: 200 },
      ],
    });
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
  });
});
