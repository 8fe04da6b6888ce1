// parseCommand: the argument handling every `jit` command shares.
import { describe, expect, expectTypeOf, it } from "vitest";
import { parseCommand, unknownFormat } from "../../src/cli/args.ts";
import { captureIo } from "../../src/cli/io.ts";

const USAGE = "usage: jit demo [--name N]... [--format text|json] [PATH...]";

function demo(argv: string[], extra: { formats?: readonly ["text", "json"]; badFormat?: (given: string) => string; positionals?: boolean } = {}) {
  const io = captureIo();
  const result = parseCommand(argv, io, {
    command: "demo", usage: USAGE, positionals: extra.positionals ?? true, formats: extra.formats ?? ["text", "json"],
    ...(extra.badFormat ? { badFormat: extra.badFormat } : {}),
    options: { name: { type: "string", multiple: true }, dry: { type: "boolean" } },
  });
  return { result, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("parseCommand", () => {
  it("returns the typed values, positionals and the default (first) format", () => {
    const { result, out, err } = demo(["--name", "a", "x/y", "--name", "b", "--dry"]);
    if (typeof result === "number") throw new Error(`exit ${result}: ${err}`);
    expect(result.values).toMatchObject({ name: ["a", "b"], dry: true });
    expect(result.positionals).toEqual(["x/y"]);
    expect(result.format).toBe("text");
    expect(out + err).toBe("");
    expectTypeOf(result.values.name).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(result.values.dry).toEqualTypeOf<boolean | undefined>();
    expectTypeOf(result.format).toEqualTypeOf<"text" | "json">();
  });

  it("accepts each allowed --format", () => {
    const { result } = demo(["--format", "json"]);
    expect(typeof result !== "number" && result.format).toBe("json");
  });

  it("a usage error exits 2 with `jit <command>: <message>` and the usage on stderr", () => {
    const { result, out, err } = demo(["--nope"]);
    expect(result).toBe(2);
    expect(out).toBe("");
    expect(err).toBe(`jit demo: Unknown option '--nope'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--nope"\n${USAGE}`);
  });

  it("positional arguments are a usage error unless the command takes them", () => {
    const { result, err } = demo(["x"], { positionals: false });
    expect(result).toBe(2);
    expect(err).toBe(`jit demo: Unexpected argument 'x'. This command does not take positional arguments\n${USAGE}`);
  });

  it("--help and -h print the usage on stdout and exit 0, even with a bad --format", () => {
    for (const argv of [["--help"], ["-h"], ["--format", "yaml", "--help"]]) {
      const { result, out, err } = demo(argv);
      expect(result).toBe(0);
      expect(out).toBe(USAGE);
      expect(err).toBe("");
    }
  });

  it("a parse error wins over --help", () => {
    expect(demo(["--help", "--nope"]).result).toBe(2);
  });

  it("a bad --format exits 2 with `--format must be …` by default", () => {
    for (const given of ["yaml", ""]) {
      const { result, out, err } = demo(["--format", given]);
      expect(result).toBe(2);
      expect(out).toBe("");
      expect(err).toBe(`jit demo: --format must be text or json\n${USAGE}`);
    }
  });

  it("a bad --format uses the command's wording when it gives one", () => {
    const { result, err } = demo(["--format", "yaml"], { badFormat: unknownFormat });
    expect(result).toBe(2);
    expect(err).toBe(`jit demo: unknown format "yaml"\n${USAGE}`);
  });

  it("without formats, --format is an unknown option and the result has no format", () => {
    const io = captureIo();
    expect(parseCommand(["--format", "json"], io, { command: "bare", usage: "usage: jit bare", options: {} })).toBe(2);
    expect(io.stderr[0]).toMatch(/^jit bare: Unknown option '--format'/);
    const ok = parseCommand([], captureIo(), { command: "bare", usage: "usage: jit bare", options: {} });
    if (typeof ok === "number") throw new Error(`exit ${ok}`);
    expect("format" in ok).toBe(false);
  });

  it("usageError prints like a parse error and returns 2, for a command's own checks", () => {
    const io = captureIo();
    const result = parseCommand(["a"], io, { command: "demo", usage: USAGE, positionals: true, options: {} });
    if (typeof result === "number") throw new Error(`exit ${result}`);
    expect(result.usageError("name at least two PATHs")).toBe(2);
    expect(io.stderr).toEqual(["jit demo: name at least two PATHs", USAGE]);
    expect(io.stdout).toEqual([]);
  });
});
