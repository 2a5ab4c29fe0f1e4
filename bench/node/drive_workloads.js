// The side-by-side workloads, run through Node hyperdrive 10.21 (the reference).
// usage: node drive_workloads.js <json-config>   prints {workload: {value, unit}} as JSON
// The C++ twin is bench/drive_workloads.cc; both take the same config and do the same work.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const Hyperdrive = require(path.join(process.env.HYPER_INTEROP_DIR, 'node_modules', 'hyperdrive'))

const cfg = JSON.parse(process.argv[2])
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const now = () => Number(process.hrtime.bigint()) / 1e9
const rng = (seed) => () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed }

async function main () {
  const out = {}
  // 3 and 4 read the drive of cfg.readFiles small files that the C++ side built (the same
  // bytes either side would write), opened here from its directory.
  const readDrive = Hyperdrive(cfg.readStore, Buffer.from(cfg.readKey, 'hex'))
  await p((cb) => readDrive.ready(cb))
  const readPath = (i) => `/d${i % 100}/f${i}.txt`

  // 3. stat of random paths
  let r = rng(1)
  let t = now()
  for (let i = 0; i < cfg.stats; i++) await p((cb) => readDrive.stat(readPath(r() % cfg.readFiles), cb))
  out.stat = { value: cfg.stats / (now() - t), unit: 'ops/s' }

  // 4. readFile of random small files
  r = rng(2)
  t = now()
  for (let i = 0; i < cfg.reads; i++) {
    const data = await p((cb) => readDrive.readFile(readPath(r() % cfg.readFiles), cb))
    if (data.length !== 100) throw new Error('readFile gave ' + data.length + ' bytes')
  }
  out.readFile = { value: cfg.reads / (now() - t), unit: 'ops/s' }
  await p((cb) => readDrive.close(cb))

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyper-bench-node-'))
  const drive = Hyperdrive(dir)
  await p((cb) => drive.ready(cb))
  const body = Buffer.alloc(100, 'x')

  // 1. writeFile of small files, one version each
  t = now()
  for (let i = 0; i < cfg.files; i++) await p((cb) => drive.writeFile(`/small/${i}.txt`, body, cb))
  out.writeFile = { value: cfg.files / (now() - t), unit: 'files/s' }

  // 5. readdir of the directory of all those files
  t = now()
  const names = await p((cb) => drive.readdir('/small', cb))
  if (names.length !== cfg.files) throw new Error('readdir gave ' + names.length)
  out.readdir = { value: (now() - t) * 1000, unit: 'ms' }

  // 6. write of a big file in 64 KiB chunks
  const chunk = Buffer.alloc(65536, 7)
  const chunks = cfg.bigBytes / 65536
  t = now()
  await new Promise((resolve, reject) => {
    const ws = drive.createWriteStream('/big.bin')
    let i = 0
    ws.on('error', reject)
    ws.on('finish', resolve)
    const pump = () => {
      while (i < chunks) {
        i++
        if (!ws.write(chunk)) return ws.once('drain', pump)
      }
      ws.end()
    }
    pump()
  })
  out.writeBig = { value: cfg.bigBytes / (now() - t) / 1e6, unit: 'MB/s' }

  // 7. sequential read of it, and random 4 KiB reads
  t = now()
  let total = 0
  await new Promise((resolve, reject) => {
    const rs = drive.createReadStream('/big.bin')
    rs.on('data', (d) => { total += d.length })
    rs.on('error', reject)
    rs.on('end', resolve)
  })
  if (total !== cfg.bigBytes) throw new Error('read ' + total)
  out.readBig = { value: cfg.bigBytes / (now() - t) / 1e6, unit: 'MB/s' }

  r = rng(3)
  const fd = await p((cb) => drive.open('/big.bin', 'r', cb))
  const buf = Buffer.alloc(4096)
  t = now()
  for (let i = 0; i < cfg.randomReads; i++) {
    const pos = (r() % (cfg.bigBytes / 4096)) * 4096
    await p((cb) => drive.read(fd, buf, 0, 4096, pos, cb))
  }
  out.randomRead4k = { value: cfg.randomReads / (now() - t), unit: 'ops/s' }
  await p((cb) => drive.close(fd, cb))

  await p((cb) => drive.close(cb))
  fs.rmSync(dir, { recursive: true, force: true })

  // 2. import of a folder of small files: the reference's way, a writeFile per file (with its
  // mode and mtime), into a fresh drive.
  const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'hyper-bench-node-'))
  const target = Hyperdrive(dir2)
  await p((cb) => target.ready(cb))
  t = now()
  let imported = 0
  async function walk (local, inDrive) {
    for (const name of fs.readdirSync(local).sort()) {
      const full = path.join(local, name)
      const st = fs.lstatSync(full)
      if (st.isDirectory()) {
        await p((cb) => target.mkdir(inDrive + '/' + name, { mode: st.mode, mtime: st.mtime }, cb))
        await walk(full, inDrive + '/' + name)
      } else if (st.isFile()) {
        await p((cb) => target.writeFile(inDrive + '/' + name, fs.readFileSync(full), { mode: st.mode, mtime: st.mtime }, cb))
        imported++
      }
    }
  }
  await walk(cfg.importDir, '')
  if (imported !== cfg.importFiles) throw new Error('imported ' + imported)
  out.import = { value: imported / (now() - t), unit: 'files/s' }
  await p((cb) => target.close(cb))
  fs.rmSync(dir2, { recursive: true, force: true })
  console.log(JSON.stringify(out))
}
main().catch((err) => { console.error(err); process.exit(1) })
