# vmflake runtime: ExecStop of a guest's unit, stops QEMU through QMP; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# ExecStop of a QEMU guest unit. Usage: <qmp-socket> <timeout-seconds>
# systemd.service(5) wants ExecStop synchronous: return only once QEMU is gone, because systemd
# SIGTERMs whatever is left the moment this exits. Press the ACPI power button through QMP every
# second until QEMU exits or the timeout passes, then QMP "quit" (a clean close of the images; a
# power cut for the guest).
me=${0##*/}
# At most 7 digits and no leading zero: bash arithmetic reads 08 as bad octal, and a huge
# count wraps its signed 64-bit milliseconds to a deadline already past (quit at once).
if [ "$#" -ne 2 ] || ! [[ $2 =~ ^(0|[1-9][0-9]{0,6})$ ]]; then
  echo "usage: $me <qmp-socket> <timeout-seconds>" >&2
  exit 2
fi
sock=$1
timeout_s=$2
# systemd sets MAINPID (QEMU, which the unit execs) for ExecStop; a manual run may not.
pid=${MAINPID:-}
# How long QEMU may take to close its images after "quit".
quit_grace_s=10

now_ms() { date +%s%3N; }

# Does the QMP socket accept a connection? A socket file left by a killed QEMU refuses.
answers() {
  [ -S "$sock" ] && socat -u -t 0 OPEN:/dev/null "UNIX-CONNECT:$sock" 2>/dev/null
}

# Is QEMU still there? QEMU removes its QMP socket only after closing its images, so without
# MAINPID a socket that stops answering means the images are safe.
running() {
  if [ -n "$pid" ]; then
    kill -0 "$pid" 2>/dev/null
  else
    answers
  fi
}

# qmp_reply: read QMP lines until the answer to the last command; events may come first.
qmp_reply() {
  local line
  while read -r -t 2 line; do
    case $line in
      '{"return"'*) return 0 ;;
      '{"error"'*) return 1 ;;
    esac
  done
  return 1
}

# qmp_session COMMAND, with stdin/stdout connected to QMP: greeting, capabilities, COMMAND.
qmp_session() {
  local greeting
  read -r -t 2 greeting || return 1
  [[ $greeting == *'"QMP"'* ]] || return 1
  printf '%s\n' '{"execute":"qmp_capabilities"}'
  qmp_reply || return 1
  printf '{"execute":"%s"}\n' "$1"
  qmp_reply
}

# qmp COMMAND: run COMMAND and wait for QEMU's answer before hanging up, since QEMU drops the
# queued commands of a client that disconnects first. Fails when nobody answers.
qmp() {
  local in out link_pid status=1
  coproc QMP_LINK { exec socat -t 1 - "UNIX-CONNECT:$sock" 2>/dev/null; }
  # bash unsets these when socat has already exited (connection refused).
  in=${QMP_LINK[0]-}
  out=${QMP_LINK[1]-}
  link_pid=${QMP_LINK_PID-}
  if [ -n "$in" ] && [ -n "$out" ] && qmp_session "$1" <&"$in" >&"$out" 2>/dev/null; then
    status=0
  fi
  if [ -n "$out" ]; then exec {out}>&-; fi
  if [ -n "$link_pid" ]; then wait "$link_pid" 2>/dev/null || true; fi
  return "$status"
}

presses=0
# press_until COMMAND DEADLINE_MS: send COMMAND every second until QEMU is gone (0) or the
# deadline passes (1). Pressing again matters: a press that reaches the guest before its ACPI
# handler is up is lost.
press_until() {
  local now next=0
  while running; do
    now=$(now_ms)
    if ((now >= $2)); then return 1; fi
    if ((now >= next)); then
      if qmp "$1"; then presses=$((presses + 1)); fi
      next=$((now + 1000))
    fi
    sleep 0.1
  done
}

elapsed() {
  local ms=$(($(now_ms) - start))
  echo "$((ms / 1000)).$((ms % 1000 / 100)) s"
}

if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
  echo "$me: QEMU (pid $pid) is not running"
  exit 0
fi
if ! answers; then
  if [ -n "$pid" ]; then
    # Nothing to press the button with; systemd's SIGTERM follows and QEMU exits cleanly on it.
    echo "$me: QEMU (pid $pid) has no answering QMP socket at $sock; leaving it to SIGTERM"
  else
    echo "$me: QEMU is not running (no answering QMP socket at $sock)"
  fi
  exit 0
fi

start=$(now_ms)
if press_until system_powerdown $((start + timeout_s * 1000)); then
  echo "$me: guest powered down after $(elapsed) (power-button presses: $presses)"
  exit 0
fi
echo "$me: guest still running after the ${timeout_s} s timeout; sending quit"
if press_until quit $(($(now_ms) + quit_grace_s * 1000)); then
  echo "$me: forced quit after timeout, QEMU exited after $(elapsed)"
  exit 0
fi
echo "$me: QEMU still running ${quit_grace_s} s after quit; systemd's SIGTERM follows" >&2
exit 1
