"""hagen rehearse's stand-in for kube-apiserver (shipped inside the hagen binary).

TLS on 0.0.0.0:PORT with the node's own apiserver.crt/key; client certificates are asked
for and verified against the cluster CA (a certificate from another CA fails the
handshake); /readyz, /healthz and /livez answer without one, as kube-apiserver's
system:public-info-viewer role allows (the bundle's haproxy check and keepalived track
script send none); every other path needs a verified client certificate.

/readyz is 200 only while a linearizable read from etcd (`etcdctl get`, gRPC like
kube-apiserver) succeeds through the apiserver-etcd-client pair, on the endpoints
kube-apiserver would use: so an etcd quorum loss shows at the load
balancer as it would in a real cluster. Each answer names the node in `X-Hagen-Node`.
"""

import argparse
import http.server
import socketserver
import ssl
import subprocess
import sys
import threading
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki", default="/etc/kubernetes/pki")
    p.add_argument("--etcd", required=True, help="comma-separated client URLs")
    p.add_argument("--etcd-ca", required=True)
    p.add_argument("--etcd-cert", required=True)
    p.add_argument("--etcd-key", required=True)
    p.add_argument("--etcdctl", default="etcdctl")
    a = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.pki + "/apiserver.crt", a.pki + "/apiserver.key")
    ctx.load_verify_locations(a.pki + "/ca.crt")
    ctx.verify_mode = ssl.CERT_OPTIONAL

    endpoints = [e for e in a.etcd.split(",") if e]
    state = {"ok": False, "at": 0.0, "why": "not checked yet"}
    lock = threading.Lock()

    def probe() -> None:
        # etcdctl speaks gRPC as kube-apiserver does (etcd's JSON gateway is off when etcd
        # runs from a config file, as the bundle's external members do). `get` is a
        # linearizable read: it needs the quorum.
        cmd = [
            a.etcdctl, "--endpoints=" + ",".join(endpoints), "--cacert=" + a.etcd_ca,
            "--cert=" + a.etcd_cert, "--key=" + a.etcd_key, "--dial-timeout=1s",
            "--command-timeout=2s", "get", "/registry/health",
        ]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ETCDCTL_API": "3"}
        while True:
            try:
                r = subprocess.run(cmd, env=env, capture_output=True, timeout=4)
                ok, why = r.returncode == 0, r.stderr.decode(errors="replace").strip()[-300:]
            except (OSError, subprocess.SubprocessError) as e:
                ok, why = False, str(e)
            with lock:
                if ok != state["ok"] or state["at"] == 0.0:
                    sys.stderr.write("%s etcd %s %s\n" % (a.name, "reachable" if ok else "LOST", why))
                    sys.stderr.flush()
                state.update(ok=ok, at=time.monotonic(), why=why)
            time.sleep(0.8)

    threading.Thread(target=probe, daemon=True).start()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def answer(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("X-Hagen-Node", a.name)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/readyz", "/healthz", "/livez"):
                if path == "/livez":
                    self.answer(200, b"ok")
                    return
                with lock:
                    fresh = time.monotonic() - state["at"] < 6.0
                    ok, why = state["ok"] and fresh, state["why"]
                if ok:
                    self.answer(200, b"ok")
                else:
                    self.answer(503, ("[-]etcd failed: %s\n" % why).encode())
                return
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            if not cert:
                self.answer(401, b"Unauthorized: a client certificate is required\n")
                return
            cn = ""
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
            self.answer(200, ("%s %s\n" % (a.name, cn)).encode())

        def log_message(self, fmt: str, *args: object) -> None:
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def finish_request(self, request, client_address) -> None:
            request.settimeout(5)
            try:
                tls = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("%s handshake from %s: %s\n" % (a.name, client_address[0], e))
                return
            self.RequestHandlerClass(tls, client_address, self)

    server = Server(("0.0.0.0", a.port), Handler)
    sys.stderr.write("%s listening on :%d, etcd %s\n" % (a.name, a.port, ",".join(endpoints)))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
