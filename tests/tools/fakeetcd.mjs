// A false etcd for tests/integration/etcd_client.sh: speaks gRPC over cleartext HTTP/2 (h2c,
// as etcd does on http://) and answers EVERY request, whatever its path, with what the file
// DIR/reply says (read again at each request), so a test can hand etcd/client.c answers that
// etcd would never give. Node's built-in http2 only.
// Usage: node fakeetcd.mjs DIR; it listens on 127.0.0.1 (a free port) and writes the port to
// DIR/port (whole, by a rename). It adds the path of each request it gets to DIR/requests.
//
// DIR/reply is one JSON object; every member is optional:
//   status         the HTTP status (200)
//   content_type   ("application/grpc")
//   messages       the messages of the body, each a list of protobuf fields
//                  [NUMBER, KIND, VALUE], KIND one of
//                    "v"  varint: a number, or a decimal string beyond 2^53; a negative one
//                         as int64 does it (10 bytes of two's complement)
//                    "b"  bytes: a string, its UTF-8 bytes ("\u0000" is a NUL byte)
//                    "x"  bytes: a string of hex digits
//                    "m"  a nested message: a list of fields
//                  each message framed as gRPC does: a flag byte, its length in 4 bytes
//                  big-endian, the message
//   flag           the flag byte of every frame (0; 1 says compressed)
//   longer         N: every frame says it is N bytes longer than its message
//   cut            N: the body's last N bytes are left out
//   raw            hex digits: these bytes are the body instead of the messages
//   text           a string: its UTF-8 bytes are the body instead
//   grpc_status    the code in the trailers (0); null: no grpc-status at all
//   grpc_message   the message beside it, percent-encoded as gRPC does
//   trailers_only  grpc-status and grpc-message go in the headers, with no body (gRPC's
//                  "Trailers-Only" answer)
//   hang           true: nothing is answered, ever (the stream stays open)
// A reply that is not such JSON gets HTTP 500 and a line on stderr.
import fs from "node:fs";
import http2 from "node:http2";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
	process.stderr.write("usage: node fakeetcd.mjs DIR\n");
	process.exit(2);
}

function varint(n) {
	let v = BigInt.asUintN(64, BigInt(n));
	const out = [];
	do {
		let b = Number(v & 0x7fn);
		v >>= 7n;
		if (v) b |= 0x80;
		out.push(b);
	} while (v);
	return Buffer.from(out);
}

function message(fields) {
	if (!Array.isArray(fields)) throw new Error(`a message is a list of fields: ${JSON.stringify(fields)}`);
	const parts = [];
	for (const f of fields) {
		if (!Array.isArray(f) || f.length !== 3 || !Number.isInteger(f[0]) || f[0] < 1)
			throw new Error(`a field is [NUMBER, KIND, VALUE]: ${JSON.stringify(f)}`);
		const [num, kind, value] = f;
		if (kind === "v") {
			parts.push(varint((num << 3) | 0), varint(value));
			continue;
		}
		let bytes;
		if (kind === "b") bytes = Buffer.from(String(value), "utf8");
		else if (kind === "x") bytes = Buffer.from(String(value), "hex");
		else if (kind === "m") bytes = message(value);
		else throw new Error(`a field's kind is v, b, x or m: ${JSON.stringify(f)}`);
		parts.push(varint((num << 3) | 2), varint(bytes.length), bytes);
	}
	return Buffer.concat(parts);
}

function body(spec) {
	if (spec.raw !== undefined) return Buffer.from(spec.raw, "hex");
	if (spec.text !== undefined) return Buffer.from(spec.text, "utf8");
	const frames = (spec.messages || []).map((m) => {
		const b = message(m);
		const h = Buffer.alloc(5);
		h[0] = spec.flag || 0;
		h.writeUInt32BE(b.length + (spec.longer || 0), 1);
		return Buffer.concat([h, b]);
	});
	const all = Buffer.concat(frames);
	return all.subarray(0, Math.max(0, all.length - (spec.cut || 0)));
}

// gRPC's percent-encoding: bytes outside printable ASCII, and '%' itself
function percent(s) {
	let out = "";
	for (const b of Buffer.from(s, "utf8"))
		out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0");
	return out;
}

function status(spec) {
	if (spec.grpc_status === null) return {};
	const s = { "grpc-status": String(spec.grpc_status ?? 0) };
	if (spec.grpc_message !== undefined) s["grpc-message"] = percent(spec.grpc_message);
	return s;
}

function answer(stream) {
	let spec, data;
	try {
		spec = JSON.parse(fs.readFileSync(path.join(dir, "reply"), "utf8"));
		if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new Error("the reply is not a JSON object");
		if (spec.hang) return;
		data = spec.trailers_only ? null : body(spec);
	} catch (err) {
		process.stderr.write(`fakeetcd: ${err.message}\n`);
		stream.respond({ ":status": 500 }, { endStream: true });
		return;
	}
	const headers = { ":status": spec.status ?? 200, "content-type": spec.content_type ?? "application/grpc" };
	if (spec.trailers_only) {
		stream.respond({ ...headers, ...status(spec) }, { endStream: true });
		return;
	}
	const trailers = status(spec);
	const some = Object.keys(trailers).length > 0;
	stream.respond(headers, { waitForTrailers: some });
	if (some) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
	stream.end(data);
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
	// each request's path, a line each, in DIR/requests: what a test counts
	fs.appendFileSync(path.join(dir, "requests"), `${headers[":path"]}\n`);
	stream.on("error", () => {}); // a client gone (its timeout) is no news here
	stream.resume(); // the request is read and not looked at
	stream.on("end", () => {
		if (!stream.destroyed) answer(stream);
	});
});
server.on("sessionError", () => {});
server.listen(0, "127.0.0.1", () => {
	const tmp = path.join(dir, "port.tmp");
	fs.writeFileSync(tmp, String(server.address().port));
	fs.renameSync(tmp, path.join(dir, "port"));
});
