import * as n from "../../../../dsl/index.ts";

// Dynamic attribute names: an expression as `${…}`, an interpolated string as `"…${…}…"`.
const name = n.v("name");
export default {
  body: n.attrs([
    n.bind([name], 1),
    n.bind([n.nix`qemu-guest-${name}`], 2),
    n.bind(["systemd", "services", n.nix`qemu-guest-${name}`, "enable"], true),
    n.bind([n.call(n.v("toString"), n.v("port"))], 3),
    n.bind(["select"], n.select(n.v("cfg"), name, n.nix`${name}-extra`)),
    n.bind(["has"], n.has(n.v("cfg"), name)),
  ]),
};
