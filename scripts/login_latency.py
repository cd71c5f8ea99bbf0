#!/usr/bin/env python3
"""Login latency through the local API on a local DynamoDB: N sequential successful logins of one
account, with Argon2 at its cheapest so that the store's round trips are what is measured.

With --mfa, each login is of an account with MFA on (a fresh one per login, enrolled untimed):
the password step (401 mfa_required), the second step (POST /auth/mfa/verify with the next TOTP
code) and their sum, beside plain logins on the same server: the latency MFA adds.

Usage: scripts/login_latency.py [--bin-dir target/debug] [--logins 200] [--mfa]
Needs AWS_ENDPOINT_URL_DYNAMODB (and dummy AWS credentials) pointing at DynamoDB Local, as
scripts/test.sh exports them; creates fresh tables with the tree's own authctl.
"""
import argparse, base64, hashlib, hmac, json, os, socket, statistics, struct, subprocess, sys, time, urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, bearer=None):
    return call(url, body, bearer)[0]


def call(url, body=None, bearer=None):
    """(status, JSON body or None)."""
    headers = {"content-type": "application/json", "user-agent": "login-latency/1"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text else None


def totp(secret, at):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def percentiles(label, times):
    times = sorted(times)
    return f"{label} p50 {statistics.median(times):.2f} ms, p90 {times[int(len(times) * 0.9)]:.2f} ms"


def mfa_logins(base, count, password):
    """Per login: a fresh account enrolled (untimed), then the two timed steps."""
    first, second, total = [], [], []
    for _ in range(count):
        credentials = {"email": f"latency-mfa-{uuid.uuid4().hex[:12]}@example.com", "password": password}
        status, tokens = call(base + "/auth/register", credentials)
        assert status == 201, status
        status, enrolment = call(base + "/auth/mfa/totp", None, tokens["access_token"])
        assert status == 200, status
        confirm = {"code": totp(enrolment["secret"], time.time()), "current_password": password}
        status, _ = call(base + "/auth/mfa/totp/confirm", confirm, tokens["access_token"])
        assert status == 200, status
        code = totp(enrolment["secret"], time.time() + 30)
        started = time.perf_counter()
        status, challenge = call(base + "/auth/login", credentials)
        middle = time.perf_counter()
        assert status == 401 and challenge["code"] == "mfa_required", status
        status, _ = call(base + "/auth/mfa/verify", {"mfa_token": challenge["mfa_token"], "code": code})
        done = time.perf_counter()
        assert status == 200, status
        first.append((middle - started) * 1000)
        second.append((done - middle) * 1000)
        total.append((done - started) * 1000)
    return first, second, total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default="target/debug")
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--mfa", action="store_true", help="also measure logins of accounts with MFA")
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        sys.exit("set AWS_ENDPOINT_URL_DYNAMODB to a local DynamoDB")
    suffix = uuid.uuid4().hex[:8]
    env = dict(os.environ, USERS_TABLE=f"lat-users-{suffix}", REVOCATIONS_TABLE=f"lat-revocations-{suffix}",
               ARGON2_MEMORY_KIB="8", ARGON2_ITERATIONS="1", RUST_LOG="warn",
               # Unproved addresses may enrol, and one client registers every account measured.
               EMAIL_VERIFICATION="off", REGISTRATIONS_PER_IP_PER_HOUR="100000",
               MFA_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode())
    subprocess.run([os.path.join(args.bin_dir, "authctl"), "create-tables"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    api = subprocess.Popen([os.path.join(args.bin_dir, "local-api"), "--store", "dynamodb", "--addr", f"127.0.0.1:{port}"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in api.stdout:
            if "listening on" in line:
                break
        base = f"http://127.0.0.1:{port}"
        credentials = {"email": f"latency-{suffix}@example.com", "password": "correct horse battery staple"}
        assert post(base + "/auth/register", credentials) == 201
        for _ in range(10):  # warm-up: connections, caches
            post(base + "/auth/login", credentials)
        times = []
        for _ in range(args.logins):
            started = time.perf_counter()
            status = post(base + "/auth/login", credentials)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        print(f"{args.bin_dir}: {args.logins} logins, {percentiles('', times).strip()}")
        if args.mfa:
            first, second, total = mfa_logins(base, args.logins, credentials["password"])
            print(f"{args.bin_dir}: {args.logins} MFA logins: {percentiles('password step', first)}; "
                  f"{percentiles('code step', second)}; {percentiles('both', total)}")
    finally:
        api.kill()
        api.wait()


if __name__ == "__main__":
    main()
