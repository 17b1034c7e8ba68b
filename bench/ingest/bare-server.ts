// The build the engine's loader picks, so both sides of the ratio run the same uWS.
import { uWS } from '../../src/server/uws.js'

// The ceiling for the ingest benchmark: a bare uWebSockets.js app that reads the whole body
// (copying chunks, as Sluice must) and answers 200, with no journal behind it.
const app = uWS.App().post('/*', (res) => {
  let aborted = false
  const chunks: Buffer[] = []
  res.onAborted(() => {
    aborted = true
  })
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(new Uint8Array(chunk)))
    if (isLast && !aborted) {
      Buffer.concat(chunks)
      res.cork(() =>
        res.writeHeader('content-type', 'application/json').end('{"status":"success"}'),
      )
    }
  })
})
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) process.exit(1)
  console.log(JSON.stringify({ msg: 'listening', port: uWS.us_socket_local_port(socket) }))
})
process.on('SIGTERM', () => process.exit(0))
