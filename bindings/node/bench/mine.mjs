// Benchmark: mining 1M log lines held in a JavaScript array of strings with the addon
// (`mine`, conversion of the array included) against the same facade calls in Rust (release,
// `examples/mine_baseline.rs`) on the same lines, in one run. Floor: Node ≤ 1.5 × Rust.
//
//   bench/run.sh   (builds both in release, then runs this)
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logLines } from './lines.mjs'

const require = createRequire(import.meta.url)
const addon = require(process.env.FAULTLINE_ADDON ?? '../index.js')
const rustBin = process.env.FAULTLINE_MINE_BASELINE
if (!rustBin) throw new Error('set FAULTLINE_MINE_BASELINE to the mine_baseline example binary (bench/run.sh does)')

const N = Number(process.env.LINES ?? 1_000_000)
const REPEATS = Number(process.env.REPEATS ?? 3)
const dir = mkdtempSync(join(tmpdir(), 'faultline-node-bench-'))
const file = join(dir, 'lines.txt')
writeFileSync(file, logLines(N, 1).join('\n') + '\n')
// Both sides mine the lines as read from the file (a service gets its lines from I/O; strings
// built by template literals would add V8's flattening cost to the Node side).
const lines = readFileSync(file, 'utf8').split('\n')
lines.pop()

try {
  const rust = JSON.parse(execFileSync(rustBin, [file, String(REPEATS)], { encoding: 'utf8' }))
  const times = []
  let clusters = 0
  for (let i = 0; i < REPEATS; i++) {
    const t = process.hrtime.bigint()
    const r = await addon.mine(lines)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
    clusters = r.templates.filter((t) => t !== '').length
  }
  times.sort((a, b) => a - b)
  const node = times[Math.floor(times.length / 2)]
  const ratio = node / rust.median_ms
  console.log(`mine ${N} lines: rust ${rust.median_ms.toFixed(1)} ms (${(N / rust.median_ms / 1e3).toFixed(2)} M lines/s, ${rust.clusters} clusters) | node ${node.toFixed(1)} ms (${(N / node / 1e3).toFixed(2)} M lines/s, ${clusters} clusters) | ratio ${ratio.toFixed(2)}x (floor 1.50x) ${ratio <= 1.5 ? 'PASS' : 'FAIL'}`)
  if (clusters !== rust.clusters) throw new Error(`cluster counts differ: node ${clusters}, rust ${rust.clusters}`)
  if (ratio > 1.5) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
