// Bad input: hosts empty.
export default { hosts: {} };
