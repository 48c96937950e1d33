// The vmfs overview: a namespace's VMs and containers, live, with their actions.
// Reads ns/NS/info and ns/NS/top as JSON once a second (while the page is visible),
// writes verbs to each object's ctl, and shows vmfs's answer in words.
import { call, enc, getJSON, h, kindDir, objectURL, param, setText } from './common.js';

const $ = (s) => document.querySelector(s);
const POLL_MS = 1000;
const THUMB_MS = 4000;
const NS_MS = 10000;

// the states each verb is accepted in (docs/tree.md, "States and verbs")
const VERBS = {
	start: ['BUILDING', 'QUIT', 'ERROR'],
	pause: ['RUNNING'],
	resume: ['PAUSED'],
	stop: ['RUNNING', 'PAUSED'],
	kill: ['BUILDING', 'RUNNING', 'PAUSED'],
};
const VERB_TITLES = {
	start: 'start it',
	pause: 'freeze it (a VM: stop its CPUs)',
	resume: 'thaw it',
	stop: 'shut down (a container: SIGTERM to init; a VM: ACPI power-down)',
	kill: 'end it at once (SIGKILL)',
	remove: 'remove it and what it left (rmdir)',
};

const ui = {
	ns: null,
	rows: new Map(), // name -> tr
	thumbs: new Map(), // name -> {at, loading, url}
	pollTimer: 0,
	polling: false,
};

// ---- messages ----

let msgTimer = 0;
function say(text, ok) {
	const box = $('#msg');
	box.hidden = false;
	box.classList.toggle('error', !ok);
	box.classList.toggle('ok', ok);
	box.querySelector('.text').textContent = text;
	clearTimeout(msgTimer);
	if (ok) msgTimer = setTimeout(() => (box.hidden = true), 8000);
}

function connection(problem) {
	const b = $('#conn');
	b.hidden = !problem;
	if (problem) setText(b, problem);
}

// ---- formatting ----

function kib(v) { // "412K" (KiB) -> "412 KiB", "227908K" -> "222.6 MiB"
	const n = parseInt(v, 10);
	if (!Number.isFinite(n)) return '';
	if (n < 1024) return `${n} KiB`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} MiB`;
	return `${(n / 1024 / 1024).toFixed(2)} GiB`;
}

const dash = (v) => (v === undefined || v === null || v === '-' ? '' : String(v));
const running = (st) => st === 'RUNNING' || st === 'PAUSED';

// ---- the table ----

function makeRow(r) {
	const isVM = kindDir(r.type) === 'vms';
	const q = `ns=${enc(ui.ns)}&type=${kindDir(r.type)}&name=${enc(r.name)}`;
	const buttons = Object.keys(VERBS).map((v) =>
		h('button.act', { type: 'button', dataset: { action: v }, title: VERB_TITLES[v], text: v }));
	buttons.push(h('button.act.remove', { type: 'button', dataset: { action: 'remove' }, title: VERB_TITLES.remove, text: 'remove' }));
	const thumb = isVM
		? h('a.thumblink', { href: `vnc.html?${q}`, title: 'open the screen (VNC)' },
			h('img.thumbnail', { alt: `screen of ${r.name}`, width: 160, height: 100 }))
		: h('span.thumbicon', { title: 'container', text: '›_' });
	return h('tr', { dataset: { name: r.name, type: r.type } },
		h('td.thumb', {}, thumb),
		h('td.name', {}, h('div.label', { text: r.name }),
			h('div.sub', {}, h('span.type', { text: isVM ? 'VM' : 'container' }), ' · ', h('span.id', { title: 'id' }),
				' · ', h('span.host', { title: 'the host it runs on (a cluster spreads a namespace over hosts)' }))),
		h('td.state', {}, h('span.badge')),
		h('td.uptime'),
		h('td.cpu.num'),
		h('td.mem.num'),
		h('td.ip'),
		h('td.actions', {}, ...buttons),
		h('td.open', {},
			h('a.console', { href: `console.html?${q}`, title: 'the serial console' }, 'console'),
			isVM ? h('a.vnc', { href: `vnc.html?${q}`, title: 'the screen, through noVNC' }, 'screen') : null));
}

function updateRow(tr, r, t) {
	const st = r.state;
	if (tr.dataset.state !== st) {
		tr.dataset.state = st;
		if (st === 'QUIT' || st === 'ERROR') why(tr, r);
	}
	setText(tr.querySelector('.id'), `#${r.id}`);
	setText(tr.querySelector('.host'), `on ${r.host}`);
	const badge = tr.querySelector('.state .badge');
	setText(badge, st);
	badge.className = `badge ${st.toLowerCase()}`;
	const up = tr.querySelector('.uptime');
	if (running(st)) {
		setText(up, dash(r.uptime));
		up.title = 'uptime';
	} else if (st === 'BUILDING') {
		setText(up, '');
	} // QUIT, ERROR: how it ended (why)
	const cpu = t && running(st) ? `${t['cpu%']}%` : '';
	setText(tr.querySelector('.cpu'), cpu);
	const rss = t && running(st) ? kib(t.rss) : '';
	const mem = tr.querySelector('.mem');
	setText(mem, rss ? `${rss} / ${r.memory}` : dash(r.memory));
	mem.title = rss ? 'memory in use / configured' : 'configured memory';
	setText(tr.querySelector('.ip'), dash(r.ip));
	const busy = tr.classList.contains('busy');
	for (const b of tr.querySelectorAll('button.act')) {
		const a = b.dataset.action;
		const can = a === 'remove' || VERBS[a].includes(st);
		b.disabled = busy || !can;
	}
	if (kindDir(r.type) === 'vms') thumbnail(tr, r);
}

