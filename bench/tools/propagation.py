#!/usr/bin/python3
"""Config propagation through the controller's file source, end to end: the
real portico-controller watches a manifest directory, the real
portico-dataplane subscribes over mTLS, and this script measures

  latency  change-to-served: N Ingresses (one file each), one Ingress's backend
           flipped between two Services (backend-a / backend-b on the shared
           nginx backend); the time from the file's rename to the first
           response from the new backend through the data plane; --samples
           changes per size;
  churn    one Ingress under wrk load while its Service's EndpointSlice is
           rewritten --churn-rate times a second (endpoints 127.0.0.1/.2/.3
           added and removed, at least one always ready); every failed or
           non-2xx request counts.

Results are JSON lines appended to --results. Processes are pinned like the
proxies (controller and data plane on --proxy-cpus, this client and wrk on
--load-cpus), bound to loopback, and killed on exit. Stdlib only."""

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

NS = "bench"


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Proc:
    """A child with its output in a file, SIGKILLed by stop()."""

    def __init__(self, argv, log_path, cpus):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["taskset", "-c", cpus] + [str(a) for a in argv],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log_path.read_text(errors="replace"))
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"{pattern!r} not seen in {self.log_path}:\n"
                           f"{self.log_path.read_text(errors='replace')[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()


def atomic_write(directory, name, text):
    tmp = directory / f".{name}.tmp"
    tmp.write_text(text)
    os.replace(tmp, directory / name)
    return time.monotonic()


def base_manifests(backend_a, backend_b):
    docs = ["""apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: portico.dev/ingress-controller
"""]
    for name, port in (("svc-a", backend_a), ("svc-b", backend_b)):
        docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {NS}
spec:
  ports:
  - name: http
    port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: {name}
  namespace: {NS}
subsets:
- addresses:
  - ip: 127.0.0.1
  ports:
  - name: http
    port: {port}
""")
    return "---\n".join(docs)


def ingress(index, service, host=None):
    host = host or f"h{index}.bench.test"
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing-{index}
  namespace: {NS}
spec:
  ingressClassName: portico
  rules:
  - host: {host}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {service}
            port:
              number: 80
"""


def endpoint_slice(addresses, port):
    eps = "".join(f"""- addresses:
  - {a}
  conditions:
    ready: true
""" for a in addresses)
    return f"""apiVersion: v1
kind: Service
metadata:
  name: churn
  namespace: {NS}
spec:
  ports:
  - name: http
    port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: churn-1
  namespace: {NS}
  labels:
    kubernetes.io/service-name: churn
addressType: IPv4
ports:
- name: http
  port: {port}
endpoints:
{eps}"""


class Client:
    """Keep-alive HTTP/1.1 to the data plane; body text or None."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, host):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            self.conn.request("GET", "/", headers={"Host": host})
            resp = self.conn.getresponse()
            body = resp.read()
            if resp.will_close:
                self.close()
            return body.decode(errors="replace").strip() if resp.status == 200 else None
        except (OSError, http.client.HTTPException):
            self.close()
            return None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Stack:
    """Controller + data plane on a manifest directory."""

    def __init__(self, args, manifest_dir, tag):
        self.args = args
        work = Path(args.workdir)
        common = ["--insecure"] if args.insecure else []
        certs = Path(args.certs)
        ctl_tls = common or [f"--tls_cert={certs / 'controller.pem'}",
                             f"--tls_key={certs / 'controller-key.pem'}",
                             f"--tls_ca={certs / 'ca.pem'}"]
        dp_tls = common or [f"--tls_cert={certs / 'dataplane.pem'}",
                            f"--tls_key={certs / 'dataplane-key.pem'}",
                            f"--tls_ca={certs / 'ca.pem'}"]
        self.started = time.monotonic()
        self.controller = Proc([args.controller_bin, f"--source=file:{manifest_dir}",
                                "--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                f"--debounce={args.debounce}", "--max_delay=1s",
                                "--update_status=false", "--log_level=info"] + ctl_tls,
                               work / f"controller-{tag}.log", args.proxy_cpus)
        self.dataplane = None
        try:
            grpc_port = self.controller.wait_for(r"grpc listening on port (\d+)", 300)[1]
            self.admin_port = int(
                self.controller.wait_for(r"admin listening on 127\.0\.0\.1:(\d+)", 30)[1])
            self.ready_s = time.monotonic() - self.started
            self.dataplane = Proc([args.dataplane_bin, f"--controller=127.0.0.1:{grpc_port}",
                                   "--node_id=bench", f"--http_listen=127.0.0.1:{args.dp_port}",
                                   f"--https_listen=127.0.0.1:{args.dp_port + 1}",
                                   "--admin_listen=127.0.0.1:0", "--workers=1",
                                   "--access_log=off", "--log_level=warning",
                                   "--drain_timeout=1s"] + dp_tls,
                                  work / f"dataplane-{tag}.log", args.proxy_cpus)
        except BaseException:
            self.stop()
            raise

    def translate_stats(self):
        """(translations, mean translation seconds) from the controller's metrics."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            conn.close()
        except OSError:
            return 0, -1
        values = {}
        for line in text.splitlines():
            m = re.match(r"^(portico_controller_translation_duration_seconds_(?:sum|count)) (\S+)$",
                         line)
            if m:
                values[m[1]] = float(m[2])
        count = values.get("portico_controller_translation_duration_seconds_count", 0)
        total = values.get("portico_controller_translation_duration_seconds_sum", 0)
        return int(count), (total / count if count else -1)

    def stop(self):
        for p in (self.dataplane, self.controller):
            if p is not None:
                p.stop()


