// The daemon benchmark's workload (bench/daemon_bench.sh): drives one Hyperdrive daemon, ours or
// the reference's hyperdrive-daemon 1.14.5, through the reference's own Node client
// (hyperdrive-daemon-client 1.16.0), which finds the daemon through STORAGE/config.json as it does
// for its users. The same script runs against both daemons, so both sides pay the same client.
//   node daemon_client_workload.js wait STORAGE SECONDS
//     retries `status` until the daemon answers (or exits 1 after SECONDS, saying why)
//   node daemon_client_workload.js run STORAGE FILES MIB
//     in one new drive, one after the other, each timed:
//       writeFile    FILES writeFile of 100 random bytes, one call at a time (/small/<i>)
//       readFile     FILES readFile of them, each compared with what was written
//       stat         FILES stat of them, each checked to be a file of 100 bytes
//       writeStream  one createWriteStream of MIB MiB of random bytes in 1 MiB writes (with the
//                    stream's backpressure), timed until the daemon confirmed the write
//       readStream   one createReadStream of it back, timed until its end; the bytes are then
//                    compared by SHA-256 with what was written (outside the timing)
//     prints one JSON object: {workload: {count|bytes, seconds, rate, unit}}
//   (HYPER_INTEROP_DIR: the tests/interop folder with the pinned client in node_modules)
'use strict'
const path = require('path')
const crypto = require('crypto')

const interop = process.env.HYPER_INTEROP_DIR
if (!interop) {
  console.error('daemon_client_workload.js: set HYPER_INTEROP_DIR to the tests/interop folder')
  process.exit(2)
}
const { HyperdriveClient } = require(path.join(interop, 'node_modules', 'hyperdrive-daemon-client'))

const MiB = 1024 * 1024
const SMALL = 100

function fail (message) {
  console.error('daemon_client_workload.js: ' + message)
  process.exit(1)
}

async function wait (storage, seconds) {
  const deadline = Date.now() + seconds * 1000
  let last = 'no attempt'
  while (Date.now() < deadline) {
    // A new client each time: the first one caches config.json, which the daemon may not have
    // written (or may rewrite) yet.
    const client = new HyperdriveClient({ storage })
    try {
      await client.ready()
      const status = await client.status()
      client.close()
      return { apiVersion: status.apiVersion }
    } catch (err) {
      last = err.message
      try { client.close() } catch (_) {}
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  fail(`the daemon on ${storage} did not answer within ${seconds} s (last error: ${last})`)
}

function timed (fn) {
  return async (...args) => {
    const start = process.hrtime.bigint()
    const extra = await fn(...args)
    return { seconds: Number(process.hrtime.bigint() - start) / 1e9, ...extra }
  }
}

async function run (storage, files, mib) {
  const client = new HyperdriveClient({ storage })
  await client.ready()
  const drive = await client.drive.get()
  const name = (i) => '/small/' + String(i).padStart(7, '0')
  const contents = []
  for (let i = 0; i < files; i++) contents.push(crypto.randomBytes(SMALL))
  const out = {}

  const writeFiles = timed(async () => {
    for (let i = 0; i < files; i++) await drive.writeFile(name(i), contents[i])
  })
  const readFiles = timed(async () => {
    for (let i = 0; i < files; i++) {
      const got = await drive.readFile(name(i))
      if (!Buffer.from(got).equals(contents[i])) fail(`readFile ${name(i)}: not the bytes written`)
    }
  })
  const stats = timed(async () => {
    for (let i = 0; i < files; i++) {
      const st = await drive.stat(name(i))
      if (!st.isFile() || st.size !== SMALL) fail(`stat ${name(i)}: size ${st.size}, not a ${SMALL}-byte file`)
    }
  })
  const rate = (r, count) => ({ count, seconds: r.seconds, rate: count / r.seconds, unit: 'ops/s' })
  out.writeFile = rate(await writeFiles(), files)
  out.readFile = rate(await readFiles(), files)
  out.stat = rate(await stats(), files)

  // The big file: random 1 MiB chunks made (and hashed) before the clock starts.
  let chunks = []
  const written = crypto.createHash('sha256')
  for (let i = 0; i < mib; i++) {
    const chunk = crypto.randomBytes(MiB)
    written.update(chunk)
    chunks.push(chunk)
  }
  const expected = written.digest('hex')
  const bytes = mib * MiB
  const writeStream = timed(() => new Promise((resolve, reject) => {
    const ws = drive.createWriteStream('/big.bin')
    ws.on('error', reject)
    ws.on('finish', resolve)
    let i = 0
    const more = () => {
      while (i < chunks.length) {
        if (!ws.write(chunks[i++])) return ws.once('drain', more)
      }
      ws.end()
    }
    more()
  }))
  const w = await writeStream()
  out.writeStream = { bytes, seconds: w.seconds, rate: bytes / 1e6 / w.seconds, unit: 'MB/s' }
  chunks = null

  const got = []
  const readStream = timed(() => new Promise((resolve, reject) => {
    const rs = drive.createReadStream('/big.bin')
    rs.on('data', (d) => got.push(d))
    rs.on('error', reject)
    rs.on('end', resolve)
  }))
  const r = await readStream()
  const back = crypto.createHash('sha256')
  let length = 0
  for (const d of got) {
    back.update(d)
    length += d.length
  }
  if (length !== bytes) fail(`createReadStream gave ${length} bytes, ${bytes} were written`)
  if (back.digest('hex') !== expected) fail('createReadStream: not the bytes written (SHA-256 differs)')
  out.readStream = { bytes, seconds: r.seconds, rate: bytes / 1e6 / r.seconds, unit: 'MB/s' }

  await drive.close()
  client.close()
  return out
}

async function main () {
  const [mode, storage, a, b] = process.argv.slice(2)
  if (mode === 'wait' && storage && a) return wait(storage, Number(a))
  if (mode === 'run' && storage && a && b) {
    const files = Number(a)
    const mib = Number(b)
    if (!(files > 0) || !(mib > 0)) fail('FILES and MIB must be positive numbers')
    return run(storage, files, mib)
  }
  console.error('usage: node daemon_client_workload.js wait STORAGE SECONDS\n' +
    '       node daemon_client_workload.js run STORAGE FILES MIB')
  process.exit(2)
}

main().then((out) => {
  console.log(JSON.stringify(out))
  process.exit(0)
}, (err) => fail(err.stack || String(err)))
