// cli_net_peer.js CONFIG_JSON: a Node hyperdrive 10 peer over TCP on 127.0.0.1 for the tests of
// the command line's replication (tests/cli/net_cli_test.cc).
//   role "serve": write `files` ([{path, data} or {path, chunks: [data...]}: one block per chunk],
//                 data as in drive_common.js dataOf) into a new
//                 drive in `dir`, listen on 127.0.0.1 (any port) and replicate the drive's
//                 corestore live on every connection; write {key, contentKey, port, version}
//                 to `infofile` once listening. While running: each time `appendfile`
//                 appears, write a file /live-<n>.txt (then delete appendfile and write
//                 {version} to `appendedfile`); exit when `stopfile` appears.
//   role "read":  open `dir` as a sparse replica of drive `key`, connect to `port`, and read:
//                 every path of `paths` whole, and `range` ({path, start, length}) as a byte
//                 range; list `list` (a directory); stat every path of `stats` (its size, or
//                 null when absent).
//                 `mounts` ([{path, files}]): each a new drive of the same corestore holding
//                 `files`, mounted at `path` before serving.
//   Both roles also write `generate` files before serving ({count, dirs}: /d<i % dirs>/f<i>.txt
//   holding "file <i>"), and report `ext`: the hypertrie get extension messages this process
//   sent and received (gets and the keys asked, caches and the seqs they named).
// Prints one JSON object; exits 2 after `lifetime` ms whatever happens.
'use strict'
const fs = require('fs')
const { Hyperdrive, dataOf, fnv, p, serveOverTcp, replicateOverTcp } = require('./drive_common')

const cfg = JSON.parse(process.argv[2])
const out = { role: cfg.role }

// Counts the get extension's traffic by wrapping hypertrie's handlers (facts only: the wrapped
// methods still run).
const ext = { getsSent: 0, getsReceived: 0, keysAsked: [], cachesReceived: 0, cacheSeqs: 0 }
out.ext = ext
const HypertrieExtension = require('hypertrie/lib/extension')
for (const [name, count] of Object.entries({
  get (head, key) { ext.getsSent++ },
  onget (message) { ext.getsReceived++; ext.keysAsked.push(message.key) },
  oncache (message) { ext.cachesReceived++; ext.cacheSeqs += message.blocks.length }
})) {
  const original = HypertrieExtension.prototype[name]
  HypertrieExtension.prototype[name] = function (...args) {
    count(...args)
    return original.apply(this, args)
  }
}
function finish (extra) {
  Object.assign(out, extra || {})
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}
setTimeout(() => {
  out.error = 'lifetime exceeded'
  process.stdout.write(JSON.stringify(out))
  process.exit(2)
}, cfg.lifetime || 20000)

async function serve () {
  const drive = Hyperdrive(cfg.dir)
  await p((cb) => drive.ready(cb))
  for (const f of cfg.files || []) {
    if (!f.chunks) {
      await p((cb) => drive.writeFile(f.path, dataOf(f.data), cb))
      continue
    }
    // One block per chunk: each write waited for.
    const ws = drive.createWriteStream(f.path)
    for (const c of f.chunks) {
      await new Promise((resolve) => { if (ws.write(dataOf(c))) setImmediate(resolve); else ws.once('drain', resolve) })
    }
    await new Promise((resolve, reject) => { ws.on('error', reject); ws.end(resolve) })
  }
  if (cfg.generate) {
    const g = cfg.generate
    for (let i = 0; i < g.count; i++) {
      await p((cb) => drive.writeFile('/d' + (i % g.dirs) + '/f' + i + '.txt', Buffer.from('file ' + i), cb))
    }
  }
  for (const [i, m] of (cfg.mounts || []).entries()) {
    const inner = Hyperdrive(drive.corestore, null, { namespace: 'mount-' + i })
    await p((cb) => inner.ready(cb))
    for (const f of m.files) await p((cb) => inner.writeFile(f.path, dataOf(f.data), cb))
    await p((cb) => drive.mount(m.path, inner.key, cb))
  }
  const content = await p((cb) => drive.getContent(cb))
  let uploaded = 0
  content.on('upload', () => { uploaded++ })
  serveOverTcp(drive, (port) => {
    const info = {
      key: drive.key.toString('hex'),
      contentKey: content.key.toString('hex'),
      port,
      version: drive.version
    }
    fs.writeFileSync(cfg.infofile + '.tmp', JSON.stringify(info))
    fs.renameSync(cfg.infofile + '.tmp', cfg.infofile)
  })
  let n = 0
  let busy = false
  setInterval(async () => {
    if (busy) return
    if (cfg.appendfile && fs.existsSync(cfg.appendfile)) {
      busy = true
      fs.unlinkSync(cfg.appendfile)
      await p((cb) => drive.writeFile('/live-' + (n++) + '.txt', Buffer.from('live ' + n), cb))
      fs.writeFileSync(cfg.appendedfile + '.tmp', JSON.stringify({ version: drive.version, at: Date.now() }))
      fs.renameSync(cfg.appendedfile + '.tmp', cfg.appendedfile)
      busy = false
    }
    if (cfg.stopfile && fs.existsSync(cfg.stopfile)) finish({ uploaded, version: drive.version })
  }, 5)
}

async function read () {
  const drive = Hyperdrive(cfg.dir, Buffer.from(cfg.key, 'hex'), { sparse: true })
  await p((cb) => drive.ready(cb))
  const started = Date.now()
  const socket = replicateOverTcp(drive, cfg.port, (where, e) => { out[where + 'Error'] = e.message })
  const files = {}
  for (const path of cfg.paths || []) {
    const buf = await p((cb) => drive.readFile(path, cb))
    files[path] = { size: buf.length, fnv: fnv(buf) }
  }
  out.files = files
  if (cfg.stats) {
    out.stats = {}
    for (const path of cfg.stats) {
      try {
        const st = await p((cb) => drive.stat(path, cb))
        out.stats[path] = { size: st.size }
      } catch (e) {
        out.stats[path] = null
      }
    }
    out.statsMs = Date.now() - started  // from the connect to the last stat's answer
  }
  if (cfg.range) {
    const r = cfg.range
    const chunks = []
    await new Promise((resolve, reject) => {
      const rs = drive.createReadStream(r.path, { start: r.start, length: r.length })
      rs.on('data', (c) => chunks.push(c))
      rs.on('error', reject)
      rs.on('end', resolve)
    })
    const buf = Buffer.concat(chunks)
    out.range = { size: buf.length, fnv: fnv(buf) }
  }
  if (cfg.list) out.list = (await p((cb) => drive.readdir(cfg.list, cb))).sort()
  const content = await p((cb) => drive.getContent(cb))
  out.contentDownloaded = content.downloaded()
  out.version = drive.version
  socket.destroy()
  finish()
}

const roles = { serve, read }
Promise.resolve(roles[cfg.role]()).catch((e) => {
  out.error = e.message
  process.stdout.write(JSON.stringify(out))
  process.exit(1)
})
