"""A real Kubernetes control plane on loopback for end-to-end tests: etcd and
kube-apiserver (no controller-manager, scheduler or kubelet), with
certificates made by openssl, static bearer tokens, client-certificate auth
and RBAC. Same rules as tests/integration/harness.py, whose Process and
wait_until it uses: every wait polls with a deadline, every child writes its
output to files under the work directory and dies with the test process.

KubeCluster(workdir).start() runs one; ExternalCluster(kubeconfig) drives a
cluster somebody else runs through the same kubectl helpers (no restart, no
compaction there)."""

import base64
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import yaml

E2E_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E_DIR.parent / "tests" / "integration"))

from harness import Process, wait_until  # noqa: E402

ROOT = E2E_DIR.parent
KUBE_APISERVER_SH = E2E_DIR / "kube-apiserver.sh"
KUBECTL_SH = E2E_DIR / "kubectl.sh"
RBAC_MANIFEST = ROOT / "deploy" / "rbac" / "portico-controller-rbac.yaml"
CONTROLLER_NAMESPACE = "portico-system"  # where the RBAC file puts the Lease Role
ETCD = os.environ.get("PORTICO_ETCD", "/usr/bin/etcd")

# user name -> groups, for --token-auth-file. The controllers have no group: all
# they may do comes from deploy/rbac/portico-controller-rbac.yaml.
TOKEN_USERS = {
    "admin": ["system:masters"],
    "portico-controller": [],
    "portico-controller-2": [],
    "portico-unbound": [],  # authenticated, bound to nothing: the 403 baseline
}
CERT_USER = "portico-controller-cert"  # client-certificate identity (CN), no group

START_TIMEOUT_S = 90  # etcd, or kube-apiserver to /readyz; a few seconds normally
STOP_TIMEOUT_S = 15   # SIGTERM to exit before SIGKILL
BIND_RETRIES = 3      # a port picked free can be taken before the child binds it


