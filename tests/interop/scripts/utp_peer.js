// utp_peer.js CONFIG_JSON: a Node utp-native 2.5.3 (libutp) peer for the C++ uTP interop tests,
// on 127.0.0.2. The bytes sent are a fixed pattern (patternByte below, the same formula as the
// C++ test's), so each side checks what it receives without being told.
//   role "client": connect to `host`:`port`, send `bytes` pattern bytes and end; expect them
//                  echoed back, then the end. Prints { sent, received, echoOk, ms (connect to
//                  the echo's end), closeMs (connect to libutp's close) } once it closed.
//   role "server": listen on 127.0.0.2 (any port), then send the datagram "ready" from that
//                  same socket to `host`:`port` (the C++ side's uTP socket, which hands what
//                  is not uTP to its other user); echo what the first connection sends and end
//                  when it ends. Prints { received, patternOk, port }.
//   role "feed-serve": a hypercore in `dir` (key pair from `seed`) with `blocks` blocks of
//                  blockBytes(i, `blockSize`) (core_common.js), replicated (non-live) over
//                  each uTP connection to a server on 127.0.0.2, which says "ready" as above.
//                  Prints { uploaded, length } once the first replication stream closed.
//   role "feed-fetch": a replica of `key` in `dir`; connects over uTP to `host`:`port` from
//                  127.0.0.2 and replicates (non-live) until the stream ends. Prints
//                  { length, downloaded, ok (every block is blockBytes), ms }.
// Exits 2 after `lifetime` ms whatever happens.
'use strict'
const utp = require('utp-native')
const { hypercore, hcrypto, blockBytes, p } = require('./core_common')

const cfg = JSON.parse(process.argv[2])
const started = Date.now()

setTimeout(() => {
  process.stderr.write('utp_peer.js: out of time\n')
  process.exit(2)
}, cfg.lifetime || 20000).unref()

function fail (err) {
  process.stderr.write('utp_peer.js: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
}

function finish (out) {
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

// Byte i of the pattern: a 32-bit mix of i (the C++ test's PatternByte).
function patternByte (i) {
  let x = Math.imul(i >>> 0, 0x9e3779b1) >>> 0
  x = (x ^ (x >>> 15)) >>> 0
  x = Math.imul(x, 0x85ebca77) >>> 0
  return (x >>> 24) & 0xff
}

function pattern (n) {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = patternByte(i)
  return b
}

// Checks chunks against the pattern as they come (offset = bytes seen before).
function checker () {
  const c = { received: 0, ok: true }
  c.add = (chunk) => {
    for (let i = 0; i < chunk.length && c.ok; i++) {
      if (chunk[i] !== patternByte(c.received + i)) c.ok = false
    }
    c.received += chunk.length
  }
  return c
}

function client () {
  const sock = utp()
  sock.on('error', fail)
  sock.bind(0, '127.0.0.2', () => {
    const t0 = Date.now()
    let ms = -1
    const conn = sock.connect(cfg.port, cfg.host)
    const check = checker()
    conn.on('error', fail)
    conn.on('data', (d) => check.add(d))
    conn.on('end', () => { ms = Date.now() - t0 })
    // Once both directions ended and libutp let the connection go (our FIN acknowledged).
    conn.on('close', () => {
      finish({ sent: cfg.bytes, received: check.received, echoOk: check.ok, ms, closeMs: Date.now() - t0 })
    })
    const data = pattern(cfg.bytes)
    // In chunks of 64 KiB, as a stream's writer would.
    for (let at = 0; at < data.length; at += 65536) conn.write(data.subarray(at, at + 65536))
    conn.end()
  })
}

function server () {
  const sock = utp()
  const check = checker()
  let port = 0
  sock.on('error', fail)
  sock.on('connection', (conn) => {
    conn.on('error', fail)
    conn.on('data', (d) => {
      check.add(d)
      conn.write(d)
    })
    conn.on('end', () => conn.end())
    conn.on('close', () => finish({ received: check.received, patternOk: check.ok, port }))
  })
  listenAndSayReady(sock, (p) => { port = p })
}

// Listens on 127.0.0.2 and says "ready" to the C++ side, from the listening socket.
function listenAndSayReady (sock, onport) {
  sock.listen(0, '127.0.0.2', () => {
    onport(sock.address().port)
    const ready = Buffer.from('ready')
    sock.send(ready, 0, ready.length, cfg.port, cfg.host, (err) => { if (err) fail(err) })
  })
}

async function feedServe () {
  const size = cfg.blockSize || 1000
  const kp = hcrypto.keyPair(Buffer.from(cfg.seed, 'hex'))
  const feed = hypercore(cfg.dir, kp.publicKey, { secretKey: kp.secretKey })
  await p((cb) => feed.ready(cb))
  const blocks = []
  for (let i = 0; i < cfg.blocks; i++) blocks.push(blockBytes(i, size))
  if (blocks.length) await p((cb) => feed.append(blocks, cb))
  let uploaded = 0
  feed.on('upload', () => { uploaded++ })
  const sock = utp()
  sock.on('error', fail)
  sock.on('connection', (conn) => {
    const stream = feed.replicate(false, { live: false })
    conn.pipe(stream).pipe(conn)
    conn.on('error', () => {})
    stream.on('error', (e) => fail(e))
    stream.on('close', () => finish({ uploaded, length: feed.length }))
  })
  listenAndSayReady(sock, () => {})
}

async function feedFetch () {
  const size = cfg.blockSize || 1000
  const feed = hypercore(cfg.dir, Buffer.from(cfg.key, 'hex'))
  await p((cb) => feed.ready(cb))
  const sock = utp()
  sock.on('error', fail)
  sock.bind(0, '127.0.0.2', () => {
    const conn = sock.connect(cfg.port, cfg.host)
    const stream = feed.replicate(true, { live: false })
    conn.pipe(stream).pipe(conn)
    conn.on('error', (e) => fail(e))
    stream.on('error', (e) => fail(e))
    stream.on('close', async () => {
      let ok = feed.length === cfg.blocks && feed.has(0, feed.length)
      for (let i = 0; ok && i < feed.length; i++) {
        const data = await p((cb) => feed.get(i, { wait: false }, cb))
        if (!data.equals(blockBytes(i, size))) ok = false
      }
      finish({ length: feed.length, downloaded: feed.downloaded(), ok, ms: Date.now() - started })
    })
  })
}

if (cfg.role === 'client') client()
else if (cfg.role === 'server') server()
else if (cfg.role === 'feed-serve') feedServe().catch(fail)
else if (cfg.role === 'feed-fetch') feedFetch().catch(fail)
else fail('unknown role ' + cfg.role)
