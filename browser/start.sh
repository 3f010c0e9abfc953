#!/usr/bin/env bash
# shellcheck disable=SC2317  # listens, stop and cleanup run from wait_for and the EXIT trap
# The browser service, in a container or straight on a host:
#   Xvfb → Chromium (persistent profile, CDP on 127.0.0.1) → CDP proxy → x11vnc → noVNC.
#
#   start.sh          start everything, print the viewer link (without its password), stay in
#                     the foreground. Chromium is started again whenever it dies (a crash, the
#                     OOM killer, kill -9), after a pause that doubles while it keeps dying;
#                     when any other part dies the rest are stopped and the script exits
#                     non-zero (a container restart policy, or the person, starts it again)
#   start.sh health   exit 0 when CDP (through the proxy) and noVNC answer: the healthcheck
#   start.sh link     print the noVNC link with its password (for the person at this terminal)
#
# Settings (environment; defaults suit a host, the Dockerfile sets the container's):
#   BROWSER_DISPLAY=:99  BROWSER_SCREEN=1280x800x24
#   BROWSER_PROFILE_DIR=~/.local/share/jobs-browser/profile
#   BROWSER_DOWNLOADS_DIR=~/.local/share/jobs-browser/downloads
#   BROWSER_TOKEN_FILE=~/.local/share/jobs-browser/cdp-token  the proxy's token, made at each
#                   start; Jobs reads it (BROWSER_TOKEN_MODE=600 its file mode)
#   CDP_PORT=9222 (Chromium, 127.0.0.1 only)  CDP_PROXY_PORT=9223  CDP_PROXY_BIND=127.0.0.1
#   CDP_PROXY_HOSTS  host names the proxy answers besides localhost and IP addresses (comma-
#                   separated; the image: browser, its compose service name)
#   VNC_PORT=5900 (x11vnc, 127.0.0.1 only)  NOVNC_PORT=6080  NOVNC_BIND=127.0.0.1
#   NOVNC_PASSWORD  (unset: one is generated once and kept in $BROWSER_PROFILE_DIR/.novnc-password)
#   NOVNC_URL       the viewer's address as it is opened, for the printed link (default
#                   http://NOVNC_HOST:NOVNC_PORT)
#   NOVNC_HOST      (default: localhost, or this machine's name when noVNC listens beyond
#                   loopback; the image: localhost, where compose publishes it)
#   NOVNC_WEB=/usr/share/novnc  CHROMIUM=(chromium, chromium-browser or google-chrome on PATH)
#   BROWSER_READY_TIMEOUT=30 (seconds each part may take to come up)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state_home="${XDG_DATA_HOME:-$HOME/.local/share}/jobs-browser"

display="${BROWSER_DISPLAY:-:99}"
screen="${BROWSER_SCREEN:-1280x800x24}"
profile="${BROWSER_PROFILE_DIR:-$state_home/profile}"
downloads="${BROWSER_DOWNLOADS_DIR:-$state_home/downloads}"
token_file="${BROWSER_TOKEN_FILE:-$state_home/cdp-token}"
token_mode="${BROWSER_TOKEN_MODE:-600}"
cdp_port="${CDP_PORT:-9222}"
proxy_port="${CDP_PROXY_PORT:-9223}"
proxy_bind="${CDP_PROXY_BIND:-127.0.0.1}"
vnc_port="${VNC_PORT:-5900}"
novnc_port="${NOVNC_PORT:-6080}"
novnc_bind="${NOVNC_BIND:-127.0.0.1}"
novnc_web="${NOVNC_WEB:-/usr/share/novnc}"
ready_timeout="${BROWSER_READY_TIMEOUT:-30}"
password_file="$profile/.novnc-password"
python="${PYTHON3:-python3}"

say() { echo "browser: $*"; }
die() { echo "browser: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Where something answers on this machine: a wildcard bind is reached on loopback.
local_host() { case "$1" in 0.0.0.0 | '' | '*' | '::') echo 127.0.0.1 ;; *) echo "$1" ;; esac; }

