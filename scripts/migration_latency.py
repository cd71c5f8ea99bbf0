#!/usr/bin/env python3
"""Latency of the migration and policy paths, against the local API (embedded store):

  1. a Cognito pool user's first login (the pool is asked, the account made here, then the usual
     login) against that user's second login (an ordinary one), with moto's Cognito as the pool;
  2. registration and login with the breach check off, and with it on against a range-API
     stand-in (the published format) that answers after 0 ms and after 60 ms (about what the
     real API takes from a Lambda function): the check runs beside the Argon2 hash, so it adds
     max(0, its time - the hash's).

  scripts/migration_latency.py [--bin target/release/local-api] [--rounds 20]

Needs moto[cognitoidp] and boto3 in .venv (scripts/test.sh installs them). Prints medians.
"""
import argparse
import hashlib
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer")


def post(base, path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as answer:
            status, payload = answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.load(error)
    return status, payload, (time.perf_counter() - started) * 1000


class RangeStandIn(http.server.BaseHTTPRequestHandler):
    delay = 0.0
    listed = {hashlib.sha1(b"iloveyou").hexdigest().upper()}

    def do_GET(self):
        time.sleep(self.delay)
        prefix = self.path.rsplit("/", 1)[-1].upper()
        lines = [h[5:] + ":1000" for h in self.listed if h.startswith(prefix)]
        lines += ["%035X:0" % (i * 7919) for i in range(800)]
        body = "\r\n".join(lines).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_local_api(binary, env):
    port = free_port()
    process = subprocess.Popen([binary, "--addr", f"127.0.0.1:{port}"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/.well-known/jwks.json")
    return process, base


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/debug/local-api")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    venv = os.environ.get("VENV", ".venv")
    import boto3

    moto_port = free_port()
    moto = subprocess.Popen([f"{venv}/bin/moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = [moto]
    try:
        moto_url = f"http://127.0.0.1:{moto_port}"
        wait_for(moto_url + "/moto-api/")
        cognito = boto3.client("cognito-idp", endpoint_url=moto_url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        pool = cognito.create_user_pool(PoolName="legacy", UsernameAttributes=["email"])["UserPool"]["Id"]
        client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="migration",
                                                 ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])
        client_id = client["UserPoolClient"]["ClientId"]
        password = "The pool's Passw0rd!"
        emails = [f"pool-user-{i}@example.com" for i in range(args.rounds)]
        for email in emails:
            cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                      UserAttributes=[{"Name": "email", "Value": email}])
            cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "LEGACY_", "PASSWORD_"))}
        env.update(AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=moto_url, AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
                   LEGACY_COGNITO_USER_POOL_ID=pool, LEGACY_COGNITO_CLIENT_ID=client_id,
                   # Every login from one address: lift the per-IP budget out of the way.
                   LOGIN_THROTTLE_IP_FREE_ATTEMPTS="100000", REGISTRATIONS_PER_IP_PER_HOUR="100000")
        api, base = start_local_api(args.bin, env)
        processes.append(api)
        first, second = [], []
        for email in emails:
            status, _, millis = post(base, "/auth/login", {"email": email, "password": password})
            assert status == 200, status
            first.append(millis)
            status, _, millis = post(base, "/auth/login", {"email": email, "password": password})
            assert status == 200, status
            second.append(millis)
        print(f"login, Cognito user's first (migrating): median {statistics.median(first):.1f} ms")
        print(f"login, the same user's second (ordinary): median {statistics.median(second):.1f} ms")
        api.terminate()

        range_port = free_port()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", range_port), RangeStandIn)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        for mode, delay in [("off", 0.0), ("block", 0.0), ("block", 0.06)]:
            RangeStandIn.delay = delay
            run_env = dict(env, PASSWORD_BREACH_CHECK=mode, PASSWORD_BREACH_API=f"http://127.0.0.1:{range_port}")
            api, base = start_local_api(args.bin, run_env)
            processes.append(api)
            registrations, logins = [], []
            for i in range(args.rounds):
                email = f"policy-{mode}-{int(delay * 1000)}-{i}@example.com"
                status, _, millis = post(base, "/auth/register", {"email": email, "password": "a sound pass phrase"})
                assert status == 201, status
                registrations.append(millis)
                status, _, millis = post(base, "/auth/login", {"email": email, "password": "a sound pass phrase"})
                assert status == 200, status
                logins.append(millis)
            label = f"breach check {mode}" + (f", range API {int(delay * 1000)} ms" if mode != "off" else "")
            print(f"{label}: register median {statistics.median(registrations):.1f} ms, "
                  f"login median {statistics.median(logins):.1f} ms")
            api.terminate()
        server.shutdown()
    finally:
        for process in processes:
            process.terminate()


if __name__ == "__main__":
    main()
