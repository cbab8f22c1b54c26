# tests/e2e_support.sh -- sourced by tests/e2e_*_test.sh: starts and stops
# the example programs on loopback with free ports, sends exact requests
# through `isoflow-acquirer --send-json`, reads fields of JSON answers, and
# speaks just enough HTTP (bash's /dev/tcp) to query the admin endpoint.
# Every wait is bounded; the EXIT trap kills what is still running.
e2e_pids=()
e2e_work=$(mktemp -d /tmp/isoflow-e2e.XXXXXX)
e2e_cleanup() {
  local p
  for p in "${e2e_pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
  rm -rf "$e2e_work"
}
trap e2e_cleanup EXIT

fail() { echo "${0##*/}: FAIL: $*" >&2; exit 1; }

# start_prog NAME PROGRAM ARGS... -- starts a program that prints
# "listening on HOST:PORT[, admin on port N]"; sets <NAME>_pid, <NAME>_port
# and <NAME>_admin.
start_prog() {
  local name=$1 prog=$2; shift 2
  rm -f "$e2e_work/$name.out" "$e2e_work/$name.err"
  "$bin/$prog" "$@" >"$e2e_work/$name.out" 2>"$e2e_work/$name.err" &
  local pid=$! i
  e2e_pids+=("$pid")
  for i in $(seq 200); do
    grep -q 'listening on' "$e2e_work/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$e2e_work/$name.err" >&2; fail "$prog exited at start"; }
    sleep 0.05
  done
  grep -q 'listening on' "$e2e_work/$name.out" || fail "$prog did not start listening"
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_port" %s "$(sed -n 's/^listening on [^ ]*:\([0-9]*\).*/\1/p' "$e2e_work/$name.out")"
  printf -v "${name}_admin" %s "$(sed -n 's/.*admin on port \([0-9]*\).*/\1/p' "$e2e_work/$name.out")"
}

# stop_prog PID -- SIGTERM, wait (at most 20 s), and require exit status 0.
stop_prog() {
  local pid=$1 i
  kill -TERM "$pid"
  for i in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && fail "process $pid did not stop within 20 s"
  local status=0
  wait "$pid" || status=$?
  [ "$status" = 0 ] || fail "process $pid exited with status $status"
}

# send PORT JSON... -- sends each message, prints each answer (a JSON line).
# $send_timeout (ms, default 5000) bounds each answer.
send() {
  local port=$1; shift
  printf '%s\n' "$@" | timeout 30 "$bin/isoflow-acquirer" --connect "127.0.0.1:$port" \
    --connections 1 --no-signon --send-json --timeout "${send_timeout:-5000}" || true
}

# field JSON N -- the value of field N in a JSON answer ("" when absent).
field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1"; }

# http_get PORT PATH -- the whole HTTP response (status line, headers, body).
http_get() {
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
  timeout 10 cat <&3
  exec 3<&-
}

# auth MTI PAN AMOUNT STAN [EXPIRY] -- an authorization request as JSON.
auth() {
  printf '{"0":"%s","2":"%s","3":"000000","4":"%012d","7":"1123101010","11":"%s","14":"%s","32":"123456","37":"1123101%s","41":"TERM0001","49":"978"}' \
    "$1" "$2" "$3" "$4" "${5:-3012}" "${4:1}"
}

# reversal STAN ORIGINAL_STAN AMOUNT -- a 0400 naming the original by DE 90.
reversal() {
  printf '{"0":"0400","4":"%012d","7":"1123101011","11":"%s","32":"123456","41":"TERM0001","49":"978","90":"0100%s11231010100000012345600000000000"}' \
    "$3" "$1" "$2"
}
