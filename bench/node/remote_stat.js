// A remote `stat` of a random path in a big drive over a fresh connection (issue 13), ours (the
// `hyperdrive stat URL/PATH --peer` command with an empty store) and the reference (Node
// hyperdrive 10.21 reading a sparse replica with an empty store: tests/interop/scripts/
// cli_net_peer.js), each against both seeds (ours: `hyperdrive seed`; the reference's), through
// a link with a round trip of --rtt ms: a proxy in this process that holds every chunk for half
// of it in each direction, and counts the bytes each way.
//   node remote_stat.js HYPERDRIVE_BINARY [--files N] [--rtt MS] [--runs N] [--out FILE]
//   (HYPER_INTEROP_DIR: the tests/interop folder with the pinned reference in node_modules)
// Each run is a new reader process with a new store, on a new connection, for a new random path;
// the figure is the median over the runs of the time from the process's start to its exit, the
// bytes through the link both ways, and (time - the same without delay) / rtt, the round trips
// the reader waited for.
'use strict'
const path = require('path')
const fs = require('fs')
const os = require('os')
const net = require('net')
const { spawn, spawnSync } = require('child_process')

const args = process.argv.slice(2)
const binary = args[0]
const opt = (name, def) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : def
}
const files = Number(opt('--files', 20000))
const rtt = Number(opt('--rtt', 50))
const runs = Number(opt('--runs', 5))
const outFile = opt('--out', null)
const dirs = 100
const interop = process.env.HYPER_INTEROP_DIR || path.join(__dirname, '../../tests/interop')
const peerScript = path.join(interop, 'scripts/cli_net_peer.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-stat-'))

// A TCP proxy to 127.0.0.1:target holding each chunk `delay` ms in each direction (order kept);
// counts bytes. The upstream connection is opened `delay` ms after the accept (the SYN's way).
function delayProxy (target, delay) {
  const link = { up: 0, down: 0 }
  const server = net.createServer((client) => {
    client.pause()
    let upstream = null
    const pending = []
    client.on('data', (c) => {
      link.up += c.length
      setTimeout(() => { if (upstream) upstream.write(c); else pending.push(c) }, delay)
    })
    client.on('error', () => {})
    client.on('close', () => setTimeout(() => upstream && upstream.destroy(), delay))
    setTimeout(() => {
      upstream = net.connect(target, '127.0.0.1', () => {
        for (const c of pending) upstream.write(c)
        pending.length = 0
      })
      upstream.setNoDelay(true)
      upstream.on('data', (c) => {
        link.down += c.length
        setTimeout(() => client.write(c), delay)
      })
      upstream.on('error', () => {})
      upstream.on('close', () => setTimeout(() => client.destroy(), delay))
      client.resume()
    }, delay)
    client.setNoDelay(true)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ port: server.address().port, link, close: () => server.close() })))
}

function waitFor (file, ms) {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (fs.existsSync(file)) { clearInterval(t); resolve() } else if (Date.now() > deadline) { clearInterval(t); reject(new Error('no ' + file)) }
    }, 20)
  })
}

function run (argv, extraEnv) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), { env: Object.assign({}, process.env, extraEnv || {}) })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { err += d })
    child.on('exit', (code) => resolve({ code, out, err, ms: Number(process.hrtime.bigint() - started) / 1e6 }))
  })
}

const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

