// The console's accessibility bar in a real browser (issue 10 "Usable"): every form control on every
// page has an accessible name, login and the page menu work from the keyboard with a visible focus,
// the main text colours reach WCAG AA contrast (4.5), and no page overflows a 375 px phone screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startNode, type TestNode } from './lib/node.ts';

const PAGES = ['cluster', 'layout', 'buckets', 'objects', 'keys', 'sites', 'front', 'workers', 'metrics', 'audit'];

let node: TestNode;
let browser: Browser | undefined;
let ctx: import('playwright-core').BrowserContext;

before(async () => {
  if (browserSkip) return;
  node = await startNode();
  await node.admin('CreateBucket', { globalAlias: 'a11y-bucket' });
  // A site owned by the node's key: the Sites pages (admin's and owner's) then show their forms.
  await node.admin('CreateSite', { domain: 'a11y.example.org', owner: node.keyId });
  browser = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000 });
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

type Page = import('playwright-core').Page;
// The functions given to page.evaluate run in the page. The project's tsconfig has no DOM lib (a
// `reference lib="dom"` changes the Buffer/BlobPart types of the whole program), so the few
// browser globals they use are declared here, loosely.
declare const document: any;
declare const Node: { TEXT_NODE: number };
declare function getComputedStyle(e: unknown, pseudo?: string): any;
type HTMLElement = any;
type Element = any;
type HTMLInputElement = any;
type HTMLButtonElement = any;

/** The focused element, described for messages and checks. */
function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return { tag: '', id: '', href: '', text: '', type: '', ring: false, ringContrast: 0 };
    const cs = getComputedStyle(el);
    // The ring must also be seen: an outline (drawn outside, over the parent's background) of at
    // least 3:1 against that background (WCAG 1.4.11, non-text contrast).
    const rgb = (c: string) => (/rgba?\(([^)]+)\)/.exec(c)?.[1] ?? '0,0,0,0').split(/[\s,/]+/).filter(Boolean).map(Number);
    const lum = (c: number[]) => {
      const f = (v: number) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]!) + 0.7152 * f(c[1]!) + 0.0722 * f(c[2]!);
    };
    let bg = [255, 255, 255];
    for (let e = el.parentElement; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if ((c[3] ?? 1) >= 1) {
        bg = c;
        break;
      }
    }
    const outlined = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
    const [hi, lo] = [lum(rgb(cs.outlineColor)), lum(bg)].sort((a, b) => b - a);
    const ringContrast = outlined ? (hi! + 0.05) / (lo! + 0.05) : 0;
    const ring = (outlined && ringContrast >= 3) || cs.boxShadow !== 'none';
    return { tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute('href') ?? '', text: (el.textContent ?? '').trim(), type: el.getAttribute('type') ?? '', ring, ringContrast: Math.round(ringContrast * 100) / 100 };
  });
}

/** Presses `key` until the focused element satisfies `ok` (bounded), and returns it. */
async function tabTo(page: Page, key: string, ok: (f: Awaited<ReturnType<typeof focused>>) => boolean, what: string) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    if (ok(f)) return f;
  }
  throw new Error(`${key} never reached ${what}`);
}

async function loginByKeyboard(page: Page) {
  await page.goto(node.adminUrl + '/#/login');
  await page.waitForSelector('#token');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const tok = await tabTo(page, 'Tab', (f) => f.id === 'token', 'the token field');
  assert.ok(tok.ring, 'the token field shows its focus');
  await page.keyboard.type(node.adminToken);
  const btn = await tabTo(page, 'Tab', (f) => f.tag === 'button' && f.type === 'submit', 'the login button');
  assert.equal(btn.text, 'Log in');
  assert.ok(btn.ring, 'the login button shows its focus');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.zone .node[data-up="true"]');
}

async function waitForPage(page: Page, id: string) {
  await page.waitForSelector(`#nav a[href="#/${id}"][aria-current="page"]`);
  await page.waitForSelector('#app h1');
  // Pages fill in from API answers: let them settle (bounded) before measuring.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(300);
}

test('keyboard: Tab to the token and the login button, Enter logs in; every nav link by Tab + Enter, focus visible', { skip: browserSkip, timeout: 120_000 }, async () => {
  const page = await ctx.newPage();
  const unringed = new Set<string>();
  await loginByKeyboard(page);
  for (const id of PAGES) {
    // After a page change the focus is on <main>: the menu is before it, so Shift+Tab goes back to it.
    const f = await tabTo(page, 'Shift+Tab', (x) => x.href === `#/${id}`, `the nav link to ${id}`);
    assert.ok(f.ring, `the nav link to ${id} shows its focus (outline or box-shadow, >= 3:1 against the header; outline ${f.ringContrast}:1)`);
    await page.keyboard.press('Enter');
    await waitForPage(page, id);
    assert.equal(new URL(page.url()).hash, `#/${id}`);
    // Every control of the page on the way down shows a ring that can be seen.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      if (!f.tag || f.tag === 'body') break;
      if (!f.ring) unringed.add(`${id}: ${f.tag}${f.id ? '#' + f.id : ''} "${f.text.slice(0, 30)}" (outline ${f.ringContrast}:1)`);
    }
    // Back to where the menu is reachable the way a user would go: Shift+Tab from <main>.
    await page.evaluate(() => document.getElementById('app')?.focus());
  }
  assert.deepEqual([...unringed], [], 'focus visible on every control reached by Tab');
  await page.close();
});