# HOST PORT PATH [HEADER] → 0 when it answers HTTP 200 within 3 s. Bash's /dev/tcp: no process
# to start per poll (the image has no curl), so readiness is seen within a few milliseconds.
answers() (
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\n%sConnection: close\r\n\r\n' "$3" "$1" "$2" \
    "${4:+$4$'\r\n'}" >&3
  IFS= read -r -t 3 status <&3 || exit 1
  [[ "$status" == "HTTP/1."?" 200 "* ]]
) 2>/dev/null

# The proxy's Authorization header, read from the token file (never on a command line).
proxy_auth() { printf 'Authorization: Bearer %s' "$(cat "$token_file" 2>/dev/null)"; }

# HOST PORT → 0 when something accepts connections there.
listens() ( exec 3<>"/dev/tcp/$1/$2" ) 2>/dev/null

novnc_password() {
  if [ -n "${NOVNC_PASSWORD:-}" ]; then printf '%s' "$NOVNC_PASSWORD"
  elif [ -s "$password_file" ]; then cat "$password_file"
  else return 1; fi
}

# The viewer page, connecting at once and scaled to the window; without its password.
viewer_page() {
  local host
  case "$novnc_bind" in
    127.* | localhost) host=localhost ;;
    *) host="$(hostname 2>/dev/null || echo localhost)" ;;
  esac
  local base="${NOVNC_URL:-http://${NOVNC_HOST:-$host}:$novnc_port}"
  echo "${base%/}/vnc.html?autoconnect=1&resize=scale"
}

link() {
  local password
  password="$(novnc_password)" || die "no noVNC password yet: start the service first"
  password="$("$python" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$password")"
  echo "$(viewer_page)&password=$password"
}

health() {
  answers "$(local_host "$proxy_bind")" "$proxy_port" /json/version "$(proxy_auth)" \
    || die "CDP not answering"
  answers "$(local_host "$novnc_bind")" "$novnc_port" /vnc.html || die "noVNC not answering"
}

case "${1:-start}" in
  start) ;;
  health) health; exit 0 ;;
  link) link; exit 0 ;;
  *) die "usage: $0 [start|health|link]" ;;
esac

# -- start -------------------------------------------------------------------------------

chromium="${CHROMIUM:-}"
if [ -z "$chromium" ]; then
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then chromium="$(command -v "$candidate")"; break; fi
  done
fi
if [ -z "$chromium" ] || ! command -v "$chromium" >/dev/null 2>&1; then
  die "Chromium not found${chromium:+ at $chromium}: apt-get install chromium (or set CHROMIUM)"
fi
for tool in Xvfb x11vnc websockify "$python"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: apt-get install xvfb x11vnc novnc websockify"
done
[ -f "$novnc_web/vnc.html" ] || die "noVNC not found in $novnc_web: apt-get install novnc"

