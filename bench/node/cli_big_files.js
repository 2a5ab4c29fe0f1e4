// Big files as users run them (issue 20): each operation is a new process on a store written by
// an earlier process, ours (the `hyperdrive` command) and the reference (Node hyperdrive 10.21,
// this script with --ref) side by side in the same run, each timed from its start to its exit.
//   node cli_big_files.js HYPERDRIVE_BINARY [--full] [--runs N] [--out FILE]
//   (HYPER_INTEROP_DIR: the tests/interop folder with the pinned reference in node_modules)
// Workloads (sizes with --full; a quarter without):
//   importBig  import of a folder holding one 1 GiB file of random bytes into a new drive
//              (ours: `hyperdrive import DIR`; the reference: fs.createReadStream piped into
//              drive.createWriteStream, as its CLI does)
//   catBig     that file out of the drive to a file (ours: `hyperdrive cat URL/big.bin > FILE`;
//              the reference: drive.createReadStream piped into fs.createWriteStream)
//   exportDir  a drive of 1 GiB in files of 1-100 MiB out to a folder (ours: `hyperdrive
//              export`; the reference: each file's createReadStream piped to its file)
// catBig and exportDir read one store that both sides open from disk (written by our import
// in an earlier process; the formats are the same), so both read the same blocks, never read
// before in that process: every block is hashed on its first read. The page cache is warm
// (the files were just written and the machine has the memory to keep them) for both sides,
// and `sync` runs before each timed step.
// Prints a table; --out writes {machine, config, workloads: {name: {ours, node, unit, ratio}}}.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const crypto = require('crypto')
const { spawnSync } = require('child_process')

const MiB = 1024 * 1024
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

function Hyperdrive () {
  return require(path.join(process.env.HYPER_INTEROP_DIR, 'node_modules', 'hyperdrive'))
}

// ---- the reference's side (one operation per process) ----
async function reference (op, args) {
  const pipe = (from, to) => new Promise((resolve, reject) => {
    from.on('error', reject)
    to.on('error', reject)
    to.on('finish', resolve)
    from.pipe(to)
  })
  if (op === 'import') {
    const [store, file] = args
    const drive = Hyperdrive()(store)
    await p((cb) => drive.ready(cb))
    await pipe(fs.createReadStream(file), drive.createWriteStream('/' + path.basename(file)))
    await p((cb) => drive.close(cb))
    return
  }
  const [store, key, out] = args
  const drive = Hyperdrive()(store, Buffer.from(key, 'hex'))
  await p((cb) => drive.ready(cb))
  if (op === 'cat') {
    await pipe(drive.createReadStream('/big.bin'), fs.createWriteStream(out))
  } else if (op === 'export') {
    const walk = async (dir) => {
      for (const name of await p((cb) => drive.readdir(dir, cb))) {
        const full = dir === '/' ? '/' + name : dir + '/' + name
        const st = await p((cb) => drive.stat(full, cb))
        if (st.isDirectory()) {
          fs.mkdirSync(path.join(out, full), { recursive: true })
          await walk(full)
        } else {
          await pipe(drive.createReadStream(full), fs.createWriteStream(path.join(out, full)))
        }
      }
    }
    fs.mkdirSync(out, { recursive: true })
    await walk('/')
  } else {
    throw new Error('unknown operation ' + op)
  }
  await p((cb) => drive.close(cb))
}

// ---- the driver ----
function machine () {
  const cpu = os.cpus()
  return `${cpu[0].model}, ${cpu.length} cores, ${os.type()} ${os.release()}`
}

// Runs a command to its exit; its stdout to `stdoutFile` when given. Seconds. The dirty pages
// the step before left are written back first (untimed), so that neither side pays for the
// other's writes.
function timed (cmd, args, stdoutFile) {
  spawnSync('sync')
  const fd = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'pipe'
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { stdio: ['ignore', fd, 'pipe'], maxBuffer: 64 * MiB })
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  if (stdoutFile) fs.closeSync(fd)
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  }
  return { seconds, stdout: stdoutFile ? '' : r.stdout.toString() }
}

function randomFile (file, bytes) {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(8 * MiB)
  for (let done = 0; done < bytes;) {
    const n = Math.min(chunk.length, bytes - done)
    crypto.randomFillSync(chunk, 0, n)
    fs.writeSync(fd, chunk, 0, n)
    done += n
  }
  fs.closeSync(fd)
}

function sameFile (a, b) {
  const sa = fs.statSync(a)
  const sb = fs.statSync(b)
  if (sa.size !== sb.size) return false
  const fa = fs.openSync(a, 'r')
  const fb = fs.openSync(b, 'r')
  const ba = Buffer.alloc(8 * MiB)
  const bb = Buffer.alloc(8 * MiB)
  try {
    for (let pos = 0; pos < sa.size; pos += ba.length) {
      const n = fs.readSync(fa, ba, 0, ba.length, pos)
      fs.readSync(fb, bb, 0, bb.length, pos)
      if (ba.compare(bb, 0, n, 0, n) !== 0) return false
    }
  } finally {
    fs.closeSync(fa)
    fs.closeSync(fb)
  }
  return true
}

