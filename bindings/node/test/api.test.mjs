import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const fl = createRequire(import.meta.url)('../index.js')
const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')

test('every export of the addon is declared, with a doc comment, in index.d.ts', () => {
  for (const name of Object.keys(fl).filter((n) => !n.startsWith('__'))) {
    const decl = new RegExp(`/\\*\\*[\\s\\S]*?\\*/\\s*export declare (function|class) ${name}\\b`)
    assert.match(dts, decl, `${name} is declared with a doc comment`)
  }
})

test('the declared error codes are the ones thrown', () => {
  assert.throws(() => fl.parseConfig({ nope: 1 }), (e) => {
    assert.ok(dts.includes(`'${e.code}'`) && dts.includes(`'${e.name}'`))
    return true
  })
})
