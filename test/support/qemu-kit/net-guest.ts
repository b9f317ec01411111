/**
 * The kit's network guest: the kit's kernel and busybox with the virtio-net driver and an `/init`
 * that brings up its NICs and reports, on the serial console, what the network gave it and whom
 * it reaches. What it does comes from its kernel command line, so one cached initramfs serves
 * every guest of a test:
 *
 * - `vmflake.dhcp=eth0,…`: DHCP on each (busybox udhcpc), printing
 *   `VMFLAKE-NET LEASE <if> <ip> router=<router> dns=<dns>`;
 * - `vmflake.static=eth1:10.78.0.11/24,…`: a fixed address; `vmflake.gw=<ip>`: a default route;
 * - `vmflake.reach=<ip>,…`: ping each until it answers (up to about a minute), printing
 *   `VMFLAKE-NET PING <ip> OK` or `FAIL`; `vmflake.unreach=<ip>,…` then pings each a few times
 *   (all the others are reached by then, so a silence is the network's, not a slow peer's);
 * - `vmflake.resolve=<name>,…`: `nslookup` at the DHCP server, printing
 *   `VMFLAKE-NET DNS <name> <ip>` (or `FAIL`).
 *
 * Before all that it prints `VMFLAKE-NET NIC <if> <mac>` for each NIC, and at the end
 * `VMFLAKE-NET DONE`, then stays up (answering pings) until QEMU is stopped.
 */
import { basename, join } from "node:path";
import { readFileSync } from "node:fs";
import { kitCacheDir, storeByContent } from "./content-hash.ts";
import { moduleLoadOrder, staticBusybox } from "./guest.ts";
import { kitKernel } from "./kernel.ts";
import { newcArchive, S_IFDIR, S_IFREG, type CpioEntry } from "./newc-archive.ts";

/** The prefix of every line the guest prints for the test. */
export const NET_MARK = "VMFLAKE-NET";

const modules = ["virtio_pci", "virtio_net"];

/** udhcpc's event script: configure the lease and print it. */
const dhcpScript = `#!/bin/sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "$subnet" up
    for r in $router; do route add default gw "$r" dev "$interface"; break; done
    for d in $dns; do echo "nameserver $d" >/etc/resolv.conf; break; done
    echo "${NET_MARK} LEASE $interface $ip router=$router dns=$dns" >/dev/console
    ;;
esac
exit 0
`;

function init(moduleFiles: readonly string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys /tmp /etc /var/run
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in ${moduleFiles.join(" ")}; do insmod "/lib/modules/$m"; done
ip link set lo up
arg() { for w in $(cat /proc/cmdline); do case "$w" in "vmflake.$1="*) echo "\${w#*=}" | tr , ' ';; esac; done; }
for i in /sys/class/net/eth*; do
  n=\${i##*/}
  echo "${NET_MARK} NIC $n $(cat "$i/address")"
  ip link set "$n" up
done
for s in $(arg static); do
  ip addr add "\${s#*:}" dev "\${s%%:*}"
done
gw=$(arg gw)
if [ -n "$gw" ]; then ip route add default via "$gw"; fi
for n in $(arg dhcp); do
  udhcpc -i "$n" -q -n -t 30 -T 2 -s /bin/dhcp-event >/dev/null 2>&1 || echo "${NET_MARK} LEASE $n FAIL"
done
for t in $(arg reach); do
  i=0
  until ping -c 1 -W 1 "$t" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then break; fi
  done
  if [ "$i" -lt 60 ]; then echo "${NET_MARK} PING $t OK"; else echo "${NET_MARK} PING $t FAIL"; fi
done
for t in $(arg unreach); do
  if ping -c 3 -W 1 "$t" >/dev/null 2>&1; then echo "${NET_MARK} PING $t OK"; else echo "${NET_MARK} PING $t FAIL"; fi
done
for name in $(arg resolve); do
  a=$(nslookup "$name" 2>/dev/null | sed -n 's/^Address:* *\\([0-9.]*\\)$/\\1/p' | tail -n 1)
  echo "${NET_MARK} DNS $name \${a:-FAIL}"
done
echo "${NET_MARK} DONE"
while :; do sleep 60; done
`;
}

/** `-kernel/-initrd/-append` (and `-no-reboot`) booting the network guest with `params`. */
export function netGuestBootArgs(params: Readonly<Record<string, readonly string[]>>): string[] {
  const cache = kitCacheDir();
  const kernel = kitKernel(cache);
  const order = moduleLoadOrder(kernel.modulesDir, modules);
  const entries: CpioEntry[] = [
    ...["bin", "dev", "etc", "lib", "lib/modules", "proc", "sys"].map((path) => ({
      path,
      mode: S_IFDIR | 0o755,
    })),
    { path: "bin/busybox", mode: S_IFREG | 0o755, data: staticBusybox() },
    { path: "bin/dhcp-event", mode: S_IFREG | 0o755, data: Buffer.from(dhcpScript) },
    ...order.map((m) => ({
      path: `lib/modules/${basename(m)}`,
      mode: S_IFREG | 0o644,
      data: readFileSync(join(kernel.modulesDir, m)),
    })),
    {
      path: "init",
      mode: S_IFREG | 0o755,
      data: Buffer.from(init(order.map((m) => basename(m)))),
    },
  ];
  const initrd = storeByContent(cache, "initrd-net", ".cpio", newcArchive(entries));
  const words = Object.entries(params)
    .filter(([, v]) => v.length > 0)
    .map(([k, v]) => `vmflake.${k}=${v.join(",")}`);
  // no_timer_check: a loaded machine makes TCG slow enough for the kernel's IO-APIC timer check
  // to fail (a panic at boot, seen with several guests at once on two cores).
  const append = ["console=ttyS0", "panic=-1", "quiet", "no_timer_check", ...words].join(" ");
  return ["-kernel", kernel.image, "-initrd", initrd, "-append", append, "-no-reboot"];
}

/** The guest's report lines (without the mark) from its console text. */
export function netReport(console: string): string[] {
  return console
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => l.startsWith(`${NET_MARK} `))
    .map((l) => l.slice(NET_MARK.length + 1));
}
