// Puts the two sides of bench/daemon_bench.sh together: what daemon_client_workload.js measured
// against our daemon and against the reference's, as one table (workload, ours, Node, ratio
// ours/Node: higher is better for us) and one JSON file in the shape scripts/bench.sh merges
// ({machine, config, workloads: {name: {ours, node, unit, ratio}}}).
//   node daemon_compare.js OURS_JSON NODE_JSON OUT CONFIG_JSON
'use strict'
const fs = require('fs')
const os = require('os')

const [oursPath, nodePath, out, config] = process.argv.slice(2)
if (!config) {
  console.error('usage: node daemon_compare.js OURS_JSON NODE_JSON OUT CONFIG_JSON')
  process.exit(2)
}
const ours = JSON.parse(fs.readFileSync(oursPath, 'utf-8'))
const node = JSON.parse(fs.readFileSync(nodePath, 'utf-8'))

// The rows' names in bench.sh's table: the daemon's, apart from drive_workloads' own rows.
const names = {
  writeFile: 'daemonWriteFile',
  readFile: 'daemonReadFile',
  stat: 'daemonStat',
  writeStream: 'daemonWriteStream',
  readStream: 'daemonReadStream'
}
const cpu = os.cpus()
const report = {
  machine: `${cpu[0].model}, ${cpu.length} cores, ${os.type()} ${os.release()}`,
  config: JSON.parse(config),
  workloads: {}
}
const fmt = (v) => v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)
console.log('workload'.padEnd(20) + 'ours'.padStart(12) + 'Node'.padStart(12) + 'ratio'.padStart(9) +
  '  unit')
for (const [key, name] of Object.entries(names)) {
  const a = ours[key]
  const b = node[key]
  if (!a || !b) throw new Error(`${key}: missing from ${!a ? oursPath : nodePath}`)
  const row = { ours: a.rate, node: b.rate, unit: a.unit, ratio: a.rate / b.rate, seconds: { ours: a.seconds, node: b.seconds } }
  report.workloads[name] = row
  console.log(name.padEnd(20) + fmt(row.ours).padStart(12) + fmt(row.node).padStart(12) +
    (row.ratio.toFixed(2) + 'x').padStart(9) + '  ' + row.unit)
}
const proc = report.config.daemonProcess
if (proc) {
  console.log(`daemon CPU during the workload: ours ${proc.ours.cpuSeconds} s, Node ${proc.node.cpuSeconds} s; ` +
    `peak RSS: ours ${proc.ours.peakRssMiB} MiB, Node ${proc.node.peakRssMiB} MiB`)
}
console.log('machine: ' + report.machine)
fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
console.error('wrote ' + out)
