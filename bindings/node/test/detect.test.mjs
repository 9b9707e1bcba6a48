import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const fl = createRequire(import.meta.url)('../index.js')

// A noisy flat series with one spike at 500.
const series = Float64Array.from({ length: 600 }, (_, i) => (i === 500 ? 60 : 10 + (i % 7)))

test('detect scores every value in [0, 1] and the spike stands out', async () => {
  const scores = await fl.detect(series)
  assert.ok(scores instanceof Float64Array)
  assert.equal(scores.length, series.length)
  assert.ok(scores.every((s) => s >= 0 && s <= 1))
  assert.ok(scores[500] > 0.5, `spike score ${scores[500]}`)
  assert.ok(scores[500] > Math.max(...scores.slice(400, 500)))
})

test('async, sync, plain arrays and the streaming detector agree', async () => {
  const a = await fl.detect(series)
  const b = fl.detectSync(Array.from(series))
  assert.deepEqual(Array.from(a), Array.from(b))
  const d = new fl.StreamDetector()
  const one = Array.from(series.slice(0, 300), (v) => d.update(v))
  const rest = d.updateMany(series.slice(300))
  assert.deepEqual([...one, ...rest], Array.from(a))
  assert.equal(d.count, 600)
})

test('scores are causal: later values do not change earlier scores', () => {
  const full = fl.detectSync(series)
  const prefix = fl.detectSync(series.slice(0, 450))
  assert.deepEqual(Array.from(prefix), Array.from(full.slice(0, 450)))
})

test('an infinite value is a typed input error naming its index', async () => {
  const bad = [1, 2, 3, Infinity, 5]
  assert.throws(() => fl.detectSync(bad), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_INPUT')
    assert.equal(e.name, 'FaultlineInputError')
    assert.equal(e.badInput, true)
    assert.match(e.message, /values\[3\] is Infinity/)
    return true
  })
  await assert.rejects(fl.detect(bad), { code: 'ERR_FAULTLINE_INPUT' })
  assert.throws(() => new fl.StreamDetector().update(-Infinity), { code: 'ERR_FAULTLINE_INPUT' })
})

test('a misspelt stream setting is a config error naming it', () => {
  assert.throws(() => fl.detectSync([1, 2, 3], { warmup_sample: 3 }), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_CONFIG')
    assert.match(e.message, /unknown setting `stream\.warmup_sample`/)
    return true
  })
  assert.throws(() => new fl.StreamDetector('fast'), { code: 'ERR_FAULTLINE_CONFIG' })
})

test('detectAnomalies finds a level shift at its start', async () => {
  const t0 = Date.parse('2024-05-14T10:00:00Z')
  const timestamps = Array.from({ length: 240 }, (_, i) => t0 + 15_000 * i)
  const values = Array.from({ length: 240 }, (_, i) => (i < 150 ? 100 : 400) + (i % 5))
  const found = await fl.detectAnomalies({ service: 'checkout', metric: 'latency_p95_ms', timestamps, values })
  assert.equal(found.length, 1)
  assert.equal(found[0].kind.kind, 'level_shift')
  assert.equal(found[0].direction, 'up')
  assert.equal(Date.parse(found[0].start), timestamps[150])
  await assert.rejects(
    fl.detectAnomalies({ service: 'x', metric: 'y', timestamps: [1, 2], values: [1] }),
    { code: 'ERR_FAULTLINE_INPUT' },
  )
  await assert.rejects(
    fl.detectAnomalies({ service: 'x', metric: 'y', timestamps: ['yesterday'], values: [1] }),
    /series\.timestamps\[0\] has invalid value "yesterday"/,
  )
})

test('detectAnomalies runs the detector that detect.method names', async () => {
  const timestamps = Array.from({ length: 300 }, (_, i) => 1_700_000_000 + 60 * i)
  // Steady noise with one lone spike: robust z flags it, multi-resolution fusion does not.
  const values = Array.from({ length: 300 }, (_, i) => (i === 200 ? 400 : 100 + ((i * 37) % 11)))
  const series = { service: 'api', metric: 'latency_ms', timestamps, values }
  const robust = await fl.detectAnomalies(series, { method: 'robust_z' })
  assert.equal(robust.length, 1)
  assert.equal(robust[0].detector, 'robust_z')
  assert.equal(Date.parse(robust[0].peak), timestamps[200] * 1000)
  assert.deepEqual(await fl.detectAnomalies(series, { method: 'multi_res' }), [])
  await assert.rejects(fl.detectAnomalies(series, { method: 'robust_z', window: 3 }), {
    code: 'ERR_FAULTLINE_CONFIG',
    message: /detect\.window/,
  })
  await assert.rejects(fl.detectAnomalies(series, { method: 'robust_z', window_samples: 1 }), {
    code: 'ERR_FAULTLINE_CONFIG',
  })
})
