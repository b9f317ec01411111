/**
 * Type-level tests of validation's field lists (lib/resolve/): each list is tied to its spec type
 * by `fieldList`, so a field added to a spec type but not to validation, or a validated field the
 * type does not have, fails to compile. Marked like define-hosts.types.ts: `[reason]` is a
 * fragment of the compiler's message.
 */
import { fieldList } from "../../lib/fields.ts";
import { GUEST_FIELDS } from "../../lib/resolve/guest.ts";
import { HOST_FIELDS } from "../../lib/resolve/host.ts";
import type { GuestSpec, HostSpec } from "../../lib/spec.ts";

/** A spec type that grew a field validation does not know yet. */
interface GuestSpecWithColour extends GuestSpec {
  readonly colour?: string;
}

/** The lists of lib/resolve/ are complete for today's types. */
export const guestFields = fieldList<GuestSpec>()(GUEST_FIELDS);
export const hostFields = fieldList<HostSpec>()(HOST_FIELDS);

// A field added to the spec type but not to validation. ["colour"]
// @ts-expect-error
fieldList<GuestSpecWithColour>()(GUEST_FIELDS);

// A list that forgot a field of the type. ["guests"]
// @ts-expect-error
fieldList<HostSpec>()(["system", "lan", "sshKeys", "stateDir", "offlineInstall", "stateVersion"]);

// A validated field the spec type does not have. [memroy]
// @ts-expect-error
fieldList<GuestSpec>()([...GUEST_FIELDS, "memroy"]);