test('every page: accessible names, contrast >= 4.5, no horizontal overflow at 375x740', { skip: browserSkip, timeout: 180_000 }, async () => {
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(node.adminUrl + '/#/login');
  await page.fill('#token', node.adminToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('.zone .node[data-up="true"]');

  const failures: string[] = [];
  // Each page of the menu, and the detail views behind a click (their forms have the most controls).
  const views: [string, string, ((p: Page) => Promise<void>)?][] = PAGES.map((id) => [id, id]);
  views.push(['buckets', 'bucket-detail', (p) => p.click('tr[data-bucket="a11y-bucket"] button').then(() => p.waitForSelector('section[aria-label="bucket a11y-bucket"]')).then(() => undefined)]);
  views.push(['keys', 'key-detail', (p) => p.click('#keys tbody tr button').then(() => p.waitForTimeout(500))]);
  views.push(['objects/a11y-bucket/', 'objects-in-bucket']);
  for (const [route, id, open] of views) {
    await page.setViewportSize({ width: 1200, height: 800 });
    await page.goto(node.adminUrl + `/#/${route}`);
    await waitForPage(page, route.split('/')[0]!);
    if (open) {
      await open(page);
      await page.waitForTimeout(300);
    }
    failures.push(...(await unnamedControls(page)).map((c) => `${id}: control without an accessible name: ${c}`));
    failures.push(...(await lowContrast(page)).map((c) => `${id}: contrast ${c}`));
    failures.push(...(await junkText(page)).map((c) => `${id}: a reader sees ${c}`));
    if (id === 'cluster') {
      // The states this one healthy node does not show (a node down, a degraded or unavailable
      // banner, errors, notices, the other button kinds), built with the console's own classes.
      await page.evaluate(() => {
        const box = document.createElement('div');
        box.id = 'a11y-states';
        const add = (parent: any, tag: string, cls: string, text: string) => {
          const e = document.createElement(tag);
          e.className = cls;
          e.textContent = text;
          parent.appendChild(e);
          return e;
        };
        for (const k of ['healthy', 'degraded', 'unavailable']) {
          const b = add(box, 'div', `banner ${k}`, '');
          add(b, 'span', '', `Cluster ${k}`);
          add(b, 'span', 'muted', ' — what it means');
        }
        const n = add(box, 'div', 'node down', '');
        add(n, 'span', 'state', 'down');
        add(n, 'span', 'muted', 'host');
        const dl = add(n, 'dl', 'kv', '');
        add(dl, 'dt', '', 'State');
        add(dl, 'dd', 'state', 'down since 12:00');
        add(box, 'p', 'error', 'Access denied');
        add(box, 'p', 'notice', 'Saved');
        add(box, 'p', 'secret', 'GKsecret');
        add(box, 'button', 'danger', 'Delete');
        add(box, 'button', 'secondary', 'Cancel');
        const tabs = add(box, 'div', 'tabs', '');
        add(tabs, 'button', '', 'Site owner').setAttribute('aria-pressed', 'false');
        document.getElementById('app').appendChild(box);
      });
      failures.push(...(await lowContrast(page)).map((c) => `cluster (states): contrast ${c}`));
      await page.evaluate(() => document.getElementById('a11y-states')?.remove());
    }
    await page.setViewportSize({ width: 375, height: 740 });
    await page.waitForTimeout(200);
    const over = await overflow(page);
    if (over) failures.push(`${id}: at 375 px wide the page is ${over}`);
    await page.screenshot({ path: join(SHOTS, `a11y-phone-${id}.png`), fullPage: true });
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the login page: accessible names, contrast, phone width', { skip: browserSkip, timeout: 60_000 }, async () => {
  const fresh = await openBrowser({ width: 375, defaultTimeoutMs: 15_000 });
  try {
    const page = await fresh.ctx.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(node.adminUrl + '/#/login');
    await page.waitForSelector('#token');
    const failures = [...(await unnamedControls(page)), ...(await lowContrast(page)), ...(await junkText(page))];
    const over = await overflow(page);
    if (over) failures.push(`at 375 px wide: ${over}`);
    await page.screenshot({ path: join(SHOTS, 'a11y-phone-login.png'), fullPage: true });
    assert.deepEqual(failures, []);
  } finally {
    await fresh.close();
  }
});

test("the site owner's page: accessible names, contrast, phone width", { skip: browserSkip, timeout: 60_000 }, async () => {
  const fresh = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000 });
  try {
    const page = await fresh.ctx.newPage();
    await page.goto(node.adminUrl + '/#/login');
    await page.click('button[aria-pressed="false"]');
    await page.fill('#key-id', node.keyId);
    await page.fill('#key-secret', node.secret);
    await page.click('button[type=submit]');
    await page.waitForSelector('section[data-site="a11y.example.org"]');
    await page.waitForTimeout(300);
    const failures = [...(await unnamedControls(page)), ...(await lowContrast(page)), ...(await junkText(page))];
    await page.setViewportSize({ width: 375, height: 740 });
    await page.waitForTimeout(200);
    const over = await overflow(page);
    if (over) failures.push(`at 375 px wide: ${over}`);
    await page.screenshot({ path: join(SHOTS, 'a11y-phone-owner-sites.png'), fullPage: true });
    assert.deepEqual(failures, []);
  } finally {
    await fresh.close();
  }
});

