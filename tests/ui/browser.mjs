// tests/ui/browser.mjs: drives Debian's chromium (playwright-core) through
// the web page at /ui/ and checks it against the page contract (docs/ui.md)
// with the expectations tests/ui/browser_test.py computed from a real
// registry.
//
// usage: node tests/ui/browser.mjs SPEC.json PHASE RESULT.json
//   PHASE clean: every page at 1280 and 390 px (screenshots), the search,
//         the tokens and the pinned key in settings, the audit check
//         (unpinned, verified, failed under another key), a server without
//         anonymous reads, keyboard and accessible names;
//   PHASE tampered-event: the edited event's row says its proof failed;
//   PHASE tampered-checkpoint: the checkpoint check says failed;
//   PHASE down: the registry spec.down names stopped mid-session.
// Writes RESULT.json: [[description, ok, diagnostics], ...]. Exit 0 when it
// ran to the end (failed checks included), 1 when it could not.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [specPath, phase, resultPath] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const CHROMIUM = process.env.OPTREG_CHROMIUM || '/usr/bin/chromium';
const WIDTHS = [[1280, 900], [390, 844]];
const WAIT = 30000;
const NS = spec.namespace;

const checks = [];
function save() {
  fs.writeFileSync(resultPath, JSON.stringify(checks, null, 1));
}

// One check: fn() throws (an assertion) to fail; `pg` adds the page's
// console errors and API failures to the diagnostics.
async function check(desc, fn, pg) {
  try {
    await fn();
    checks.push([desc, true, '']);
  } catch (e) {
    // eslint-disable-next-line no-control-regex
    let diag = String(e && e.stack ? e.stack : e).replace(/\x1b\[[0-9;]*m/g, '');
    if (pg) diag += '\n' + pg.describe();
    checks.push([desc, false, diag]);
  }
  save();
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: expected ${w}, got ${g}`);
}

const sorted = (xs) => [...xs].sort();

// A tab with everything it logs: console errors, uncaught exceptions, CSP
// violations, failed loads of the page's own files, and API answers >= 400
// (kept apart: a page may ask for what the token cannot read).
class Tab {
  constructor(page, base, width) {
    this.page = page;
    this.base = base;
    this.width = width;
    this.errors = [];
    this.api = [];
    // The token: only in an Authorization header to this registry's /v1/,
    // never in a URL or anything the page logs.
    this.leaks = [];
    const secrets = Object.values(spec.tokens);
    const leaked = (text) => secrets.some((x) => text.includes(x));
    page.on('request', (r) => {
      if (leaked(r.url())) this.leaks.push(`a URL holds a token: ${r.url()}`);
      const auth = r.headers().authorization;
      if (auth && !r.url().startsWith(this.base + '/v1/')) this.leaks.push(`Authorization sent to ${r.url()}`);
    });
    page.on('framenavigated', (f) => {
      if (leaked(f.url())) this.leaks.push(`the page's address holds a token: ${f.url()}`);
    });
    page.on('console', (m) => {
      if (leaked(m.text())) this.leaks.push(`the console shows a token: ${m.text()}`);
      if (m.type() !== 'error') return;
      const url = (m.location() && m.location().url) || '';
      // Chromium logs every answer >= 400 as "Failed to load resource";
      // the response handler below judges those.
      if (/^Failed to load resource/.test(m.text()) && url.startsWith(this.base + '/v1/')) return;
      this.errors.push(`console: ${m.text()} (${url})`);
    });
    page.on('pageerror', (e) => this.errors.push(`uncaught: ${e.message}`));
    page.on('requestfailed', (r) => this.errors.push(`request failed: ${r.url()} ${r.failure() ? r.failure().errorText : ''}`));
    page.on('response', (r) => {
      if (r.status() < 400) return;
      const u = new URL(r.url());
      if (u.pathname.startsWith('/v1/')) {
        this.api.push(`${r.status()} ${u.pathname}${u.search}`);
        if (r.status() >= 500) this.errors.push(`API ${r.status()} ${u.pathname}${u.search}`);
      } else {
        this.errors.push(`HTTP ${r.status()} ${r.url()}`);
      }
    });
  }

  describe() {
    return `page ${this.page.url()} at ${this.width}px\nerrors: ${JSON.stringify(this.errors)}\nAPI answers >= 400: ${JSON.stringify(this.api)}`;
  }

  // Opens #/HASH and waits for the shell's main[data-ready=true].
  async open(hash) {
    const page = this.page;
    this.errors.length = 0;
    this.api.length = 0;
    this.openError = null;
    try {
      await this.go(hash);
    } catch (e) {
      // Reported by the page's check (clean()), not fatal to the run.
      this.openError = e;
    }
  }

  async go(hash) {
    const page = this.page;
    const shell = page.url().startsWith(this.base + '/ui/') &&
      await page.evaluate(() => !!document.getElementById('main')).catch(() => false);
    if (shell) {
      await page.evaluate((h) => {
        const m = document.getElementById('main');
        if (m) m.removeAttribute('data-ready');
        window.location.hash = h;
      }, '#/' + hash);
    } else {
      const r = await page.goto(`${this.base}/ui/#/${hash}`);
      if (!r || r.status() >= 400) throw new Error(`GET /ui/ answered ${r ? r.status() : 'nothing'}`);
    }
    await page.waitForSelector('main[data-ready=true]', {timeout: WAIT});
  }

  // No console error, uncaught exception, CSP violation or failed load
  // since open(); no error panel unless `allowError`.
  async clean(allowError) {
    if (this.openError) throw new Error(`the page never set main[data-ready=true]: ${this.openError.message}`);
    const csp = await this.page.evaluate(() => window.__csp || []);
    assert(csp.length === 0, `CSP violations: ${JSON.stringify(csp)}`);
    assert(this.errors.length === 0, `errors: ${JSON.stringify(this.errors)}`);
    assert(this.leaks.length === 0, `token leaks: ${JSON.stringify(this.leaks)}`);
    if (!allowError) {
      const err = await this.page.locator('.error[role=alert]').allTextContents();
      assert(err.length === 0, `error panel: ${JSON.stringify(err)}`);
    }
  }

  async shot(name) {
    const dir = path.join(spec.shots, String(this.width));
    fs.mkdirSync(dir, {recursive: true});
    await this.page.screenshot({path: path.join(dir, name + '.png'), fullPage: true});
  }

  attr(sel, name) {
    return this.page.locator(sel).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);
  }

  count(sel) {
    return this.page.locator(sel).count();
  }

  // Nothing but `.table-wrap` scrolls sideways: the page is no wider than
  // the window.
  async fits() {
    const [sw, iw] = await this.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert(sw <= iw + 1, `the page is ${sw}px wide in a ${iw}px window (something does not wrap or scroll in .table-wrap)`);
  }

  // Every link, button and form control has an accessible name (the
  // accessibility tree as chromium builds it).
  async named() {
    if (this.openError) throw new Error(`the page never set main[data-ready=true]: ${this.openError.message}`);
    const snap = await this.page.locator('body').ariaSnapshot();
    const roles = 'link|button|textbox|searchbox|combobox|checkbox|radio|spinbutton|slider|switch|listbox|menuitem|tab';
    const re = new RegExp(`^\\s*- (${roles})(?: \\[[^\\]]*\\])?(?::.*)?$`);
    const bad = snap.split('\n').filter((l) => re.test(l));
    assert(bad.length === 0, `controls without an accessible name:\n${bad.join('\n')}`);
  }
}