class KubectlError(RuntimeError):
    def __init__(self, argv, returncode, stdout, stderr):
        super().__init__(f"kubectl {' '.join(argv)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def forbidden(self):
        """403: "Error from server (Forbidden): ..." or, from some kubectl commands
        and versions, "error: failed to create ...: ... is forbidden: ..."."""
        return "(Forbidden)" in self.stderr or " is forbidden: " in self.stderr


def free_port():
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed: {proc.stderr}")


def _b64(path):
    return base64.b64encode(Path(path).read_bytes()).decode()


def _docs(obj_or_yaml):
    """A dict, a list of dicts (sent as a v1 List) or YAML text -> the input of
    `kubectl apply -f -`. Objects go as JSON, not YAML: PyYAML leaves keys like
    `n` or `y` unquoted, and kubectl's YAML 1.1 reads them as booleans."""
    if isinstance(obj_or_yaml, str):
        return obj_or_yaml
    if isinstance(obj_or_yaml, list):
        obj_or_yaml = {"apiVersion": "v1", "kind": "List", "items": obj_or_yaml}
    return json.dumps(obj_or_yaml)


class _Kubectl:
    """kubectl helpers shared by the local and the external cluster. Subclasses
    set admin_kubeconfig and define kubectl_identity_args() (how kubectl acts as
    a controller identity) and controller_args() (the credentials flag that
    portico-controller itself gets)."""

    external = False
    admin_kubeconfig = None
    kubectl_bin = None  # set by start()

    def kubectl(self, *args, input=None, kubeconfig=None, timeout=60, server=None):
        """Runs kubectl; returns stdout; raises KubectlError (with stderr) on failure.
        server= overrides the kubeconfig's API server URL (a side API server)."""
        argv = [f"--kubeconfig={kubeconfig or self.admin_kubeconfig}",
                f"--request-timeout={timeout}s", *map(str, args)]
        if server:
            argv.insert(1, f"--server={server}")
        try:
            proc = subprocess.run([self.kubectl_bin, *argv], input=input, capture_output=True,
                                  text=True, timeout=timeout + 10)
        except subprocess.TimeoutExpired as e:
            raise KubectlError(argv, None, e.stdout or "", f"timed out after {timeout}s") from e
        if proc.returncode != 0:
            raise KubectlError(argv, proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout

    def kubectl_json(self, *args, **kwargs):
        return json.loads(self.kubectl(*args, "-o", "json", **kwargs))

    def get_raw(self, path, **kwargs):
        return json.loads(self.kubectl("get", "--raw", path, **kwargs))

    def as_controller(self, *args, user="portico-controller", **kwargs):
        """kubectl as a controller identity: its own kubeconfig here, impersonation
        (--as) through the admin kubeconfig on an external cluster."""
        return self.kubectl(*self.kubectl_identity_args(user), *args, **kwargs)

    def apply(self, obj_or_yaml, **kwargs):
        """`kubectl apply` of a dict, a list of dicts or YAML text."""
        return self.kubectl("apply", "-f", "-", input=_docs(obj_or_yaml), **kwargs)

    def apply_file(self, path, **kwargs):
        return self.kubectl("apply", "-f", path, **kwargs)

    def delete(self, kind, name, ns=None, **kwargs):
        args = ["delete", kind, name, "--ignore-not-found"]
        if ns:
            args += ["-n", ns]
        return self.kubectl(*args, **kwargs)

    def apply_rbac(self):
        """deploy/rbac/portico-controller-rbac.yaml, then waits until the RBAC
        authorizer (fed by an informer) lets the controller list Ingresses."""
        self.apply_file(RBAC_MANIFEST)
        self.wait_controller_allowed()

    def wait_controller_allowed(self, timeout=30):
        def allowed():
            try:
                self.as_controller("get", "ingresses.networking.k8s.io", "-A", "-o", "name")
                return True
            except KubectlError as e:
                if e.forbidden:
                    return False
                raise
        wait_until(allowed, timeout, "portico-controller allowed to list ingresses",
                   interval=0.1)

    def server_minor(self):
        version = self.get_raw("/version")
        return int("".join(c for c in version["minor"] if c.isdigit()))


class ExternalCluster(_Kubectl):
    """A cluster that is already running, reached through a kubeconfig. Tests that
    need to restart the API server or compact etcd skip on it."""

    external = True

    def __init__(self, kubeconfig):
        self.admin_kubeconfig = Path(kubeconfig)
        self.workdir = None
        self.timings = {}

    def kubectl_identity_args(self, user):
        return [f"--as={user}"]

    def controller_args(self, user):
        """portico-controller has no impersonation flag: against an external
        cluster it runs with the given kubeconfig's own credentials, whatever
        `user` asks for (tests needing distinct identities use own_cluster)."""
        return [f"--kubeconfig={self.admin_kubeconfig}"]

    def start(self):
        self.kubectl_bin = os.environ.get("PORTICO_KUBECTL") or shutil.which("kubectl") or \
            kubectl_binary()
        wait_until(self._reachable, START_TIMEOUT_S, "the external cluster's /readyz", 0.5)
        return self

    def _reachable(self):
        try:
            return self.kubectl("get", "--raw", "/readyz", timeout=5).strip() == "ok"
        except KubectlError:
            return False

    def stop(self):
        pass

    def log_tail(self, n=4000):
        return ""


class KubeCluster(_Kubectl):
    """etcd + kube-apiserver on loopback ports, state under workdir."""

    def __init__(self, workdir, apiserver_bin=None, extra_apiserver_args=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = self.workdir / "pki"
        self.apiserver_bin = apiserver_bin
        self.extra_apiserver_args = list(extra_apiserver_args)
        self.etcd = None
        self.apiserver = None
        self.apiserver_starts = 0
        self.etcd_port = None
        self.port = None
        self.tokens = {}
        self.timings = {}  # seconds: etcd, kube-apiserver (to /readyz), default namespace
        self.side_apiservers = []  # start_side_apiserver()'s processes

    # --- paths -----------------------------------------------------------------

    @property
    def server(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_url(self):
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def admin_kubeconfig(self):
        return self.workdir / "admin.kubeconfig"

    @property
    def controller_kubeconfig(self):
        """Token, certificate-authority-data inline."""
        return self.workdir / "controller.kubeconfig"

    @property
    def controller2_kubeconfig(self):
        return self.workdir / "controller-2.kubeconfig"

    @property
    def cert_kubeconfig(self):
        """client-certificate, client-key and certificate-authority as file paths
        (relative to the kubeconfig's directory)."""
        return self.workdir / "controller-cert.kubeconfig"

    @property
    def ca_file(self):
        return self.pki / "ca.pem"

    def kubeconfig_for(self, user):
        """The kubeconfig of a user: the ones start() writes, else (a token user
        such as portico-unbound) one written now in the token layout."""
        kubeconfigs = {"admin": self.admin_kubeconfig,
                       "portico-controller": self.controller_kubeconfig,
                       "portico-controller-2": self.controller2_kubeconfig,
                       CERT_USER: self.cert_kubeconfig}
        if user in kubeconfigs:
            return kubeconfigs[user]
        path = self.workdir / f"{user}.kubeconfig"
        if not path.exists():
            self._kubeconfig(path, user, {"server": self.server,
                                          "certificate-authority-data": _b64(self.ca_file)},
                             {"token": self.tokens[user]})
        return path

    def kubectl_identity_args(self, user):
        return [f"--kubeconfig={self.kubeconfig_for(user)}"]

    def controller_args(self, user):
        """What portico-controller gets to run as `user`: that user's kubeconfig."""
        return [f"--kubeconfig={self.kubeconfig_for(user)}"]

    # --- lifecycle -------------------------------------------------------------

    def start(self):
        """Binaries, certificates, etcd, kube-apiserver up to /readyz and the
        default namespace; self.timings says how long each step took."""
        for tool in (ETCD, shutil.which("openssl")):
            if not tool or not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool or 'openssl'} missing: scripts/install-deps.sh test "
                                   "installs etcd-server and openssl")
        marks = [("", time.monotonic())]

        def mark(step):
            marks.append((step, time.monotonic()))
        if self.apiserver_bin is None:
            self.apiserver_bin = kube_apiserver_binary()
        self.kubectl_bin = os.environ.get("PORTICO_KUBECTL") or kubectl_binary()
        mark("binaries")
        self._make_pki()
        self._write_token_file()
        mark("certificates")
        self._start_etcd()
        mark("etcd")
        self.port = None
        self._start_apiserver()
        mark("kube-apiserver")
        self._write_kubeconfigs()
        wait_until(lambda: self.request("GET", "/api/v1/namespaces/default")[0] == 200,
                   START_TIMEOUT_S, "the default namespace", interval=0.05)
        mark("default namespace")
        self.timings = {step: t - marks[i][1] for i, (step, t) in enumerate(marks[1:])}
        self.timings["total"] = marks[-1][1] - marks[0][1]
        return self

    def stop(self):
        """Stops kube-apiserver (and any side one), then etcd; SIGKILL after
        STOP_TIMEOUT_S each."""
        for proc in (*self.side_apiservers, self.apiserver, self.etcd):
            if proc is not None:
                _terminate(proc)

    def restart_apiserver(self):
        """Stops kube-apiserver (SIGTERM) and starts it again on the same port;
        etcd keeps running. Returns the seconds the new one took to /readyz."""
        self.stop_apiserver()
        return self.start_apiserver()

    def stop_apiserver(self):
        """Stops kube-apiserver (SIGTERM, then SIGKILL); etcd keeps running."""
        _terminate(self.apiserver)

    def start_apiserver(self):
        """Starts kube-apiserver again on its port after stop_apiserver(); returns
        the seconds it took to /readyz."""
        t0 = time.monotonic()
        self._start_apiserver()
        return time.monotonic() - t0

    def start_side_apiserver(self):
        """A second kube-apiserver on another free port, same etcd, certificates and
        flags: what an HA control plane has. Writes through it (kubectl(...,
        server=side.server)) happen while clients of the main one, stopped
        meanwhile, see nothing. Returns a SideApiserver; stop() it when done."""
        for _ in range(BIND_RETRIES):
            port = free_port()
            self.apiserver_starts += 1
            proc = Process([self.apiserver_bin, *self._apiserver_args(port)], self.workdir,
                           f"kube-apiserver.{self.apiserver_starts}")
            self.side_apiservers.append(proc)
            if self._wait_started(proc, lambda: self._apiserver_ready(port),
                                  "side kube-apiserver /readyz"):
                return SideApiserver(proc, port)
        raise RuntimeError(f"side kube-apiserver did not start after {BIND_RETRIES} tries")

    def compact_etcd(self):
        """Compacts etcd to its current revision (physically), through etcd's v3
        JSON gateway; returns that revision. Every resourceVersion before it is
        gone from etcd (kube-apiserver's watch cache is another matter: README)."""
        header = self.etcd_call("/v3/kv/range", {"key": base64.b64encode(b"\0").decode()})
        revision = int(header["header"]["revision"])
        self.etcd_call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def expire_resource_versions(self):
        """Makes every resourceVersion older than now expire, for watches too:
        compacts etcd, then restarts kube-apiserver so that its watch cache,
        which outlives a compaction, starts over at the current revision. A
        watch from an older resourceVersion then gets a 410 ERROR event, a
        paginated LIST's continue token a 410 response. Returns the revision."""
        revision = self.compact_etcd()
        self.restart_apiserver()
        return revision

    def etcd_call(self, path, body, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.etcd_port, timeout=timeout)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"etcd {path}: {resp.status} {data[:500]!r}")
        return json.loads(data)

    def log_tail(self, n=4000):
        """The end of the current kube-apiserver's and etcd's stderr, for failure reports."""
        parts = []
        for proc in (self.apiserver, *self.side_apiservers[-1:], self.etcd):
            if proc is not None:
                text = proc.stderr()
                tail = text[-n:].split("\n", 1)[-1] if len(text) > n else text
                parts.append(f"--- {proc.name} (pid {proc.pid}) {proc.stderr_path}\n{tail}\n")
        return "".join(parts)

    # --- HTTP straight to the API server ---------------------------------------

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(self, method, path, body=None, user="admin", timeout=10,
                content_type="application/json"):
        """One request with a user's bearer token; returns (status, parsed JSON or
        text), or (None, None) when the server cannot be reached."""
        conn = self.connect(timeout)
        try:
            headers = {"Authorization": f"Bearer {self.tokens[user]}",
                       "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = content_type
                body = json.dumps(body)
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
        except OSError:
            return None, None
        finally:
            conn.close()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data

    def connect(self, timeout=10, port=None):
        return http.client.HTTPSConnection("127.0.0.1", port or self.port, timeout=timeout,
                                           context=self.ssl_context())

    def watch(self, path, user="admin", timeout=10):
        """Opens a watch (path with ?watch=1&...); returns (HTTP status, events):
        the JSON lines the server sent before it closed the stream. Add
        timeoutSeconds to the query so that an idle watch ends by itself."""
        conn = self.connect(timeout)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {self.tokens[user]}"})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        if resp.status != 200:
            return resp.status, [json.loads(body)] if body.startswith("{") else [body]
        return resp.status, [json.loads(line) for line in body.splitlines() if line.strip()]

    # --- set-up ----------------------------------------------------------------

    def _make_pki(self):
        """CA, serving certificate, a client certificate, service-account keys."""
        pki = self.pki
        pki.mkdir(exist_ok=True)
        os.chmod(pki, 0o700)
        ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        _openssl("genpkey", *ec, "-out", "ca-key.pem", cwd=pki)
        _openssl("req", "-x509", "-new", "-key", "ca-key.pem", "-sha256", "-days", "30",
                 "-subj", "/CN=portico e2e CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem", cwd=pki)
        self._issue("apiserver", "kube-apiserver", "serverAuth",
                    "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                    "DNS:kubernetes.default.svc")
        self._issue("controller-cert", CERT_USER, "clientAuth", None)
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", "sa-key.pem", cwd=pki)
        _openssl("pkey", "-in", "sa-key.pem", "-pubout", "-out", "sa.pem", cwd=pki)

    def _issue(self, name, cn, eku, san):
        ext = self.pki / f"{name}.ext"
        lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
                 f"extendedKeyUsage={eku}"]
        if san:
            lines.append(f"subjectAltName={san}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}-key.pem", cwd=self.pki)
        _openssl("req", "-new", "-key", f"{name}-key.pem", "-subj", f"/CN={cn}",
                 "-out", f"{name}.csr", cwd=self.pki)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-set_serial", str(secrets.randbits(63)), "-days", "30", "-sha256",
                 "-extfile", ext.name, "-out", f"{name}.pem", cwd=self.pki)
        ext.unlink()
        (self.pki / f"{name}.csr").unlink()

    def _write_token_file(self):
        """token,user,uid[,"group1,group2"] per line (--token-auth-file)."""
        lines = []
        for user, groups in TOKEN_USERS.items():
            token = self.tokens.setdefault(user, secrets.token_hex(24))
            line = f"{token},{user},{user}"
            if groups:
                line += ',"' + ",".join(groups) + '"'
            lines.append(line)
        path = self.pki / "tokens.csv"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)

    def _start_etcd(self):
        data_dir = self.workdir / "etcd-data"
        for attempt in range(BIND_RETRIES):
            self.etcd_port, peer = free_port(), free_port()
            client, peer_url = self.etcd_url, f"http://127.0.0.1:{peer}"
            proc = Process([ETCD, "--name=e2e", f"--data-dir={data_dir}",
                            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                            f"--listen-peer-urls={peer_url}",
                            f"--initial-advertise-peer-urls={peer_url}",
                            f"--initial-cluster=e2e={peer_url}", "--initial-cluster-state=new",
                            "--log-level=warn", "--logger=zap"],
                           self.workdir, f"etcd.{attempt}")
            self.etcd = proc
            if self._wait_started(proc, self._etcd_healthy, "etcd /health"):
                return
        raise RuntimeError(f"etcd did not start after {BIND_RETRIES} tries:\n{self.log_tail()}")

    def _etcd_healthy(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.etcd_port, timeout=1)
            try:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                return resp.status == 200 and json.loads(resp.read()).get("health") == "true"
            finally:
                conn.close()
        except (OSError, ValueError):
            return False

    def _start_apiserver(self):
        """Starts kube-apiserver, on self.port when it is set (restart), else on a
        free port; retries another port when that one was taken meanwhile."""
        fixed = self.port is not None
        for _ in range(BIND_RETRIES):
            if not fixed:
                self.port = free_port()
            self.apiserver_starts += 1
            proc = Process([self.apiserver_bin, *self._apiserver_args()], self.workdir,
                           f"kube-apiserver.{self.apiserver_starts}")
            self.apiserver = proc
            if self._wait_started(proc, self._apiserver_ready, "kube-apiserver /readyz"):
                return
            if fixed:
                # The port we must keep is taken by someone else: let go and tell.
                break
        raise RuntimeError(f"kube-apiserver did not start on 127.0.0.1:{self.port}:\n"
                           f"{self.log_tail()}")

    def _apiserver_args(self, port=None):
        pki = self.pki
        return [
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port or self.port}",
            "--advertise-address=127.0.0.1",
            f"--tls-cert-file={pki / 'apiserver.pem'}",
            f"--tls-private-key-file={pki / 'apiserver-key.pem'}",
            f"--client-ca-file={pki / 'ca.pem'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pki / 'sa.pem'}",
            f"--service-account-signing-key-file={pki / 'sa-key.pem'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=false",
            "--disable-admission-plugins=ServiceAccount",
            "--profiling=false",
            # The "kubernetes" Service's Endpoints would hold the advertise
            # address, 127.0.0.1, which Endpoints validation refuses (loopback):
            # the default reconciler logs that error every 10 s and writes a
            # master lease to etcd as often.
            "--endpoint-reconciler-type=none",
            *self.extra_apiserver_args,
        ]

    def _wait_started(self, proc, ready, what):
        """True once ready(); False when proc exited because its port was taken;
        raises for any other exit or when START_TIMEOUT_S passes."""
        def check():
            if not proc.alive():
                return "exited"
            return ready()
        try:
            result = wait_until(check, START_TIMEOUT_S, what, interval=0.05)
        except TimeoutError:
            _terminate(proc)
            raise TimeoutError(f"{what} not ready after {START_TIMEOUT_S}s:\n"
                               f"{proc.stderr()[-4000:]}") from None
        if result != "exited":
            return True
        if "address already in use" in proc.stderr():
            return False
        raise RuntimeError(f"{proc.name} exited with {proc.proc.returncode}:\n"
                           f"{proc.stderr()[-4000:]}")

    def _apiserver_ready(self, port=None):
        if not self.tokens:
            return False
        try:
            conn = self.connect(timeout=2, port=port)
            try:
                conn.request("GET", "/readyz",
                             headers={"Authorization": f"Bearer {self.tokens['admin']}"})
                resp = conn.getresponse()
                resp.read()
                return resp.status == 200
            finally:
                conn.close()
        except (OSError, ssl.SSLError):
            return False

    def _write_kubeconfigs(self):
        ca_data = _b64(self.ca_file)
        token_cluster = {"server": self.server, "certificate-authority-data": ca_data}
        self._kubeconfig(self.admin_kubeconfig, "admin", token_cluster,
                         {"token": self.tokens["admin"]})
        self._kubeconfig(self.controller_kubeconfig, "portico-controller", token_cluster,
                         {"token": self.tokens["portico-controller"]})
        self._kubeconfig(self.controller2_kubeconfig, "portico-controller-2", token_cluster,
                         {"token": self.tokens["portico-controller-2"]})
        # Relative paths: clients resolve them against the kubeconfig's directory.
        self._kubeconfig(self.cert_kubeconfig, CERT_USER,
                         {"server": self.server, "certificate-authority": "pki/ca.pem"},
                         {"client-certificate": "pki/controller-cert.pem",
                          "client-key": "pki/controller-cert-key.pem"})

    def _kubeconfig(self, path, user, cluster, credentials):
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": cluster}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": user, "context": {"cluster": "e2e", "user": user,
                                                    "namespace": "default"}}],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)


