// utp_throughput.js CONFIG_JSON: the reference's side of bench/utp_throughput.cc. Node's
// utp-native (libutp) to utp-native on loopback, one process: a server on 127.0.0.2 reads until
// the end, a client on 127.0.0.3 writes `bytes` bytes in 64 KiB chunks and ends. Prints
// { utp: { value: MB/s, unit, stalls } }: MB/s from connect to the server's end of stream, a stall
// being a whole second (sampled once a second) in which the server received nothing.
'use strict'
const path = require('path')
const utp = require(path.join(process.env.HYPER_INTEROP_DIR, 'node_modules', 'utp-native'))

const cfg = JSON.parse(process.argv[2])
const total = cfg.bytes
setTimeout(() => {
  process.stderr.write('utp_throughput.js: out of time\n')
  process.exit(2)
}, cfg.lifetime_ms || 600000).unref()

function fail (err) {
  process.stderr.write('utp_throughput.js: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
}

const server = utp()
server.on('error', fail)
let received = 0
let t0 = 0
let stalls = 0
let lastSeen = 0
let monitor = null

server.on('connection', (conn) => {
  conn.on('error', fail)
  conn.on('data', (d) => { received += d.length })
  conn.on('end', () => {
    const s = (Date.now() - t0) / 1000
    clearInterval(monitor)
    if (received !== total) fail('received ' + received + ' of ' + total)
    process.stdout.write(JSON.stringify({ utp: { value: total / 1e6 / s, unit: 'MB/s', stalls } }))
    process.exit(0)
  })
})

server.listen(0, '127.0.0.2', () => {
  const client = utp()
  client.on('error', fail)
  client.bind(0, '127.0.0.3', () => {
    t0 = Date.now()
    monitor = setInterval(() => {
      if (received === lastSeen) stalls++
      lastSeen = received
    }, 1000)
    const conn = client.connect(server.address().port, '127.0.0.2')
    conn.on('error', fail)
    const chunk = Buffer.alloc(65536, 0x5a)
    let sent = 0
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!conn.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          conn.once('drain', pump)
          return
        }
      }
      conn.end()
    }
    pump()
  })
})