// How an object ended (info's exit line, or its error), in the uptime cell: fetched once
// per change to QUIT or ERROR.
async function why(tr, r) {
	const up = tr.querySelector('.uptime');
	try {
		const i = await getJSON(`${objectURL(ui.ns, r.type, r.name)}/info?format=json`);
		if (tr.dataset.state !== r.state) return;
		const text = dash(i.error) || dash(i.exit);
		setText(up, text);
		up.title = text;
	} catch (e) {
		setText(up, '');
	}
}

// A running VM's screen, refreshed every few seconds (one request at a time per VM).
// The image keeps the last picture when the VM stops; it is dimmed by the stylesheet.
function thumbnail(tr, r) {
	const th = ui.thumbs.get(r.name) ?? { at: 0, loading: false, url: '' };
	ui.thumbs.set(r.name, th);
	if (r.state !== 'RUNNING' || th.loading || Date.now() - th.at < THUMB_MS) return;
	th.loading = true;
	th.at = Date.now();
	const ns = ui.ns;
	fetch(`${objectURL(ns, r.type, r.name)}/screenshot.png?size=160`, { cache: 'no-store' })
		.then((res) => (res.ok ? res.blob() : null))
		.then((blob) => {
			if (!blob || ns !== ui.ns) return;
			const img = tr.querySelector('img.thumbnail');
			const url = URL.createObjectURL(blob);
			img.onload = () => {
				if (th.url) URL.revokeObjectURL(th.url);
				th.url = url;
				img.removeAttribute('width');
				img.removeAttribute('height');
				tr.querySelector('.thumb').classList.add('has-image');
			};
			img.src = url;
		})
		.catch(() => {})
		.finally(() => {
			th.loading = false;
			th.at = Date.now();
		});
}

function render(info, top) {
	const tbody = $('#objects tbody');
	const topBy = new Map(top.map((t) => [t.name, t]));
	const seen = new Set();
	let prev = null;
	for (const r of info) {
		let tr = ui.rows.get(r.name);
		if (tr && tr.dataset.type !== r.type) {
			tr.remove();
			tr = null;
		}
		if (!tr) {
			tr = makeRow(r);
			ui.rows.set(r.name, tr);
		}
		const next = prev ? prev.nextSibling : tbody.firstChild;
		if (next !== tr) tbody.insertBefore(tr, next);
		prev = tr;
		updateRow(tr, r, topBy.get(r.name));
		seen.add(r.name);
	}
	for (const [name, tr] of ui.rows) {
		if (seen.has(name)) continue;
		tr.remove();
		ui.rows.delete(name);
		const th = ui.thumbs.get(name);
		if (th?.url) URL.revokeObjectURL(th.url);
		ui.thumbs.delete(name);
	}
	$('#empty').hidden = info.length > 0;
	$('#objects').hidden = info.length === 0;
	document.body.dataset.loaded = 'true';
}

function clearTable() {
	for (const tr of ui.rows.values()) tr.remove();
	ui.rows.clear();
	for (const th of ui.thumbs.values()) if (th.url) URL.revokeObjectURL(th.url);
	ui.thumbs.clear();
	delete document.body.dataset.loaded;
}

// ---- polling ----

