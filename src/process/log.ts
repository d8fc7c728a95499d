import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** The one logger factory: pino JSON on stdout, level from LOG_LEVEL. */
export function createLogger(name: string, level?: LevelWithSilent): Logger {
  const fromEnv = process.env['LOG_LEVEL'] as LevelWithSilent | undefined;
  return pino({ name, level: level ?? fromEnv ?? 'info', base: { pid: process.pid } });
}
