// Bad input: unknown top field.
export default { host: {} };
