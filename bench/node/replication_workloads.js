// Workloads 8 and 9 through Node hyperdrive 10.21 (the reference), over TCP on 127.0.0.1.
// usage: node replication_workloads.js <json-config>   prints {workload: {value, unit}} as JSON
// The C++ twin is bench/replication_workloads.cc; both take the same config and do the same work.
// The serving drive runs in a child process (role "serve"), the replicas in this one.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const { fork } = require('child_process')
const { Hyperdrive, p, serveOverTcp, replicateOverTcp } =
  require(path.join(process.env.HYPER_INTEROP_DIR, 'scripts', 'drive_common'))

const cfg = JSON.parse(process.argv[2])
const role = process.argv[3] || 'main'
const now = () => Number(process.hrtime.bigint()) / 1e9
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hyper-bench-repl-'))

// Byte j of the big file (the C++ twin uses the same formula).
function chunkAt (pos, size) {
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j++) b[j] = ((pos + j) * 7 + Math.floor((pos + j) / 65536)) & 0xff
  return b
}

async function serve () {
  const dir = tmp()
  const drive = Hyperdrive(dir)
  await p((cb) => drive.ready(cb))
  const ws = drive.createWriteStream('/big.bin')
  for (let pos = 0; pos < cfg.bigBytes; pos += cfg.chunkBytes) {
    if (!ws.write(chunkAt(pos, cfg.chunkBytes))) await new Promise((resolve) => ws.once('drain', resolve))
  }
  await new Promise((resolve, reject) => { ws.on('error', reject); ws.end(resolve) })
  const content = await p((cb) => drive.getContent(cb))
  serveOverTcp(drive, (port) => {
    process.send({ port, key: drive.key.toString('hex'), contentLength: content.length })
  })
  process.on('disconnect', () => { fs.rmSync(dir, { recursive: true, force: true }); process.exit(0) })
}

async function main () {
  const child = fork(__filename, [process.argv[2], 'serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const info = await new Promise((resolve) => child.once('message', resolve))
  const key = Buffer.from(info.key, 'hex')
  const out = {}
  const dirs = []

  // 8. Replicate everything, then read the file.
  {
    const dir = tmp()
    dirs.push(dir)
    const t = now()
    const drive = Hyperdrive(dir, key, { sparse: false, sparseMetadata: false })
    await p((cb) => drive.ready(cb))
    const socket = replicateOverTcp(drive, info.port)
    const st = await p((cb) => drive.stat('/big.bin', cb))
    const content = await p((cb) => drive.getContent(cb))
    await new Promise((resolve) => {
      const check = () => {
        if (content.length >= info.contentLength && content.downloaded() === content.length) return resolve()
        setTimeout(check, 1)
      }
      check()
    })
    const replicated = now() - t
    let total = 0
    await new Promise((resolve, reject) => {
      const rs = drive.createReadStream('/big.bin')
      rs.on('data', (c) => { total += c.length })
      rs.on('error', reject)
      rs.on('end', resolve)
    })
    const whole = now() - t
    if (total !== st.size || total !== cfg.bigBytes) throw new Error('short read ' + total)
    out.replicateAndRead = { value: cfg.bigBytes / whole / 1e6, unit: 'MB/s' }
    out.replicateOnly = { value: cfg.bigBytes / replicated / 1e6, unit: 'MB/s' }
    out.wireBytesFull = { value: socket.bytesRead + socket.bytesWritten, unit: 'bytes' }
    socket.destroy()
  }

  // 9. 1 MiB from the middle, sparse.
  {
    const dir = tmp()
    dirs.push(dir)
    const t = now()
    const drive = Hyperdrive(dir, key, { sparse: true, sparseMetadata: true })
    await p((cb) => drive.ready(cb))
    const socket = replicateOverTcp(drive, info.port)
    const start = Math.floor(cfg.bigBytes / 2)
    const chunks = []
    await new Promise((resolve, reject) => {
      const rs = drive.createReadStream('/big.bin', { start, length: cfg.rangeBytes })
      rs.on('data', (c) => chunks.push(c))
      rs.on('error', reject)
      rs.on('end', resolve)
    })
    const took = now() - t
    const buf = Buffer.concat(chunks)
    if (buf.length !== cfg.rangeBytes || buf[0] !== chunkAt(start, 1)[0]) throw new Error('bad range')
    const content = await p((cb) => drive.getContent(cb))
    out.rangeWireBytes = { value: socket.bytesRead + socket.bytesWritten, unit: 'bytes' }
    out.rangeMillis = { value: took * 1000, unit: 'ms' }
    out.rangeContentBlocks = { value: content.downloaded(), unit: 'blocks' }
    socket.destroy()
  }

  child.disconnect()
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

Promise.resolve(role === 'serve' ? serve() : main()).catch((e) => { console.error(e); process.exit(1) })
