/** The host module's values for passthrough: the host's IOMMU choice, each guest's devices. */
import * as n from "../../dsl/index.ts";
import type { NixBinding } from "../../dsl/index.ts";
import type { ResolvedGuest, ResolvedHost } from "../model.ts";

/** `iommu`, when the description chose one (the runtime's default is `auto`). */
export function iommuBindings(host: ResolvedHost): NixBinding[] {
  if (host.iommu === undefined) return [];
  return [n.bind("iommu", host.iommu, { comment: "IOMMU kernel parameters for PCI passthrough." })];
}

/** A guest's `pci` and `usb`, when it has any. */
export function passthroughBindings(g: ResolvedGuest): NixBinding[] {
  const out: NixBinding[] = [];
  const pt = g.passthrough;
  if (pt === undefined) return out;
  if (pt.pci.length > 0) {
    out.push(
      n.bind("pci", [...pt.pci], {
        comment: `Bound to vfio-pci by vmflake-vfio-${g.name}.service before the guest starts.`,
      }),
    );
  }
  if (pt.usb.length > 0) {
    out.push(
      n.bind(
        "usb",
        pt.usb.map((d) => ({
          vendor: d.vendor,
          product: d.product,
          ...(d.bus === undefined ? {} : { bus: d.bus }),
          ...(d.port === undefined ? {} : { port: d.port }),
        })),
      ),
    );
  }
  return out;
}
