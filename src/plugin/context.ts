// What every subcommand gets: its arguments and flags, the connection (made
// on first use), the output format, and a way to ask before a change.

import { createInterface } from 'node:readline/promises';
import { connect, PluginError, type ConnectOptions, type Connection } from './cluster.ts';
import { stdout, type OutputFormat, type Out } from './output.ts';

export type FlagValue = string | boolean | string[] | undefined;

export interface Ctx {
  /** Positional arguments after the subcommand. */
  args: string[];
  flags: Record<string, FlagValue>;
  output: OutputFormat;
  out: Out;
  conn(): Promise<Connection>;
  /** Lets the process end: closes the connection's keep-alive sockets, if one was made. */
  close(): Promise<void>;
  /** Asks on the terminal; --yes answers for it; without a terminal, refuses. */
  confirm(question: string): Promise<boolean>;
}

export function makeCtx(args: string[], flags: Record<string, FlagValue>, output: OutputFormat, connectOptions: ConnectOptions): Ctx {
  let connection: Promise<Connection> | undefined;
  return {
    args,
    flags,
    output,
    out: stdout,
    conn: () => (connection ??= connect(connectOptions)),
    async close() {
      const c = await connection?.catch(() => undefined);
      c?.client.close();
    },
    async confirm(question) {
      if (flags['yes'] === true) return true;
      if (!process.stdin.isTTY) throw new PluginError('refusing to change anything without confirmation: pass --yes (-y) when stdin is not a terminal');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N]: `)).trim());
      } finally {
        rl.close();
      }
    },
  };
}

/** A string flag's value (undefined when absent). */
export function str(ctx: Ctx, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A whole-number flag in [min, max], or its default. */
export function int(ctx: Ctx, name: string, fallback: number, min: number, max: number): number {
  const v = str(ctx, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PluginError(`--${name} must be a whole number ${max >= Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `in ${min}..${max}`}, got "${v}"`);
  }
  return n;
}

/** The one positional argument a subcommand takes. */
export function oneArg(ctx: Ctx, what: string): string {
  if (ctx.args.length !== 1) throw new PluginError(ctx.args.length === 0 ? `${what} is required` : `one ${what} only, got ${ctx.args.length}: ${ctx.args.join(' ')}`);
  return ctx.args[0] as string;
}
