// The package version, for `jit --version` and the SARIF tool record.
import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
