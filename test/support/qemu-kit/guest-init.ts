/**
 * The `/init` of the kit's busybox guest and its power-button handler. Three flavours: `acpi` runs
 * busybox acpid, which powers the guest off on the ACPI power button; `deaf` loads the same
 * drivers but runs nothing that listens, like a guest that ignores the button; `shell` is `acpi`
 * with the virtio NIC's driver and a root shell on the serial console (the disk writer in the
 * background), for tests that type into the console.
 */

/** Which guest: one that honours the power button, one that ignores it, or one with a shell. */
export type KitFlavour = "acpi" | "deaf" | "shell";

/** Lines the guest prints on its serial console (the unit's serial log). */
export const kitMarkers = {
  /** Printed once the drivers are loaded and, in the acpi flavour, acpid listens. */
  ready: "VMFLAKE-KIT READY",
  /** Printed by the acpi flavour's handler just before it powers off. */
  powerButton: "VMFLAKE-KIT POWER BUTTON",
} as const;

/** busybox acpid runs `<confdir>/PWRF/00000080` on KEY_POWER (busybox acpid.c action table). */
export const powerButtonHandlerPath = "etc/acpi/PWRF/00000080";

/** The handler: say so on the console, flush the disk, power off (no init to signal). */
export const powerButtonHandler = `#!/bin/sh
echo "${kitMarkers.powerButton}" >/dev/console
sync
exec poweroff -f
`;

/** `/init` for `flavour`, loading `modules` (file names under /lib/modules, in load order). */
export function guestInit(flavour: KitFlavour, modules: readonly string[]): string {
  // acpid opens input devices only at start-up, so it starts after button and evdev are in;
  // without -f and an existing /var/log it exits silently (kit notes, pitfall 9).
  const listener =
    flavour === "deaf" ? "# no acpid" : "acpid -f -c /etc/acpi -l /var/log/acpid.log &";
  // The shell flavour writes in the background and keeps a shell on the console instead.
  const [writer, background, shell] =
    flavour === "shell" ? ["(", ") &", "while :; do sh; done"] : ["", "", ""];
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys /tmp /var/log
# devtmpfs before the console redirect: the archive holds no device nodes.
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in ${modules.join(" ")}; do insmod "/lib/modules/$m"; done
${listener}
echo "${kitMarkers.ready} ${flavour}"
# Keep the disk busy so that a stop always happens with guest writes in flight.
${writer}i=0
while :; do
  dd if=/dev/urandom of=/dev/vda bs=64k count=4 seek=$(( i % 256 * 4 )) conv=fsync 2>/dev/null
  i=$((i + 1))
  sleep 0.2
done${background}
${shell}
`;
}
