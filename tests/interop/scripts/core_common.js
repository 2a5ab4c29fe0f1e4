// Shared helpers of the core interop scripts: deterministic block contents and promises.
'use strict'
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const hypercore = require(path.join(modules, 'hypercore'))
const hcrypto = require(path.join(modules, 'hypercore-crypto'))

// Byte j of global block i (the C++ tests use the same formula).
function blockBytes (i, size) {
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j++) b[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff
  return b
}

function readStdin () {
  return new Promise((resolve) => {
    let s = ''
    process.stdin.on('data', (d) => { s += d })
    process.stdin.on('end', () => resolve(s))
  })
}

function p (fn) {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
}

module.exports = { hypercore, hcrypto, blockBytes, readStdin, p }
