// What every `jit` command does with its arguments: strict parsing, -h/--help, --format, and the
// usage-error convention (`jit <command>: <why>`, then the usage, exit status 2).
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { CliIo } from "./io.ts";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** `help` and `format` are added by parseCommand; a command may not declare them itself. */
type CommandOptions = OptionsConfig & { help?: never; format?: never };

export interface CommandSpec<O extends CommandOptions, F extends string> {
  /** As in `jit <command>`; prefixes every usage error. */
  command: string;
  usage: string;
  options: O;
  /** Whether the command takes positional arguments (default: it does not). */
  positionals?: boolean;
  /** Allowed --format values, the first being the default. Without it, --format is an unknown option. */
  formats?: readonly [F, ...F[]];
  /** The usage error for a --format value not in `formats` (default: `--format must be text or json`). */
  badFormat?: (given: string) => string;
}

/** The parsed option values of `O`, typed as node:util parseArgs types them. */
export type OptionValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true }>>["values"];

export interface ParsedCommand<O extends OptionsConfig> {
  values: OptionValues<O>;
  positionals: string[];
  /** Prints `jit <command>: <message>` and the usage; returns the exit status for it. */
  usageError(message: string): 2;
}

/** The --format value, present when the spec names formats. */
export type CommandArgs<O extends OptionsConfig, F extends string> = ParsedCommand<O> & ([F] extends [never] ? unknown : { format: F });

/** validate's and owners' wording for a bad --format. */
export const unknownFormat = (given: string): string => `unknown format "${given}"`;

const orList = (items: readonly string[]): string => (items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`);

/**
 * Parses a command's argv. Returns the parsed arguments, or the exit status after printing:
 * 0 for --help (usage on stdout), 2 for a usage error (message and usage on stderr).
 */
export function parseCommand<const O extends CommandOptions, const F extends string = never>(
  argv: string[],
  io: CliIo,
  spec: CommandSpec<O, F>,
): CommandArgs<O, F> | number {
  const usageError = (message: string): 2 => {
    io.err(`jit ${spec.command}: ${message}`);
    io.err(spec.usage);
    return 2;
  };
  const options: OptionsConfig = { ...spec.options, help: { type: "boolean", short: "h" } };
  if (spec.formats) options.format = { type: "string" };
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.positionals ?? false }));
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.help) {
    io.out(spec.usage);
    return 0;
  }
  // parseArgs checked every value against `options`, which are spec.options plus help and format.
  const parsed: ParsedCommand<O> = { values: values as OptionValues<O>, positionals, usageError };
  const { formats } = spec;
  if (!formats) return parsed as CommandArgs<O, F>;
  const given = values.format as string | undefined;
  const wanted = given ?? formats[0];
  const format = formats.find((f) => f === wanted);
  if (format === undefined) return usageError(spec.badFormat ? spec.badFormat(wanted) : `--format must be ${orList(formats)}`);
  return { ...parsed, format } as CommandArgs<O, F>;
}
