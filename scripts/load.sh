#!/usr/bin/env bash
# Load test of the release local API on the embedded store, with wrk (Debian: apt-get install wrk).
#
# Starts target/release/local-api on a free 127.0.0.1 port, registers a user, then drives
#   GET  /auth/me       with a valid access token (Ed25519 unless JWT_HS256_SECRET is set)
#   POST /auth/refresh  as rotation chains: every response's refresh token is spent by a later
#                       request, one session per connection, so no token is ever presented twice
# at each concurrency in CONCURRENCY, for a bounded number of requests per run (REQUESTS, split
# over the wrk threads; each thread stops after its share), after a warm-up. Prints req/s, p50,
# p99 and errors per run, then the server's peak RSS (VmHWM).
#
#   scripts/load.sh                       # REQUESTS=100000 CONCURRENCY="1 32"
#   REQUESTS=20000 scripts/load.sh        # quicker
#   SKIP_BUILD=1 scripts/load.sh          # use the binary as built
# Other knobs: WARMUP (requests, default 5000), THREADS (wrk threads at concurrency > 1,
# default 2), RUST_LOG (server log level, default info as deployed; logs go to
# target/load/local-api.log), MAX_SECONDS (upper bound per run, default 120), LOCAL_API (the
# server binary, default target/release/local-api), JWT_HS256_SECRET (sign with HS256 instead).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-100000}
WARMUP=${WARMUP:-5000}
CONCURRENCY=${CONCURRENCY:-"1 32"}
THREADS=${THREADS:-2}
MAX_SECONDS=${MAX_SECONDS:-120}
LOCAL_API=${LOCAL_API:-target/release/local-api}
export RUST_LOG=${RUST_LOG:-info}

command -v wrk > /dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -p local-api
fi
out=target/load
mkdir -p "$out"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$LOCAL_API" --addr "127.0.0.1:$port" > "$out/local-api.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/.well-known/jwks.json" > /dev/null 2>&1 && break
  sleep 0.1
done

# Lua for wrk (LuaJIT). wrk itself only knows durations: each thread stops after its share of
# the requests, and the last one to finish interrupts wrk's main thread (SIGINT, which wrk
# treats as "stop now and report"), so a run ends when its requests are done and wrk's own
# duration, req/s and latency percentiles cover exactly those requests.
cat > "$out/common.lua" <<'LUA'
local ffi = require("ffi")
ffi.cdef[[
int getpid(void);
long syscall(long number, ...);
]]
local SYS_tgkill = ({ x64 = 234, arm64 = 131 })[ffi.arch]
limit, count, errors = 0, 0, 0
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local function finish()
  wrk.thread:stop()
  local dir = os.getenv("LOAD_DIR")
  io.open(dir .. "/done-" .. id, "w"):close()
  local listing = io.popen("ls " .. dir .. " | grep -c '^done-'"):read("*n")
  if listing >= tonumber(os.getenv("LOAD_THREADS")) then
    local pid = ffi.C.getpid()
    ffi.C.syscall(SYS_tgkill, ffi.cast("long", pid), ffi.cast("long", pid), ffi.cast("long", 2))
  end
end
function stop_after_limit(status)
  count = count + 1
  if status ~= 200 then errors = errors + 1 end
  if count == limit then finish() end
end
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d socket_errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
LUA
cat > "$out/me.lua" <<'LUA'
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
function init(args) limit = tonumber(args[1]) end
function response(status, headers, body) stop_after_limit(status) end
LUA
cat > "$out/refresh.lua" <<'LUA'
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
local tokens = {}
function init(args)
  limit = tonumber(args[1])
  local threads, index = tonumber(args[3]), 0
  for line in io.lines(args[2]) do
    if index % threads == id then table.insert(tokens, line) end
    index = index + 1
  end
end
function request()
  -- Each connection has one request in flight and every response returns a token to the
  -- pool before its connection asks for the next, so the pool never runs dry.
  local token = table.remove(tokens, 1) or "pool-exhausted"
  return wrk.format("POST", "/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(tokens, token) end
  stop_after_limit(status)
end
LUA
export LOAD_DIR="$PWD/$out"

email="load-$(date +%s%N)@example.com"
password="correct horse battery staple"
credentials="{\"email\":\"$email\",\"password\":\"$password\"}"
curl -fsS -X POST "$base/auth/register" -H 'content-type: application/json' -d "$credentials" > /dev/null
login() {
  curl -fsS -X POST "$base/auth/login" -H 'content-type: application/json' -d "$credentials"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
access=$(login | field access_token)

# wrk <threads> <connections> <requests> <script> [script args...] -- prints the RESULT line
run_wrk() {
  local threads=$1 connections=$2 requests=$3 script=$4 path=$5
  shift 5
  rm -f "$out"/done-*
  LOAD_THREADS=$threads wrk -t "$threads" -c "$connections" -d "${MAX_SECONDS}s" --latency -s "$out/$script" \
      -H "authorization: Bearer $access" "$base$path" -- $((requests / threads)) "$@" | grep '^RESULT'
}

# A fresh refresh-token file with one session per connection (plus spares).
sessions() {
  local count=$1 file=$2
  : > "$file"
  for _ in $(seq 1 "$count"); do login | field refresh_token >> "$file"; done
}

echo "local-api on $base (RUST_LOG=$RUST_LOG), $(nproc) CPUs, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
for c in $CONCURRENCY; do
  t=$(( c < THREADS ? c : THREADS ))
  run_wrk "$t" "$c" "$WARMUP" me.lua /auth/me > /dev/null
  echo "GET  /auth/me       c=$c t=$t: $(run_wrk "$t" "$c" "$REQUESTS" me.lua /auth/me)"
  sessions $((c + t)) "$out/tokens-$c.txt"
  run_wrk "$t" "$c" "$WARMUP" refresh.lua /auth/refresh "$out/tokens-$c.txt" "$t" > /dev/null
  sessions $((c + t)) "$out/tokens-$c.txt"
  echo "POST /auth/refresh  c=$c t=$t: $(run_wrk "$t" "$c" "$REQUESTS" refresh.lua /auth/refresh "$out/tokens-$c.txt" "$t")"
done
echo "local-api peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
