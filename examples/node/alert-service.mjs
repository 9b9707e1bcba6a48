// An alert router's analysis endpoint: Alertmanager POSTs its webhook payload to /alerts, the
// service gathers the signals of the alert window from its own stores (here: a pluggable
// `loadSignals`), runs faultline in-process and answers with the ranked root causes.
//
//   node examples/node/alert-service.mjs            # listens on $PORT (default 9094)
//   curl -s localhost:9094/alerts -d @payload.json  # → {"incident": …, "hypotheses": […], "markdown": "…"}
//
// The analysis runs off the JavaScript thread, so the service keeps answering other requests
// (health checks, other webhooks) while it works.
import http from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const faultline = require(process.env.FAULTLINE_NODE ?? '../../bindings/node/index.js')

/** Go's zero time, which Alertmanager sends as `endsAt` while an alert fires. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z'
const WINDOW_BEFORE_MS = 30 * 60 * 1000
const WINDOW_AFTER_MS = 15 * 60 * 1000

/**
 * Turns an Alertmanager (version 4) webhook payload into faultline's incident and alert
 * records. Throws a TypeError with a clear message when the payload is not one.
 */
export function incidentFromWebhook(payload) {
  if (payload === null || typeof payload !== 'object' || !Array.isArray(payload.alerts)) {
    throw new TypeError('not an Alertmanager webhook payload: expected an object with an `alerts` array')
  }
  if (payload.alerts.length === 0) throw new TypeError('the webhook payload has no alerts')
  const alerts = payload.alerts.map((a, i) => {
    if (!a || typeof a.startsAt !== 'string' || typeof a.labels !== 'object') {
      throw new TypeError(`alerts[${i}]: expected startsAt (RFC 3339) and labels`)
    }
    const rec = {
      starts_at: a.startsAt,
      status: a.status ?? 'firing',
      labels: a.labels,
      annotations: a.annotations ?? {},
    }
    if (a.endsAt && a.endsAt !== GO_ZERO_TIME) rec.ends_at = a.endsAt
    if (a.fingerprint) rec.fingerprint = a.fingerprint
    return rec
  })
  const starts = alerts.map((a) => Date.parse(a.starts_at))
  if (starts.some(Number.isNaN)) throw new TypeError('an alert has an unparsable startsAt')
  const onset = Math.min(...starts)
  const common = payload.commonLabels ?? {}
  const incident = {
    id: `am-${(payload.groupKey ?? 'group').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${onset}`,
    title: payload.commonAnnotations?.summary ?? `${alerts.length} alerts firing (${payload.receiver ?? 'alertmanager'})`,
    onset: new Date(onset).toISOString(),
    window: {
      start: new Date(onset - WINDOW_BEFORE_MS).toISOString(),
      end: new Date(Math.max(...starts) + WINDOW_AFTER_MS).toISOString(),
    },
  }
  if (common.env) incident.environment = common.env
  return { incident, alerts }
}

/**
 * Analyses one webhook payload: the incident and alerts from the payload, everything else
 * from `loadSignals(incident)` (metrics, logs, events, traces, topology for the window).
 */
export async function analyzeWebhook(payload, { loadSignals = async () => ({}), config, top = 3 } = {}) {
  const { incident, alerts } = incidentFromWebhook(payload)
  const signals = await loadSignals(incident)
  const report = await faultline.analyze(
    { ...signals, incident, alerts: [...(signals.alerts ?? []), ...alerts] },
    { config },
  )
  return {
    incident: report.incident,
    narrative: report.narrative,
    hypotheses: report.hypotheses.slice(0, top).map((h) => ({
      rank: h.rank,
      service: h.service,
      cause: h.cause.kind,
      statement: h.statement,
      confidence: h.confidence,
      evidence: h.support.map((id) => report.evidence.find((e) => e.id === id)?.summary ?? id),
    })),
    alert_groups: report.alert_groups,
    markdown: faultline.renderMarkdown(report),
  }
}

/** The HTTP service: `POST /alerts` (webhook in, analysis out), `GET /healthz`. */
export function createService(options = {}) {
  return http.createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method === 'GET' && req.url === '/healthz') return reply(200, { ok: true })
    if (req.method !== 'POST' || req.url !== '/alerts') return reply(404, { error: 'POST /alerts' })
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > 5 * 1024 * 1024) req.destroy()
      else chunks.push(c)
    })
    req.on('end', async () => {
      let payload
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch (e) {
        return reply(400, { error: `body is not JSON: ${e.message}` })
      }
      try {
        reply(200, await analyzeWebhook(payload, options))
      } catch (e) {
        // Bad input (the caller's fault) is a 400 naming what is wrong; anything else a 500.
        const bad = e instanceof TypeError || e.badInput === true
        reply(bad ? 400 : 500, { error: e.message, code: e.code ?? e.name })
      }
    })
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 9094)
  createService().listen(port, () => console.log(`faultline alert service on :${port} (POST /alerts)`))
}
