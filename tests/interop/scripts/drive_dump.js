// Describes a drive in a corestore directory with Node hyperdrive 10.21: stats, contents,
// listings and byte ranges at the latest version and at checkouts, diffs, tags.
// usage: node drive_dump.js <dir> <key-hex>   stdin: {paths, dirs, ranges, versions, diffs}
'use strict'
const { Hyperdrive, fnv, readStdin, p, errorName, describeStat } = require('./drive_common')

async function view (drive, q) {
  const stats = {}
  for (const path of q.paths) {
    const e = {}
    try {
      const st = await p((cb) => drive.lstat(path, cb))
      const node = await p((cb) => drive.db.get(path, cb))
      if (node) {
        e.lstat = describeStat(st)
        e.hex = node.value.toString('hex')
      } else {
        e.lstat = { mode: st.mode, implicit: true }
      }
    } catch (err) {
      e.lstat = { error: errorName(err) }
    }
    try {
      const st = await p((cb) => drive.stat(path, cb))
      e.stat = { mode: st.mode, size: st.size, blocks: st.blocks, offset: st.offset }
      if (st.isFile()) {
        const buf = await p((cb) => drive.readFile(path, cb))
        e.content = { length: buf.length, fnv: fnv(buf) }
      }
    } catch (err) {
      e.stat = { error: errorName(err) }
    }
    stats[path] = e
  }
  const dirs = []
  for (const d of q.dirs) {
    try {
      dirs.push(await p((cb) => drive.readdir(d.path, { recursive: !!d.recursive }, cb)))
    } catch (err) {
      dirs.push({ error: errorName(err) })
    }
  }
  const ranges = []
  for (const r of q.ranges) {
    const bufs = []
    try {
      await new Promise((resolve, reject) => {
        const rs = drive.createReadStream(r.path, { start: r.start, length: r.length })
        rs.on('data', (b) => bufs.push(b))
        rs.on('error', reject)
        rs.on('end', resolve)
      })
      const buf = Buffer.concat(bufs)
      ranges.push({ length: buf.length, fnv: fnv(buf) })
    } catch (err) {
      ranges.push({ error: errorName(err) })
    }
  }
  return { version: drive.version, stats, dirs, ranges }
}

;(async () => {
  const [dir, keyHex] = process.argv.slice(2)
  const q = JSON.parse(await readStdin())
  const drive = Hyperdrive(dir, Buffer.from(keyHex, 'hex'))
  await p((cb) => drive.ready(cb))
  const out = { writable: drive.writable, views: [], diffs: [], tags: {} }
  out.views.push(await view(drive, q))
  for (const v of q.versions) out.views.push(await view(drive.checkout(v), q))
  for (const d of q.diffs) {
    const entries = []
    await new Promise((resolve, reject) => {
      const s = drive.createDiffStream(d.version, d.prefix)
      s.on('data', (e) => {
        const x = { type: e.type, name: e.name }
        if (e.seq !== undefined) x.seq = e.seq
        if (e.previous) x.previous = e.previous.seq
        if (e.type === 'put') x.hex = e.value.encode().toString('hex')
        entries.push(x)
      })
      s.on('error', reject)
      s.on('end', resolve)
    })
    out.diffs.push(entries)
  }
  const tags = await p((cb) => drive.getAllTags(cb))
  for (const [k, v] of (tags instanceof Map ? tags : new Map())) out.tags[k] = v
  drive.close(() => console.log(JSON.stringify(out)))
})().catch((err) => { console.error(err); process.exit(1) })
