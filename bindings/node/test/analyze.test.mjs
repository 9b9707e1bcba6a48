import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const fl = createRequire(import.meta.url)('../index.js')

const dir = mkdtempSync(join(tmpdir(), 'faultline-node-test-'))
const truth = fl.writeExampleIncident(dir, 'deploy-regression', 42)
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

/** The bundle's files as in-memory record arrays (what a host holds instead of files). */
function recordsOf(d) {
  const jsonl = (f) => (existsSync(join(d, f)) ? readFileSync(join(d, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : undefined)
  const csv = (f) => {
    if (!existsSync(join(d, f))) return undefined
    const [head, ...rows] = readFileSync(join(d, f), 'utf8').trim().split('\n')
    const cols = head.split(',')
    return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], cols[i] === 'value' ? Number(v) : v])))
  }
  return {
    incident: JSON.parse(readFileSync(join(d, 'incident.json'), 'utf8')),
    metrics: csv('metrics.csv'),
    logs: jsonl('logs.jsonl'),
    events: jsonl('events.jsonl'),
    traces: jsonl('traces.jsonl'),
    alerts: jsonl('alerts.jsonl'),
    topology: csv('topology.csv'),
  }
}

test('analyzeBundle ranks the planted root cause first, with evidence', async () => {
  const report = await fl.analyzeBundle(dir)
  assert.equal(report.version, 1)
  const top = report.hypotheses[0]
  assert.equal(top.service, truth)
  assert.ok(top.support.length > 0)
  for (const id of top.support) assert.ok(report.evidence.some((e) => e.id === id), `evidence ${id} exists`)
  assert.ok(report.narrative.includes(truth))
  assert.match(fl.renderMarkdown(report), new RegExp(truth))
})

test('analyze on in-memory records agrees with the bundle directory', async () => {
  const fromDir = await fl.analyzeBundle(dir)
  const fromMemory = await fl.analyze(recordsOf(dir))
  assert.equal(fromMemory.hypotheses[0].service, fromDir.hypotheses[0].service)
  assert.equal(fromMemory.incident.id, fromDir.incident.id)
})

test('configuration objects mirror PipelineConfig and are checked', async () => {
  const full = fl.parseConfig({ rca: { top_n: 2 }, plan: { enabled: false } })
  assert.equal(full.plan.enabled, false)
  assert.equal(full.rca.top_n, 2)
  assert.ok(full.logs.miner.max_clusters > 0, 'defaults are filled in')
  const report = await fl.analyzeBundle(dir, { config: { rca: { top_n: 2 }, plan: { enabled: false } } })
  assert.ok(report.hypotheses.length <= 2)
  assert.equal(report.plan ?? null, null)
  await assert.rejects(fl.analyzeBundle(dir, { config: { rca: { top_m: 2 } } }), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_CONFIG')
    assert.equal(e.message, 'bad configuration: unknown setting `rca.top_m`')
    return true
  })
})

test('malformed input is a typed error naming where and what', async () => {
  await assert.rejects(fl.analyzeBundle(join(dir, 'nope')), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_BUNDLE')
    assert.equal(e.name, 'FaultlineBundleError')
    assert.equal(e.badInput, true)
    assert.match(e.message, /^bad bundle: .*nope: not a bundle directory$/)
    assert.ok(e.cause instanceof Error, 'the Rust cause chain is kept as `cause`')
    assert.match(e.cause.message, /not a bundle directory/)
    return true
  })
  const recs = recordsOf(dir)
  recs.logs[1] = { ...recs.logs[1], timestamp: 'yesterday' }
  await assert.rejects(fl.analyze(recs), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_BUNDLE')
    assert.match(e.message, /logs\[1\]: field `timestamp` has invalid value "yesterday"/)
    return true
  })
  await assert.rejects(fl.analyze({ metrics: [] }), { code: 'ERR_FAULTLINE_INPUT', message: /incident is missing/ })
  await assert.rejects(fl.analyze({ incident: { id: 'x', onset: 1 }, metric: [] }), /unknown key `metric`/)
})

test('a JavaScript LLM client narrates; a bad answer keeps the template narrative', async () => {
  const plain = await fl.analyzeBundle(dir)
  const requests = []
  const report = await fl.analyzeBundle(dir, {
    llm: async (req) => {
      requests.push(req)
      return 'the moon did it' // not the JSON the schema asks for: rejected by the checks
    },
  })
  assert.equal(requests.length, 1)
  assert.ok(requests[0].messages.some((m) => m.role === 'user' && m.content.includes(truth)))
  assert.ok(requests[0].json_schema, 'the request carries the answer schema')
  assert.equal(report.narrative, plain.narrative)
  const failing = await fl.analyzeBundle(dir, { llm: () => { throw new Error('rate limited') } })
  assert.equal(failing.narrative, plain.narrative)
})

test('analysis runs off the JavaScript thread: timers keep firing meanwhile', async () => {
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const reports = await Promise.all([fl.analyzeBundle(dir), fl.analyzeBundle(dir), fl.analyzeBundle(dir)])
  clearInterval(timer)
  assert.ok(reports.every((r) => r.hypotheses[0].service === truth))
  assert.ok(ticks > 0, 'the event loop ran while three analyses were in flight')
})