async function newTab(browser, base, [w, hgt], storage) {
  const ctx = await browser.newContext({viewport: {width: w, height: hgt}, deviceScaleFactor: 1});
  // Actions on an element that never comes fail in 10 s (explicit waits
  // for the page's own work say how long they allow).
  ctx.setDefaultTimeout(10000);
  await ctx.addInitScript((st) => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    // Changes to the live "who am I" line (each is read out by a screen reader).
    window.__whoami = 0;
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.getElementById('whoami');
      if (el) new MutationObserver(() => window.__whoami++).observe(el, {childList: true, subtree: true, characterData: true});
    });
    if (st && !sessionStorage.getItem('optreg.test.init')) {
      sessionStorage.setItem('optreg.test.init', '1');
      for (const [k, v] of Object.entries(st.session || {})) sessionStorage.setItem(k, v);
      for (const [k, v] of Object.entries(st.local || {})) localStorage.setItem(k, v);
    }
  }, storage || null);
  return new Tab(await ctx.newPage(), base, w);
}

// ------------------------------------------------------------ pages

async function configsPage(t, full) {
  const cs = spec.configs;
  await t.open('');
  await check(`${t.width}px configs: loads, lists ${Object.keys(cs).map((c) => NS + '/' + c).join(', ')}, no console errors`, async () => {
    await t.clean();
    for (const name of Object.keys(cs)) assert(await t.count(`a[data-config="${NS}/${name}"]`) === 1, `no link a[data-config="${NS}/${name}"]`);
    const hrefs = await t.attr(`a[data-config="${NS}/adamw"]`, 'href');
    assert(hrefs[0].endsWith(`#/c/${NS}/adamw`), `link to ${hrefs[0]}`);
    if (t.width < 1000) await t.fits();
  }, t);
  await t.shot('configs');
  if (!full) return;
  await check('the live "who am I" line is not rewritten (read out again) when only the page changes', async () => {
    const before = await t.page.evaluate(() => window.__whoami);
    for (const hash of ['policies', `c/${NS}/adamw`, '']) await t.open(hash);
    eq(await t.page.evaluate(() => window.__whoami), before, 'changes to #whoami');
  }, t);
  await check('configs: the search box "Search configs" asks the registry (q) and shows only matches', async () => {
    const box = t.page.getByLabel('Search configs');
    eq(await box.evaluate((e) => e.getAttribute('type')), 'search', 'its type');
    await box.fill('adam');
    await box.press('Enter');
    await t.page.waitForFunction((ns) => !document.querySelector(`a[data-config="${ns}/other"]`) && document.querySelector('main[data-ready=true]') && document.querySelector(`a[data-config="${ns}/adamw"]`), NS, {timeout: WAIT});
    assert(t.api.length === 0, `API errors: ${t.api}`);
    await t.shot('configs-search');
  }, t);
}