async function main () {
  // The Node seed: writes the drive, then serves it.
  const nodeDir = path.join(tmp, 'node-seed')
  const info = path.join(tmp, 'node.info')
  const stop = path.join(tmp, 'node.stop')
  process.stderr.write(`writing ${files} files with the reference...\n`)
  const nodeSeed = spawn('node', [peerScript, JSON.stringify({
    role: 'serve', dir: nodeDir, files: [], generate: { count: files, dirs }, infofile: info, stopfile: stop, lifetime: 3600000
  })], { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor(info, 600000)
  const nodeInfo = JSON.parse(fs.readFileSync(info, 'utf8'))

  // Our seed: the same files imported by our command.
  process.stderr.write(`writing ${files} files with ours...\n`)
  const src = path.join(tmp, 'src')
  for (let i = 0; i < files; i++) {
    const d = path.join(src, 'd' + (i % dirs))
    if (i < dirs) fs.mkdirSync(d, { recursive: true })
    fs.writeFileSync(path.join(d, 'f' + i + '.txt'), 'file ' + i)
  }
  const ourStore = path.join(tmp, 'our-seed')
  const imported = spawnSync(binary, ['--storage', ourStore, 'import', src], { encoding: 'utf8' })
  if (imported.status !== 0) throw new Error('import: ' + imported.stderr)
  const ourUrl = imported.stdout.trim()
  const ourSeed = spawn(binary, ['--storage', ourStore, 'seed', ourUrl, '--listen', '127.0.0.1:0'])
  const ourPort = await new Promise((resolve) => {
    let text = ''
    ourSeed.stdout.on('data', (d) => {
      text += d
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text)
      if (m) resolve(Number(m[1]))
    })
  })

  const seeds = {
    node: { port: nodeInfo.port, key: nodeInfo.key },
    ours: { port: ourPort, key: ourUrl.slice(8, 72) }
  }
  let n = 0
  const readers = {
    ours: async (seed, port, p) => {
      const store = path.join(tmp, 'reader-' + (n++))
      const r = await run([binary, '--storage', store, 'stat', `hyper://${seed.key}${p}`, '--json', '--peer', `127.0.0.1:${port}`])
      if (r.code !== 0) throw new Error('our stat: ' + r.err)
      return { ms: r.ms, size: JSON.parse(r.out).size }
    },
    node: async (seed, port, p) => {
      const dir = path.join(tmp, 'reader-' + (n++))
      const r = await run(['node', peerScript, JSON.stringify({ role: 'read', dir, key: seed.key, port, stats: [p] })])
      const o = JSON.parse(r.out)
      if (r.code !== 0 || !o.stats[p]) throw new Error('node stat: ' + r.out + r.err)
      return { ms: r.ms, inProcessMs: o.statsMs, size: o.stats[p].size }
    }
  }
  const results = {}
  for (const [seedName, seed] of Object.entries(seeds)) {
    for (const [readerName, reader] of Object.entries(readers)) {
      const rows = []
      for (let i = 0; i < runs; i++) {
        const k = Math.floor(Math.random() * files)
        const p = `/d${k % dirs}/f${k}.txt`
        const direct = await reader(seed, seed.port, p)
        const proxy = await delayProxy(seed.port, rtt / 2)
        const slow = await reader(seed, proxy.port, p)
        proxy.close()
        if (slow.size !== ('file ' + k).length) throw new Error('wrong size for ' + p)
        rows.push({ path: p, ms: slow.ms, directMs: direct.ms, inProcessMs: slow.inProcessMs, bytesUp: proxy.link.up, bytesDown: proxy.link.down })
      }
      const row = {
        ms: median(rows.map((r) => r.ms)),
        directMs: median(rows.map((r) => r.directMs)),
        roundTrips: median(rows.map((r) => (r.ms - r.directMs) / rtt)),
        bytes: median(rows.map((r) => r.bytesUp + r.bytesDown)),
        bytesUp: median(rows.map((r) => r.bytesUp)),
        bytesDown: median(rows.map((r) => r.bytesDown)),
        runs: rows
      }
      if (readerName === 'node') row.inProcessMs = median(rows.map((r) => r.inProcessMs))
      results[`${readerName} reader, ${seedName} seed`] = row
      process.stderr.write(`${readerName} reader from the ${seedName} seed: ${row.ms.toFixed(0)} ms (${row.directMs.toFixed(0)} ms without delay, ~${row.roundTrips.toFixed(1)} round trips), ${row.bytes} bytes (${row.bytesUp} up, ${row.bytesDown} down)` +
        (row.inProcessMs !== undefined ? `, in process ${row.inProcessMs} ms` : '') + '\n')
    }
  }
  fs.writeFileSync(stop, '')
  ourSeed.kill('SIGTERM')
  // The rows of scripts/bench.sh's table: our reader against the reference's, from each seed
  // (time from the process's start to its exit; ratio = the reference's time / ours).
  const row = (seed) => {
    const ours = results[`ours reader, ${seed} seed`]
    const node = results[`node reader, ${seed} seed`]
    return { ours: Math.round(ours.ms), node: Math.round(node.ms), unit: 'ms', ratio: node.ms / ours.ms, detail: { ours, node } }
  }
  const report = {
    config: { files, rtt, runs },
    workloads: { remoteStatNodeSeed: row('node'), remoteStatOurSeed: row('ours') }
  }
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(report, null, 2))
  else process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  fs.rmSync(tmp, { recursive: true, force: true })
  process.exit(0)
}

main().catch((e) => { console.error(e); process.exit(1) })
