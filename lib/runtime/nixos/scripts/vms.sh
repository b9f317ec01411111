# vmflake runtime: `vms`, the host command that lists and handles this host's guests; copied verbatim into the generated flake's modules/vmflake/.
# shellcheck shell=bash
# The guests' facts (units, paths, MACs, sizes) come from the JSON file the host module writes,
# /etc/vmflake/guests.json ($VMFLAKE_GUESTS overrides it). Guests start and stop only through
# systemctl, so a stop is the unit's own synchronous one. Nothing here deletes or overwrites an
# image: reinstall renames it, revert takes a snapshot of the current state first.
# Exit status: 0 done, 1 refused or failed (one line on stderr, nothing touched), 2 bad usage.
me=vms
facts_file=${VMFLAKE_GUESTS:-/etc/vmflake/guests.json}
# Guest names as hosts.ts allows them (a DNS label); snapshot tags without commas or spaces.
label='^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'
tag_re='^[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}$'
# Ctrl-]: leaves the console, as in telnet and virsh.
escape_key=0x1d

usage() {
  cat <<EOF
usage: $me [--json] COMMAND [ARGS]

Commands:
  list                      every guest of this host: state, uptime, CPUs, memory, disk,
                            MACs, addresses, VNC
  status NAME               the same for one guest, its units and its last console lines
  start|stop|restart NAME   through systemd (a stop waits for the guest to power off)
  console NAME              the guest's serial console; Ctrl-] leaves it
  log NAME [--install] [-f] [-n LINES]
                            the console log (or the first install's), followed with -f
  ssh NAME [ARGS]           ssh to the first address seen for the guest's MAC
  snapshot NAME [TAG]       a qcow2 internal snapshot (running or stopped); TAG defaults to
                            the time
  snapshots NAME            the guest's snapshots
  revert NAME TAG           back to snapshot TAG, only while stopped; takes a snapshot of the
                            current state first
  reinstall NAME            stops the guest, keeps its image under a dated name next to it
                            and starts it, which installs it afresh

--json prints JSON instead of a table (list, status, snapshots, and a result object for the
others but console, log and ssh). Most commands need root. Exit status: 0 done, 1 refused or
failed, 2 bad usage.
EOF
}

die() {
  echo "$me: $*" >&2
  exit 1
}
bad_usage() {
  echo "$me: $*" >&2
  echo "Run '$me --help' for usage." >&2
  exit 2
}

json=false
while [ "$#" -gt 0 ]; do
  case $1 in
    --json) json=true ;;
    -h | --help | help)
      usage
      exit 0
      ;;
    -*) bad_usage "unknown option $1" ;;
    *) break ;;
  esac
  shift
done
[ "$#" -gt 0 ] || bad_usage "no command"
cmd=$1
shift
# --json may also follow the command, except for ssh, whose arguments are ssh's.
if [ "$cmd" != ssh ]; then
  args=()
  for a in "$@"; do
    if [ "$a" = --json ]; then json=true; else args+=("$a"); fi
  done
  set -- "${args[@]}"
fi

[ -r "$facts_file" ] || die "cannot read the guests' facts in $facts_file (is vmflake enabled on this host?)"
facts=$(jq -c . "$facts_file") || die "$facts_file is not valid JSON"
host=$(jq -r .host <<<"$facts")

# guest NAME: checks NAME and sets $name and $g (its facts), or refuses.
guest() {
  local other
  [[ $1 =~ $label ]] || die "\"$1\" is not a guest name"
  name=$1
  g=$(jq -c --arg n "$name" '.guests[$n] // empty' <<<"$facts")
  if [ -z "$g" ]; then
    other=$(jq -r --arg n "$name" '.otherGuests[$n] // empty' <<<"$facts")
    if [ -n "$other" ]; then
      die "$name is a guest of host $other, not of this host ($host); run $me there"
    fi
    die "no guest $name on this host ($host); its guests: $(jq -r '.guests | keys | join(", ")' <<<"$facts")"
  fi
}
fact() { jq -r "$1" <<<"$g"; }

