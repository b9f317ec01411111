// Bad input: lan missing.
export default { hosts: { study: { guests: {} } } };