async function configPage(t, name, full) {
  const c = spec.configs[name];
  await t.open(`c/${NS}/${name}`);
  await check(`${t.width}px config ${NS}/${name}: versions with their latest verdict, yanked, tags and their moves`, async () => {
    await t.clean();
    for (const v of Object.values(c.versions)) {
      const sel = `#versions tr[data-version="${v.version}"]`;
      eq(await t.count(sel), 1, `rows ${sel}`);
      eq(await t.attr(sel, 'data-verdict'), [v.verdict], `verdict of version ${v.version}`);
      eq((await t.attr(sel, 'data-yanked'))[0] === 'true', v.yanked, `version ${v.version} yanked`);
    }
    eq(await t.count('#versions tr[data-version]'), Object.keys(c.versions).length, 'version rows');
    for (const [tag, tg] of Object.entries(c.tags)) {
      eq(await t.attr(`#tags tr[data-tag="${tag}"]`, 'data-version'), [String(tg.version)], `tag ${tag}`);
      eq(await t.count(`#tag-history-${tag} li[data-move]`), tg.moves, `moves of ${tag}`);
    }
    eq(await t.count('#tags tr[data-tag]'), Object.keys(c.tags).length, 'tag rows');
    if (t.width < 1000) await t.fits();
  }, t);
  await t.shot(`config-${name}`);
}

function diffCheck(t, id, want) {
  return (async () => {
    const sec = `#${id}`;
    if (want === null) {
      eq(await t.count(sec), 0, `${sec} (not applicable)`);
      return;
    }
    if (want.equal) {
      const n = await t.count(sec);
      if (n === 0) return; // the version is the tag's own: shown or not
      assert(await t.count(`${sec}[data-equal=true], ${sec} [data-equal=true]`) > 0, `${sec}: no [data-equal=true]`);
      return;
    }
    eq(await t.count(sec), 1, sec);
    const got = await t.page.locator(`${sec} li[data-path]`).evaluateAll((els) => els.map((e) => [e.dataset.path, e.dataset.kind]));
    eq(got.map((x) => JSON.stringify(x)).sort(), want.changes.map((x) => JSON.stringify(x)).sort(), `${sec} changes [path, kind]`);
  })();
}

async function versionPage(t, name, n) {
  const v = spec.configs[name].versions[n];
  await t.open(`c/${NS}/${name}/v/${n}`);
  await check(`${t.width}px version ${NS}/${name}@${n}: document, diffs (previous, prod), signatures, receipt, verdicts`, async () => {
    await t.clean();
    const doc = await t.page.locator('#config').textContent();
    assert(doc.includes(name) && doc.includes(NS), `#config lacks the name: ${doc.slice(0, 300)}`);
    assert(doc.includes(String(v.lr)), `#config lacks lr ${v.lr}: ${doc.slice(0, 400)}`);
    await diffCheck(t, 'diff-previous', v.diff_previous);
    await diffCheck(t, 'diff-prod', v.diff_prod);
    eq(sorted(await t.attr('#signatures tr[data-keyid]', 'data-keyid')), v.keyids, 'signature key ids');
    eq(await t.page.locator('#receipt [data-audit-index], #receipt[data-audit-index]').first().getAttribute('data-audit-index'), String(v.audit_index), 'receipt audit index');
    eq(sorted(await t.attr('#verdicts a[data-job]', 'data-job')), sorted(v.verdicts.map((x) => String(x.job))), 'verdict links');
    for (const x of v.verdicts) {
      const href = (await t.attr(`#verdicts a[data-job="${x.job}"]`, 'href'))[0];
      assert(href.endsWith(`#/c/${NS}/${name}/v/${n}/verdicts/${x.job}`), `verdict link ${href}`);
    }
    if (t.width < 1000) await t.fits();
  }, t);
  await t.shot(`version-${name}-${n}`);
}