def wait_serving(client, host, want, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(host) == want:
            return True
        time.sleep(0.005)
    return False


def percentile(values, p):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def emit(args, record):
    record = {"scenario": record.pop("scenario"), "time": now_iso(), **record}
    with open(args.results, "a") as f:
        f.write(json.dumps(record) + "\n")
    print("  " + " ".join(f"{k}={v}" for k, v in record.items() if k != "time"), file=sys.stderr,
          flush=True)


def run_latency(args, size):
    mdir = Path(args.workdir) / f"manifests-{size}"
    mdir.mkdir(parents=True, exist_ok=True)
    atomic_write(mdir, "00-base.yaml", base_manifests(args.backend_a, args.backend_b))
    for i in range(size):
        (mdir / f"ing-{i:05d}.yaml").write_text(ingress(i, "svc-a"))
    stack = Stack(args, mdir, f"latency-{size}")
    client = Client(args.dp_port)
    samples, timeouts = [], 0
    try:
        rng = random.Random(size)
        if not wait_serving(client, f"h{size - 1}.bench.test", "backend-a", 300):
            raise RuntimeError(f"the data plane never served the {size} Ingresses:\n"
                               f"{stack.dataplane.log_path.read_text()[-2000:]}")
        startup_s = time.monotonic() - stack.started
        translations_before, _ = stack.translate_stats()
        current = {}
        for _ in range(args.samples):
            # Quiet time before every change, the first included (the initial
            # translation has just been served): each sample is an isolated
            # change, which the controller translates without waiting for its
            # debounce. A change that closely follows a translation waits for
            # --debounce by design; that is not what this scenario measures.
            time.sleep(max(0.05, 2 * parse_duration(args.debounce)))
            i = rng.randrange(size)
            service = "svc-b" if current.get(i, "svc-a") == "svc-a" else "svc-a"
            want = "backend-b" if service == "svc-b" else "backend-a"
            host = f"h{i}.bench.test"
            t0 = atomic_write(mdir, f"ing-{i:05d}.yaml", ingress(i, service))
            deadline = t0 + args.sample_timeout
            served = False
            while time.monotonic() < deadline:
                if client.get(host) == want:
                    served = True
                    break
                time.sleep(0.001)  # 1 ms resolution without stealing the controller's CPU
            elapsed = time.monotonic() - t0
            if served:
                samples.append(elapsed * 1000)
                current[i] = service
            else:
                timeouts += 1
                samples.append(args.sample_timeout * 1000)
        translations, mean_translate = stack.translate_stats()
        emit(args, {"scenario": "config-propagation", "proxy": "portico", "ingresses": size,
                    "samples": len(samples), "p50_ms": round(percentile(samples, 50), 2),
                    "p99_ms": round(percentile(samples, 99), 2),
                    "max_ms": round(max(samples), 2), "errors": timeouts,
                    "startup_s": round(startup_s, 2),
                    "translations": translations - translations_before,
                    "translate_ms": round(mean_translate * 1000, 2), "debounce": args.debounce})
    finally:
        client.close()
        stack.stop()


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", text)
    return float(m[1]) / (1000 if m[2] == "ms" else 1) if m else 0.1


def wrk_numbers(out):
    def find(pattern, default="0"):
        m = re.search(pattern, out, re.M)
        return m[1] if m else default
    requests = int(find(r"^\s*(\d+) requests in"))
    non2xx = int(find(r"Non-2xx or 3xx responses: (\d+)"))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
    return requests, float(find(r"^Requests/sec:\s+([\d.]+)")), non2xx, socket_errors


def run_churn(args):
    mdir = Path(args.workdir) / "manifests-churn"
    mdir.mkdir(parents=True, exist_ok=True)
    atomic_write(mdir, "00-base.yaml", base_manifests(args.backend_a, args.backend_b))
    atomic_write(mdir, "10-ingress.yaml", ingress(0, "churn", host="churn.bench.test"))
    sets = [["127.0.0.1", "127.0.0.2"], ["127.0.0.2", "127.0.0.3"], ["127.0.0.3"],
            ["127.0.0.1", "127.0.0.3"], ["127.0.0.1", "127.0.0.2", "127.0.0.3"], ["127.0.0.2"]]
    atomic_write(mdir, "20-churn.yaml", endpoint_slice(sets[0], args.backend_port))
    stack = Stack(args, mdir, "churn")
    client = Client(args.dp_port)
    try:
        if not wait_serving(client, "churn.bench.test", "hello from the backend", 60):
            raise RuntimeError("the data plane never served the churn Ingress")
        client.close()
        duration = args.churn_seconds
        wrk = subprocess.Popen(
            ["taskset", "-c", args.load_cpus, "timeout", str(duration + 30), "wrk", "-t1", "-c64",
             f"-d{duration}s", "--timeout", "5s", "-H", "Host: churn.bench.test",
             f"http://127.0.0.1:{args.dp_port}/"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        changes = 0
        interval = 1.0 / args.churn_rate
        start = time.monotonic()
        next_change = start + interval
        while wrk.poll() is None and time.monotonic() < start + duration + 30:
            if time.monotonic() >= next_change:
                changes += 1
                atomic_write(mdir, "20-churn.yaml",
                             endpoint_slice(sets[changes % len(sets)], args.backend_port))
                next_change += interval
            time.sleep(max(0.0, min(next_change - time.monotonic(), 0.01)))
        out, _ = wrk.communicate(timeout=60)
        requests, rps, non2xx, socket_errors = wrk_numbers(out)
        translations, mean_translate = stack.translate_stats()
        emit(args, {"scenario": "endpoint-churn", "proxy": "portico", "changes": changes,
                    "seconds": duration, "requests": requests, "rps": rps,
                    "non2xx": non2xx, "socket_errors": socket_errors,
                    "errors": non2xx + socket_errors, "translations": translations,
                    "translate_ms": round(mean_translate * 1000, 2)})
        if requests == 0:
            print(out, file=sys.stderr)
    finally:
        client.close()
        stack.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("latency", "churn"))
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--sample-timeout", type=float, default=10)
    ap.add_argument("--churn-seconds", type=int, default=10)
    ap.add_argument("--churn-rate", type=float, default=10)
    ap.add_argument("--debounce", default="20ms")
    ap.add_argument("--results", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--controller-bin", required=True)
    ap.add_argument("--dataplane-bin", required=True)
    ap.add_argument("--backend-port", type=int, required=True)
    ap.add_argument("--backend-a", type=int, required=True)
    ap.add_argument("--backend-b", type=int, required=True)
    ap.add_argument("--dp-port", type=int, required=True)
    ap.add_argument("--proxy-cpus", default="0")
    ap.add_argument("--load-cpus", default="1")
    args = ap.parse_args()
    os.sched_setaffinity(0, {int(c) for c in args.load_cpus.split(",")})
    if args.mode == "latency":
        for size in (int(s) for s in args.sizes.split(",")):
            run_latency(args, size)
    else:
        run_churn(args)


if __name__ == "__main__":
    main()
