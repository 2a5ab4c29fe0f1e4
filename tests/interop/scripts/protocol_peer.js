// protocol_peer.js CONFIG_JSON: a Node hypercore peer over TCP on 127.0.0.1 for the C++
// replication tests and bench. Block i holds blockBytes(i, blockSize) (core_common.js;
// blockSize 1000 unless given).
//   role "serve":   create DIR with `blocks` blocks (key pair from `seed`), listen, write the
//                   port to `portfile`; replicate each connection (`live`), with the feeds
//                   of `extraSeeds` on the same stream. While running,
//                   append one block each time `appendfile` appears (then delete it). Exit
//                   when the stream ends (non-live) or `stopfile` appears.
//   role "fetch":   open DIR as a replica of `key`, connect to `port`, replicate (`live`,
//                   `sparse`); wait until blocks [start, end) are local (all when absent) and
//                   the length is at least `waitLength`; write `gotfile` when it is, then exit.
//                   With `update`, only run feed.update({minLength: waitLength}) (sparse).
//   role "hostile": connect to `port` and misbehave (`attack`): "wrongcap" opens the feed's
//                   channel with a forged capability and asks for data; "bigframe" sends a
//                   100 MB frame header; "idle" goes silent after the handshake; "rlebomb" sends a Have whose bitfield decodes to 1 GiB.
//   role "forge":   serve `key` (which it cannot sign for) and answer every request with a
//                   block and signature that do not verify.
//   role "mute":    as forge, but never answer a request (and send keep-alives).
// Prints one JSON object; exits 2 after `lifetime` ms whatever happens.
'use strict'
const fs = require('fs')
const net = require('net')
const path = require('path')
const { hypercore, hcrypto, blockBytes, p } = require('./core_common')
const Protocol = require(path.join(__dirname, '..', 'node_modules', 'hypercore-protocol'))

const cfg = JSON.parse(process.argv[2])
const out = { role: cfg.role }
const SIZE = cfg.blockSize || 1000
function finish (extra) {
  Object.assign(out, extra || {})
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}
setTimeout(() => { out.error = 'lifetime exceeded'; process.stdout.write(JSON.stringify(out)); process.exit(2) }, cfg.lifetime || 15000)

async function serve () {
  const kp = hcrypto.keyPair(Buffer.from(cfg.seed, 'hex'))
  const feed = hypercore(cfg.dir, kp.publicKey, { secretKey: kp.secretKey })
  await p((cb) => feed.ready(cb))
  const blocks = []
  for (let i = 0; i < cfg.blocks; i++) blocks.push(blockBytes(i, SIZE))
  if (blocks.length) await p((cb) => feed.append(blocks, cb))
  let uploaded = 0
  feed.on('upload', () => { uploaded++ })
  // More feeds on the same stream (`extraSeeds`), each with the same blocks.
  const extras = []
  for (const [k, seed] of (cfg.extraSeeds || []).entries()) {
    const ekp = hcrypto.keyPair(Buffer.from(seed, 'hex'))
    const extra = hypercore(cfg.dir + '-extra' + k, ekp.publicKey, { secretKey: ekp.secretKey })
    await p((cb) => extra.ready(cb))
    if (blocks.length) await p((cb) => extra.append(blocks, cb))
    extra.on('upload', () => { uploaded++ })
    extras.push(extra)
  }
  const server = net.createServer((socket) => {
    const stream = feed.replicate(false, { live: !!cfg.live })
    for (const extra of extras) extra.replicate(stream, { live: !!cfg.live })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', (e) => { out.streamError = e.message })
    stream.on('close', () => { if (!cfg.live) finish({ uploaded, length: feed.length }) })
  })
  server.listen(0, '127.0.0.1', () => fs.writeFileSync(cfg.portfile, String(server.address().port)))
  setInterval(async () => {
    if (cfg.appendfile && fs.existsSync(cfg.appendfile)) {
      fs.unlinkSync(cfg.appendfile)
      await p((cb) => feed.append(blockBytes(feed.length, SIZE), cb))
    }
    if (cfg.stopfile && fs.existsSync(cfg.stopfile)) finish({ uploaded, length: feed.length })
  }, 5)
}

