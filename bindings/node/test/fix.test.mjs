import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const fl = createRequire(import.meta.url)('../index.js')

const dir = mkdtempSync(join(tmpdir(), 'faultline-node-fix-'))
fl.writeExampleIncident(dir, 'deploy-regression', 42)
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const samples = (offset) => Array.from({ length: 30 }, (_, i) => 100 + (i % 7) + offset)

test('plan → preflight → approve → execute → verify through a JavaScript runner, audited', async () => {
  const report = await fl.analyzeBundle(dir)
  const notes = []
  const fixer = new fl.Fixer({ notifier: async (n) => { notes.push(n) } })
  const plan = await fixer.plan(report, { environment: 'production' })
  assert.ok(plan.steps.length > 0)

  const runs = []
  const runner = async ({ step, mode }) => {
    runs.push(mode)
    return { status: 0, output: `${mode}: ${mode === 'execute' ? step.script : step.dry_run}` }
  }
  const pre = await fixer.preflight(plan, undefined, runner)
  assert.equal(pre.passed, true, JSON.stringify(pre.report))
  assert.ok(runs.includes('dry_run'))

  // Production needs a person's signed approval: without one, execution is refused.
  await assert.rejects(fixer.execute(plan, null, runner), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_NOT_ALLOWED')
    return true
  })
  await assert.rejects(fixer.execute(plan, { autoEnvironment: 'production' }, runner), { badInput: true })

  const alice = fl.generateKey()
  const approval = await fixer.approve(plan, pre, { approver: 'alice', comment: 'rollback is safe', secretKey: alice.secretKey }, runner)
  const edited = { ...plan, steps: plan.steps.map((s) => ({ ...s, script: 'rm -rf /' })) }
  await assert.rejects(fixer.execute(edited, { approval, publicKey: alice.publicKey }, runner), { code: 'ERR_FAULTLINE_NOT_ALLOWED' })

  const run = await fixer.execute(plan, { approval, publicKey: alice.publicKey }, runner)
  assert.equal(run.state, 'executing')
  assert.ok(runs.includes('execute'))

  // A canary far worse than the baseline fails: every step is rolled back and humans are told.
  const verdict = await fixer.verify(plan, run, {
    publicKey: alice.publicKey,
    baseline: { latency_ms: samples(0) },
    canary: { latency_ms: samples(400) },
    spec: { critical: ['latency_ms'] },
  }, runner)
  assert.equal(verdict.state, 'rolled_back')
  assert.ok(verdict.rollbacks.length > 0)
  assert.ok(notes.length > 0 && notes[0].title.length > 0)

  const records = await fixer.auditRecords()
  assert.ok(records.length >= 5)
  assert.deepEqual(records.map((r) => r.payload.event).slice(0, 2), ['planned', 'preflight'])
  const log = await fixer.auditLog()
  const head = fixer.auditHead()
  assert.equal(fl.verifyAudit(log, fixer.auditPublicKey, head), records.length)
  const lines = log.trim().split('\n')
  const tampered = lines.map((l, i) => (i === 1 ? l.replace('"passed":true', '"passed":false') : l))
  assert.notEqual(tampered[1], lines[1])
  assert.throws(() => fl.verifyAudit(tampered.join('\n'), fixer.auditPublicKey), { code: 'ERR_FAULTLINE_REMEDIATE' })
  assert.throws(() => fl.verifyAudit(lines.slice(0, -1).join('\n'), fixer.auditPublicKey, head), { code: 'ERR_FAULTLINE_REMEDIATE' })
  assert.throws(() => fl.verifyAudit(log, fl.generateKey().publicKey), { code: 'ERR_FAULTLINE_REMEDIATE' })
})

test('a runner that fails a step marks the execution failed, not an exception', async () => {
  const report = await fl.analyzeBundle(dir)
  const fixer = new fl.Fixer()
  const plan = await fixer.plan(report, { environment: 'staging' })
  const pre = await fixer.preflight(plan)
  assert.equal(pre.passed, true)
  const run = await fixer.execute(plan, { autoEnvironment: 'staging' }, async ({ mode }) =>
    mode === 'execute' ? { status: 1, output: 'kubectl: connection refused' } : { status: 0, output: '' })
  assert.equal(run.state, 'failed')
  assert.match(run.failure, /connection refused|status 1|failed/)
})

test('bad keys and records are typed input errors', async () => {
  assert.throws(() => new fl.Fixer({ auditKey: 'xyz' }), { code: 'ERR_FAULTLINE_INPUT', message: /auditKey/ })
  const fixer = new fl.Fixer()
  await assert.rejects(fixer.plan({ hypotheses: 'none' }), { code: 'ERR_FAULTLINE_INPUT', message: /^report: / })
  await assert.rejects(fixer.preflight({}, undefined, { kind: 'teleport' }), /runner/)
})