class SideApiserver:
    """A kube-apiserver started by KubeCluster.start_side_apiserver()."""

    def __init__(self, proc, port):
        self.proc = proc
        self.port = port

    @property
    def server(self):
        return f"https://127.0.0.1:{self.port}"

    def stop(self):
        _terminate(self.proc)


def _terminate(proc):
    """SIGTERM, then SIGKILL when the process has not exited in STOP_TIMEOUT_S."""
    if proc.alive():
        proc.signal(signal.SIGTERM)
        if proc.wait_exit(STOP_TIMEOUT_S) is None:
            proc.stop()
    proc.wait_exit(STOP_TIMEOUT_S)


def kube_apiserver_binary(timeout=1400):
    """$PORTICO_KUBE_APISERVER, else e2e/kube-apiserver.sh's cached (or freshly
    built: minutes, the first time on a machine) binary."""
    explicit = os.environ.get("PORTICO_KUBE_APISERVER")
    if explicit:
        return Path(explicit)
    proc = subprocess.run(["bash", str(KUBE_APISERVER_SH)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"e2e/kube-apiserver.sh failed ({proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def kubectl_binary(timeout=300):
    """e2e/kubectl.sh's kubectl of the API server's version (Debian's
    kubernetes-client, installed or unpacked into the cache)."""
    proc = subprocess.run(["bash", str(KUBECTL_SH)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"e2e/kubectl.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]
