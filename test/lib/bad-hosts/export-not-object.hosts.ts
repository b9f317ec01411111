// Bad input: export not object.
export default "hosts";
