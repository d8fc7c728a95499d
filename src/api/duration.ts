// Durations as Go and Kubernetes write them ("12h", "1h30m", "90s", "500ms"):
// the grammar CEL's duration() accepts, parsed once, with the unit in the
// name of each reader.

/** A Go / Kubernetes duration string; the pattern of the schemas' duration fields. */
export const durationPattern = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

const secondsPerUnit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** "1h30m" → 5400 (seconds, fractions kept); undefined when malformed. */
export function parseDurationSeconds(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * secondsPerUnit[m[2]!]!;
  return total;
}

/** "1h30m" → 5400000 (milliseconds, fractions kept); undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const seconds = parseDurationSeconds(text);
  return seconds === undefined ? undefined : seconds * 1000;
}