async function fetch () {
  const key = Buffer.from(cfg.key, 'hex')
  const feed = hypercore(cfg.dir, key, { sparse: !!cfg.sparse })
  await p((cb) => feed.ready(cb))
  const t0 = Date.now()
  const socket = net.connect(cfg.port, '127.0.0.1')
  const stream = feed.replicate(true, { live: !!cfg.live })
  socket.pipe(stream).pipe(socket)
  socket.on('error', (e) => { out.socketError = e.message })
  stream.on('error', (e) => { out.streamError = e.message })
  if (cfg.update) {
    // feed.update(): learn the remote's length through a hash-only request, download nothing.
    feed.update({ minLength: cfg.waitLength, ifAvailable: false }, (err) => {
      finish({ length: feed.length, downloaded: feed.downloaded(), error: err ? err.message : null })
    })
    return
  }
  if (cfg.sparse) feed.download({ start: cfg.start, end: cfg.end })
  const check = setInterval(() => {
    const end = cfg.end !== undefined ? cfg.end : feed.length
    const start = cfg.start || 0
    if (feed.length < (cfg.waitLength || 1)) return
    if (!feed.has(start, end)) return
    clearInterval(check)
    out.ms = Date.now() - t0
    if (cfg.gotfile) fs.writeFileSync(cfg.gotfile, String(Date.now()))
    let ok = true
    let pending = end - start
    if (!pending) return finish({ length: feed.length, downloaded: feed.downloaded(), ok })
    for (let i = start; i < end; i++) {
      feed.get(i, { wait: false }, (err, data) => {
        if (err || !data.equals(blockBytes(i, SIZE))) ok = false
        if (--pending === 0) finish({ length: feed.length, downloaded: feed.downloaded(), ok })
      })
    }
  }, 2)
}

function hostile () {
  const key = Buffer.from(cfg.key, 'hex')
  const dk = hcrypto.discoveryKey(key)
  const socket = net.connect(cfg.port, '127.0.0.1')
  const stream = new Protocol(true, { timeout: false })
  socket.pipe(stream).pipe(socket)
  let gotData = false
  socket.on('error', () => {})
  stream.on('error', () => {})
  socket.on('close', () => finish({ closed: true, gotData }))
  stream.on('discovery-key', () => {})
  stream.on('handshake', () => {
    const state = stream.state
    if (cfg.attack === 'wrongcap') {
      state.open(1, { discoveryKey: dk, capability: hcrypto.randomBytes(32) })
      state.want(1, { start: 0, length: 1048576 })
      state.request(1, { index: 0 })
      state.handlers.ondata = () => { gotData = true }
    } else if (cfg.attack === 'idle') {
      // Say nothing more, not even keep-alives (timeout: false).
    } else if (cfg.attack === 'bigframe') {
      const buf = Buffer.from([0x80, 0x80, 0x80, 0x32, 0x01, 0x02, 0x03])
      state._encryption.encrypt(buf)
      stream.channelizer.send(buf)
    } else if (cfg.attack === 'rlebomb') {
      const ch = stream.open(key, {
        onopen () {
          const bomb = Buffer.from([0x83, 0x80, 0x80, 0x80, 0x80, 0x01]) // 2^30 bytes of 0xff
          ch.have({ start: 0, length: 1048576, bitfield: bomb })
        },
        ondata () { gotData = true }
      })
    }
  })
}

async function forge () {
  const key = Buffer.from(cfg.key, 'hex')
  const server = net.createServer((socket) => {
    // "mute" keeps the connection alive with keep-alives but never answers a request.
    const stream = new Protocol(false, { timeout: cfg.role === 'mute' ? 1200 : false })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => {})
    socket.on('close', () => finish({ closed: true }))
    const ch = stream.open(key, {
      onopen () {
        ch.have({ start: 0, length: cfg.blocks })
      },
      onwant (w) {
        ch.have({ start: 0, length: cfg.blocks })
      },
      onrequest (req) {
        if (cfg.role === 'mute') return
        ch.data({ index: req.index, value: Buffer.from('forged block'), nodes: [], signature: hcrypto.randomBytes(64) })
      }
    })
  })
  server.listen(0, '127.0.0.1', () => fs.writeFileSync(cfg.portfile, String(server.address().port)))
}

const roles = { serve, fetch, hostile, forge, mute: forge }
Promise.resolve(roles[cfg.role]()).catch((e) => { console.error(e); process.exit(1) })
