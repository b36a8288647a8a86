#!/usr/bin/python3
"""A stand-in for kube-apiserver in hagen's real-tool tests: TLS on ADDRESS:PORT with
the given certificate, answering GET /healthz, /readyz and /livez with 200 `ok`, and
/name with NAME (so a test sees which server answered). Writes READY_FILE once it
listens. The TLS handshake runs in the per-connection thread, so a client that never
speaks cannot stall the others."""

import argparse
import http.server
import socketserver
import ssl
import sys


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="ADDRESS:PORT")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--ready-file", required=True)
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            if self.path in ("/healthz", "/readyz", "/livez"):
                body = b"ok"
            elif self.path == "/name":
                body = a.name.encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: object) -> None:
            sys.stderr.write("%s %s\n" % (a.name, fmt % args))

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def finish_request(self, request, client_address) -> None:
            request.settimeout(5)
            try:
                tls = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("%s handshake: %s\n" % (a.name, e))
                return
            self.RequestHandlerClass(tls, client_address, self)

    server = Server((host, int(port)), Handler)
    with open(a.ready_file, "w") as f:
        f.write("listening\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
