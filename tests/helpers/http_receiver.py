#!/usr/bin/env python3
"""HTTP receiver for the sink suites: records every POST body.

usage: http_receiver.py PORT DIR [--fail-first N] [--status CODE] [--tls CERT KEY] [--hang]

Bodies of requests answered 2xx are appended to DIR/bodies.ndjson; every
request is logged to DIR/requests.log as "STATUS CONTENT-TYPE BYTES HEADER...
TIME" (headers named X-*, and Authorization; TIME: seconds since the epoch).  --fail-first N answers 503 to the
first N requests; --status CODE answers CODE to every request.  DIR/ready
appears once the socket listens.  --hang reads requests and never answers.
"""
import http.server
import os
import socket
import sys
import time

port, out = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]
fail_first = int(args[args.index("--fail-first") + 1]) if "--fail-first" in args else 0
always = int(args[args.index("--status") + 1]) if "--status" in args else 0
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # the answer goes in two writes: without this, Nagle and delayed
        # ACKs add 40 ms to every request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if "--hang" in args:
            open(os.path.join(out, "hung"), "w").close()
            time.sleep(3600)
        count += 1
        status = always or (503 if count <= fail_first else 200)
        extra = " ".join("%s=%s" % (k, v) for k, v in self.headers.items()
                         if k.lower().startswith("x-") or k.lower() == "authorization")
        with open(os.path.join(out, "requests.log"), "a") as f:
            f.write("%d %s %d %s %.6f\n" % (status, self.headers.get("Content-Type"), n, extra,
                                            time.time()))
        if 200 <= status < 300:
            with open(os.path.join(out, "bodies.ndjson"), "ab") as f:
                f.write(body if body.endswith(b"\n") else body + b"\n")
        reply = b"ok\n" if status < 300 else b"rejected by test receiver\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
if "--tls" in args:
    import ssl
    i = args.index("--tls")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args[i + 1], args[i + 2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(os.path.join(out, "ready"), "w").close()
srv.serve_forever()