# unit_state UNIT: sets $u_active, $u_sub and $u_since to systemd's ActiveState, SubState and
# ActiveEnterTimestamp (unix seconds, or "-") of UNIT.
unit_state() {
  local out line
  out=$(systemctl show --timestamp=unix --property=ActiveState,SubState,ActiveEnterTimestamp -- "$1.service") ||
    die "systemctl show $1.service failed"
  u_active=unknown u_sub=unknown u_since=-
  while IFS= read -r line; do
    case $line in
      ActiveState=*) u_active=${line#*=} ;;
      SubState=*) u_sub=${line#*=} ;;
      ActiveEnterTimestamp=@*) u_since=${line#*=@} ;;
    esac
  done <<<"$out"
}

# state: sets $state (running, starting, stopping, installing, failed, stopped), $uptime
# (seconds, or empty) and the units' own states ($active/$sub, $install_active/$install_sub),
# from the guest's unit and its install unit.
state() {
  unit_state "$(fact .installUnit)"
  install_active=$u_active install_sub=$u_sub
  unit_state "$(fact .unit)"
  active=$u_active sub=$u_sub
  uptime=
  case $active in
    active)
      state=running
      if [[ $u_since =~ ^[0-9]+$ ]]; then uptime=$(($(date +%s) - u_since)); fi
      ;;
    activating)
      if [ "$install_active" = activating ]; then state=installing; else state=starting; fi
      ;;
    deactivating) state=stopping ;;
    failed) state=failed ;;
    *)
      case $install_active in
        activating) state=installing ;;
        failed) state=failed ;;
        *) state=stopped ;;
      esac
      ;;
  esac
}

# image_info: qemu-img's JSON for the guest's image (null when there is none). -U reads it while
# QEMU holds its lock.
image_info() {
  local image
  image=$(fact .image)
  if [ -e "$image" ]; then
    qemu-img info -U --output=json -f qcow2 -- "$image" || echo null
  else
    echo null
  fi
}

