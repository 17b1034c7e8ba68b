/**
 * Call `onLine` for each line of `stream` that parses as a JSON object (other lines are
 * skipped). Returns a function that stops listening. The engine logs one JSON object a line, so
 * this is how the test kit, Sluice's tests and the bench read a child engine's state.
 */
export function onJsonLines(
  stream: NodeJS.ReadableStream,
  onLine: (line: Record<string, unknown>) => void,
): () => void {
  let buf = ''
  const onData = (d: Buffer | string) => {
    buf += d.toString()
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      let line: unknown
      try {
        line = JSON.parse(text)
      } catch {
        continue
      }
      if (line !== null && typeof line === 'object') onLine(line as Record<string, unknown>)
    }
  }
  stream.on('data', onData)
  return () => void stream.off('data', onData)
}