async function verdictPage(t, name, n, x, full) {
  await t.open(`c/${NS}/${name}/v/${n}/verdicts/${x.job}`);
  await check(`${t.width}px verdict ${NS}/${name}@${n} job ${x.job} (${x.result}): result, findings, one plot per workload`, async () => {
    await t.clean();
    eq(await t.attr('#verdict-result', 'data-result'), [x.result], 'overall result');
    const rows = await t.page.locator('#findings tr[data-criterion]').evaluateAll((els) => els.map((e) => JSON.stringify([e.dataset.criterion, e.dataset.workload || '', e.dataset.severity])));
    const want = x.findings.map((f) => JSON.stringify(f));
    const left = [...rows];
    for (const f of want) {
      const i = left.indexOf(f);
      assert(i >= 0, `finding ${f} is not in #findings (rows ${JSON.stringify(rows)})`);
      left.splice(i, 1);
    }
    const minority = new Set(x.minority.map((f) => JSON.stringify(f)));
    assert(left.every((r) => minority.has(r)), `rows that are no finding of the verdict: ${JSON.stringify(left.filter((r) => !minority.has(r)))}`);
    eq(await t.count('figure[data-workload]'), x.workloads.length, 'figures');
    for (const w of x.workloads) {
      const fig = `figure[data-workload="${w.name}"]`;
      eq(await t.count(`${fig} svg`), 1, `${fig} svg`);
      eq(await t.attr(`${fig} path.curve`, 'data-points'), [String(w.points)], `${w.name}: path.curve data-points (the verdict's curve)`);
      eq(await t.attr(`${fig} svg`, 'data-scale'), [w.scale], `${w.name}: scale`);
      eq(await t.count(`${fig} line.warmup`), w.warmup ? 1 : 0, `${w.name}: line.warmup`);
      const marks = await t.attr(`${fig} .finding-marker`, 'data-criterion');
      eq(sorted(new Set(marks)), w.marker_criteria, `${w.name}: finding markers' criteria`);
      const cmp = await t.count(`${fig} path.compare`);
      if (x.compare.length) assert(cmp >= 1, `${w.name}: no path.compare (version ${x.compare[0]} passes)`);
      else eq(cmp, 0, `${w.name}: path.compare with no passing version`);
      const vb = await t.attr(`${fig} svg`, 'viewBox');
      assert(vb[0], `${w.name}: the svg has no viewBox`);
    }
    if (!x.compare.length) {
      const text = await t.page.locator('main').textContent();
      assert(/no passing version/i.test(text), 'does not say "no passing version to compare with"');
    }
    if (t.width < 1000) await t.fits();
  }, t);
  await t.shot(`verdict-${name}-${n}-${x.result}`);
  if (full) {
    // The figures' own sizes: one plot each, drawn (not zero-sized).
    await check(`${t.width}px verdict ${x.job}: each plot is drawn at a usable size`, async () => {
      const sizes = await t.page.locator('figure[data-workload] svg').evaluateAll((els) => els.map((e) => [e.getBoundingClientRect().width, e.getBoundingClientRect().height]));
      eq(sizes.length, x.workloads.length, 'plots');
      for (const [w, h] of sizes) assert(w >= 200 && h >= 100, `an svg of ${w}x${h}`);
    }, t);
  }
}

async function policiesPage(t) {
  await t.open('policies');
  await check(`${t.width}px policies: lists ${spec.policies.join(', ')}`, async () => {
    await t.clean();
    const text = await t.page.locator('main').textContent();
    for (const p of spec.policies) assert(text.includes(p), `no ${p}`);
    if (t.width < 1000) await t.fits();
  }, t);
  await t.shot('policies');
}