/** Visible input/select/textarea/button elements without an accessible name. */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const text = (el: Element | null) => (el?.textContent ?? '').trim();
    for (const el of Array.from<HTMLElement>(document.querySelectorAll('input, select, textarea, button'))) {
      if (el.getAttribute('type') === 'hidden' || el.closest('[hidden]') || el.getClientRects().length === 0) continue;
      const labelled = String(el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((i) => text(document.getElementById(i)))
        .join('');
      const labels = Array.from<Element>((el as HTMLInputElement).labels ?? []).map(text).join('');
      const own = el.tagName === 'BUTTON' ? text(el) : '';
      const value = el.tagName === 'INPUT' && /^(submit|button|reset)$/.test(el.getAttribute('type') ?? '') ? (el as HTMLInputElement).value : '';
      if ((el.getAttribute('aria-label') ?? '').trim() || labelled || labels || own || value) continue;
      out.push(el.outerHTML.slice(0, 160));
    }
    return out;
  });
}

/** Text of the main kinds (body, nav, buttons, muted, badges, banner, errors) below 4.5:1 against its background. */
function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type RGBA = [number, number, number, number];
    const parse = (c: string): RGBA => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return [0, 0, 0, 0];
      const p = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0]!, p[1]!, p[2]!, p[3] ?? 1];
    };
    const over = (top: RGBA, under: RGBA): RGBA => {
      const a = top[3];
      return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a), top[2] * a + under[2] * (1 - a), 1];
    };
    const background = (el: Element | null): RGBA => {
      const layers: RGBA[] = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      let bg: RGBA = [255, 255, 255, 1];
      for (const l of layers.reverse()) bg = over(l, bg);
      return bg;
    };
    const lum = (c: RGBA) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a: RGBA, b: RGBA) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x! + 0.05) / (y! + 0.05);
    };
    const out: string[] = [];
    const seen = new Set<string>();
    const sel = 'body, main p, main td, main dd, main li, #nav a, .who span, button, .muted, th, label, dt, .state, .banner span, .error, .notice, .secret, a';
    for (const el of Array.from<HTMLElement>(document.querySelectorAll(sel))) {
      if (el.getClientRects().length === 0 || (el as HTMLButtonElement).disabled) continue;
      const own = Array.from<any>(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim());
      if (!own) continue;
      const bg = background(el);
      const fg = over(parse(getComputedStyle(el).color), bg);
      const r = ratio(fg, bg);
      if (r >= 4.5) continue;
      const name = `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(/\s+/).join('.') : ''}`;
      const key = `${name} ${getComputedStyle(el).color} on ${bg.slice(0, 3).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`${r.toFixed(2)}: ${key} "${(el.textContent ?? '').trim().slice(0, 30)}"`);
    }
    // Placeholders are text too (the example formats: "no limit (e.g. 10GB)").
    for (const el of Array.from<HTMLElement>(document.querySelectorAll('input[placeholder], textarea[placeholder]'))) {
      if (el.getClientRects().length === 0 || !el.getAttribute('placeholder')) continue;
      const bg = background(el);
      const c = getComputedStyle(el, '::placeholder').color;
      const r = ratio(over(parse(c), bg), bg);
      const key = `placeholder ${c} on ${bg.slice(0, 3).join(',')}`;
      if (r >= 4.5 || seen.has(key)) continue;
      seen.add(key);
      out.push(`${r.toFixed(2)}: ${key} "${el.getAttribute('placeholder').slice(0, 30)}"`);
    }
    return out;
  });
}

/** Text nodes that are a program's value rather than words ("null" from Element.append(null)). */
function junkText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const walk = document.createTreeWalker(document.body, 4 /* NodeFilter.SHOW_TEXT */);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const t = String(n.textContent).trim();
      if (/^(null|undefined|NaN|\[object Object\])$/.test(t)) out.push(`"${t}" in <${String(n.parentElement?.tagName).toLowerCase()}>`);
    }
    return out;
  });
}

/** '' when the page fits 375 px, else what is wider. */
function overflow(page: Page): Promise<string> {
  return page.evaluate(() => {
    const w = document.documentElement.scrollWidth;
    if (w <= 375 + 1) return '';
    const wide = Array.from<HTMLElement>(document.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap'))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.split(/\s+/).join('.') : ''} (right ${Math.round(e.getBoundingClientRect().right)})`);
    return `${w} px wide: ${wide.join(', ')}`;
  });
}
