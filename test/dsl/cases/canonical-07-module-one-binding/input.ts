import * as n from "../../../../dsl/index.ts";

export default {
  body: n.module(["pkgs"], n.attrs([n.bind(["boot", "kernelModules"], ["tun"])])),
};
