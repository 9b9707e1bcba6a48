// Copying arrays of strings out of JavaScript (src/lines.rs): exact text whatever the length
// or the characters, in order, and typed errors naming the offending element.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const fl = createRequire(import.meta.url)('../index.js')

// Lines made of letters only stay constant templates of their own cluster, so a template shows
// the text exactly as the addon read it.
const word = (n, c = 'q') => c.repeat(n)
const special = [
  'grüße aus zürich',
  'emoji 😀 and cjk 日本語',
  word(65_530), // around the 64 KiB spare-capacity boundary: the length-probing path
  word(65_536, 'w'),
  word(200_000, 'z') + ' tail',
  'lone surrogate \uD800 here',
]

test('mine copies long and non-ASCII strings exactly', async () => {
  const lines = [...Array.from({ length: 1000 }, (_, i) => `filler line number ${i}`), ...special]
  for (const r of [await fl.mine(lines), fl.mineSync(lines)]) {
    assert.equal(r.clusters.length, lines.length)
    const got = special.map((_, k) => r.templates[r.clusters[1000 + k]])
    assert.deepEqual(got, special.map((s) => s.replace('\uD800', '\uFFFD')))
  }
})

test('ASCII text held in two-byte V8 strings and Latin-1 text in one-byte strings copy exactly', async () => {
  const twoByteAscii = ('ā' + 'x'.repeat(40)).slice(1) // a slice of a two-byte string
  const latin1 = 'caf\u00e9 na\u00efve \u00ff' // one-byte string, characters above 0x7f
  const r = fl.mineSync([twoByteAscii, latin1, 'ā'.repeat(20)])
  assert.deepEqual([0, 1, 2].map((i) => r.templates[r.clusters[i]]), [twoByteAscii, latin1, 'ā'.repeat(20)])
})

test('mine reads arrays larger than one copy piece, in order', async () => {
  const n = 40_000 // more than one piece (16384 lines) and one handle scope (4096)
  const lines = Array.from({ length: n }, (_, i) => (i % 2 ? `alpha beta ${i}` : `gamma delta epsilon ${i}`))
  const { clusters, templates } = await fl.mine(lines)
  assert.equal(clusters.length, n)
  for (const i of [0, 1, 4095, 4096, 16383, 16384, 16385, n - 2, n - 1]) {
    assert.equal(templates[clusters[i]], i % 2 ? 'alpha beta <*>' : 'gamma delta epsilon <*>', `line ${i}`)
  }
  const m = new fl.Miner()
  assert.deepEqual([...(await m.addManyAsync(lines))].map((c) => m.template(c)), lines.map((_, i) => templates[clusters[i]]))
})

test('empty arrays mine to nothing', async () => {
  const r = await fl.mine([])
  assert.equal(r.clusters.length, 0)
  assert.deepEqual(r.templates, [])
  assert.equal(fl.mineSync([]).clusters.length, 0)
})

test('an element that is not a string is a typed error naming its index and type', async () => {
  const bad = ['ok line', 'another', 42, 'more']
  const check = (e) => {
    assert.equal(e.code, 'ERR_FAULTLINE_INPUT')
    assert.equal(e.name, 'FaultlineInputError')
    assert.equal(e.badInput, true)
    assert.equal(e.message, 'lines[2]: expected a string, got a number')
    return true
  }
  await assert.rejects(fl.mine(bad), check)
  assert.throws(() => fl.mineSync(bad), check)
  assert.throws(() => new fl.Miner().addMany(bad), check)
  assert.throws(() => new fl.Miner().addManyAsync(bad), check)
  // Far into a big array (after pieces were handed to the mining thread already).
  const big = Array.from({ length: 50_000 }, (_, i) => `line ${i}`)
  big[40_000] = null
  await assert.rejects(fl.mine(big), { code: 'ERR_FAULTLINE_INPUT', message: 'lines[40000]: expected a string, got null' })
  big[40_000] = undefined
  await assert.rejects(fl.mine(big), { message: /lines\[40000\]: expected a string, got undefined/ })
  await assert.rejects(fl.mine(['a', { toString: () => 'b' }]), { message: /lines\[1\]: expected a string, got an object/ })
})

test('with good lines, a bad miner setting still rejects as a config error', async () => {
  await assert.rejects(fl.mine(['a', 'b'], { config: { max_tokens: 0 } }), { code: 'ERR_FAULTLINE_CONFIG' })
})

test('newline-separated text (Buffer or string) mines like the array of its lines', async () => {
  const lines = ['user alice logged in', 'user bob logged in', 'grüße 😀', 'disk full on /var']
  const want = await fl.mine(lines)
  for (const text of [lines.join('\n'), lines.join('\n') + '\n', lines.join('\r\n') + '\r\n']) {
    assert.deepEqual(await fl.mine(text), want)
    assert.deepEqual(await fl.mine(Buffer.from(text)), want)
  }
  assert.equal((await fl.mine('')).clusters.length, 0)
  assert.equal((await fl.mine(Buffer.alloc(0))).clusters.length, 0)
  const raw = lines.map((l, i) => `2024-05-14 10:00:0${i},123 INFO [main] ${l}`).join('\n')
  assert.deepEqual(await fl.mine(raw, { raw: true }), want)
})

test('a Buffer that is not UTF-8 is a typed error naming the byte offset', async () => {
  const bytes = Buffer.concat([Buffer.from('fine line\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from(' line\n')])
  await assert.rejects(fl.mine(bytes), { code: 'ERR_FAULTLINE_INPUT', message: 'lines: invalid UTF-8 at byte 14' })
  await assert.rejects(fl.mine(Buffer.from('x'), { config: { max_tokens: 0 } }), { code: 'ERR_FAULTLINE_CONFIG' })
})

test('a lines argument of another type is a typed error naming what it got', async () => {
  const check = (got) => ({ code: 'ERR_FAULTLINE_INPUT', badInput: true, message: `lines: expected an array of strings, a Buffer or a string, got ${got}` })
  await assert.rejects(fl.mine(42), check('a number'))
  assert.throws(() => fl.mineSync({ length: 2 }), check('an object'))
  assert.throws(() => new fl.Miner().addMany(null), check('null'))
  assert.throws(() => new fl.Miner().addManyAsync(undefined), check('undefined'))
})

test('mineSync and the Miner take newline-separated text too', async () => {
  const lines = ['user alice logged in', 'user bob logged in', 'disk full on /var']
  assert.deepEqual(fl.mineSync(Buffer.from(lines.join('\r\n'))), fl.mineSync(lines))
  const a = new fl.Miner()
  const b = new fl.Miner()
  assert.deepEqual(a.addMany(lines.join('\n') + '\n'), await b.addManyAsync(Buffer.from(lines.join('\n'))))
  assert.equal(a.size, b.size)
  assert.throws(() => fl.mineSync(Buffer.from([0x61, 0x0a, 0xc3])), { code: 'ERR_FAULTLINE_INPUT', message: 'lines: invalid UTF-8 at byte 2' })
})
