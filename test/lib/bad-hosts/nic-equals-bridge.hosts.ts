// Bad input: nic equals bridge.
export default { hosts: { study: { lan: { nic: "br0", bridge: "br0" }, guests: {} } } };
