// The browser test of the vmfs pages: Debian's Chromium, headless, driven by playwright-core.
//   node tests/browser/ui.mjs BASE_URL ARTIFACT_DIR
// BASE_URL is a vmfs --web with a stopped container c1 and a running VM v1 in namespace
// default (tests/integration/web_browser.sh sets that up). Prints TAP; exits 1 on a failure.
// Screenshots of each page go to ARTIFACT_DIR. The browser profile is a temporary
// directory, removed at the end whatever happens.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, artifacts = ''] = process.argv.slice(2);
if (!base) {
	console.error('usage: node ui.mjs BASE_URL [ARTIFACT_DIR]');
	process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
// the door's token (vmfs without a password file): the browser gets its cookie from the
// one-time URL, as a person would; node's own requests send it as a bearer header
const token = process.env.VMFS_WEB_TOKEN || '';
const auth = token ? { Authorization: `Bearer ${token}` } : {};
const WAIT = 30000;

let n = 0;
let failed = 0;
function tap(pass, desc, diag) {
	n++;
	console.log(`${pass ? 'ok' : 'not ok'} ${n} - ${desc}`);
	if (!pass) failed++;
	if (diag) for (const l of String(diag).split('\n').slice(0, 12)) console.log(`#   ${l}`);
	return pass;
}
// step(DESC, FN): one TAP line; FN throws to fail, may return a note for the description.
async function step(desc, fn) {
	try {
		const note = await fn();
		return tap(true, note ? `${desc} (${note})` : desc);
	} catch (e) {
		return tap(false, desc, e.message);
	}
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vmfs-chromium-'));
let context = null;
let done = false;
async function finish(code) {
	if (done) return;
	done = true;
	try {
		if (context) await context.close();
	} catch (e) { /* the browser is gone already */ }
	fs.rmSync(profile, { recursive: true, force: true });
	console.log(`1..${n}`);
	process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => finish(1));
process.stdout.on('error', () => finish(1)); // a reader that left (EPIPE): still clean up
const watchdog = setTimeout(() => {
	tap(false, 'the browser test finished within 300 s');
	finish(1);
}, 300000);
watchdog.unref();

async function shot(page, name) {
	if (!artifacts) return;
	fs.mkdirSync(artifacts, { recursive: true });
	await page.screenshot({ path: path.join(artifacts, name), fullPage: true });
}

const row = (name) => `#objects tr[data-name="${name}"]`;
async function waitState(page, name, state, timeout = WAIT) {
	try {
		await page.waitForFunction(([sel, st]) => document.querySelector(sel)?.textContent.trim() === st,
			[`${row(name)} .state`, state], { timeout });
	} catch (e) {
		const got = await page.locator(`${row(name)} .state`).textContent().catch(() => '(no row)');
		const msg = await page.locator('#msg').textContent().catch(() => '');
		throw new Error(`${name} is ${got}, not ${state}${msg ? `; message: ${msg.trim()}` : ''}`);
	}
}
async function message(page) {
	await page.waitForSelector('#msg:not([hidden])', { timeout: WAIT });
	return {
		text: (await page.locator('#msg .text').textContent()).trim(),
		error: await page.locator('#msg').evaluate((e) => e.classList.contains('error')),
	};
}
// the terminal's text, from xterm.js's buffer (window.term)
const termText = (page) => page.evaluate(() => {
	if (!window.term) return '(no terminal on the page)';
	const b = window.term.buffer.active;
	const lines = [];
	for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
	return lines.join('\n');
});

async function main() {
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath,
			headless: true,
			viewport: { width: 1280, height: 800 },
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync',
				'--disable-dev-shm-usage'],
		});
	} catch (e) {
		tap(false, `Chromium starts (${executablePath})`, e.message);
		return finish(1);
	}
	tap(true, `Chromium starts (${context.browser()?.version() ?? executablePath})`);
	const page = context.pages()[0] ?? await context.newPage();
	const jsErrors = [];
	const consoleErrors = [];
	page.on('pageerror', (e) => jsErrors.push(`${page.url()}: ${e.message}`));
	page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
	page.on('dialog', (d) => d.accept()); // the confirm() of remove
	// requests under way, to say which ones a page waits for when it does not come up
	const pending = new Map();
	page.on('request', (r) => pending.set(r, Date.now()));
	page.on('requestfinished', (r) => pending.delete(r));
	page.on('requestfailed', (r) => pending.delete(r));
	const waiting = () => [...pending].filter(([r]) => !/[?&]follow=1/.test(r.url()))
		.map(([r, t]) => `still loading after ${Date.now() - t} ms: ${r.url()}`).join('\n');

	// the overview
	if (token) await step('the one-time URL /?token= logs the browser in and leaves the address bar', async () => {
		await page.goto(`${base}/?token=${token}`, { waitUntil: 'load' });
		if (page.url().includes(token)) throw new Error(`at ${page.url()}`);
		const c = (await context.cookies()).find((k) => k.value === token);
		if (!c || !c.httpOnly || c.sameSite !== 'Strict') throw new Error(`cookie ${JSON.stringify(c)}`);
	});
	await step('GET / from a browser leads to the pages (/ui/)', async () => {
		await page.goto(`${base}/`, { waitUntil: 'load' });
		if (!new URL(page.url()).pathname.startsWith('/ui/')) throw new Error(`at ${page.url()}`);
	});
	await step('/ui/ loads and lists the namespaces', async () => {
		const r = await page.goto(`${base}/ui/`, { waitUntil: 'load' });
		if (!r.ok()) throw new Error(`HTTP ${r.status()}`);
		await page.waitForFunction(() => [...document.querySelectorAll('#ns option')].some((o) => o.value === 'default'), null, { timeout: WAIT });
		return `selected: ${await page.locator('#ns').inputValue()}`;
	});
	await step('the libraries load in under 3 s each, as JavaScript', async () => {
		const took = [];
		for (const lib of ['@xterm/xterm/lib/xterm.mjs', '@novnc/novnc/core/rfb.js']) {
			const t0 = Date.now();
			const r = await fetch(`${base}/ui/node_modules/${lib}`, { headers: auth });
			const body = await r.arrayBuffer();
			const ms = Date.now() - t0;
			const type = r.headers.get('content-type') ?? '';
			if (!r.ok) throw new Error(`${lib}: HTTP ${r.status}`);
			if (!/^text\/javascript/.test(type)) throw new Error(`${lib}: Content-Type ${type}`);
			if (ms > 3000) throw new Error(`${lib}: ${body.byteLength} bytes took ${ms} ms`);
			took.push(`${lib.split('/').pop()} ${Math.round(body.byteLength / 1024)} KiB in ${ms} ms`);
		}
		return took.join(', ');
	});
	await step('the table shows container c1 and VM v1', async () => {
		await page.waitForSelector(`${row('c1')}[data-type="container"]`, { timeout: WAIT });
		await page.waitForSelector(`${row('v1')}[data-type="kvm"]`, { timeout: WAIT });
	});
	await step('c1 is stopped (BUILDING) and v1 RUNNING, with their start buttons set to match', async () => {
		await waitState(page, 'c1', 'BUILDING', 5000);
		await waitState(page, 'v1', 'RUNNING', 5000);
		if (await page.locator(`${row('c1')} button[data-action="start"]`).isDisabled()) throw new Error('start of c1 is disabled');
		if (await page.locator(`${row('v1')} button[data-action="start"]`).isEnabled()) throw new Error('start of v1 is enabled');
	});
	await step('v1 shows its cpu and memory from top', async () => {
		await page.waitForFunction((sel) => /\d+(\.\d+)? (KiB|MiB|GiB) \//.test(document.querySelector(sel)?.textContent ?? ''),
			`${row('v1')} .mem`, { timeout: 5000 });
		const cpu = await page.locator(`${row('v1')} .cpu`).textContent();
		if (!/^\d+(\.\d+)?%$/.test(cpu)) throw new Error(`cpu: "${cpu}"`);
		return `cpu ${cpu}, memory ${await page.locator(`${row('v1')} .mem`).textContent()}`;
	});

	await step('start on c1: RUNNING, and the answer shown', async () => {
		await page.click(`${row('c1')} button[data-action="start"]`);
		await waitState(page, 'c1', 'RUNNING');
		const m = await message(page);
		if (m.error || !/^c1: start: ok/.test(m.text)) throw new Error(`message: ${m.text}`);
		return m.text;
	});
	await step("v1's thumbnail is a loaded screenshot", async () => {
		try {
			await page.waitForFunction((sel) => {
				const img = document.querySelector(sel);
				return img && img.complete && img.naturalWidth > 0;
			}, `${row('v1')} img.thumbnail`, { timeout: WAIT });
		} catch (e) {
			throw new Error('no image within 30 s');
		}
		const size = await page.locator(`${row('v1')} img.thumbnail`).evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`);
		if (!/^160x|x160$/.test(size)) throw new Error(`${size}: the larger side should be 160 (screenshot.png?size=160)`);
		return size;
	});
	await shot(page, 'ui-index.png');

	// the console of c1
	await step("c1's console page streams its console (follow=1)", async () => {
		await page.click(`${row('c1')} .open a.console`);
		await page.waitForURL(/console\.html\?/, { timeout: WAIT, waitUntil: 'commit' });
		try {
			await page.waitForFunction(() => window.term, null, { timeout: WAIT });
		} catch (e) {
			throw new Error(`the page has no terminal after 30 s\n${waiting()}`);
		}
		try {
			await page.waitForSelector('body[data-console="live"]', { timeout: 10000 });
		} catch (e) {
			const st = await page.locator('#status').textContent();
			throw new Error(`the page says: ${st}`);
		}
		await page.waitForFunction(() => window.term && window.term.buffer.active.length > 0, null, { timeout: WAIT });
	});
	await step('a command typed in the console runs in c1 and its output appears', async () => {
		if (!await page.evaluate(() => !!window.term)) throw new Error('no terminal on the page');
		await page.waitForFunction(() => {
			const b = window.term.buffer.active;
			for (let i = 0; i < b.length; i++) if (b.getLine(i).translateToString(true).includes('c1')) return true;
			return false;
		}, null, { timeout: WAIT }); // the banner or the prompt
		await page.click('#terminal');
		await page.keyboard.type('echo hi$((6*7))', { delay: 15 });
		const t0 = Date.now();
		await page.keyboard.press('Enter');
		try {
			await page.waitForFunction(() => {
				const b = window.term.buffer.active;
				for (let i = 0; i < b.length; i++) {
					const l = b.getLine(i).translateToString(true);
					if (l.includes('hi42') && !l.includes('echo')) return true;
				}
				return false;
			}, null, { timeout: 15000 });
		} catch (e) {
			throw new Error(`no hi42 in the terminal:\n${(await termText(page)).trimEnd().split('\n').slice(-8).join('\n')}`);
		}
		return `hi42 ${Date.now() - t0} ms after Enter`;
	});
	await step('keystrokes typed fast arrive in order', async () => {
		if (!await page.evaluate(() => !!window.term)) throw new Error('no terminal on the page');
		await page.keyboard.type('echo abcdefghijklmnopqrstuvwxyz0123456789 | tr a-z A-Z', { delay: 0 });
		await page.keyboard.press('Enter');
		try {
			await page.waitForFunction(() => {
				const b = window.term.buffer.active;
				for (let i = 0; i < b.length; i++) {
					if (b.getLine(i).translateToString(true).trim() === 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') return true;
				}
				return false;
			}, null, { timeout: 15000 });
		} catch (e) {
			throw new Error(`not found:\n${(await termText(page)).trimEnd().split('\n').slice(-6).join('\n')}`);
		}
	});
	await shot(page, 'ui-console.png');
	await step('a second viewer of the console sees the scrollback, and what it types shows live in the first', async () => {
		if (!await page.evaluate(() => !!window.term)) throw new Error('no terminal on the first page');
		const p2 = await context.newPage();
		p2.on('pageerror', (e) => jsErrors.push(`${p2.url()}: ${e.message}`));
		try {
			await p2.goto(page.url(), { waitUntil: 'commit' });
			await p2.waitForFunction(() => window.term, null, { timeout: WAIT });
			await p2.waitForFunction(() => {
				const b = window.term.buffer.active;
				for (let i = 0; i < b.length; i++) if (b.getLine(i).translateToString(true).trim() === 'hi42') return true;
				return false;
			}, null, { timeout: 15000 }).catch(() => { throw new Error('no hi42 in the second viewer\'s scrollback'); });
			await p2.click('#terminal');
			await p2.keyboard.type('echo two$((1+1))');
			await p2.keyboard.press('Enter');
			await page.waitForFunction(() => {
				const b = window.term.buffer.active;
				for (let i = 0; i < b.length; i++) if (b.getLine(i).translateToString(true).trim() === 'two2') return true;
				return false;
			}, null, { timeout: 15000 }).catch(() => { throw new Error('the first viewer did not see two2'); });
		} finally {
			await p2.close();
		}
	});

	// the screen of v1
	await step("v1's screen page connects through noVNC", async () => {
		await page.goto(`${base}/ui/vnc.html?ns=default&name=v1`, { waitUntil: 'commit' });
		try {
			await page.waitForFunction(() => window.rfb, null, { timeout: WAIT });
		} catch (e) {
			throw new Error(`the page has no noVNC after 30 s\n${waiting()}`);
		}
		try {
			await page.waitForSelector('body[data-vnc="connected"]', { timeout: 15000 });
		} catch (e) {
			throw new Error(`the page says: ${await page.locator('#status').textContent()}`);
		}
		const canvas = await page.waitForSelector('#screen canvas', { timeout: 5000 });
		const wh = await canvas.evaluate((c) => `${c.width}x${c.height}`);
		if (/^0x|x0$/.test(wh)) throw new Error(`canvas ${wh}`);
		await page.waitForTimeout(1000); // a frame or two
		return `canvas ${wh}`;
	});
	await shot(page, 'ui-vnc.png');

	// back to the overview: pause, resume, a refused launch, a launch, a remove, a kill
	await page.goto(`${base}/ui/?ns=default`, { waitUntil: 'load' });
	await step('pause on c1: PAUSED', async () => {
		await page.click(`${row('c1')} button[data-action="pause"]`, { timeout: WAIT });
		await waitState(page, 'c1', 'PAUSED');
	});
	await step('resume on c1: RUNNING', async () => {
		await page.click(`${row('c1')} button[data-action="resume"]`, { timeout: WAIT });
		await waitState(page, 'c1', 'RUNNING');
	});
	await step('a refused launch shows the reason as an error', async () => {
		await page.fill('#new-name', 'c1');
		await page.selectOption('#new-type', 'container');
		await page.uncheck('#new-start');
		await page.click('#create');
		await page.waitForFunction(() => /c1/.test(document.querySelector('#msg:not([hidden]) .text')?.textContent ?? '') &&
			document.querySelector('#msg').classList.contains('error'), null, { timeout: WAIT });
		return (await page.locator('#msg .text').textContent()).trim();
	});
	await step('launch container c2, started: a new RUNNING row', async () => {
		await page.fill('#new-name', 'c2');
		await page.check('#new-start');
		await page.click('#create');
		await page.waitForSelector(row('c2'), { timeout: WAIT });
		await waitState(page, 'c2', 'RUNNING');
	});
	await step('remove c2: its row goes', async () => {
		await page.click(`${row('c2')} button[data-action="remove"]`);
		await page.waitForSelector(row('c2'), { state: 'detached', timeout: WAIT });
	});
	await step('kill on c1: QUIT', async () => {
		await page.click(`${row('c1')} button[data-action="kill"]`);
		await waitState(page, 'c1', 'QUIT');
	});
	await shot(page, 'ui-index-after.png');

	tap(jsErrors.length === 0, 'no uncaught JavaScript errors in the pages', jsErrors.join('\n'));
	if (consoleErrors.length) {
		console.log('# messages the pages logged as errors:');
		for (const e of consoleErrors.slice(0, 20)) console.log(`#   ${e}`);
	}
	return finish(failed ? 1 : 0);
}

main().catch((e) => {
	tap(false, 'the browser test ran to its end', e.stack || e.message);
	finish(1);
});