// Settings: the token kept in sessionStorage (saved, cleared), the key
// pinned in localStorage optreg.registryKey.
async function settings(t, tok, key) {
  await t.open('settings');
  const page = t.page;
  try {
    await enter(page, tok, key);
  } catch (e) {
    checks.push([`${t.width}px settings: entering the ${tok !== undefined ? 'token' : 'key'}`, false, String(e.stack || e) + '\n' + t.describe()]);
    save();
  }
}

async function enter(page, tok, key) {
  if (tok !== undefined) {
    await page.getByLabel('API token').fill(tok);
    await page.locator('button#save-token').click();
  }
  if (key !== undefined) {
    await page.getByLabel('Pinned registry public key').fill(key);
    await page.locator('button#save-key').click();
  }
}

async function auditWait(t) {
  if (t.openError) throw new Error(`the page never set main[data-ready=true]: ${t.openError.message}`);
  await t.page.waitForFunction(() => {
    const s = document.querySelector('#checkpoint-status');
    return s && s.dataset.state && s.dataset.state !== 'pending' && !document.querySelector('#audit-entries tr[data-proof=pending]');
  }, null, {timeout: WAIT});
  return {
    state: (await t.attr('#checkpoint-status', 'data-state'))[0],
    sentence: (await t.page.locator('#checkpoint-status').textContent()).trim(),
    rows: await t.page.locator('#audit-entries tr[data-index]').evaluateAll((els) => els.map((e) => [Number(e.dataset.index), e.dataset.proof])),
  };
}

// ------------------------------------------------------------ phases

async function clean(browser) {
  const a = spec.configs.adamw;
  for (const size of WIDTHS) {
    const full = size[0] === WIDTHS[0][0];
    const t = await newTab(browser, spec.anon, size);
    await configsPage(t, full);
    for (const name of Object.keys(spec.configs)) await configPage(t, name, full);
    for (const n of Object.keys(a.versions)) await versionPage(t, 'adamw', n);
    if (full) for (const n of Object.keys(spec.configs.other.versions)) await versionPage(t, 'other', n);
    for (const n of Object.keys(a.versions))
      for (const x of a.versions[n].verdicts) await verdictPage(t, 'adamw', n, x, full);
    await policiesPage(t);
    await t.open('settings');
    await check(`${t.width}px settings: loads, labelled controls`, async () => {
      await t.clean();
      for (const [label, sel] of [['API token', '#token'], ['Pinned registry public key', '#registry-key']])
        eq(await t.page.getByLabel(label).evaluate((e) => '#' + e.id), sel, `the control labelled "${label}"`);
      for (const b of ['save-token', 'clear-token', 'save-key']) eq(await t.count(`button#${b}`), 1, `button#${b}`);
      if (t.width < 1000) await t.fits();
    }, t);
    await t.shot('settings');
    // The audit log: an auditor's token and the registry key, entered on the settings page.
    await settings(t, spec.tokens.auditor, spec.registry_key);
    await t.open('audit');
    await check(`${t.width}px audit: the checkpoint verifies under the pinned key, so do the shown rows' proofs`, async () => {
      const r = await auditWait(t);
      await t.clean();
      eq(r.state, 'verified', `#checkpoint-status (${r.sentence})`);
      assert(r.sentence.length > 10, 'no sentence on what was checked');
      assert(r.rows.length > 0, 'no rows');
      const known = new Set(spec.audit.indices);
      for (const [i, p] of r.rows) {
        assert(known.has(i), `row ${i} is no entry of the log`);
        eq(p, i < spec.audit.size ? 'verified' : 'uncovered', `proof of row ${i}`);
      }
      if (t.width < 1000) await t.fits();
    }, t);
    await t.shot('audit');
    await names(t);
    if (!full) {
      await t.page.context().close();
      continue;
    }
    await check('settings: the token is kept in sessionStorage, the key in localStorage optreg.registryKey', async () => {
      const st = await t.page.evaluate(() => [Object.values(sessionStorage), localStorage.getItem('optreg.registryKey')]);
      assert(st[0].includes(spec.tokens.auditor), 'the token is not in sessionStorage');
      eq((st[1] || '').trim(), spec.registry_key.trim(), 'the pinned key');
    }, t);
    await t.open('audit?action=tag.moved');
    await check('audit: the action filter (#/audit?action=tag.moved) shows exactly those events, verified', async () => {
      const r = await auditWait(t);
      await t.clean();
      eq(r.rows.map((x) => x[0]).sort((p, q) => p - q), spec.audit.tag_moved, 'rows');
      for (const [i, p] of r.rows) eq(p, 'verified', `proof of row ${i}`);
      const v = await t.page.locator('select, input').evaluateAll((els) => els.map((e) => e.value));
      assert(v.includes('tag.moved'), `the filter controls do not show the action: ${JSON.stringify(v)}`);
    }, t);
    await t.shot('audit-filtered');
    await t.open('audit?action=job.leased');
    await check('audit: a job event\'s target (job/ID) links to that job\'s events, not to a config', async () => {
      await auditWait(t);
      await t.clean();
      const links = await t.page.locator('#audit-entries tr[data-index] td.target a').evaluateAll(
        (els) => els.map((a) => [a.textContent, a.getAttribute('href')]));
      assert(links.length > 0, 'no job.leased rows');
      for (const [text, href] of links) {
        assert(/^job\/[0-9]+$/.test(text), `target ${text}`);
        eq(href, '#/audit?target=' + encodeURIComponent(text), `the link of ${text}`);
      }
    }, t);
    await lyingListing(t);
    await errorPanels(t);
    await keyboard(t);
    await check('settings: "clear" removes the token from sessionStorage', async () => {
      await t.open('settings');
      await t.page.locator('button#clear-token').click();
      const st = await t.page.evaluate(() => Object.values(sessionStorage));
      assert(!st.includes(spec.tokens.auditor), 'the token is still in sessionStorage');
    }, t);
    await t.page.context().close();
  }

  await backAgain(browser);

  // With no pinned key: the server's own key, said so, never "verified";
  // under a key that did not sign: failed.
  const u = await newTab(browser, spec.anon, WIDTHS[0], {session: {}, local: {}});
  await settings(u, spec.tokens.auditor);
  await u.open('audit');
  await check('audit without a pinned key: unpinned, never verified', async () => {
    const r = await auditWait(u);
    await u.clean();
    eq(r.state, 'unpinned', `#checkpoint-status (${r.sentence})`);
  }, u);
  await u.shot('audit-unpinned');
  await settings(u, undefined, spec.other_key);
  await u.open('audit');
  await check('audit with another key pinned: failed', async () => {
    const r = await auditWait(u);
    eq(r.state, 'failed', `#checkpoint-status (${r.sentence})`);
  }, u);
  await u.page.context().close();

  // A registry without anonymous reads: the page says a token is needed,
  // then works with one.
  const s = await newTab(browser, spec.auth, WIDTHS[0]);
  await s.open('');
  await check('no anonymous reads: the configs page shows the 401 in .error[role=alert] with a way to the token', async () => {
    await s.clean(true);
    eq(await s.count('.error[role=alert][data-error="401"]'), 1, 'the error panel');
    assert(await s.count('.error[role=alert] a[href="#/settings"]') === 1, 'no link to the settings');
  }, s);
  await s.shot('configs-401');
  await settings(s, spec.tokens.admin);
  await s.open('');
  await check('no anonymous reads: with a token entered in settings, the configs show', async () => {
    await s.clean();
    assert(await s.count(`a[data-config="${NS}/adamw"]`) === 1, 'no adamw');
  }, s);
  await s.page.context().close();
}

