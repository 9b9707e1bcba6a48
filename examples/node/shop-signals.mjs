// Seeded signals of the shop around the Alertmanager fixture's incident (2024-05-14, ~10:32Z):
// a feature flag flipped on `payments` at 10:32:01 makes its acquirer calls fail; checkout,
// then frontend, inherit the errors; redis sees more clients (a symptom, and it alerts first).

function rng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const T0 = Date.parse('2024-05-14T10:00:00Z')
const FLAG = Date.parse('2024-05-14T10:32:01Z')
const STEP_MS = 15_000
const END = Date.parse('2024-05-14T10:46:00Z')

export function shopSignals(seed = 7) {
  const r = rng(seed)
  const noise = (x, rel) => x * (1 + (r() - 0.5) * 2 * rel)
  const metrics = []
  const after = (t, lag) => t >= FLAG + lag
  for (let t = T0; t < END; t += STEP_MS) {
    const ts = new Date(t).toISOString()
    const row = (service, metric, value) => metrics.push({ timestamp: ts, service, metric, value: Number(value.toFixed(5)) })
    row('payments', 'error_rate', noise(after(t, 0) ? 0.38 : 0.002, 0.1))
    row('payments', 'latency_p95_ms', noise(after(t, 0) ? 4800 : 180, 0.08))
    row('checkout', 'error_rate', noise(after(t, 20_000) ? 0.21 : 0.003, 0.1))
    row('checkout', 'latency_p95_ms', noise(after(t, 20_000) ? 6020 : 240, 0.08))
    row('frontend', 'error_rate', noise(after(t, 45_000) ? 0.12 : 0.002, 0.1))
    row('frontend', 'latency_p95_ms', noise(after(t, 45_000) ? 3100 : 120, 0.08))
    row('cart', 'latency_p95_ms', noise(after(t, 40_000) ? 95 : 60, 0.08))
    row('redis', 'connected_clients', noise(after(t, -20_000) ? 950 : 400, 0.05))
  }
  const logs = []
  for (let t = T0; t < END; t += 1000) {
    const ts = new Date(t + Math.floor(r() * 900)).toISOString()
    logs.push({ timestamp: ts, service: 'checkout', level: 'info', message: `order ${100000 + Math.floor(r() * 900000)} placed in ${20 + Math.floor(r() * 80)} ms` })
    if (t % 5000 === 0) logs.push({ timestamp: ts, service: 'cart', level: 'info', message: `cart ${Math.floor(r() * 1e6)} updated with ${1 + Math.floor(r() * 5)} items` })
    if (after(t, 0)) {
      logs.push({ timestamp: ts, service: 'payments', level: 'error', message: `acquirer call failed: 504 gateway timeout after ${4900 + Math.floor(r() * 200)} ms (request ${Math.floor(r() * 1e9)})` })
      if (r() < 0.6) logs.push({ timestamp: ts, service: 'checkout', level: 'error', message: `payment authorization failed for order ${Math.floor(r() * 1e6)}: upstream returned 502` })
    }
  }
  logs.sort((a, b) => a.timestamp.localeCompare(b.timestamp))
  const events = [
    { timestamp: '2024-05-14T09:40:00Z', service: 'cart', kind: 'deploy', version: '3.2.0', description: 'rolling update of cart 3.1.9 -> 3.2.0' },
    { timestamp: '2024-05-14T10:32:01Z', service: 'payments', kind: 'feature_flag', description: 'flag payments.new_acquirer_routing enabled for 100% of traffic' },
  ]
  const topology = [
    { source: 'frontend', target: 'checkout', kind: 'http' },
    { source: 'checkout', target: 'payments', kind: 'grpc' },
    { source: 'checkout', target: 'cart', kind: 'http' },
    { source: 'cart', target: 'redis', kind: 'redis' },
  ]
  return { metrics, logs, events, topology }
}
