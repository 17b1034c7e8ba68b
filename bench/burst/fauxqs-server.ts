import { startFauxqs } from 'fauxqs'

// The SQS emulator in its own process, so the forwarder measured in the runner does not share
// its thread with the server (RabbitMQ has a process of its own, too). fauxqs listens on every
// interface; the bench sends to 127.0.0.1 only. Output: {"msg":"listening","port":N}.
const server = await startFauxqs({ port: 0, logger: false })
console.log(JSON.stringify({ msg: 'listening', port: server.port }))
process.once('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0))
})
