#!/usr/bin/env python3
"""A false etcd for tests/integration/etcd_client.sh: answers every POST with what the file
DIR/reply holds (its first line the HTTP status, or "hang" to answer nothing for 30 s; the
rest the body), so a test can hand etcd/client.c answers that etcd would never give.
Usage: fakeetcd.py DIR; it writes the port it listens on (loopback) to DIR/port."""
import http.server
import os
import sys
import time

DIR = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(DIR, "reply"), "rb") as f:
            status, _, body = f.read().partition(b"\n")
        if status == b"hang":
            time.sleep(30)
            return
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
