#!/usr/bin/env python3
"""Login latency through the local API on a local DynamoDB: N sequential successful logins of one
account, with Argon2 at its cheapest so that the store's round trips are what is measured.

Usage: scripts/login_latency.py [--bin-dir target/debug] [--logins 200]
Needs AWS_ENDPOINT_URL_DYNAMODB (and dummy AWS credentials) pointing at DynamoDB Local, as
scripts/test.sh exports them; creates fresh tables with the tree's own authctl.
"""
import argparse, json, os, socket, statistics, subprocess, sys, time, urllib.request, uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default="target/debug")
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        sys.exit("set AWS_ENDPOINT_URL_DYNAMODB to a local DynamoDB")
    suffix = uuid.uuid4().hex[:8]
    env = dict(os.environ, USERS_TABLE=f"lat-users-{suffix}", REVOCATIONS_TABLE=f"lat-revocations-{suffix}",
               ARGON2_MEMORY_KIB="8", ARGON2_ITERATIONS="1", RUST_LOG="warn")
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
        times.sort()
        print(f"{args.bin_dir}: {args.logins} logins, p50 {statistics.median(times):.2f} ms, "
              f"p90 {times[int(len(times) * 0.9)]:.2f} ms")
    finally:
        api.kill()
        api.wait()


if __name__ == "__main__":
    main()