// A registry that lies in its audit listing (served through page.route):
// one event with another's leaf hash, one listed twice, one without its
// index. Those rows fail, so does the page's check, and no row is left
// "checking…".
async function lyingListing(t) {
  const pattern = '**/v1/audit/entries*';
  const lie = async (r) => {
    const res = await r.fetch();
    const body = await res.json();
    const es = body.entries;
    es[1].leaf_hash = es[2].leaf_hash;
    es.splice(4, 0, JSON.parse(JSON.stringify(es[3])));
    delete es[6].index;
    await r.fulfill({response: res, json: body});
  };
  await t.page.route(pattern, lie);
  try {
    await t.open('audit');
    await check('audit: a lying listing (a leaf hash not the event\'s, an index twice, one left out) fails those rows and the check', async () => {
      const r = await auditWait(t);
      const rows = await t.page.locator('#audit-entries tbody tr').evaluateAll((els) => els.map((e) => e.dataset.proof));
      eq(r.state, 'failed', `#checkpoint-status (${r.sentence})`);
      eq([rows[1], rows[3], rows[4], rows[6]], ['failed', 'verified', 'failed', 'failed'], 'proofs of rows 1, 3, 4 (3 again), 6 (no index)');
      assert(!rows.includes('pending'), `rows left checking: ${JSON.stringify(rows)}`);
    }, t);
  } finally {
    await t.page.unroute(pattern, lie);
  }
}

