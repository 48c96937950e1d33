// A VM's screen in the browser: noVNC's RFB over the websocket that vmfs passes through to
// QEMU's VNC websocket listener (GET /ns/NS/vms/NAME/vnc with an upgrade). window.rfb is the
// RFB object; body[data-vnc] says connected / disconnected (the browser test reads it).
import RFB from '/ui/node_modules/@novnc/novnc/core/rfb.js';
import { enc, objectURL, param, setText } from './common.js';

const $ = (s) => document.querySelector(s);
const ns = param('ns', 'default');
const name = param('name');
const path = `${objectURL(ns, 'vms', name)}/vnc`;
const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

document.title = `${name} · screen · vmfs`;
$('#back').textContent = ns;
$('#back').href = `/ui/?ns=${enc(ns)}`;
setText($('#title'), `${name} screen`);
$('#to-console').href = `console.html?ns=${enc(ns)}&type=vms&name=${enc(name)}`;

function status(text, kind) {
	const s = $('#status');
	setText(s, text);
	s.className = `status ${kind || ''}`;
	document.body.dataset.vnc = kind || '';
}

let rfb = null;
let scaled = true;

function connect() {
	$('#reconnect').hidden = true;
	status('connecting…', 'connecting');
	$('#screen').replaceChildren();
	rfb = new RFB($('#screen'), wsURL, { shared: true });
	rfb.scaleViewport = scaled;
	rfb.resizeSession = false;
	rfb.background = '#15181d';
	rfb.addEventListener('connect', () => {
		status('connected', 'connected');
		$('#cad').disabled = false;
		rfb.focus();
	});
	rfb.addEventListener('disconnect', (e) => {
		// noVNC does not say why; the usual reasons are a VM that is not running, or a
		// refused request (401/403) that the browser does not show to scripts
		status(e.detail.clean ? 'disconnected' : 'could not connect (is the VM running?)', 'disconnected');
		$('#cad').disabled = true;
		$('#reconnect').hidden = false;
	});
	rfb.addEventListener('credentialsrequired', () => {
		const password = prompt(`VNC password of ${name}`);
		if (password === null) rfb.disconnect();
		else rfb.sendCredentials({ password });
	});
	rfb.addEventListener('securityfailure', (e) => status(`refused: ${e.detail.reason || 'security failure'}`, 'disconnected'));
	rfb.addEventListener('desktopname', (e) => setText($('#title'), `${name} screen · ${e.detail.name}`));
	window.rfb = rfb;
}

$('#cad').addEventListener('click', () => rfb?.sendCtrlAltDel());
$('#reconnect').addEventListener('click', connect);
$('#scale').addEventListener('click', () => {
	scaled = !scaled;
	if (rfb) rfb.scaleViewport = scaled;
	setText($('#scale'), scaled ? '1:1' : 'fit');
});

if (!name) status('no name: vnc.html?ns=NS&name=NAME', 'disconnected');
else connect();
