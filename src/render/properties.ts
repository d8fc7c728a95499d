// java.util.Properties text: what Alcor's Spring Boot services read.

function escape(s: string, isKey: boolean): string {
  let out = s
    .replaceAll('\\', '\\\\')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
  if (isKey) out = out.replace(/[=: #!]/g, (c) => `\\${c}`);
  else out = out.replace(/^[ #!]/, (c) => `\\${c}`);
  return out;
}

/** One `key=value` line per entry, in the order given (Properties: a later repeat of a key wins). */
export function toProperties(entries: [string, string | number | boolean][], header?: string): string {
  const lines = header ? header.split('\n').map((l) => `# ${l}`) : [];
  for (const [k, v] of entries) lines.push(`${escape(k, true)}=${escape(String(v), false)}`);
  return lines.join('\n') + '\n';
}