// The error panels: a 404 says what to check and links to the configs; a
// 503 says to try again and its button does (served through page.route).
async function errorPanels(t) {
  await t.open(`c/${NS}/no-such-config`);
  await check('404: a config that is not there: the panel says what to check and links to the configs', async () => {
    await t.clean(true);
    eq(await t.count('.error[role=alert][data-error="404"]'), 1, 'the 404 panel');
    eq(await t.count('.error[role=alert] a[href="#/"]'), 1, 'a link to the configs');
    eq(await t.count('.error[role=alert] #retry'), 0, 'no Try again for a 404');
  }, t);
  const pattern = '**/v1/policies';
  const fail = (r) => r.fulfill({status: 503, contentType: 'application/problem+json',
    body: JSON.stringify({code: 'unavailable', title: 'Service Unavailable', detail: 'the database is not answering'})});
  await t.page.route(pattern, fail);
  let routed = true;
  try {
    await t.open('policies');
    await check('503: the panel gives the detail, says to try again, and Try again reloads the page once the registry answers', async () => {
      eq(await t.count('.error[role=alert][data-error="503"]'), 1, 'the 503 panel');
      const text = await t.page.locator('.error[role=alert]').textContent();
      assert(/database is not answering/.test(text) && /Try again/.test(text), `the panel: ${text}`);
      await t.page.unroute(pattern, fail);
      routed = false;
      await t.page.locator('.error[role=alert] button#retry').click();
      await t.page.waitForSelector('main[data-ready=true] section[data-policy]', {timeout: WAIT});
      eq(await t.count('.error[role=alert]'), 0, 'error panels after Try again');
    }, t);
  } finally {
    if (routed) await t.page.unroute(pattern, fail);
  }
}

// The registry out of reach (every request to it refused, through
// page.route) while a page whose module has not loaded yet is opened; once
// it answers again, Try again shows that page.
async function backAgain(browser) {
  const t = await newTab(browser, spec.anon, WIDTHS[1]);
  await t.open('');
  const refuse = (r) => r.abort('connectionrefused');
  await t.page.route('**/*', refuse);
  await t.open('policies');
  await check('registry out of reach, then back: Try again shows the page (its module loaded then)', async () => {
    if (t.openError) throw new Error(`the page never set main[data-ready=true]: ${t.openError.message}`);
    eq(await t.count('.error[role=alert][data-error="unreachable"]'), 1, 'the panel while out of reach');
    await t.page.unroute('**/*', refuse);
    await t.page.locator('.error[role=alert] button#retry').click();
    await t.page.waitForSelector('main[data-ready=true] section[data-policy]', {timeout: WAIT});
    eq(await t.count('.error[role=alert]'), 0, 'error panels after Try again');
  }, t);
  await t.page.context().close();
}

// The registry stopped in the middle of a session (SIGTERM to its
// process): the next page, and one whose module is already loaded, say it
// cannot be reached and what to do, with Try again; at a phone's width.
async function down(browser) {
  const t = await newTab(browser, spec.down.base, WIDTHS[1]);
  await t.open('');
  await check('registry down: the configs page loads while the registry runs', async () => {
    await t.clean();
    assert(await t.count(`a[data-config="${NS}/adamw"]`) === 1, 'no adamw');
  }, t);
  process.kill(spec.down.pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(spec.down.base + '/healthz');
      await new Promise((r) => setTimeout(r, 100));
    } catch (e) {
      break;
    }
  }
  for (const [hash, what] of [[`c/${NS}/adamw`, 'a page not loaded yet'], ['', 'the page loaded before']]) {
    await t.open(hash);
    await check(`registry stopped mid-session: ${what} says it cannot be reached, what to do, and offers Try again`, async () => {
      if (t.openError) throw new Error(`the page never set main[data-ready=true]: ${t.openError.message}`);
      eq(await t.count('.error[role=alert][data-error="unreachable"]'), 1, 'the panel');
      const text = await t.page.locator('.error[role=alert]').textContent();
      assert(/could not be reached/.test(text) && /optreg-server is running/.test(text), `the panel: ${text}`);
      eq(await t.count('.error[role=alert] button#retry'), 1, 'Try again');
      await t.named();
      await t.fits();
      assert(t.leaks.length === 0, `token leaks: ${JSON.stringify(t.leaks)}`);
    }, t);
    await t.shot(`down-${hash ? 'config' : 'configs'}`);
  }
  await t.page.context().close();
}

