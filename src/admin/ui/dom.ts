// DOM and formatting helpers of the operator page. Everything the API returns (event bodies,
// headers, error messages) comes from webhook senders or the network: it is only ever set as
// text (textContent), never parsed as HTML.

type Child = Node | string | null | undefined | false

/** An element with properties (class, title, data-*, on-handlers) and children. */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | number | boolean | EventListener> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') node.addEventListener(key.replace(/^on/, ''), value)
    else if (key === 'class') node.className = String(value)
    else if (typeof value === 'boolean') node.toggleAttribute(key, value)
    else node.setAttribute(key, String(value))
  }
  for (const child of children) if (child) node.append(child)
  return node
}

function byId<T extends Element = HTMLElement>(id: string): T {
  // getElementById finds SVG elements too, though its type says HTMLElement.
  const node: Element | null = document.getElementById(id)
  if (!node) throw new Error(`the page has no #${id}`)
  return node as T
}

function setText(id: string, text: string): void {
  const node = byId(id)
  if (node.textContent !== text) node.textContent = text
}

type Tone = 'ok' | 'warn' | 'bad'

/** A green/amber/red state badge; `data-tone` lets the browser test read the colour's meaning. */
function setBadge(id: string, tone: Tone, text: string): void {
  const node = byId(id)
  node.className = `badge ${tone}`
  node.dataset.tone = tone
  setText(id, text)
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')

/** Rates: one decimal below 10/s, whole numbers above. */
const fmtRate = (n: number): string => (n < 10 ? n.toFixed(1) : fmtInt(n))

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** A duration the way a person says it: 850 ms, 4.2 s, 3 min 10 s, 2 h 5 min, 3 d 4 h. */
function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 10) return `${s.toFixed(1)} s`
  if (s < 60) return `${Math.floor(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

const ago = (iso: string): string => `${fmtDuration(Math.max(0, Date.now() - Date.parse(iso)))} ago`

/**
 * Times are shown in UTC, the zone named, as the log and the API write them, so a time read on
 * the page is found in the log as it is: `20:31:50.123 UTC` today (UTC's today), else
 * `2026-12-03 20:31:50 UTC`; `full` always gives the date and milliseconds (tooltips).
 */
function fmtTime(iso: string, full = false): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const s = d.toISOString() // 2026-12-04T20:31:50.123Z
  const date = s.slice(0, 10)
  if (full) return `${date} ${s.slice(11, 23)} UTC`
  const today = date === new Date().toISOString().slice(0, 10)
  return today ? `${s.slice(11, 23)} UTC` : `${date} ${s.slice(11, 19)} UTC`
}

/** Wall-clock time of day, UTC: `20:31:50 UTC`. */
const fmtClock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`

/** Unmarks the selected row of a table body. */
function clearSelected(tbodyId: string): void {
  for (const r of byId(tbodyId).querySelectorAll('tr.selected')) r.classList.remove('selected')
}

/**
 * A row that opens something on a click, Enter or Space (it takes the focus: tabindex 0), and
 * is then the one row marked selected in its table. Keys pressed on a button inside the row
 * are that button's.
 */
function openable(row: HTMLTableRowElement, open: () => void): HTMLTableRowElement {
  row.tabIndex = 0
  const go = (): void => {
    for (const r of row.parentElement?.querySelectorAll('tr.selected') ?? [])
      r.classList.remove('selected')
    row.classList.add('selected')
    open()
  }
  row.addEventListener('click', go)
  row.addEventListener('keydown', (ev) => {
    if (ev.target !== row || (ev.key !== 'Enter' && ev.key !== ' ')) return
    ev.preventDefault()
    go()
  })
  return row
}
