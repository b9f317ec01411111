// Bad input: host name invalid.
export default { hosts: { "Study Room": { lan: { nic: "eth0", bridge: "br0" }, guests: {} } } };
