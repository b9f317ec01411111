# vmflake runtime: the one QEMU command line, for a guest and for its installer VM; copied verbatim into the generated flake's modules/vmflake/.
#
# Both machines share every flag but what differs on purpose: the installer VM boots the ISO
# once with -no-reboot and a seed drive, writes the image-in-progress in the work directory and
# has no QMP socket. The reasons for each flag are in vmflake's docs/qemu-and-systemd.md §1.
{ lib }:
let
  # Longest virtio-blk serial: the virtio spec's 20-byte ID field; QEMU cuts longer ones.
  maxSerialBytes = 20;

  # A value inside a comma-separated QEMU option list: a comma would start another option. The
  # option types already refuse commas; this keeps a programming error from becoming a
  # different command line.
  opt =
    field: value:
    let
      s = toString value;
    in
    if s == "" then
      throw "vmflake: ${field} is empty"
    else if builtins.match ".*,.*" s != null then
      throw "vmflake: ${field} ${builtins.toJSON s} contains a comma, which QEMU would read as the start of another option"
    else
      s;

  serial =
    s:
    let
      v = opt "disk serial" s;
    in
    if builtins.stringLength v > maxSerialBytes then
      throw "vmflake: disk serial ${builtins.toJSON v} is longer than ${toString maxSerialBytes} bytes"
    else
      v;

  # What every vmflake machine is: KVM without a TCG fallback (a host without /dev/kvm fails
  # loudly), no default devices, no /etc/qemu config, libvirt's seccomp set (spawn=deny is why
  # taps use script=no).
  machine =
    {
      name,
      cpus,
      memoryMiB,
    }:
    [
      "-name"
      "guest=${opt "name" name},debug-threads=on"
      "-machine"
      "q35,accel=kvm"
      "-cpu"
      "host"
      "-smp"
      (toString cpus)
      "-m"
      "${toString memoryMiB}M"
      "-nodefaults"
      "-no-user-config"
      "-msg"
      "timestamp=on"
      "-sandbox"
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
    ];

  # The first serial port (the kernel console) appended to a file: a restart must not wipe the
  # console of the crash that caused it.
  console = path: [
    "-chardev"
    "file,id=serial0,path=${opt "console log" path},append=on"
    "-serial"
    "chardev:serial0"
  ];

  # The guest's serial port as a unix socket that `vms console` connects to. QEMU appends all of
  # its output to the log whether or not a client is connected, so the log is what the file
  # chardev above keeps. wait=off: the guest boots without a client.
  consoleSocket = { socket, log }: [
    "-chardev"
    "socket,id=serial0,path=${opt "console socket" socket},server=on,wait=off,logfile=${opt "console log" log},logappend=on"
    "-serial"
    "chardev:serial0"
  ];

  # Two -blockdev nodes (file, then qcow2) as libvirt does. cache.direct=on with the default
  # no-flush=off is cache=none; aio=io_uring needs it; detect-zeroes=unmap needs discard=unmap.
  disk =
    {
      node ? "disk0",
      file,
      diskSerial,
      direct,
      boot,
    }:
    let
      cache = lib.optionalString direct ",aio=io_uring,cache.direct=on";
      qcowCache = lib.optionalString direct ",cache.direct=on";
    in
    [
      "-blockdev"
      "driver=file,node-name=${node}-file,filename=${opt "image" file}${cache},discard=unmap"
      "-blockdev"
      "driver=qcow2,node-name=${node},file=${node}-file${qcowCache},discard=unmap,detect-zeroes=unmap"
      "-device"
      # bootindex replaces qemu-kvm's removed boot=on.
      "virtio-blk-pci,drive=${node},serial=${serial diskSerial}${lib.optionalString boot ",bootindex=1"}"
    ];

  rng = [
    "-object"
    "rng-random,id=rng0,filename=/dev/urandom"
    "-device"
    "virtio-rng-pci,rng=rng0"
  ];

  # -nodefaults removed the default VGA card, and VNC without one shows nothing.
  display =
    vnc:
    if vnc == null then
      [
        "-display"
        "none"
      ]
    else
      [
        "-display"
        "vnc=${opt "VNC address" vnc.address}:${toString vnc.display}"
        "-device"
        "VGA"
      ];

  # Each NIC a pre-created tap owned by the guest's user, with vhost-net and an explicit MAC:
  # QEMU's default MAC is the same in every process. The first is the guest's own tap and MAC;
  # the others follow it, after every other device, so that adding one never moves a slot. With
  # more than one CPU, a queue per CPU on a multi-queue tap and 2 × queues + 2 MSI-X vectors (a
  # pair per queue, configuration and control), as libvirt does.
  nic =
    g:
    let
      all = [ { inherit (g) tap mac; } ] ++ (g.extraNics or [ ]);
      multiqueue = g.cpus > 1;
      queues = lib.optionalString multiqueue ",queues=${toString g.cpus}";
      vectors = lib.optionalString multiqueue ",mq=on,vectors=${toString (2 * g.cpus + 2)}";
      one = i: n: [
        "-netdev"
        "tap,id=net${toString i},ifname=${opt "tap" n.tap},script=no,downscript=no,vhost=on${queues}"
        "-device"
        "virtio-net-pci,netdev=net${toString i},mac=${opt "MAC" n.mac}${vectors}"
      ];
    in
    builtins.concatLists (builtins.genList (i: one i (builtins.elemAt all i)) (builtins.length all));
  # Data disks (disks.nix), in name order: the root disk's settings, no boot index.
  dataDisks =
    g:
    builtins.concatLists (
      builtins.attrValues (
        builtins.mapAttrs (
          name: d:
          disk {
            node = "data-${name}";
            file = d.image;
            diskSerial = d.serial;
            direct = true;
            boot = false;
          }
        ) g.disks
      )
    );

  # Shares (shares.nix), in tag order. virtiofs: vhost-user to the share's virtiofsd, which maps
  # guest memory, so the guest's memory is a shared memfd (one NUMA node holding all of it).
  # 9p: QEMU serves the directory itself; security_model=none keeps files owned by the guest's
  # user on the host, multidevs=remap keeps inode numbers apart across host file systems.
  shares =
    g:
    let
      all = builtins.attrValues (builtins.mapAttrs (tag: s: s // { inherit tag; }) g.shares);
      virtiofs = builtins.filter (s: s.protocol == "virtiofs") all;
      share =
        s:
        if s.protocol == "virtiofs" then
          [
            "-chardev"
            "socket,id=fs-${opt "tag" s.tag},path=${opt "virtiofs socket" s.socket}"
            "-device"
            "vhost-user-fs-pci,chardev=fs-${s.tag},tag=${s.tag}"
          ]
        else
          [
            "-fsdev"
            "local,id=fs-${opt "tag" s.tag},path=${opt "share source" s.source},security_model=none,multidevs=remap${lib.optionalString s.readOnly ",readonly=on"}"
            "-device"
            "virtio-9p-pci,fsdev=fs-${s.tag},mount_tag=${s.tag}"
          ];
    in
    lib.optionals (virtiofs != [ ]) [
      "-object"
      "memory-backend-memfd,id=mem,size=${toString g.memoryMiB}M,share=on"
      "-numa"
      "node,memdev=mem"
    ]
    ++ builtins.concatLists (map share all);

  # OVMF as q35's two flash chips: its code read-only from the store, the guest's own variables
  # file writable. Repeated -machine options merge, so the machine line stays the same.
  firmware =
    g: vars:
    lib.optionals (g.firmware == "uefi") [
      "-blockdev"
      "driver=file,node-name=ovmf-code-file,filename=${opt "OVMF code" g.uefi.code},read-only=on"
      "-blockdev"
      "driver=raw,node-name=ovmf-code,file=ovmf-code-file,read-only=on"
      "-blockdev"
      "driver=file,node-name=ovmf-vars-file,filename=${opt "OVMF variables" vars}"
      "-blockdev"
      "driver=raw,node-name=ovmf-vars,file=ovmf-vars-file"
      "-machine"
      "pflash0=ovmf-code,pflash1=ovmf-vars"
    ];

  # The guest's swtpm, reached over its control socket; the guest sees a CRB TPM 2.0.
  tpm =
    g:
    lib.optionals g.tpm [
      "-chardev"
      "socket,id=tpm0-chr,path=${opt "TPM socket" g.tpmSocket}"
      "-tpmdev"
      "emulator,id=tpm0,chardev=tpm0-chr"
      "-device"
      "tpm-crb,tpmdev=tpm0"
    ];

  # Free page reporting hands the pages the guest frees back to the host.
  balloon =
    g:
    lib.optionals g.memoryBalloon [
      "-device"
      "virtio-balloon-pci,id=balloon0,free-page-reporting=on"
    ];
in
{
  # The guest's QEMU: its image, its QMP socket for the synchronous stop, its console socket and log.
  guest =
    g:
    machine { inherit (g) name cpus memoryMiB; }
    ++ [
      "-qmp"
      "unix:${opt "QMP socket" g.qmpSocket},server=on,wait=off"
    ]
    ++ consoleSocket {
      socket = g.consoleSocket;
      log = g.consoleLog;
    }
    ++ disk {
      file = g.image;
      inherit (g) diskSerial;
      direct = true;
      boot = true;
    }
    ++ rng
    ++ display g.vnc
    ++ nic g
    ++ firmware g g.uefi.vars
    ++ tpm g
    ++ balloon g
    # Last, so the devices above keep their PCI slots whatever is added: the passthrough hook,
    # then data disks and shares (found by serial and tag, so their own slots may move).
    ++ g.extraQemuArgs
    ++ dataDisks g
    ++ shares g;

  # The installer VM of a guest: the same machine with the installer's memory, the ISO booted
  # once (a reset never re-enters it; a reboot or panic ends QEMU), the image-in-progress and the
  # read-only seed drive (vvfat: a FAT16 disk with one partition, built from the directory).
  # q35's built-in AHCI controller (bus ide.0) is there even with -nodefaults.
  install =
    g:
    let
      work = opt "work directory" g.install.workDir;
    in
    machine {
      name = "${g.name}-install";
      inherit (g) cpus;
      inherit (g.install) memoryMiB;
    }
    ++ [
      "-no-reboot"
      "-boot"
      "once=d"
    ]
    ++ console g.install.log
    ++ [
      "-blockdev"
      "driver=file,node-name=installer-file,filename=${work}/installer.iso,read-only=on"
      "-blockdev"
      "driver=raw,node-name=installer,file=installer-file,read-only=on"
      "-device"
      # OVMF ignores -boot: it takes the boot order from bootindex.
      "ide-cd,drive=installer,bus=ide.0${lib.optionalString (g.firmware == "uefi") ",bootindex=0"}"
    ]
    ++ disk {
      file = "${work}/disk.qcow2";
      inherit (g) diskSerial;
      direct = false;
      boot = false;
    }
    ++ [
      "-blockdev"
      "driver=vvfat,node-name=seed,dir=${work}/seed,fat-type=16,label=VMFLAKESEED,read-only=on"
      "-device"
      "virtio-blk-pci,drive=seed,serial=vmflake-seed"
    ]
    ++ rng
    ++ display g.vnc
    ++ lib.optionals (!g.install.offline) (nic g)
    # The installer's own copy of the variables, which goes with its work directory.
    ++ firmware g "${work}/uefi-vars.fd"
    ++ balloon g;
}
