// Reading what a client sent, safely: the path of its URL, its text clipped
// for an error message, and whether its JSON nests too deep to parse.

/** The path of a request URL, without the query. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** The query of a request URL (never throws: `new URL(target, base)` does on a target such as `//@@/x`). */
export function queryOf(url: string | undefined): URLSearchParams {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : u.slice(q + 1));
}

/**
 * The request target on another server (a forward to a peer). Not
 * `new URL(target, base)`: a target such as `//macs/aa:bb:cc:00:00:01` is a
 * network-path reference and would name the host `macs`, not the peer.
 */
export function onServer(base: string, target: string | undefined): URL {
  const url = new URL(base);
  url.pathname = pathOf(target);
  url.search = queryOf(target).toString();
  return url;
}

/** A client's text cut to `max` characters for an error message or a log line, so an answer never echoes a huge input. */
export function clip(text: string, max = 256): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

/**
 * How deep JSON a body may nest. Our APIs' bodies nest 3 levels; parsing
 * 200,000 levels of [[[...]]] (400 KB, within any body limit) allocates tens
 * of MiB, and a server's memory would keep the high-water mark.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON (or JSON lines) in `body` nests deeper than `max`: one pass
 * over the bytes, brackets inside strings not counted. Run before JSON.parse.
 */
export function jsonTooDeep(body: Buffer, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