// The corestore of one of our storage roots: ROOT/storage/cores, as the daemon lays it out
// (include/hyper/corestore/storage_root.h).
function coresOf (root) {
  return path.join(root, 'storage', 'cores')
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function driver (argv) {
  const bin = argv[0]
  const full = argv.includes('--full')
  const runsAt = argv.indexOf('--runs')
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3
  const outAt = argv.indexOf('--out')
  const out = outAt >= 0 ? argv[outAt + 1] : null
  const total = (full ? 1024 : 256) * MiB
  const self = __filename
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyper-bench-big-'))
  const config = { bytes: total, runs, pageCache: 'warm' }
  try {
    // The inputs: one big file, and a folder of files of 1-100 MiB adding up to the same.
    fs.mkdirSync(path.join(tmp, 'one'))
    const big = path.join(tmp, 'one', 'big.bin')
    randomFile(big, total)
    const folder = path.join(tmp, 'many')
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true })
    let seed = 2
    let left = total
    const sizes = []
    for (let i = 0; left > 0; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648
      const size = Math.min(left, (1 + seed % 100) * MiB)
      sizes.push(size)
      randomFile(path.join(folder, i % 2 ? 'sub' : '', `f${i}.bin`), size)
      left -= size
    }
    config.exportFiles = sizes.length

    const results = { importBig: { ours: [], node: [] }, catBig: { ours: [], node: [] }, exportDir: { ours: [], node: [] } }
    let bigKey = null
    for (let r = 0; r < runs; r++) {
      // importBig: a new store each run.
      const ourStore = path.join(tmp, `ours-${r}`)
      const t1 = timed(bin, ['--storage', ourStore, 'import', path.join(tmp, 'one')])
      results.importBig.ours.push(total / t1.seconds / 1e6)
      bigKey = t1.stdout.trim().slice('hyper://'.length, 'hyper://'.length + 64)
      const refStore = path.join(tmp, `ref-${r}`)
      const t2 = timed(process.execPath, [self, '--ref', 'import', refStore, big])
      results.importBig.node.push(total / t2.seconds / 1e6)
      fs.rmSync(refStore, { recursive: true, force: true })
      if (r < runs - 1) fs.rmSync(ourStore, { recursive: true, force: true })
    }
    const bigStore = path.join(tmp, `ours-${runs - 1}`)
    for (let r = 0; r < runs; r++) {
      const outFile = path.join(tmp, 'cat.out')
      const t1 = timed(bin, ['--storage', bigStore, 'cat', `hyper://${bigKey}/big.bin`], outFile)
      if (!sameFile(outFile, big)) throw new Error('our cat gave other bytes')
      results.catBig.ours.push(total / t1.seconds / 1e6)
      fs.rmSync(outFile)
      const t2 = timed(process.execPath, [self, '--ref', 'cat', coresOf(bigStore), bigKey, outFile])
      if (!sameFile(outFile, big)) throw new Error("the reference's cat gave other bytes")
      results.catBig.node.push(total / t2.seconds / 1e6)
      fs.rmSync(outFile)
    }
    const dirStore = path.join(tmp, 'dir-store')
    const dirUrl = timed(bin, ['--storage', dirStore, 'import', folder]).stdout.trim()
    const dirKey = dirUrl.slice('hyper://'.length, 'hyper://'.length + 64)
    for (let r = 0; r < runs; r++) {
      const outDir = path.join(tmp, 'export.out')
      const t1 = timed(bin, ['--storage', dirStore, 'export', dirUrl, outDir])
      if (!sameFile(path.join(outDir, 'f0.bin'), path.join(folder, 'f0.bin'))) throw new Error('our export differs')
      results.exportDir.ours.push(total / t1.seconds / 1e6)
      fs.rmSync(outDir, { recursive: true, force: true })
      const t2 = timed(process.execPath, [self, '--ref', 'export', coresOf(dirStore), dirKey, outDir])
      if (!sameFile(path.join(outDir, 'f0.bin'), path.join(folder, 'f0.bin'))) throw new Error("the reference's export differs")
      results.exportDir.node.push(total / t2.seconds / 1e6)
      fs.rmSync(outDir, { recursive: true, force: true })
    }

    const report = { machine: machine(), config, workloads: {} }
    console.log('workload'.padEnd(12) + 'hyperdrive-cpp'.padStart(16) + 'node'.padStart(10) + 'ratio'.padStart(9) + '  unit   (runs: ours / node)')
    for (const [name, r] of Object.entries(results)) {
      const ours = median(r.ours)
      const node = median(r.node)
      report.workloads[name] = { ours, node, unit: 'MB/s', ratio: ours / node, runs: r }
      const all = (xs) => xs.map((x) => Math.round(x)).join(' ')
      console.log(name.padEnd(12) + Math.round(ours).toString().padStart(16) + Math.round(node).toString().padStart(10) +
        ((ours / node).toFixed(2) + 'x').padStart(9) + `  MB/s   (${all(r.ours)} / ${all(r.node)})`)
    }
    console.log('machine: ' + report.machine + '; page cache warm; each figure the median of ' + runs + ' runs')
    if (out) fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

const argv = process.argv.slice(2)
const main = argv[0] === '--ref' ? reference(argv[1], argv.slice(2)) : driver(argv)
main.catch((err) => { console.error(err); process.exit(1) })
