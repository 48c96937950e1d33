// Shared by the vmfs pages: URLs of the tree, requests with their answers in words.
// Every request is same-origin (vmfs refuses state-changing requests from other origins).

export const enc = encodeURIComponent;

export function param(name, fallback = '') {
	return new URLSearchParams(location.search).get(name) ?? fallback;
}

// The directory of an object: vms for every type but container (info says kvm).
export function kindDir(type) {
	return type === 'container' || type === 'containers' ? 'containers' : 'vms';
}

export function objectURL(ns, type, name) {
	return `/ns/${enc(ns)}/${kindDir(type)}/${enc(name)}`;
}

// What a status means to the user when the body does not say (or says little).
function statusWords(status) {
	if (status === 401) return 'not signed in (HTTP 401): reload the page to sign in';
	if (status === 403) return 'refused (HTTP 403)';
	if (status === 404) return 'not found (HTTP 404)';
	return `HTTP ${status}`;
}

// call(METHOD, URL, BODY): never throws. {ok, status, text}: text is vmfs's answer
// ("ok", "ok: kill 1", "error: REASON"), or what went wrong with the request itself.
export async function call(method, url, body) {
	let r;
	try {
		r = await fetch(url, { method, body, cache: 'no-store' });
	} catch (e) {
		return { ok: false, status: 0, text: `vmfs is not answering (${e.message})` };
	}
	let text = '';
	try {
		text = (await r.text()).trim();
	} catch (e) {
		text = '';
	}
	if (!r.ok) {
		if (r.status === 401 || r.status === 403) text = `${statusWords(r.status)}${text ? ': ' + text : ''}`;
		else if (!text) text = statusWords(r.status);
	}
	return { ok: r.ok, status: r.status, text: text || 'ok' };
}

export class HttpError extends Error {
	constructor(status, text) {
		super(text);
		this.status = status;
	}
}

// getJSON(URL): the parsed body, or throws an HttpError whose message is in words.
export async function getJSON(url, signal) {
	let r;
	try {
		r = await fetch(url, { cache: 'no-store', signal, headers: { Accept: 'application/json' } });
	} catch (e) {
		if (e.name === 'AbortError') throw e;
		throw new HttpError(0, `vmfs is not answering (${e.message})`);
	}
	if (!r.ok) {
		const body = (await r.text().catch(() => '')).trim();
		throw new HttpError(r.status, `${url}: ${body || statusWords(r.status)}`);
	}
	return r.json();
}

// h('tag.class', {attr: value}, children...): a small element builder.
export function h(spec, attrs = {}, ...children) {
	const [tag, ...classes] = spec.split('.');
	const el = document.createElement(tag);
	if (classes.length) el.className = classes.join(' ');
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k === 'text') el.textContent = v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children) if (c !== null && c !== undefined) el.append(c);
	return el;
}

// setText(EL, TEXT): only touches the DOM when the text changes.
export function setText(el, text) {
	if (el.textContent !== text) el.textContent = text;
}
