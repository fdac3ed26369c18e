/** `--name value`, `--name=value` and bare `--flag` (true); everything else is positional. */
export interface Args {
  positional: string[];
  flags: Map<string, string | true>;
  str(name: string, def: string): string;
  num(name: string, def: number): number;
  bool(name: string): boolean;
  list(name: string, def: string[]): string[];
}

export function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), true);
  }
  const str = (name: string, def: string) => {
    const v = flags.get(name);
    // A value that starts with `--` reads as the next flag: say so instead of silently using the default.
    if (v === true) throw new Error(`--${name} needs a value (--${name}=value when the value starts with --)`);
    return v ?? def;
  };
  return {
    positional,
    flags,
    str,
    num(name, def) {
      const v = flags.get(name);
      if (v === undefined) return def;
      const n = Number(v);
      if (typeof v !== 'string' || !Number.isFinite(n))
        throw new Error(`--${name}: expected a number, got '${String(v)}'`);
      return n;
    },
    bool: (name) => flags.has(name) && flags.get(name) !== 'false',
    list: (name, def) => {
      const v = flags.get(name);
      return typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : def;
    },
  };
}

/** `A=1,B=2` → { A: '1', B: '2' } (settings for a process); `what` names the option in the error. */
export function keyValues(spec: string, what: string): Record<string, string> {
  return Object.fromEntries(
    spec
      .split(',')
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf('=');
        if (i < 1) throw new Error(`${what}: expected NAME=value, got '${kv}'`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
  );
}
