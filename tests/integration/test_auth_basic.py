"""Basic authentication (auth-type: basic) through the real controller on the
file source and the real data plane: htpasswd Secrets with bcrypt and {SHA}
hashes, the 401 challenge with the realm, routes without auth unaffected,
fail-closed 503 for a missing Secret, and a Secret update that takes effect
without a restart. The hashes are fixed vectors (htpasswd -B -C 5, -s) so
that nothing here needs apache2-utils."""

import base64
import http.client
import json
import re

import pytest

from controller_harness import (NAMESPACE, ControlledDataplane, Controller, ManifestDir,
                                endpoints, ingress, ingress_class, parse_metrics, service,
                                subdir)
from controller_harness import start as track
from harness import wait_until

NGINX = "nginx.ingress.kubernetes.io/"
ALICE_BCRYPT = "$2y$05$u2D28BJIGGrxKhOhWJ91AeSdypM9XJ1NAptmuyyUqs0yE4QGW4WZi"  # "wonder land"
BOB_SHA = "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="  # "s3cret"
REALM = "Team Realm"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get(dp, host, authorization=None):
    """(status, lower-cased headers, body bytes) of a GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", dp.port, timeout=10)
    try:
        headers = {"Host": host}
        if authorization is not None:
            headers["Authorization"] = authorization
        conn.request("GET", "/", headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def htpasswd_secret(name, text):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "data": {"auth": base64.b64encode(text.encode()).decode()}}


def rejected(dp):
    samples = parse_metrics(dp.metrics())
    return samples.get(("portico_requests_rejected_total", (("policy", "basic_auth"),)), 0)


@pytest.fixture(scope="module")
def stack(module_launch):
    launch = module_launch
    echo = launch.backend("echo")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [ingress_class(), service("echo"), endpoints("echo", [echo])])
    manifests.write("10-secret.yaml", [htpasswd_secret(
        "team", f"# the team\nalice:{ALICE_BCRYPT}\ncarol:plain-text\n")])
    manifests.write("20-ingresses.yaml", [
        ingress("auth", "auth.test", [("/", "echo", 80)],
                annotations={NGINX + "auth-type": "basic", NGINX + "auth-secret": "team",
                             NGINX + "auth-realm": REALM}),
        ingress("closed", "closed.test", [("/", "echo", 80)],
                annotations={"portico.dev/auth-type": "basic",
                             "portico.dev/auth-secret": "missing"}),
        ingress("open", "open.test", [("/", "echo", 80)])])
    controller = track(launch, lambda: Controller(subdir(launch, "controller"), manifests.path))
    dp = track(launch, lambda: ControlledDataplane(subdir(launch, "dp"), [controller.address],
                                                   "dp", workers=2))
    wait_until(lambda: get(dp, "open.test")[0] == 200, 20, "the routes to be served")
    return manifests, controller, dp


def test_route_without_auth_is_unaffected(stack):
    _, _, dp = stack
    status, _, body = get(dp, "open.test")
    assert status == 200
    assert json.loads(body)["name"] == "echo"


def test_no_credentials_get_401_with_the_realm(stack):
    _, _, dp = stack
    status, headers, _ = get(dp, "auth.test")
    assert status == 401
    assert headers["www-authenticate"] == f'Basic realm="{REALM}"'


def test_wrong_password_and_unknown_user_get_401(stack):
    _, _, dp = stack
    for authorization in (basic("alice", "wrong"), basic("mallory", "wonder land"),
                          basic("carol", "plain-text"),  # refused plain-text line
                          "Bearer abc", "Basic !!!"):
        status, headers, _ = get(dp, "auth.test", authorization)
        assert status == 401, authorization
        assert headers["www-authenticate"] == f'Basic realm="{REALM}"'


def test_bcrypt_login_works_on_every_worker_and_the_header_goes_upstream(stack):
    _, _, dp = stack
    # Several connections: the two workers each verify (and cache) once.
    for _ in range(6):
        status, _, body = get(dp, "auth.test", basic("alice", "wonder land"))
        assert status == 200
        sent = {n.lower(): v for n, v in json.loads(body)["headers"]}
        assert sent["authorization"] == basic("alice", "wonder land")


def test_missing_secret_fails_closed_with_an_event(stack):
    _, controller, dp = stack
    assert get(dp, "closed.test", basic("alice", "wonder land"))[0] == 503
    log = controller.stderr()
    assert re.search(r'SecretNotFound: auth-secret "t/missing" not found; fail closed', log), \
        log[-3000:]
    assert re.search(r'InvalidAuthSecret: auth-secret "t/team": line 3 \(user "carol"\) looks '
                     r"like a plain-text password", log), log[-3000:]
    # Neither hashes nor passwords are logged.
    assert ALICE_BCRYPT not in log and "plain-text\n" not in log and "wonder land" not in log


def test_rejections_are_counted(stack):
    _, _, dp = stack
    before = rejected(dp)
    assert get(dp, "auth.test")[0] == 401
    assert rejected(dp) == before + 1


def test_secret_update_takes_effect_without_restart(stack):
    manifests, _, dp = stack
    manifests.write("10-secret.yaml", [htpasswd_secret("team", f"bob:{BOB_SHA}\n")])
    wait_until(lambda: get(dp, "auth.test", basic("bob", "s3cret"))[0] == 200, 20,
               "bob's login to be accepted")
    # alice's cached success does not outlive her removal.
    assert get(dp, "auth.test", basic("alice", "wonder land"))[0] == 401
    assert get(dp, "open.test")[0] == 200
