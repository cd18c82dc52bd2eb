/** The few command-line options the project's scripts share. */

export interface CommonArgs {
  stage: string | undefined;
  params: Record<string, string>;
  flags: Set<string>;
  values: Map<string, string>;
}

/** Parses `--stage NAME`, repeated `--param key=value`, `--name value` and bare `--flag`s. */
export function parseArgs(argv: readonly string[]): CommonArgs {
  const out: CommonArgs = { stage: undefined, params: {}, flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const next = argv[i + 1];
    const takesValue = inline !== undefined || (next !== undefined && !next.startsWith('--'));
    if (!takesValue) {
      out.flags.add(name);
      continue;
    }
    const value = inline ?? (argv[++i] as string);
    if (name === 'stage') out.stage = value;
    else if (name === 'param') {
      const eq = value.indexOf('=');
      if (eq < 1) throw new Error(`--param takes key=value, got "${value}"`);
      out.params[value.slice(0, eq)] = value.slice(eq + 1);
    } else out.values.set(name, value);
  }
  return out;
}
