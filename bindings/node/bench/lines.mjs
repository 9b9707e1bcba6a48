// Seeded generator of service log lines (~40 templates with numbers, ids, addresses, paths,
// durations and words as variables), shared by the benchmarks.

export function rng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function logLines(n, seed = 1) {
  const r = rng(seed)
  const int = (a, b) => a + Math.floor(r() * (b - a))
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const hex = (len) => Array.from({ length: len }, () => '0123456789abcdef'[int(0, 16)]).join('')
  const ip = () => `10.${int(0, 255)}.${int(0, 255)}.${int(1, 255)}`
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
  const paths = ['/api/checkout', '/api/cart', '/api/login', '/api/search', '/healthz', '/api/orders', '/static/app.js']
  const methods = ['GET', 'POST', 'PUT', 'DELETE']
  const gen = [
    () => `user ${pick(users)} logged in from ${ip()}`,
    () => `user ${pick(users)} logged out after ${int(1, 7200)} s`,
    () => `${pick(methods)} ${pick(paths)} ${pick([200, 200, 200, 201, 404, 500, 502])} ${int(1, 900)}ms`,
    () => `connection closed by ${ip()} port ${int(1024, 65535)}`,
    () => `accepted connection from ${ip()}:${int(1024, 65535)}`,
    () => `order ${int(100000, 999999)} placed in ${int(10, 400)} ms`,
    () => `payment authorization failed for order ${int(100000, 999999)}: upstream returned ${pick([502, 503, 504])}`,
    () => `cache miss for key session:${hex(16)}`,
    () => `cache hit ratio ${r().toFixed(3)} over last ${int(10, 600)} s`,
    () => `GC pause ${int(1, 300)} ms, heap ${int(100, 4000)} MB of ${pick([4096, 8192])} MB`,
    () => `checkpoint complete: wrote ${int(10, 5000)} buffers (${(r() * 10).toFixed(1)}%)`,
    () => `duration: ${(r() * 100).toFixed(3)} ms  statement: SELECT * FROM orders WHERE id = ${int(1, 1e6)}`,
    () => `job ${hex(8)} finished in ${int(1, 10000)} ms with status ${pick(['ok', 'ok', 'failed'])}`,
    () => `retrying request ${hex(12)} to ${pick(['payments', 'inventory', 'cart'])} (attempt ${int(1, 5)} of 5)`,
    () => `upstream ${pick(['payments', 'inventory', 'cart'])} timed out after ${int(1000, 6000)} ms`,
    () => `Received block blk_${int(1e8, 9e8)} of size ${int(1e6, 7e7)} from /${ip()}`,
    () => `PacketResponder ${int(0, 3)} for block blk_${int(1e8, 9e8)} terminating`,
    () => `Verification succeeded for blk_${int(1e8, 9e8)}`,
    () => `instance ${hex(8)}-${hex(4)} state changed from ${pick(['pending', 'running'])} to ${pick(['running', 'stopped'])}`,
    () => `VM ${pick(['Started', 'Paused', 'Resumed', 'Stopped'])} (Lifecycle Event)`,
    () => `disk usage ${int(50, 99)}% on ${pick(['/var/lib/data', '/var/log', '/'])}`,
    () => `feature flag ${pick(['new_checkout', 'fast_search', 'dark_mode'])} evaluated to ${pick(['true', 'false'])} for user ${int(1, 1e6)}`,
    () => `worker ${int(0, 32)} picked task ${hex(10)} from queue ${pick(['emails', 'exports', 'thumbnails'])}`,
    () => `sent ${int(1, 500)} messages to topic ${pick(['orders', 'payments', 'audit'])} partition ${int(0, 12)}`,
    () => `failed to parse config value ${pick(['timeout', 'retries', 'pool_size'])}=${hex(3)}: invalid digit`,
    () => `NullPointerException at com.shop.pricing.PriceCalculator.apply(PriceCalculator.java:${int(10, 400)})`,
  ]
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = pick(gen)()
  return out
}
