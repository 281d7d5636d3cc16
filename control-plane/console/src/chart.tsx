/** A line chart over days with uPlot (45 KiB, canvas, fast), optionally with a shaded interval band. */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Line {
  label: string;
  values: Array<number | null>;
  /** Dashed (interval bounds). */
  dash?: boolean;
  colour?: string;
}

const COLOURS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d"];

export function DayChart({
  title,
  days,
  lines,
  bands = [],
  format = (v) => String(v),
  testId,
}: {
  title: string;
  days: string[];
  lines: Line[];
  bands?: Array<[number, number]>;
  format?: (value: number) => string;
  testId: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current!;
    const x = days.map((day) => Date.parse(day) / 1000);
    const options: uPlot.Options = {
      title,
      width: Math.max(320, element.clientWidth || 640),
      height: 240,
      // One look: uPlot widens a single time point by 86400 / ms before this range sees it, which
      // with second timestamps is 1,000 days (an axis from Dec 2026 to Aug 2029); show a day either side.
      scales: {
        x: { time: true, range: (_u, min, max) => (x.length === 1 ? [x[0]! - 86_400, x[0]! + 86_400] : [min, max]) },
      },
      // The x range drawn, for tests (the axis itself is pixels on a canvas).
      hooks: {
        // The legend shows the latest look's values until the cursor picks another (uPlot's "--" otherwise).
        ready: [(u) => u.setLegend({ idx: x.length - 1 })],
        setScale: [
          (u, key) => {
            if (key === "x") element.dataset["xRange"] = `${u.scales.x!.min},${u.scales.x!.max}`;
          },
        ],
      },
      axes: [{}, { values: (_u, ticks) => ticks.map(format), size: 70 }],
      series: [
        { label: "Day" },
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: line.colour ?? COLOURS[i % COLOURS.length],
          width: line.dash ? 1 : 2,
          ...(line.dash ? { dash: [6, 4] } : {}),
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : format(v)),
          points: { show: days.length < 40 },
        })),
      ],
      bands: bands.map(([upper, lower]) => ({
        series: [upper + 1, lower + 1] as [number, number],
        fill: "rgba(37, 99, 235, 0.15)",
      })),
    };
    const plot = new uPlot(options, [x, ...lines.map((line) => line.values)] as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, element.clientWidth), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, days.join(), JSON.stringify(lines)]);
  return (
    <div
      class="chart"
      ref={container}
      data-testid={testId}
      data-points={days.length}
      role="img"
      aria-label={`${title}: ${days.length} days`}
    />
  );
}
