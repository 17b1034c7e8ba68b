// The received/stored chart, drawn as inline SVG by hand (about 90 lines, instead of a chart
// library the page would have to carry offline). The time axis spans the history there is,
// from 2 up to its 10 minutes, so an engine that just started shows more than a sliver.

const SVG_NS = 'http://www.w3.org/2000/svg'
const MIN_SPAN_MS = 2 * 60 * 1000
const MAX_SPAN_MS = 10 * 60 * 1000
const PAD = { left: 44, right: 12, top: 10, bottom: 22 }

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

/** A round axis maximum at or above `peak`: 1, 2, 5, 10, 20, 50, ... */
function niceMax(peak: number): number {
  if (peak <= 1) return 1
  const step = 10 ** Math.floor(Math.log10(peak))
  for (const m of [1, 2, 5, 10]) if (m * step >= peak) return m * step
  return 10 * step
}

/** Whole minutes of history, from 2 to 10, in milliseconds. */
function chartSpan(points: RatePoint[], end: number): number {
  const first = points[0]
  const have = first ? end - Date.parse(first.at) : 0
  return Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, Math.ceil(have / 60000) * 60000))
}

const agoLabel = (ms: number): string =>
  ms === 0 ? 'now' : ms < 120000 ? `${ms / 1000} s ago` : `${ms / 60000} min ago`

/**
 * Redraws `host` (an <svg>) from the history points, oldest first. Time ends at the newest
 * point (the server's clock, so a skewed laptop clock does not shift the lines). The drawn
 * peak and point count are left in data-* attributes for the browser test.
 */
function drawChart(host: SVGSVGElement, points: RatePoint[]): void {
  const width = Math.max(320, host.clientWidth || 800)
  const height = Math.max(120, host.clientHeight || 160)
  host.setAttribute('viewBox', `0 0 ${width} ${height}`)
  host.replaceChildren()
  const plotW = width - PAD.left - PAD.right
  const plotH = height - PAD.top - PAD.bottom
  const end = points.length > 0 ? Date.parse(points[points.length - 1]!.at) : Date.now()
  const span = chartSpan(points, end)
  const shown = points.filter((p) => end - Date.parse(p.at) <= span)
  const peak = Math.max(0, ...shown.map((p) => Math.max(p.received, p.stored)))
  const top = niceMax(peak)
  host.dataset.peak = String(peak)
  host.dataset.points = String(shown.length)
  setText('chart-span', `last ${span / 60000} minutes`)
  const x = (at: string): number => PAD.left + plotW * (1 - (end - Date.parse(at)) / span)
  const y = (v: number): number => PAD.top + plotH * (1 - v / top)

  for (const v of [0, top / 2, top]) {
    host.append(
      svg('line', { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v)),
    )
  }
  for (const [frac, anchor] of [
    [1, 'start'],
    [0.5, 'middle'],
    [0, 'end'],
  ] as const) {
    const at = PAD.left + plotW * (1 - frac)
    const label = agoLabel(span * frac)
    host.append(svg('text', { x: at, y: height - 6, class: 'axis', 'text-anchor': anchor }, label))
  }
  const first = shown[0]
  const last = shown[shown.length - 1]
  if (!first || !last || shown.length < 2) {
    const msg = 'collecting the first points (one every 5 s)'
    const mid = { x: width / 2, y: height / 2, class: 'empty', 'text-anchor': 'middle' }
    host.append(svg('text', mid, msg))
    return
  }
  const line = (key: 'received' | 'stored'): string =>
    shown.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ')
  const area = `${x(first.at)},${y(0)} ${line('received')} ${x(last.at)},${y(0)}`
  host.append(
    svg('polygon', { points: area, class: 'area received' }),
    svg('polyline', { points: line('received'), class: 'line received' }),
    svg('polyline', { points: line('stored'), class: 'line stored' }),
  )
}
