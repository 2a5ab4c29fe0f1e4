// Joins the reports of one scripts/bench.sh run into one JSON file and prints one table: every
// workload's figure, the reference's figure and our ratio where it has a twin, and the goal of
// docs/performance.md with whether this run reached it.
//   node report.js OUT DRIVE_JSON REPLICATION_JSON LARGE_JSON [BIG_FILES_JSON [REMOTE_STAT_JSON
//     [DAEMON_JSON]]]
// DRIVE_JSON and REPLICATION_JSON are what drive_workloads / replication_workloads --out wrote
// ({machine, config, workloads: {name: {ours, node, unit, ratio}}}); LARGE_JSON is what
// drive_workloads --large-drive printed ({files, buildSeconds, openMs, statP50Us, statP99Us,
// peakRssMiB, machine}). BIG_FILES_JSON is what cli_big_files.js --out wrote (the same shape
// as DRIVE_JSON), REMOTE_STAT_JSON what remote_stat.js --out wrote and DAEMON_JSON what
// bench/daemon_bench.sh --out wrote (the same shape).
'use strict'
const fs = require('fs')

const [out, drivePath, replicationPath, largePath, bigPath, remotePath, daemonPath] = process.argv.slice(2)
if (!largePath) {
  console.error('usage: node report.js OUT DRIVE_JSON REPLICATION_JSON LARGE_JSON')
  process.exit(2)
}
const read = (p) => JSON.parse(fs.readFileSync(p, 'utf-8'))
const drive = read(drivePath)
const replication = read(replicationPath)
const large = read(largePath)
const big = bigPath ? read(bigPath) : { workloads: {} }
const remote = remotePath ? read(remotePath) : { workloads: {} }
const daemon = daemonPath ? read(daemonPath) : { workloads: {} }

// The goals of the issue (docs/performance.md): on our figure ("ours") or on the ratio.
const MB = 1e6
const goals = {
  writeFile: { on: 'ratio', atLeast: 10 },
  import: { on: 'ours', atLeast: 50000 },
  stat: { on: 'ratio', atLeast: 25 },
  readFile: { on: 'ratio', atLeast: 40 },
  readdir: { on: 'ratio', atLeast: 25 },
  writeBig: { on: 'ours', atLeast: 800 },
  readBig: { on: 'ours', atLeast: 3000 },
  replicateAndRead: [{ on: 'ours', atLeast: 500 }, { on: 'ratio', atLeast: 8 }],
  rangeWireBytes: { on: 'ours', atMost: 1.1 * 1024 * 1024 },
  openMs: { on: 'ours', atMost: 100 },
  statP99Us: { on: 'ours', atMost: 20 },
  peakRssMiB: { on: 'ours', atMost: 300 * MB / (1024 * 1024) },
  // issue 20: big files through the CLI, each a new process on a store written before
  importBig: [{ on: 'ours', atLeast: 700 }, { on: 'ratio', atLeast: 2.4 }],
  catBig: [{ on: 'ours', atLeast: 800 }, { on: 'ratio', atLeast: 4 }],
  exportDir: [{ on: 'ours', atLeast: 800 }, { on: 'ratio', atLeast: 4 }],
  // issue 13: a remote stat over a fresh connection through a 50 ms link (at least match the
  // reference; the aim is half its time)
  remoteStatNodeSeed: { on: 'ratio', atLeast: 1 },
  remoteStatOurSeed: { on: 'ratio', atLeast: 1 }
}

const fmt = (v) => v === undefined ? '-' : (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2))

function verdict (name, row) {
  const list = [].concat(goals[name] || [])
  if (!list.length) return ''
  return list.map((g) => {
    const v = g.on === 'ratio' ? row.ratio : row.ours
    if (v === undefined) return ''
    const ok = g.atLeast !== undefined ? v >= g.atLeast : v <= g.atMost
    const goalNum = (x) => Number.isInteger(x) ? x.toLocaleString('en-US') : fmt(x)
    const bound = g.atLeast !== undefined ? '>= ' + goalNum(g.atLeast) : '<= ' + goalNum(g.atMost)
    return (g.on === 'ratio' ? 'ratio ' : '') + bound + (ok ? ' met' : ' NOT met')
  }).join(', ')
}

const rows = {}
for (const r of [drive, replication, big, remote, daemon]) Object.assign(rows, r.workloads)
const largeUnits = { buildSeconds: 's', openMs: 'ms', statP50Us: 'us', statP99Us: 'us', peakRssMiB: 'MiB' }
for (const [name, unit] of Object.entries(largeUnits)) rows[name] = { ours: large[name], unit }

console.log('')
console.log('workload'.padEnd(18) + 'hyperdrive-cpp'.padStart(16) + 'node'.padStart(14) +
  'ratio'.padStart(9) + '  ' + 'unit'.padEnd(8) + 'goal')
for (const [name, row] of Object.entries(rows)) {
  const ratio = row.ratio === undefined ? '-' : row.ratio.toFixed(2) + 'x'
  console.log(name.padEnd(18) + fmt(row.ours).padStart(16) + fmt(row.node).padStart(14) +
    ratio.padStart(9) + '  ' + String(row.unit).padEnd(8) + verdict(name, row))
}
console.log('large drive: ' + large.files.toLocaleString('en-US') + ' files')
console.log('machine: ' + drive.machine)

const report = {
  machine: drive.machine,
  config: {
    drive: drive.config,
    replication: replication.config,
    largeDriveFiles: large.files,
    bigFiles: big.config,
    remoteStat: remote.config,
    daemon: daemon.config
  },
  workloads: {}
}
for (const [name, row] of Object.entries(rows)) {
  report.workloads[name] = Object.assign({}, row, goals[name] ? { goal: verdict(name, row) } : {})
}
fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
console.error('wrote ' + out)
