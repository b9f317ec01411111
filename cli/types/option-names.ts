/**
 * The option names of a walk, for the build's own did-you-mean (see `OptionNames` in
 * lib/nixos-config.ts): the same walk as the generated types, so both know the same names.
 */
import type { OptionNames } from "../../lib/index.ts";
import type { OptionSet, OptionType } from "./option-data.ts";

/** The names below an option of type `t`, or 1 when its value is not a set of options. */
function namesOfType(t: OptionType): OptionNames | 1 {
  switch (t.kind) {
    case "submodule": {
      const names: { [k: string]: OptionNames | 1 | string } = { ...optionNames(t.options) };
      if (t.freeform !== null) names["*"] = 1;
      return names;
    }
    case "attrs": {
      const entry = namesOfType(t.of);
      return entry === 1 ? 1 : { "<name>": entry };
    }
    case "nixos":
      // A whole system's options (a specialisation's `configuration`): not checked here.
      return { "*": 1 };
    default:
      return 1;
  }
}

/** Every name of `set`, recursively. */
export function optionNames(set: OptionSet): OptionNames {
  const out: { [k: string]: OptionNames | 1 | string } = {};
  for (const [k, e] of Object.entries(set)) {
    if (e.kind === "group") out[k] = optionNames(e.options);
    else if (e.kind === "renamed") out[k] = `=${e.to}`;
    else if (e.kind === "removed") out[k] = "!";
    else out[k] = namesOfType(e.type);
  }
  return out;
}