script_started="$(now_ms)"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/jobs-browser.XXXXXX")"
pids=()
stop() { # PID...: SIGTERM, up to 10 s to exit, then SIGKILL
  local pid alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.2
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
cleanup() {
  trap - EXIT INT TERM
  # Chromium (pids[1]) first, while its display is still there: it saves the profile on SIGTERM.
  [ "${#pids[@]}" -gt 1 ] && stop "${pids[1]}" && forget_singleton
  [ "${#pids[@]}" -gt 0 ] && stop "${pids[@]}"
  # The token dies with the service: a stale one must not let anything in (or look valid).
  rm -f "$token_file"
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ready WHAT PID TEST...: 0 once TEST succeeds; 1 (with the part's log) if PID dies first or
# the time runs out.
ready() {
  local what="$1" pid="$2" deadline=$((SECONDS + ready_timeout))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$run_dir/$what.log" >&2 || true
      say "$what exited during start" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$run_dir/$what.log" >&2 || true
      say "$what not ready after ${ready_timeout}s" >&2
      return 1
    fi
    sleep 0.02
  done
}
wait_for() { ready "$@" || exit 1; }

# Xvfb: a display lock left by an earlier run (a container restarted in place keeps /tmp)
# makes Xvfb refuse to start; remove it unless an Xvfb still holds it.
n="${display#:}"
lock="/tmp/.X$n-lock"
if [ -f "$lock" ]; then
  old="$(tr -d ' ' <"$lock" 2>/dev/null || true)"
  if [ -n "$old" ] && [ "$(cat "/proc/$old/comm" 2>/dev/null)" = Xvfb ]; then
    die "display $display is in use by Xvfb (pid $old): set BROWSER_DISPLAY to another one"
  fi
  rm -f "$lock" "/tmp/.X11-unix/X$n"
fi
# No GLX: Chromium draws without a GPU here, and Mesa's GLX is most of Xvfb's memory (≈ 66 →
# 13 MiB PSS).
Xvfb "$display" -screen 0 "$screen" -nolisten tcp -extension GLX >"$run_dir/xvfb.log" 2>&1 &
pids+=($!)
wait_for xvfb "${pids[-1]}" test -S "/tmp/.X11-unix/X$n"
export DISPLAY="$display"

mkdir -p "$profile/Default" "$downloads"
chmod 700 "$profile"

# The Singleton* links of the last Chromium, and the temporary folder its socket link points
# into (org.chromium.Chromium.*, left behind when it was killed).
forget_singleton() {
  local socket
  socket="$(readlink "$profile/SingletonSocket" 2>/dev/null || true)"
  case "$socket" in */org.chromium.Chromium.*/SingletonSocket) rm -rf "$(dirname "$socket")" ;; esac
  rm -f "$profile"/Singleton{Lock,Socket,Cookie}
}

# Chromium, before each start: a profile copied from another host (or a container's old
# hostname) keeps Singleton* links that make Chromium hand over to a browser that isn't there,
# and never open CDP. Preferences: downloads go to the downloads dir without asking, and a
# crash (kill -9, power loss) does not leave a "restore pages?" bubble on the watched screen.
prepare_profile() {
  forget_singleton
  "$python" - "$profile/Default/Preferences" "$downloads" <<'PY'
import json, sys
path, downloads = sys.argv[1], sys.argv[2]
try:
    with open(path, encoding="utf-8") as f:
        prefs = json.load(f)
except (OSError, ValueError):
    prefs = {}
prefs.setdefault("download", {}).update(
    default_directory=downloads, prompt_for_download=False, directory_upgrade=True
)
prefs.setdefault("savefile", {})["default_directory"] = downloads
prefs.setdefault("profile", {}).update(exit_type="Normal", exited_cleanly=True)
with open(path, "w", encoding="utf-8") as f:
    json.dump(prefs, f)
PY
}

# One automated user, watched over VNC: what a desktop browser keeps warm for a person typing
# is memory here (measured on Chromium 156, PSS after one page: 380 → 303 MiB, 9 → 5 processes):
# the omnibox popup as a WebUI page (≈ 60 MiB renderer, loaded before anyone types), a spare
# renderer for the next navigation, the back/forward cache, and the GPU and network services
# as processes of their own. Translate, Cast discovery and optimisation hints are of no use
# to it. Site isolation stays: the owner's logged-in sites keep their own processes.
width="${screen%%x*}"
rest="${screen#*x}"
height="${rest%%x*}"
chromium_flags=(
  --no-sandbox --test-type --disable-gpu --no-first-run --no-default-browser-check
  --disable-background-networking --disable-component-update --disable-sync --disable-quic
  --password-store=basic --use-mock-keychain
  --in-process-gpu --enable-features=NetworkServiceInProcess2
  --disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,SpareRendererForSitePerProcess,BackForwardCache,Translate,MediaRouter,OptimizationHints
  --user-data-dir="$profile"
  --remote-debugging-address=127.0.0.1 --remote-debugging-port="$cdp_port"
  --window-position=0,0 --window-size="$width,$height"
)
# Starts Chromium as pids[1]; 0 when CDP answers, 1 when it died or hung during its start.
start_chromium() {
  prepare_profile
  chromium_started="$(now_ms)"
  "$chromium" "${chromium_flags[@]}" about:blank >>"$run_dir/chromium.log" 2>&1 &
  pids[1]=$!
  ready chromium "${pids[1]}" answers 127.0.0.1 "$cdp_port" /json/version || {
    kill -KILL "${pids[1]}" 2>/dev/null || true
    return 1
  }
  say "CDP ready on 127.0.0.1:$cdp_port $(($(now_ms) - chromium_started)) ms after Chromium started"
}
start_chromium || exit 1

# noVNC password: given, or generated once and kept with the profile so links stay valid.
# VNC authentication reads 8 characters, so a generated one has exactly 8.
if [ -z "${NOVNC_PASSWORD:-}" ] && [ ! -s "$password_file" ]; then
  (umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(6))' >"$password_file")
  say "generated a noVNC password (kept in $password_file)"
elif [ -n "${NOVNC_PASSWORD:-}" ]; then
  (umask 077 && printf '%s\n' "$NOVNC_PASSWORD" >"$password_file")
fi

# The proxy's token: new at each start, so one that leaked dies with this run.
mkdir -p "$(dirname "$token_file")"
(umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$token_file.new")
chmod "$token_mode" "$token_file.new"
mv -f "$token_file.new" "$token_file"

"$python" "$here/cdp_proxy.py" --listen "$proxy_bind:$proxy_port" --upstream "127.0.0.1:$cdp_port" \
  --token-file "$token_file" --allow-host "${CDP_PROXY_HOSTS:-}" \
  --novnc-port "$novnc_port" --novnc-password-file "$password_file" >"$run_dir/proxy.log" 2>&1 &
pids+=($!)
wait_for proxy "${pids[-1]}" answers "$(local_host "$proxy_bind")" "$proxy_port" /json/version \
  "$(proxy_auth)"

# x11vnc reads the password from a file it then deletes (never on a command line).
(umask 077 && novnc_password >"$run_dir/vncpass")
x11vnc -display "$display" -rfbport "$vnc_port" -localhost -forever -shared -quiet \
  -passwdfile "rm:$run_dir/vncpass" >"$run_dir/x11vnc.log" 2>&1 &
pids+=($!)
wait_for x11vnc "${pids[-1]}" listens 127.0.0.1 "$vnc_port"

websockify --web "$novnc_web" "$novnc_bind:$novnc_port" "127.0.0.1:$vnc_port" \
  >"$run_dir/novnc.log" 2>&1 &
pids+=($!)
wait_for novnc "${pids[-1]}" answers "$(local_host "$novnc_bind")" "$novnc_port" /vnc.html

say "ready $(($(now_ms) - script_started)) ms after start: CDP http://$(local_host "$proxy_bind"):$proxy_port, noVNC port $novnc_port"
# Logs are read by more people than the owner: the link goes without its password.
say "viewer: $(viewer_page) (password: ask Jobs for the browser link, or run: $0 link)"

# Supervise: Chromium is started again when it dies; the pause before that starts at 0.5 s and
# doubles (up to 30 s) while it keeps dying within a minute of its start. Any other part ends
# the service.
pause_ms=500
while :; do
  set +e
  wait -n -p exited "${pids[@]}" 2>/dev/null # (bash's own "Killed" line: said below)
  status=$?
  set -e
  if [ "${exited:-}" != "${pids[1]}" ]; then
    say "a part (pid ${exited:-?}) exited with status $status"
    exit 1
  fi
  ran_ms=$(($(now_ms) - chromium_started))
  [ "$ran_ms" -ge 60000 ] && pause_ms=500
  say "Chromium (pid $exited) exited with status $status after $ran_ms ms; starting it again in $pause_ms ms"
  sleep "$(printf '%d.%03d' $((pause_ms / 1000)) $((pause_ms % 1000)))" &
  wait $! # in the background: a SIGTERM meanwhile is handled at once
  pause_ms=$((pause_ms * 2 > 30000 ? 30000 : pause_ms * 2))
  start_chromium || true # one that died at start is picked up by the next wait, and paused for
done
