/** A guest's machine firmware and the devices tied to it: UEFI or BIOS, a TPM, a memory balloon. */
import { boolean, describe } from "../fields.ts";
import type { Firmware } from "../model.ts";
import { type Problems, show } from "../problems.ts";

const FIRMWARES: readonly Firmware[] = ["bios", "uefi"];

/** What a guest's `firmware`, `tpm` and `memoryBalloon` resolve to. */
export interface GuestFirmware {
  readonly firmware: Firmware;
  readonly tpm: boolean;
  readonly memoryBalloon: boolean;
}

/**
 * The firmware fields of the guest at `path` (`hosts.<host>.guests.<guest>`), or undefined after
 * reporting every problem among them.
 */
export function guestFirmware(
  p: Problems,
  path: string,
  fields: { readonly firmware?: unknown; readonly tpm?: unknown; readonly memoryBalloon?: unknown },
): GuestFirmware | undefined {
  let firmware: Firmware | undefined = "bios";
  if (fields.firmware !== undefined) {
    firmware = FIRMWARES.find((f) => f === fields.firmware);
    if (firmware === undefined) {
      p.add(`${path}.firmware`, `must be "bios" or "uefi", got ${describe(fields.firmware)}`);
    }
  }
  const tpm = fields.tpm === undefined ? false : boolean(p, fields.tpm, `${path}.tpm`);
  if (tpm === true && firmware === "bios") {
    p.add(
      `${path}.tpm`,
      `a TPM needs firmware "uefi" (the guest's firmware is ${show(firmware)}); add firmware: "uefi" before the guest's first install`,
    );
  }
  const memoryBalloon =
    fields.memoryBalloon === undefined
      ? true
      : boolean(p, fields.memoryBalloon, `${path}.memoryBalloon`);
  if (firmware === undefined || tpm === undefined || memoryBalloon === undefined) return undefined;
  if (tpm && firmware !== "uefi") return undefined;
  return { firmware, tpm, memoryBalloon };
}
