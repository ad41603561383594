import { useEffect, useRef } from "preact/hooks"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { ChartData } from "./UsageSeries.js"
import { timeLabel } from "./UsageWindow.js"

/** Series colours: distinct, each at least 4.5:1 on white. */
const PALETTE = ["#0b57d0", "#b3261e", "#146c2e", "#7a4d00", "#6a1b9a", "#00695c", "#ad1457", "#37474f"]
const HEIGHT = 220

export const colorOf = (index: number): string => PALETTE[index % PALETTE.length]!

/** Tick steps for counts: whole numbers only (1, 2, 5, 10, 20, 50, …). */
const WHOLE_STEPS = Array.from({ length: 36 }, (_, i) => [1, 2, 5][i % 3]! * 10 ** Math.floor(i / 3))

/**
 * One uPlot line chart of a usage figure over the window's buckets (UTC), one series per group,
 * with uPlot's legend naming them. Sized to its container, and again when that resizes (a phone
 * turned sideways). The canvas is an image whose text points at the table with the same figures.
 */
export const UsageChart = ({
  title,
  description,
  data,
  labels,
  format,
  groupBy,
  whole,
}: {
  readonly title: string
  /** What the chart shows, for screen readers (the figures are in the tables). */
  readonly description: string
  readonly data: ChartData
  readonly labels: ReadonlyArray<string>
  readonly format: (value: number) => string
  readonly groupBy: "hour" | "day"
  /** Whole numbers (counts): no fractional ticks. */
  readonly whole: boolean
}) => {
  const holder = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const element = holder.current
    if (element === null) return
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: HEIGHT,
        // Ticks on UTC hours and days, as the buckets are.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_, min, max) => [0, Math.max(max, min, 0) * 1.1 || 1] } },
        series: [
          {
            label: "Time (UTC)",
            value: (_: uPlot, seconds: number | null) => (seconds === null ? "–" : timeLabel(groupBy, seconds)),
          },
          ...labels.map((label, i) => ({
            label,
            stroke: colorOf(i),
            width: 2,
            points: { show: true, size: 5 },
            value: (_: uPlot, value: number | null) => (value === null ? "–" : format(value)),
          })),
        ],
        axes: [
          { values: (_, ticks) => ticks.map((seconds) => timeLabel(groupBy, seconds)) },
          { size: 70, values: (_, ticks) => ticks.map(format), ...(whole ? { incrs: WHOLE_STEPS } : {}) },
        ],
      },
      data as uPlot.AlignedData,
      element,
    )
    const canvas = plot.root.querySelector("canvas")
    canvas?.setAttribute("role", "img")
    canvas?.setAttribute("aria-label", description)
    const observer = new ResizeObserver(() => {
      if (element.clientWidth !== plot.width) plot.setSize({ width: element.clientWidth, height: HEIGHT })
    })
    observer.observe(element)
    return () => {
      observer.disconnect()
      plot.destroy()
    }
  }, [data, labels, format, description, groupBy, whole])
  return (
    <figure class="chart card">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <div ref={holder} class="chart-area" />
    </figure>
  )
}