# addresses: JSON list of the addresses seen for the guest's MACs, from the host's neighbour
# tables (the LAN bridge's and those of the host's other networks) and the lease files there
# are; IPv4 first.
addresses() {
  local neigh leases='' f
  neigh=$(ip -j neigh show 2>/dev/null) || neigh='[]'
  [ -n "$neigh" ] || neigh='[]'
  while IFS= read -r f; do
    if [ -r "$f" ]; then leases+=$(cat -- "$f")$'\n'; fi
  done < <(jq -r '.leaseFiles[]' <<<"$facts")
  jq -c --argjson neigh "$neigh" --arg leases "$leases" '
    .macs as $macs
    | ([$neigh[]
        | select((.lladdr // "") as $m | $macs | index($m))
        | select(((.state // []) | index("FAILED") | not) and ((.state // []) | index("INCOMPLETE") | not))
        | .dst]
       + [$leases | split("\n")[] | split(" ") | select(length >= 3) | select(.[1] as $m | $macs | index($m)) | .[2]])
    | unique
    | sort_by(if test(":") then 1 else 0 end)' <<<"$g"
}

# describe: one JSON object for the guest, after `state`.
describe() {
  jq -c --arg name "$name" --arg state "$state" --arg uptime "$uptime" \
    --argjson info "$(image_info)" --argjson addresses "$(addresses)" '
    {
      name: $name,
      state: $state,
      uptimeSeconds: (if $uptime == "" then null else ($uptime | tonumber) end),
      cpus,
      memoryMiB,
      diskBytes,
      diskUsedBytes: (if $info == null then null else $info["actual-size"] end),
      snapshots: (if $info == null then 0 else ($info.snapshots // [] | length) end),
      macs,
      addresses: $addresses,
      vnc: (if .vnc == null then null else "\(.vnc.address):\(.vnc.display)" end),
      image
    }' <<<"$g"
}

# jq helpers for tables: sizes as 1.5G, durations as 2d3h, columns padded to their widths.
# shellcheck disable=SC2016 # jq's own $variables
jq_defs='
  def size: if . == null then "-" else
    [., 0] | until(.[0] < 1024 or .[1] >= 5; [.[0] / 1024, .[1] + 1])
    | (.[0] * 10 | round / 10 | tostring) + (["B", "K", "M", "G", "T", "P"][.[1]]) end;
  def duration: if . == null then "-" else
    if . >= 86400 then "\(. / 86400 | floor)d\(. % 86400 / 3600 | floor)h"
    elif . >= 3600 then "\(. / 3600 | floor)h\(. % 3600 / 60 | floor)m"
    elif . >= 60 then "\(. / 60 | floor)m\(. % 60)s"
    else "\(.)s" end end;
  def pad($w): . + ([range(0; $w - length)] | map(" ") | join(""));
  def table: . as $rows
    | [range(0; $rows[0] | length)] as $cols
    | ($cols | map(. as $c | $rows | map(.[$c] | length) | max)) as $w
    | $rows[] | [range(0; length) as $c | .[$c] | if $c < (($cols | length) - 1) then pad($w[$c]) else . end]
    | join("  ") | sub(" +$"; "");
'

print_guests() {
  if $json; then
    jq -c "$1"
  else
    jq -r "$jq_defs"'
      [["NAME", "STATE", "UPTIME", "CPUS", "MEMORY", "DISK", "USED", "MAC", "ADDRESSES", "VNC"]]
      + [.[] | [.name, .state, (.uptimeSeconds | duration), (.cpus | tostring),
                (.memoryMiB * 1048576 | size), (.diskBytes | size), (.diskUsedBytes | size),
                (.macs | join(",")), (if .addresses == [] then "-" else .addresses | join(",") end),
                (.vnc // "-")]]
      | table'
  fi
}

# result WORDS: prints a line, or with --json an object {guest, result}.
result() {
  if $json; then
    jq -nc --arg guest "$name" --arg result "$*" '{guest: $guest, result: $result}'
  else
    echo "$me: $*"
  fi
}

running_state() {
  case $state in
    running | starting | stopping | installing) return 0 ;;
    *) return 1 ;;
  esac
}

# QMP: a session on the guest's socket as a coprocess (whose descriptors subshells do not get,
# hence the globals). qmp_cmd sends one command and sets $qmp_return to its "return" value, or
# fails with $qmp_error; events in between are skipped.
qmp_in='' qmp_out='' qmp_pid='' qmp_return='' qmp_error=''
qmp_open() {
  local greeting sock
  sock=$(fact .qmpSocket)
  [ -S "$sock" ] || die "$name has no QMP socket at $sock"
  coproc QMP { exec socat - "UNIX-CONNECT:$sock" 2>/dev/null; }
  qmp_in=${QMP[0]-} qmp_out=${QMP[1]-} qmp_pid=${QMP_PID-}
  [ -n "$qmp_in" ] || die "could not connect to $name's QMP socket $sock"
  read -r -t 5 greeting <&"$qmp_in" || die "no answer on $name's QMP socket $sock"
  [[ $greeting == *'"QMP"'* ]] || die "$sock does not speak QMP"
  qmp_cmd '{"execute":"qmp_capabilities"}' || die "QMP refused capabilities: $qmp_error"
}
qmp_cmd() {
  local line
  printf '%s\n' "$1" >&"$qmp_out"
  while read -r -t 30 line <&"$qmp_in"; do
    case $line in
      '{"return"'*)
        qmp_return=$(jq -c .return <<<"$line")
        return 0
        ;;
      '{"error"'*)
        qmp_error=$(jq -r .error.desc <<<"$line")
        return 1
        ;;
    esac
  done
  qmp_error="no answer from QEMU"
  return 1
}
qmp_close() {
  exec {qmp_out}>&-
  wait "$qmp_pid" 2>/dev/null || true
}

# snapshot_tags: the image's snapshot tags, one a line.
snapshot_tags() {
  jq -r '(.snapshots // [])[] | .name' <<<"$(image_info)"
}
has_tag() {
  local t
  while IFS= read -r t; do
    if [ "$t" = "$1" ]; then return 0; fi
  done < <(snapshot_tags)
  return 1
}

# take_snapshot TAG: while running through a QMP snapshot job (disk and memory), while stopped
# with qemu-img.
take_snapshot() {
  local tag=$1 job status err
  if [ "$state" = running ]; then
    job="vms-snapshot-$$"
    qmp_open
    qmp_cmd "$(jq -nc --arg job "$job" --arg tag "$tag" --arg node "$(fact .diskNode)" \
      '{execute: "snapshot-save", arguments: {"job-id": $job, tag: $tag, vmstate: $node, devices: [$node]}}')" ||
      die "QEMU refused the snapshot of $name: $qmp_error"
    while :; do
      qmp_cmd '{"execute":"query-jobs"}' || die "query-jobs failed: $qmp_error"
      status=$(jq -c --arg job "$job" '.[] | select(.id == $job)' <<<"$qmp_return")
      [ -n "$status" ] || die "QEMU lost snapshot job $job of $name"
      if [ "$(jq -r .status <<<"$status")" = concluded ]; then break; fi
      sleep 0.2
    done
    err=$(jq -r '.error // empty' <<<"$status")
    qmp_cmd "$(jq -nc --arg job "$job" '{execute: "job-dismiss", arguments: {id: $job}}')" || true
    qmp_close
    [ -z "$err" ] || die "snapshot $tag of $name failed: $err"
  else
    qemu-img snapshot -c "$tag" -- "$(fact .image)" || die "qemu-img could not take snapshot $tag of $name"
  fi
}

now_tag() { date -u +%Y%m%dT%H%M%SZ; }

case $cmd in
  list)
    [ "$#" -eq 0 ] || bad_usage "list takes no arguments"
    all=()
    while IFS= read -r n; do
      guest "$n"
      state
      all+=("$(describe)")
    done < <(jq -r '.guests | keys[]' <<<"$facts")
    printf '%s\n' "${all[@]}" | jq -s . | print_guests .
    ;;

  status)
    [ "$#" -eq 1 ] || bad_usage "status needs NAME"
    guest "$1"
    state
    d=$(describe)
    log=$(fact .consoleLog)
    lines='[]'
    if [ -r "$log" ]; then lines=$(tail -n 10 -- "$log" | tr -d '\r' | jq -R . | jq -sc .); fi
    d=$(jq -c --argjson lines "$lines" --arg unit "$(fact .unit).service" --arg ua "$active/$sub" \
      --arg iu "$(fact .installUnit).service" --arg ia "$install_active/$install_sub" \
      '. + {units: {($unit): $ua, ($iu): $ia}, consoleLog: $lines}' <<<"$d")
    if $json; then
      echo "$d"
    else
      jq -s . <<<"$d" | print_guests .
      jq -r '"", "units:", (.units | to_entries[] | "  \(.key): \(.value)"),
        "", "console (last lines):", (.consoleLog[] | "  " + .)' <<<"$d"
    fi
    ;;

  start | stop | restart)
    [ "$#" -eq 1 ] || bad_usage "$cmd needs NAME"
    guest "$1"
    systemctl "$cmd" -- "$(fact .unit).service" || die "systemctl $cmd $(fact .unit).service failed (see: $me status $name)"
    state
    result "$name is $state"
    ;;

  console)
    [ "$#" -eq 1 ] || bad_usage "console needs NAME"
    guest "$1"
    state
    sock=$(fact .consoleSocket)
    [ "$state" = running ] || die "$name is $state; its console log: $me log $name"
    [ -S "$sock" ] || die "$name has no console socket at $sock"
    echo "Connected to $name's serial console; press Ctrl-] to leave." >&2
    if [ -t 0 ]; then
      exec socat "-,raw,echo=0,escape=$escape_key" "UNIX-CONNECT:$sock"
    fi
    exec socat "-,escape=$escape_key" "UNIX-CONNECT:$sock"
    ;;

  log)
    [ "$#" -ge 1 ] || bad_usage "log needs NAME"
    guest "$1"
    shift
    which=.consoleLog follow=false lines=
    while [ "$#" -gt 0 ]; do
      case $1 in
        --install) which=.installLog ;;
        -f | --follow) follow=true ;;
        -n)
          [[ ${2-} =~ ^[0-9]{1,9}$ ]] || bad_usage "-n needs a number of lines"
          lines=$2
          shift
          ;;
        *) bad_usage "log: unknown option $1" ;;
      esac
      shift
    done
    file=$(fact "$which")
    [ -e "$file" ] || die "$name has no such log yet ($file)"
    if $follow; then
      tail -n "${lines:-20}" -F -- "$file" | tr -d '\r'
    elif [ -n "$lines" ]; then
      tail -n "$lines" -- "$file" | tr -d '\r'
    else
      tr -d '\r' <"$file"
    fi
    ;;

  ssh)
    [ "$#" -ge 1 ] || bad_usage "ssh needs NAME"
    guest "$1"
    shift
    addr=$(jq -r '.[0] // empty' <<<"$(addresses)")
    [ -n "$addr" ] || die "no address seen for $name's MAC $(fact '.macs | join(", ")') on this host (is it running, and has it sent anything?)"
    # The host key is kept under the guest's name, which outlives an address.
    exec ssh -o "HostKeyAlias=$name" "$addr" "$@"
    ;;

  snapshot)
    if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then bad_usage "snapshot needs NAME [TAG]"; fi
    guest "$1"
    tag=${2:-$(now_tag)}
    [[ $tag =~ $tag_re ]] || die "\"$tag\" is not a snapshot tag (letters, digits and ._:+-, at most 63)"
    [ -e "$(fact .image)" ] || die "$name has no image yet ($(fact .image))"
    state
    case $state in
      running | stopped | failed) ;;
      *) die "$name is $state; snapshot it once it is running or stopped" ;;
    esac
    if has_tag "$tag"; then die "$name already has a snapshot $tag"; fi
    take_snapshot "$tag"
    result "took snapshot $tag of $name ($state)"
    ;;

  snapshots)
    [ "$#" -eq 1 ] || bad_usage "snapshots needs NAME"
    guest "$1"
    info=$(image_info)
    [ "$info" != null ] || die "$name has no image yet ($(fact .image))"
    list=$(jq -c '[(.snapshots // [])[] | {tag: .name, id, date: (.["date-sec"] | todate), vmStateBytes: .["vm-state-size"]}]' <<<"$info")
    if $json; then
      echo "$list"
    elif [ "$list" = '[]' ]; then
      echo "$name has no snapshots"
    else
      jq -r "$jq_defs"'[["TAG", "DATE", "VM STATE"]] + [.[] | [.tag, .date, (if .vmStateBytes == 0 then "-" else .vmStateBytes | size end)]] | table' <<<"$list"
    fi
    ;;

  revert)
    [ "$#" -eq 2 ] || bad_usage "revert needs NAME TAG"
    guest "$1"
    tag=$2
    [[ $tag =~ $tag_re ]] || die "\"$tag\" is not a snapshot tag"
    image=$(fact .image)
    [ -e "$image" ] || die "$name has no image ($image)"
    state
    if running_state; then die "$name is $state; stop it first ($me stop $name)"; fi
    has_tag "$tag" || die "$name has no snapshot $tag (see: $me snapshots $name)"
    safety="before-revert-$(now_tag)"
    if has_tag "$safety"; then die "$name already has a snapshot $safety; try again in a second"; fi
    qemu-img snapshot -c "$safety" -- "$image" || die "qemu-img could not take the safety snapshot $safety; nothing reverted"
    qemu-img snapshot -a "$tag" -- "$image" || die "qemu-img could not revert $name to $tag; the state before is snapshot $safety"
    result "reverted $name to $tag; the state before is snapshot $safety"
    ;;

  reinstall)
    [ "$#" -eq 1 ] || bad_usage "reinstall needs NAME"
    guest "$1"
    image=$(fact .image)
    [ -e "$image" ] || die "$name has no image ($image) to keep; '$me start $name' installs it"
    state
    if [ "$state" = installing ]; then die "$name is installing; wait for the install to end"; fi
    kept="${image%.qcow2}-$(now_tag).qcow2"
    [ ! -e "$kept" ] || die "$kept exists already; try again in a second"
    if [ "$state" != stopped ]; then
      systemctl stop -- "$(fact .unit).service" || die "systemctl stop $(fact .unit).service failed; nothing renamed"
      state
      [ "$state" = stopped ] || [ "$state" = failed ] || die "$name is still $state after the stop; nothing renamed"
    fi
    # -n never replaces a file; the checks after it tell a refused move from a done one.
    mv -n -- "$image" "$kept" || true
    if [ -e "$image" ] || [ ! -e "$kept" ]; then die "could not rename $image to $kept; nothing started"; fi
    systemctl start -- "$(fact .unit).service" || die "kept the old image as $kept, but systemctl start $(fact .unit).service failed (see: $me status $name)"
    state
    result "kept the old image of $name as $kept; $name is $state"
    ;;

  *) bad_usage "unknown command: $cmd" ;;
esac
