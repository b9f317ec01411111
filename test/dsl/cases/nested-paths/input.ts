import * as n from "../../../../dsl/index.ts";

// Attribute paths: `a.b.c = v;` stays one binding; long paths and quoted segments.
export default {
  body: n.attrs([
    n.bind(["services", "openssh", "enable"], true),
    n.bind(["services", "openssh", "settings"], { PasswordAuthentication: false }),
    n.bind(["boot", "loader", "grub", "devices"], ["/dev/sda"]),
    n.bind(
      ["a", "b", "c", "d", "e"],
      n.v(
        "someValueThatIsLongEnoughToMakeTheLineWrapAroundTheLimitOfOneHundredColumnsWhenPrintedInTheFile",
      ),
    ),
    n.bind(["systemd", "services", "qemu-guest-alice", "serviceConfig"], { User: "vm-alice" }),
    n.bind(["x86_64-linux", "default"], n.v("pkg")),
    n.bind(
      "short",
      n.v(
        "someValueThatIsLongEnoughToMakeTheLineWrapAroundTheLimitOfOneHundredColumnsWhenPrintedInTheFile",
      ),
    ),
  ]),
};
