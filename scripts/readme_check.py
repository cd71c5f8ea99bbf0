#!/usr/bin/env python3
"""Runs the README's curl session against the local API, as a newcomer would.

    python3 scripts/readme_check.py [--bin target/debug/local-api]

Takes every ```sh block of the README's "## Try it" section, starts the local API binary with
no configuration at all (a newcomer's environment: PATH, HOME, LANG) on a free port, puts that
port where the README says 127.0.0.1:3000, and runs the blocks, in order, as one script under
`bash -euo pipefail`. It fails when any command fails, when the script outlives its time, and
when any HTTP answer is a 5xx, a connection failure, or a 4xx the session does not show on
purpose (EXPECTED_REFUSALS): curl -s exits 0 on a 401, so each answer's status is recorded by
a `curl` wrapper that adds only -w (to stderr) and --max-time. Only the standard library and
the tools the README itself uses (bash, curl, python3, grep).
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Try it"
README_ADDR = "127.0.0.1:3000"
MARK = "readme-check-status"
# The answers the session asks for on purpose, in order: (method, path, status).
EXPECTED_REFUSALS = [("POST", "/auth/login", 401)]  # MFA on: 401 mfa_required, with an mfa_token
TIMEOUT_SECONDS = 180  # the session waits up to 30 s for a fresh TOTP step


def session_blocks(readme):
    """The ```sh blocks between SECTION and the next `## ` heading."""
    start = readme.find("\n" + SECTION)
    if start < 0:
        sys.exit(f"readme_check: README.md has no '{SECTION}' section")
    end = readme.find("\n## ", start + 1)
    section = readme[start:end if end >= 0 else len(readme)]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    if not blocks:
        sys.exit(f"readme_check: no ```sh block in README.md's '{SECTION}' section")
    return blocks


def first_block_commands(readme):
    """The README opens with the two commands a newcomer runs first, unchanged."""
    first = re.search(r"^```sh\n(.*?)^```$", readme, flags=re.S | re.M)
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()] if first else []
    return commands


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "local-api"))
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"), help="another README, e.g. a draft")
    parser.add_argument("-v", "--verbose", action="store_true", help="print what the session printed")
    args = parser.parse_args()
    binary = os.path.abspath(os.path.join(ROOT, args.bin)) if not os.path.isabs(args.bin) else args.bin
    if not os.access(binary, os.X_OK):
        sys.exit(f"readme_check: {binary} not found: cargo build -p local-api")

    with open(args.readme, encoding="utf-8") as handle:
        readme = handle.read()
    opening = first_block_commands(readme)
    if opening != ["cargo run -p local-api", "scripts/test.sh"]:
        sys.exit(f"readme_check: the README's first block should be the two commands, found {opening}")
    blocks = session_blocks(readme)
    port = free_port()
    script = "\n".join(block.replace(README_ADDR, f"127.0.0.1:{port}") for block in blocks)

    # A newcomer's shell: nothing that configures the API (scripts/test.sh exports keys, mail
    # and transport settings for its other steps).
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    log_dir = os.path.join(ROOT, "target", "readme-check")
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, "local-api.log")
    with open(log_path, "w") as log:
        api = subprocess.Popen([binary, "--addr", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "listening on http://" not in open(log_path).read():
            if api.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"readme_check: local-api did not start:\n{open(log_path).read()}")
            time.sleep(0.1)
        return run_session(script, env, port, blocks, log_path, args.verbose)
    finally:
        api.terminate()
        api.wait(timeout=10)


def run_session(script, env, port, blocks, log_path, verbose):
    prelude = (
        "set -euo pipefail\n"
        # Observes only: each answer's status to stderr, and no call may hang.
        f"curl() {{ command curl --max-time 30 -w '%{{stderr}}{MARK} %{{http_code}} %{{method}} %{{url_effective}}\\n' \"$@\"; }}\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(prelude + script + "\n")
        path = handle.name
    started = time.monotonic()
    try:
        done = subprocess.run(["bash", path], env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or b""
        print(output.decode(errors="replace") if isinstance(output, bytes) else output)
        sys.exit(f"readme_check: the README's session did not finish within {TIMEOUT_SECONDS} s")
    finally:
        os.unlink(path)
    statuses, stderr = [], []
    for line in done.stderr.splitlines():
        if line.startswith(MARK + " "):
            _, code, method, url = line.split(" ", 3)
            statuses.append((method, re.sub(r"^https?://[^/]+", "", url).split("?")[0], int(code)))
        else:
            stderr.append(line)
    problems = []
    if done.returncode != 0:
        problems.append(f"the session exited with {done.returncode}")
    if not statuses:
        problems.append("the session made no HTTP request")
    broken = [s for s in statuses if s[2] == 0 or s[2] >= 500]
    if broken:
        problems.append(f"answers that are failures: {broken}")
    refused = [s for s in statuses if 400 <= s[2] < 500]
    if refused != EXPECTED_REFUSALS:
        problems.append(f"4xx answers {refused}, the session shows only {EXPECTED_REFUSALS}")
    if problems or verbose:
        print(done.stdout)
    if problems:
        print("\n".join(stderr), file=sys.stderr)
        for method, path_, code in statuses:
            print(f"  {code} {method} {path_}", file=sys.stderr)
        print(f"local-api's log: {log_path}", file=sys.stderr)
        sys.exit("readme_check: the README's curl session fails:\n  " + "\n  ".join(problems))
    print(f"the README's curl session ran as written: {len(blocks)} blocks, {len(statuses)} requests "
          f"({' '.join(str(s[2]) for s in statuses)}) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
