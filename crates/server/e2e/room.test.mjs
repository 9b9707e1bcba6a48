// The incident room in headless Chromium, against a running `faultline serve` (started by
// scripts/test-browser.sh, which passes FAULTLINE_ROOM_URL, CHROMIUM and the operator and
// approver keys it configured). The tests run in order on one page, as one person would use it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const URL = process.env.FAULTLINE_ROOM_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OPERATOR = process.env.E2E_OPERATOR_KEY;
const APPROVER = process.env.E2E_APPROVER_KEY;
const ORIGIN = URL ? new globalThis.URL(URL).origin : '';
const T = 60_000; // analysis on a loaded 2-core machine can take a while

describe('incident room', { skip: !URL && 'FAULTLINE_ROOM_URL is not set (run scripts/test-browser.sh)' }, () => {
  let browser;
  let page;
  const problems = [];

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    const context = await browser.newContext();
    // Nothing may leave this origin: the page works without any other network.
    await context.route('**/*', (r) => (r.request().url().startsWith(ORIGIN) ? r.continue() : r.abort()));
    page = await context.newPage();
    page.setDefaultTimeout(T);
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      const t = m.text();
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(t)) problems.push('console: ' + t);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(ORIGIN)) problems.push('request off the origin: ' + r.url());
    });
  });

  after(async () => {
    await browser?.close();
  });

  async function signIn(key) {
    if (await page.locator('#signin').isHidden()) await page.click('#signin-open');
    await page.fill('#signin-key', key);
    await page.click('#signin-form button[type=submit]');
    await page.locator('#signin').waitFor({ state: 'hidden' });
  }

  const text = (sel) => page.locator(sel).innerText();
  const waitText = (sel, re) => page.locator(sel, { hasText: re }).first().waitFor();

  test('static routes: redirect, content types, strict CSP, revalidation', async () => {
    const root = await fetch(ORIGIN + '/', { redirect: 'manual' });
    assert.equal(root.status, 303);
    assert.equal(root.headers.get('location'), '/room');
    for (const [path, type] of [['/room', 'text/html'], ['/room/app.js', 'text/javascript'], ['/room/app.css', 'text/css']]) {
      const r = await fetch(ORIGIN + path);
      assert.equal(r.status, 200, path);
      assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      const etag = r.headers.get('etag');
      assert.ok(etag, `${path} has an ETag`);
      const again = await fetch(ORIGIN + path, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304, `${path} revalidates`);
    }
    const api = await fetch(ORIGIN + '/v1/incidents');
    assert.equal(api.status, 401, 'the API itself needs a key');
  });

  test('a bad key shows a readable error', async () => {
    await page.goto(URL);
    await page.locator('#signin').waitFor({ state: 'visible' });
    assert.match(await text('#signin-reason'), /API key/i);
    await page.fill('#signin-key', 'not-a-valid-key');
    await page.click('#signin-form button[type=submit]');
    await page.locator('#signin').waitFor({ state: 'visible' });
    await waitText('#signin-reason', /refused this key/);
    const reason = await text('#signin-reason');
    assert.match(reason, /unauthenticated/i, reason);
    assert.doesNotMatch(reason, /\{|undefined|\[object/, 'a sentence, not raw JSON: ' + reason);
  });

  test('the list shows the preloaded example incidents with their top hypothesis', async () => {
    await signIn(OPERATOR);
    await waitText('#who', /olivia \(operator\)/);
    const rows = page.locator('#incidents tbody tr');
    await rows.first().waitFor();
    const n = await rows.count();
    assert.ok(n >= 2, `the examples are listed (${n} rows)`);
    const all = await text('#incidents tbody');
    assert.match(all, /Elevated 5xx rate and latency on frontend/);
    assert.match(all, /Request timeouts on frontend and checkout/);
    for (let i = 0; i < n; i++) {
      const top = await rows.nth(i).locator('.top-hypothesis').innerText();
      assert.match(top, /\(\d+%\)/, `row ${i} shows its top hypothesis: ${top}`);
      assert.match(await rows.nth(i).locator('.status').innerText(), /\w/);
    }
  });

  test('an incident shows ranked hypotheses with evidence, why-not and charts with anomaly markers', async () => {
    await page.click('#incidents a:has-text("Elevated 5xx rate and latency on frontend")');
    await page.locator('#incident-view').waitFor({ state: 'visible' });
    const hyps = page.locator('#hypotheses > li.hypothesis');
    await hyps.first().waitFor();
    assert.ok((await hyps.count()) >= 2, 'several hypotheses');
    assert.equal(await hyps.first().getAttribute('data-rank'), '1');
    assert.equal(await hyps.first().getAttribute('data-service'), 'checkout', 'the deploy regression ranks checkout first');
    // Evidence of the top hypothesis: listed, and each item opens to show what it refers to.
    const items = hyps.first().locator('.evidence-list > li');
    assert.ok((await items.count()) >= 2, 'the top hypothesis cites evidence');
    const first = items.first();
    assert.equal(await first.locator('dl.ref').isVisible(), false, 'closed at first');
    await first.locator('summary').click();
    await first.locator('dl.ref').waitFor({ state: 'visible' });
    assert.match(await first.locator('dl.ref').innerText(), /\w/);
    // Runners-up say why not.
    const whyNot = page.locator('#hypotheses .why-not');
    assert.ok((await whyNot.count()) >= 1, 'runners-up carry a why-not');
    assert.match(await whyNot.first().innerText(), /why not/i);
    // Charts: inline SVG, a drawn line, anomaly markers.
    const charts = page.locator('#charts figure.chart');
    await charts.first().waitFor();
    assert.ok((await charts.count()) >= 1);
    assert.ok((await page.locator('#charts svg path.line').count()) >= 1, 'a series line is drawn');
    const markers = page.locator('#charts svg circle.anomaly-marker');
    assert.ok((await markers.count()) >= 1, 'anomalies are marked');
    const box = await markers.first().boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, 'the marker is on screen');
    assert.ok((await page.locator('#timeline li').count()) >= 3, 'the timeline is shown');
    assert.match(await text('#timeline'), /onset/);
  });

  test('analyze runs the pipeline again and the page shows the result', async () => {
    await page.click('#analyze');
    await waitText('#analyze-status', /Analysed: \d+ hypotheses/);
    await page.locator('#hypotheses > li.hypothesis').first().waitFor();
    assert.equal(await page.locator('#error').isHidden(), true, 'no error');
  });

  test('the fix wizard goes plan → preflight → approve → execute → verify', async () => {
    const state = () => text('#plan-state');
    const waitState = (s) => page.locator('#plan-state', { hasText: new RegExp('^' + s + '$') }).waitFor();
    const stepClass = (s) => page.locator(`#wizard-steps li[data-step=${s}]`).getAttribute('class');

    // Plan (operator).
    await page.locator('#plan-form').waitFor({ state: 'visible' });
    await page.click('#plan-button');
    await waitState('draft');
    assert.match(await text('#plan-body'), /Plan/);
    assert.match(await text('#plan-id'), /^plan-/);
    assert.equal(await stepClass('plan'), 'done');
    assert.equal(await stepClass('preflight'), 'current');

    // Preflight: checks and the policy verdict.
    await page.click('#preflight-button');
    await waitState('preflighted');
    await page.locator('#preflight-record').waitFor();
    assert.match(await text('#preflight-record'), /Policy verdict: allowed/);
    assert.match(await text('#preflight-record'), /dry run of step 1: exit 0/);

    // The operator may not approve: the page says why, as a sentence.
    await page.click('#approve-button');
    await page.locator('#wizard-error').waitFor({ state: 'visible' });
    assert.match(await text('#wizard-error'), /forbidden|not allowed|approve/i);
    assert.equal(await state(), 'preflighted');

    // Approve as the approver, with a comment.
    await signIn(APPROVER);
    await waitText('#who', /alice \(approver\)/);
    await waitState('preflighted');
    await page.fill('#approve-comment', 'rollback looks safe');
    await page.click('#approve-button');
    await waitState('approved');
    assert.match(await text('#plan-body'), /Approved by alice/);
    assert.match(await text('#plan-body'), /rollback looks safe/);

    // Execute as the operator, through the runner the server offers.
    await signIn(OPERATOR);
    await page.locator('#execute-form').waitFor({ state: 'visible' });
    const runners = await page.locator('#execute-runner option').allInnerTexts();
    assert.deepEqual(runners, ['dry-run']);
    await page.selectOption('#execute-runner', 'dry-run');
    await page.click('#execute-button');
    await waitState('executing');
    assert.match(await text('#plan-body'), /Runner dry-run/);

    // Verify: canary equal to the baseline passes.
    await page.locator('#verify-form').waitFor({ state: 'visible' });
    const same = Array.from({ length: 30 }, (_, i) => 100 + (i % 5));
    await page.fill('#verify-windows', JSON.stringify({ baseline: { latency_ms: same }, canary: { latency_ms: same } }));
    await page.click('#verify-button');
    await waitState('verified');
    assert.match(await text('#verify-record'), /Verification: pass/);
    for (const s of ['plan', 'preflight', 'approve', 'execute', 'verify']) assert.equal(await stepClass(s), 'done', s);
  });

  test('a rejection with a comment, and a refused step shows the problem title and detail', async () => {
    await page.click('#incident-view a[href="#/"]');
    await page.click('#incidents a:has-text("Request timeouts on frontend and checkout")');
    await page.locator('#plan-form').waitFor({ state: 'visible' });
    await page.fill('#plan-env', 'staging');
    await page.click('#plan-button');
    await page.locator('#plan-state', { hasText: /^draft$/ }).waitFor();
    await page.click('#preflight-button');
    await page.locator('#plan-state', { hasText: /^preflighted$/ }).waitFor();

    await signIn(APPROVER);
    await page.locator('#plan-state', { hasText: /^preflighted$/ }).waitFor();
    await page.fill('#approve-comment', 'not during peak hours');
    await page.click('#reject-button');
    await page.locator('#plan-state', { hasText: /^rejected$/ }).waitFor();
    assert.equal(await page.locator('#wizard-steps li[data-step=approve]').getAttribute('class'), 'failed');
    assert.match(await page.locator('#plan-body').innerText(), /Rejected/);

    // An approver may not plan: the page shows the server's problem document in words.
    await page.locator('#plan-form').waitFor({ state: 'visible' });
    await page.click('#plan-button');
    await page.locator('#wizard-error').waitFor({ state: 'visible' });
    const err = await page.locator('#wizard-error').innerText();
    assert.match(err, /forbidden \(403\)/, err);
    assert.match(err, /role approver may not/, err);
    await signIn(OPERATOR);
  });

  test('live updates fall back to polling when the stream is absent, and nothing broke the CSP', async () => {
    await waitText('#live', /Live|Polling every 5 s/);
    assert.deepEqual(problems, []);
  });
});
