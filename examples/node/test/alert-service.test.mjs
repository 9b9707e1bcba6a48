import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'

import { analyzeWebhook, createService, incidentFromWebhook } from '../alert-service.mjs'
import { shopSignals } from '../shop-signals.mjs'

const payload = JSON.parse(readFileSync(new URL('./fixtures/alertmanager_firing.json', import.meta.url), 'utf8'))

test('the webhook becomes an incident whose onset is the earliest alert', () => {
  const { incident, alerts } = incidentFromWebhook(payload)
  assert.equal(alerts.length, payload.alerts.length)
  assert.equal(incident.onset, '2024-05-14T10:31:45.120Z') // redis fired first
  assert.equal(incident.environment, 'prod')
  assert.ok(alerts.every((a) => a.ends_at === undefined), 'firing alerts carry no end (Go zero time dropped)')
  assert.throws(() => incidentFromWebhook({ alerts: 'nope' }), /expected an object with an `alerts` array/)
})

test('payments flag flip ranks first, not the redis alert that fired first', async () => {
  const out = await analyzeWebhook(payload, { loadSignals: async () => shopSignals() })
  assert.ok(out.hypotheses.length > 0)
  assert.equal(out.hypotheses[0].service, 'payments', JSON.stringify(out.hypotheses, null, 1))
  assert.ok(out.hypotheses[0].evidence.length > 0)
  assert.ok(out.alert_groups.length > 0, 'the five alerts are grouped')
  assert.match(out.markdown, /payments/)
})

test('the HTTP service answers the webhook and keeps serving health checks meanwhile', async () => {
  const server = createService({ loadSignals: async () => shopSignals() })
  server.listen(0)
  await once(server, 'listening')
  const base = `http://127.0.0.1:${server.address().port}`
  try {
    const analysis = fetch(`${base}/alerts`, { method: 'POST', body: JSON.stringify(payload) })
    const health = await fetch(`${base}/healthz`)
    assert.equal(health.status, 200)
    const res = await analysis
    assert.equal(res.status, 200)
    const body = await res.json()
    assert.equal(body.hypotheses[0].service, 'payments')

    const bad = await fetch(`${base}/alerts`, { method: 'POST', body: '{"alerts": []}' })
    assert.equal(bad.status, 400)
    assert.match((await bad.json()).error, /no alerts/)
  } finally {
    server.close()
  }
})
