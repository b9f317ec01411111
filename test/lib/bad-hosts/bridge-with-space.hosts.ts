// Bad input: bridge with space.
export default { hosts: { study: { lan: { nic: "eth0", bridge: "br 0" }, guests: {} } } };
