#!/bin/bash
# A fault gate in front of one host tool (qemu-img, sync, ln, socat): installed under the tool's own name in
# the test's stand-in of /usr/bin, it runs the real tool unchanged, and only when the test named
# this step in VMFLAKE_FAULT_AT does it stop there (before or after the real tool), write its
# pid to $VMFLAKE_FAULT_GATE/at and wait until the test kills it or creates $VMFLAKE_FAULT_GATE/go.
# That puts a kill -9 at an exact step without any sleep in the test.
name=${0##*/}
case $name in
  qemu-img) step=qemu-img-${1-} ;;
  # install-guest.sh runs "sync -- IMAGE-IN-PROGRESS" before publishing, "sync -- DIR" after.
  sync) case ${2-} in *.qcow2) step=sync-image ;; *) step=sync-dir ;; esac ;;
  # Its first ln is the seed's link to the ISO, its second the publishing link(2).
  ln) step="ln" ;;
  *) step=$name ;;
esac
# VMFLAKE_FAULT_AT is a step ("before-qemu-img-resize") or its Nth call ("before-socat#2").
gate() {
  local n=0
  if [ -n "${VMFLAKE_FAULT_GATE-}" ]; then
    n=$(cat "$VMFLAKE_FAULT_GATE/count-$1" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" >"$VMFLAKE_FAULT_GATE/count-$1"
  fi
  if [ -n "${VMFLAKE_FAULT_GATE-}" ] &&
    { [ "${VMFLAKE_FAULT_AT-}" = "$1" ] || [ "${VMFLAKE_FAULT_AT-}" = "$1#$n" ]; }; then
    echo "$$" >"$VMFLAKE_FAULT_GATE/at.tmp" && mv "$VMFLAKE_FAULT_GATE/at.tmp" "$VMFLAKE_FAULT_GATE/at"
    while [ ! -e "$VMFLAKE_FAULT_GATE/go" ]; do sleep 0.05; done
  fi
}
# VMFLAKE_FAULT_SYSCALL=SYSCALL:N with VMFLAKE_FAULT_AT=during-STEP: the real tool runs under
# strace, which SIGKILLs it as it enters its Nth SYSCALL (that call never happens): a kill -9
# at each of the tool's own I/O steps.
if [ -n "${VMFLAKE_FAULT_SYSCALL-}" ] && [ "${VMFLAKE_FAULT_AT-}" = "during-$step" ]; then
  call=${VMFLAKE_FAULT_SYSCALL%%:*}
  exec strace -f -qq -o /dev/null -e trace="$call" \
    -e inject="$call:signal=KILL:when=${VMFLAKE_FAULT_SYSCALL#*:}" "/usr/bin/$name" "$@"
fi
gate "before-$step"
status=0
"/usr/bin/$name" "$@" || status=$?
gate "after-$step"
exit "$status"
