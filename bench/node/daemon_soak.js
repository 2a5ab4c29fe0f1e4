// The daemon soak's client (bench/daemon_soak.sh): a mix of the calls users make, through the
// reference's own Node client (hyperdrive-daemon-client 1.16.0), at a steady rate for a given
// time, against one daemon found through STORAGE/config.json.
//   node daemon_soak.js STORAGE SECONDS RATE
//     RATE: operations per second (the loop sleeps to hold it; it never bursts to catch up).
//   Each operation is one of (picked at random, with fixed weights):
//     a session opened on one of 16 drives (new ones while fewer exist), used, and closed;
//     writeFile of 1–64 KiB to one of 256 paths (overwrites, so the trie and versions grow);
//     readFile of a path written before, compared with what was written last;
//     stat, readdir (recursive, with stats), mkdir, unlink;
//     a 1 MiB createWriteStream and its createReadStream back (compared by SHA-256);
//     a watch started and stopped after the next write; a diff stream between two versions;
//     a checkout of an earlier version read; updateMetadata; configureNetwork; listPeers.
//   A mismatch or an unexpected error ends the run with exit 1 and says which call.
//   Every 10 s it prints one line of JSON: {t, ops, errors} (the shell samples the RSS).
'use strict'
const path = require('path')
const crypto = require('crypto')

const interop = process.env.HYPER_INTEROP_DIR
if (!interop) {
  console.error('daemon_soak.js: set HYPER_INTEROP_DIR to the tests/interop folder')
  process.exit(2)
}
const { HyperdriveClient } = require(path.join(interop, 'node_modules', 'hyperdrive-daemon-client'))

const [storage, secondsArg, rateArg] = process.argv.slice(2)
const seconds = Number(secondsArg)
const rate = Number(rateArg)
if (!storage || !(seconds > 0) || !(rate > 0)) {
  console.error('usage: node daemon_soak.js STORAGE SECONDS RATE')
  process.exit(2)
}

const DRIVES = 16
const PATHS = 256
const MiB = 1024 * 1024

function fail (what, err) {
  console.error(`daemon_soak.js: ${what}: ${err && err.message ? err.message : err}`)
  process.exit(1)
}
function pick (n) { return Math.floor(Math.random() * n) }
function sha (buf) { return crypto.createHash('sha256').update(buf).digest('hex') }
// NOT_FOUND, as the client passes the gRPC status on.
function notFound (err) { return err.code === 5 || /not found|ENOENT/i.test(err.message) }
function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

function collect (stream) {
  return new Promise((resolve, reject) => {
    const chunks = []
    stream.on('data', (c) => chunks.push(c))
    stream.on('error', reject)
    stream.on('end', () => resolve(chunks))
  })
}

async function main () {
  const client = new HyperdriveClient({ storage })
  await client.ready()
  const keys = []
  const written = new Map() // `${key}/${path}` -> sha256 of the last bytes written
  let ops = 0
  let errors = 0

  async function withDrive (fn) {
    let drive
    if (keys.length < DRIVES) {
      drive = await client.drive.get()
      keys.push(drive.key)
    } else {
      drive = await client.drive.get({ key: keys[pick(keys.length)] })
    }
    try {
      return await fn(drive)
    } finally {
      await drive.close()
    }
  }

  const operations = [
    [30, 'writeFile', (d) => {
      const p = `/f/${pick(PATHS)}`
      const data = crypto.randomBytes(1024 + pick(63 * 1024))
      written.set(`${d.key.toString('hex')}${p}`, sha(data))
      return d.writeFile(p, data)
    }],
    [25, 'readFile', async (d) => {
      const prefix = d.key.toString('hex')
      const p = `/f/${pick(PATHS)}`
      const want = written.get(prefix + p)
      if (!want) return
      const got = await d.readFile(p)
      if (sha(got) !== want) throw new Error(`${p} read back different bytes`)
    }],
    [10, 'stat', async (d) => {
      try { await d.stat(`/f/${pick(PATHS)}`) } catch (err) { if (!notFound(err)) throw err }
    }],
    [5, 'readdir', (d) => d.readdir('/', { recursive: true, includeStats: true })],
    [4, 'mkdir+unlink', async (d) => {
      const dir = `/d${pick(8)}`
      try { await d.mkdir(dir) } catch (err) { if (err.code !== 6 && !/exist/i.test(err.message)) throw err }
      const p = `/f/${pick(PATHS)}`
      try {
        await d.unlink(p)
        written.delete(d.key.toString('hex') + p)
      } catch (err) { if (!notFound(err)) throw err }
    }],
    [3, 'stream', async (d) => {
      const data = crypto.randomBytes(MiB)
      await new Promise((resolve, reject) => {
        const ws = d.createWriteStream('/big.bin')
        ws.on('error', reject)
        ws.on('finish', resolve)
        ws.end(data)
      })
      const chunks = await collect(d.createReadStream('/big.bin'))
      if (sha(Buffer.concat(chunks)) !== sha(data)) throw new Error('the stream read back different bytes')
    }],
    [4, 'watch', async (d) => {
      let changed
      const seen = new Promise((resolve) => { changed = resolve })
      const unwatch = d.watch('/', () => changed())
      // The watch call and the writes travel on separate streams, so a write can reach the
      // daemon before the watch does: write every 200 ms until it wakes (10 s at most).
      let woke = false
      seen.then(() => { woke = true })
      for (let i = 0; i < 50 && !woke; i++) {
        await d.writeFile('/w.txt', crypto.randomBytes(64))
        await Promise.race([seen, sleep(200)])
      }
      unwatch()
      if (!woke) throw new Error('a write did not wake the watch within 10 s')
    }],
    [4, 'diff', async (d) => {
      const version = await d.version()
      if (version < 3) return
      await collect(await d.createDiffStream(version - 2))
    }],
    [5, 'checkout', async (d) => {
      const version = await d.version()
      if (version < 2) return
      const old = await d.checkout(1 + pick(version - 1))
      try { await old.readdir('/') } finally { await old.close() }
    }],
    [4, 'metadata', async (d) => {
      const p = `/f/${pick(PATHS)}`
      if (!written.has(d.key.toString('hex') + p)) return
      await d.updateMetadata(p, { soak: Buffer.from(String(ops)) })
    }],
    [3, 'configureNetwork', (d) => d.configureNetwork({ lookup: true, announce: false, remember: pick(2) === 1 })],
    [3, 'listPeers', () => client.peers.listPeers()]
  ]
  const total = operations.reduce((sum, [weight]) => sum + weight, 0)
  function choose () {
    let r = pick(total)
    for (const op of operations) {
      if ((r -= op[0]) < 0) return op
    }
    return operations[0]
  }

  const start = Date.now()
  let nextReport = start + 10000
  const interval = 1000 / rate
  let due = start
  while (Date.now() - start < seconds * 1000) {
    const [, name, fn] = choose()
    try {
      await withDrive(fn)
    } catch (err) {
      errors++
      fail(name, err)
    }
    ops++
    due += interval
    const now = Date.now()
    if (due > now) await sleep(due - now)
    else due = now // never burst to catch up
    if (now >= nextReport) {
      console.log(JSON.stringify({ t: Math.round((now - start) / 1000), ops, errors }))
      nextReport += 10000
    }
  }
  console.log(JSON.stringify({ t: Math.round((Date.now() - start) / 1000), ops, errors, done: true }))
  client.close()
}

main().catch((err) => fail('the soak', err))
