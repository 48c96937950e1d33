// A console in the browser: xterm.js fed by GET console?follow=1 (the scrollback, then live
// output, one endless response), keystrokes sent back by POST console, in order, batched
// while a POST is under way. window.term is the xterm.js Terminal (the browser test reads it).
import { Terminal } from '/ui/node_modules/@xterm/xterm/lib/xterm.mjs';
import { FitAddon } from '/ui/node_modules/@xterm/addon-fit/lib/addon-fit.mjs';
import { call, enc, objectURL, param, setText } from './common.js';

const $ = (s) => document.querySelector(s);
const ns = param('ns', 'default');
const type = param('type', 'containers');
const name = param('name');
const base = objectURL(ns, type, name);
const url = `${base}/console`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

document.title = `${name} · console · vmfs`;
$('#back').textContent = ns;
$('#back').href = `/ui/?ns=${enc(ns)}`;
setText($('#title'), `${name} console`);
if (type === 'vms') {
	$('#to-vnc').hidden = false;
	$('#to-vnc').href = `vnc.html?ns=${enc(ns)}&name=${enc(name)}`;
}

const term = new Terminal({
	cursorBlink: true,
	fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
	fontSize: 14,
	scrollback: 10000,
	theme: { background: '#15181d', foreground: '#d8dee9' },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('#terminal'));
fit.fit();
addEventListener('resize', () => fit.fit());
term.focus();
window.term = term;

function status(text, kind) {
	const s = $('#status');
	setText(s, text);
	s.className = `status ${kind || ''}`;
	document.body.dataset.console = kind || '';
}

// ---- output ----

// Streams the console; when vmfs answers with a finished file instead (a server without
// follow), polls it once a second and writes what is new.
async function follow() {
	let shown = new Uint8Array(0); // what the terminal shows, in snapshot mode
	for (;;) {
		let r;
		try {
			r = await fetch(`${url}?follow=1`, { cache: 'no-store' });
		} catch (e) {
			status('vmfs is not answering: retrying', 'error');
			await sleep(2000);
			continue;
		}
		if (!r.ok) {
			const text = (await r.text().catch(() => '')).trim();
			const why = r.status === 401 ? 'not signed in (HTTP 401)' : r.status === 403 ? `refused (HTTP 403)${text ? ': ' + text : ''}` : text || `HTTP ${r.status}`;
			status(why, 'error');
			await sleep(r.status === 404 ? 5000 : 3000);
			continue;
		}
		if (r.headers.get('content-length') !== null) { // a snapshot, not a stream
			const bytes = new Uint8Array(await r.arrayBuffer());
			if (startsWith(bytes, shown)) {
				if (bytes.length > shown.length) term.write(bytes.subarray(shown.length));
			} else {
				term.reset();
				term.write(bytes);
			}
			shown = bytes;
			status('polling', 'snapshot');
			await sleep(1000);
			continue;
		}
		shown = new Uint8Array(0);
		term.reset(); // the stream starts with the scrollback again
		status('live', 'live');
		const reader = r.body.getReader();
		try {
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				if (value?.length) term.write(value);
			}
			status('the console ended: reconnecting', 'error');
		} catch (e) {
			status(`connection lost: reconnecting (${e.message})`, 'error');
		}
		await sleep(1000);
	}
}

function startsWith(a, b) {
	if (b.length > a.length) return false;
	for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

// ---- input ----

const utf8 = new TextEncoder();
let pending = [];
let sending = false;

async function flush() {
	if (sending || pending.length === 0) return;
	sending = true;
	const chunks = pending;
	pending = [];
	const len = chunks.reduce((n, c) => n + c.length, 0);
	const body = new Uint8Array(len);
	let o = 0;
	for (const c of chunks) {
		body.set(c, o);
		o += c.length;
	}
	const r = await call('POST', url, body);
	if (!r.ok) status(`typing: ${r.text}`, 'error');
	sending = false;
	flush();
}

term.onData((d) => {
	pending.push(utf8.encode(d));
	flush();
});
term.onBinary((d) => { // mouse reports: one byte per character
	pending.push(Uint8Array.from(d, (c) => c.charCodeAt(0) & 255));
	flush();
});

// ---- the object's state ----

async function objState() {
	try {
		const r = await fetch(`${base}/state`, { cache: 'no-store' });
		const st = r.ok ? (await r.text()).trim() : '';
		const b = $('#obj-state');
		setText(b, st);
		b.className = `badge ${st.toLowerCase()}`;
	} catch (e) { /* the status line says it */ }
}

if (!name) status('no name: console.html?ns=NS&type=containers&name=NAME', 'error');
else {
	follow();
	objState();
	setInterval(() => { if (!document.hidden) objState(); }, 2000);
}