// Tab from the top reaches the nav and every control of the settings page,
// the focused element is visibly marked, and everything has a name.
async function keyboard(t) {
  await t.open('settings');
  await check('keyboard: Tab reaches the nav links and every settings control; focus is visible', async () => {
    await t.page.evaluate(() => document.activeElement && document.activeElement.blur());
    await t.page.locator('body').focus();
    const seen = [];
    const invisible = [];
    for (let i = 0; i < 40; i++) {
      await t.page.keyboard.press('Tab');
      const f = await t.page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return null;
        const cs = getComputedStyle(e);
        const visible = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
        return {id: e.id ? '#' + e.id : '', nav: e.dataset.nav || '', tag: e.tagName, visible};
      });
      if (!f) continue;
      seen.push(f.id || (f.nav && 'nav:' + f.nav) || f.tag);
      if (!f.visible) invisible.push(f.id || f.nav || f.tag);
    }
    for (const want of ['nav:configs', 'nav:audit', 'nav:policies', 'nav:settings', '#token', '#save-token', '#clear-token', '#registry-key', '#save-key'])
      assert(seen.includes(want), `Tab never reached ${want} (reached ${JSON.stringify(seen)})`);
    assert(invisible.length === 0, `focus not visible on ${JSON.stringify([...new Set(invisible)])}`);
  }, t);
}

// Every link, button and input of every page has an accessible name, at
// this tab's width (a phone's hides columns and wraps the nav).
async function names(t) {
  const pages = [['', 'configs'], [`c/${NS}/adamw`, 'config'], [`c/${NS}/adamw/v/3`, 'version'],
    [`c/${NS}/adamw/v/3/verdicts/${spec.configs.adamw.versions['3'].verdicts[0].job}`, 'verdict'],
    ['audit', 'audit'], ['policies', 'policies'], ['settings', 'settings']];
  for (const [hash, what] of pages) {
    await t.open(hash);
    await check(`${t.width}px accessible names: every link, button and input of the ${what} page has one`, async () => {
      if (hash === 'audit') await auditWait(t);
      await t.named();
    }, t);
  }
}

async function tamperedEvent(browser) {
  const idx = spec.audit.tag_moved[spec.audit.tag_moved.length - 1];
  const t = await newTab(browser, spec.anon, WIDTHS[0], {session: {'optreg.token': spec.tokens.auditor}, local: {'optreg.registryKey': spec.registry_key}});
  await t.open('audit?action=tag.moved');
  await check(`tampered event ${idx}: its row's proof says failed, never verified`, async () => {
    const r = await auditWait(t);
    const row = r.rows.find((x) => x[0] === idx);
    assert(row, `row ${idx} not shown: ${JSON.stringify(r.rows)}`);
    eq(row[1], 'failed', `proof of row ${idx} (checkpoint: ${r.state}, ${r.sentence})`);
    eq(r.state, 'failed', `#checkpoint-status, the page's own check (${r.sentence})`);
  }, t);
  await t.shot('audit-tampered-event');
  await t.open('audit');
  await check(`tampered event ${idx}: the unfiltered log's check says failed`, async () => {
    const r = await auditWait(t);
    assert(r.rows.some((x) => x[0] === idx), `row ${idx} not on the first page: ${JSON.stringify(r.rows.map((x) => x[0]))}`);
    eq(r.state, 'failed', `#checkpoint-status (${r.sentence})`);
  }, t);
  await t.page.context().close();
}

async function tamperedCheckpoint(browser) {
  const t = await newTab(browser, spec.anon, WIDTHS[0], {session: {'optreg.token': spec.tokens.auditor}, local: {'optreg.registryKey': spec.registry_key}});
  await t.open('audit');
  await check('tampered checkpoint (root replaced, signature kept): the checkpoint check says failed', async () => {
    const r = await auditWait(t);
    eq(r.state, 'failed', `#checkpoint-status (${r.sentence})`);
    assert(!r.rows.some((x) => x[1] === 'verified'), `rows verified against a bad checkpoint: ${JSON.stringify(r.rows)}`);
  }, t);
  await t.shot('audit-tampered-checkpoint');
  await t.page.context().close();
}

const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
let rc = 0;
try {
  if (phase === 'clean') await clean(browser);
  else if (phase === 'tampered-event') await tamperedEvent(browser);
  else if (phase === 'tampered-checkpoint') await tamperedCheckpoint(browser);
  else if (phase === 'down') await down(browser);
  else throw new Error(`unknown phase ${phase}`);
} catch (e) {
  checks.push([`browser.mjs ${phase} ran to the end`, false, String(e && e.stack ? e.stack : e)]);
  rc = 1;
} finally {
  save();
  await browser.close();
}
process.exit(rc);