async function poll() {
	clearTimeout(ui.pollTimer);
	if (ui.polling || !ui.ns) return;
	if (document.hidden) return; // visibilitychange starts it again
	ui.polling = true;
	const ns = ui.ns;
	try {
		const base = `/ns/${enc(ns)}`;
		const [info, top] = await Promise.all([
			getJSON(`${base}/info?format=json`), getJSON(`${base}/top?format=json`)]);
		if (ns === ui.ns) render(info, top);
		connection(null);
	} catch (e) {
		if (e.status === 404) {
			connection(`namespace ${ns} is gone`);
			loadNamespaces(true);
		} else {
			connection(e.message);
		}
	} finally {
		ui.polling = false;
		ui.pollTimer = setTimeout(poll, POLL_MS);
	}
}

document.addEventListener('visibilitychange', () => {
	if (!document.hidden) poll();
});

// ---- namespaces and host ----

async function loadNamespaces(reselect) {
	let list;
	try {
		list = await getJSON('/ns/');
	} catch (e) {
		connection(e.message);
		return;
	}
	const names = list.filter((e) => e.kind === 'dir').map((e) => e.name)
		.sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
	const sel = $('#ns');
	const have = [...sel.options].map((o) => o.value);
	if (have.join('\n') !== names.join('\n')) {
		sel.replaceChildren(...names.map((n) => h('option', { value: n, text: n })));
	}
	let want = ui.ns;
	if (!want || reselect || !names.includes(want)) {
		want = [param('ns'), localStorage.getItem('vmfs.ns'), 'default', names[0]]
			.find((n) => n && names.includes(n));
	}
	if (want && want !== ui.ns) selectNamespace(want);
	else if (want) sel.value = want;
}

function selectNamespace(ns) {
	ui.ns = ns;
	$('#ns').value = ns;
	localStorage.setItem('vmfs.ns', ns);
	const u = new URL(location.href);
	u.searchParams.set('ns', ns);
	history.replaceState(null, '', u);
	document.title = `vmfs · ${ns}`;
	clearTable();
	poll();
}

async function hostLine() {
	try {
		const i = await getJSON('/host/info?format=json');
		const kvm = (i.kvm || '').split(' ')[0].replace(/:$/, '');
		setText($('#host'), `${i.name} · ${i.cpus} CPUs · load ${(i.load || '').split(' ')[0]} · ` +
			`memory ${i.memory_free} free of ${i.memory} · KVM ${kvm || '?'} · ${i.version || ''}`);
	} catch (e) {
		setText($('#host'), '');
	}
}

// ---- actions ----

async function act(tr, verb) {
	const { name, type } = tr.dataset;
	const url = objectURL(ui.ns, type, name);
	if (verb === 'remove' && !confirm(`Remove ${name}? A running one is killed first, and what it left is removed.`)) return;
	tr.classList.add('busy');
	for (const b of tr.querySelectorAll('button.act')) b.disabled = true;
	const r = verb === 'remove' ? await call('DELETE', url) : await call('POST', `${url}/ctl`, verb);
	tr.classList.remove('busy');
	say(`${name}: ${verb}: ${r.text}`, r.ok);
	poll();
}

$('#objects tbody').addEventListener('click', (ev) => {
	const b = ev.target.closest('button[data-action]');
	if (!b || b.disabled) return;
	act(b.closest('tr'), b.dataset.action);
});

$('#launch').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const type = $('#new-type').value;
	const names = $('#new-name').value.trim();
	if (!names || !ui.ns) return;
	const ctl = `/ns/${enc(ui.ns)}/ctl`;
	const btn = $('#create');
	btn.disabled = true;
	try {
		let r = await call('POST', ctl, `launch ${type} ${names}`);
		let text = `launch ${names}: ${r.text}`;
		if (r.ok && $('#new-start').checked) {
			poll();
			r = await call('POST', ctl, `start ${names}`);
			text += `; start: ${r.text}`;
		}
		if (r.ok) $('#new-name').value = '';
		say(text, r.ok);
	} finally {
		btn.disabled = false;
		poll();
	}
});

$('#ns').addEventListener('change', (ev) => selectNamespace(ev.target.value));
$('#msg .close').addEventListener('click', () => ($('#msg').hidden = true));

loadNamespaces();
hostLine();
setInterval(() => { if (!document.hidden) loadNamespaces(); }, NS_MS);
setInterval(() => { if (!document.hidden) hostLine(); }, NS_MS);
