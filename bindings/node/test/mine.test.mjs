import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const fl = createRequire(import.meta.url)('../index.js')

const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
const lines = users.flatMap((u, i) => [
  `user ${u} logged in from 10.0.0.${i + 1}`,
  `connection closed by 10.1.2.${i} port ${2000 + i}`,
])

test('mine returns the cluster of every line and its template', async () => {
  const { clusters, templates, counts } = await fl.mine(lines)
  assert.ok(clusters instanceof Uint32Array)
  assert.equal(clusters.length, lines.length)
  assert.equal(templates[clusters[0]], 'user <*> logged in from <*>')
  assert.equal(templates[clusters[1]], 'connection closed by <*> port <*>')
  assert.equal(counts[clusters[0]], users.length)
  assert.equal(new Set(clusters).size, 2)
})

test('mineSync agrees with mine, and raw lines lose their headers', async () => {
  assert.deepEqual(fl.mineSync(lines), await fl.mine(lines))
  const raw = lines.map((l, i) => `2024-05-14 10:00:${String(i).padStart(2, '0')},123 INFO [main] ${l}`)
  const r = fl.mineSync(raw, { raw: true })
  assert.equal(r.templates[r.clusters[0]], 'user <*> logged in from <*>')
})

test('the Miner is incremental, resolvable and restorable from a snapshot', async () => {
  const m = new fl.Miner()
  const first = m.add(lines[0])
  const ids = m.addMany(lines.slice(1))
  assert.equal(ids.length, lines.length - 1)
  assert.equal(m.template(first), 'user <*> logged in from <*>')
  assert.equal(m.size, 2)
  assert.deepEqual(m.parameters(m.resolve(first), 'user zoe logged in from 10.9.9.9'), ['zoe', '10.9.9.9'])
  const more = await m.addManyAsync(['user mallory logged in from 10.0.0.77'])
  assert.equal(m.resolve(more[0]), m.resolve(first))

  const snap = JSON.parse(JSON.stringify(m.snapshot()))
  const r = fl.Miner.restore(snap)
  assert.equal(r.add('user trent logged in from 10.0.0.8'), m.add('user trent logged in from 10.0.0.8'))
  assert.deepEqual(r.templates(), m.templates())
  assert.throws(() => fl.Miner.restore({ clusters: 'x' }), { code: 'ERR_FAULTLINE_INPUT' })
})

test('bad miner settings are typed config errors', async () => {
  await assert.rejects(fl.mine(lines, { config: { similarity_threshold: 2 } }), (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_CONFIG')
    assert.match(e.message, /similarity_threshold/)
    return true
  })
  assert.throws(() => new fl.Miner({ max_tokenz: 10 }), /unknown setting `miner\.max_tokenz`/)
})
