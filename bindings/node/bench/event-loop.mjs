// Benchmark: the event loop keeps serving while long analyses run. A 5 ms interval timer
// measures its own lateness (drift) while `analyzeBundle` runs on a large generated incident;
// the same timer is measured with the loop idle as the baseline. Floor: max drift < 10 ms.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logLines } from './lines.mjs'

const require = createRequire(import.meta.url)
const fl = require(process.env.FAULTLINE_ADDON ?? '../index.js')
const INTERVAL_MS = 5

function measureDrift(untilPromise) {
  return new Promise((resolve) => {
    const drifts = []
    let expected = performance.now() + INTERVAL_MS
    const timer = setInterval(() => {
      const now = performance.now()
      drifts.push(Math.max(0, now - expected))
      expected = now + INTERVAL_MS
    }, INTERVAL_MS)
    untilPromise.then((value) => {
      clearInterval(timer)
      drifts.sort((a, b) => a - b)
      resolve({
        value,
        ticks: drifts.length,
        max: drifts[drifts.length - 1] ?? 0,
        p99: drifts[Math.floor(drifts.length * 0.99)] ?? 0,
      })
    })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'faultline-node-loop-'))
try {
  const truth = fl.writeExampleIncident(dir, 'deploy-regression', 7)
  // Make the analysis long: 300k more log lines for the miner.
  const extra = logLines(300_000, 3)
  const t0 = Date.parse('2024-05-14T10:00:00Z')
  writeFileSync(join(dir, 'logs.jsonl'), extra.map((m, i) => JSON.stringify({ timestamp: new Date(t0 + i * 10).toISOString(), service: 'frontend', level: 'info', message: m })).join('\n') + '\n', { flag: 'a' })

  const idle = await measureDrift(new Promise((r) => setTimeout(r, 1000)))
  const t = performance.now()
  const busy = await measureDrift(Promise.all([fl.analyzeBundle(dir), fl.analyzeBundle(dir)]))
  const elapsed = performance.now() - t
  const top = busy.value[0].hypotheses[0]?.service
  console.log(`event loop during 2 concurrent analyses (${elapsed.toFixed(0)} ms, top=${top}, expected ${truth}): ${busy.ticks} ticks, timer drift max ${busy.max.toFixed(2)} ms, p99 ${busy.p99.toFixed(2)} ms | idle baseline: max ${idle.max.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms | floor max < 10 ms ${busy.max < 10 ? 'PASS' : 'FAIL'}`)
  if (busy.max >= 10) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
