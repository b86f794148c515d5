/**
 * The key a client address is rate-limited under. An IPv4 address is one client. An
 * IPv6 client usually holds a whole /64 (SLAAC, privacy addresses, any host on a
 * home or cloud network picks from its /64 at will), so keying on the full address would
 * give each of its 2^64 addresses a fresh burst: IPv6 is keyed by its /64.
 *
 * Accepts every textual form: compressed (`2001:db8::1`), uppercase, leading zeros,
 * an embedded IPv4 tail (`64:ff9b::192.0.2.1`), a zone id (`fe80::1%eth0`), brackets.
 * An IPv4-mapped address (`::ffff:192.0.2.1`) is that IPv4 address. Anything that is not
 * an address is keyed as it is, so a malformed header cannot dodge the limit (Cloudflare
 * always sends a well-formed one; only direct calls to the Worker can send another).
 */
export function addressKey(raw: string): string {
  const text = raw.trim();
  const v4 = parseIPv4(text);
  if (v4) return `v4:${v4.join(".")}`;
  const v6 = parseIPv6(text);
  if (!v6) return `raw:${text.slice(0, 64).toLowerCase()}`;
  const isMapped = v6.slice(0, 5).every((h) => h === 0) && v6[5] === 0xffff;
  if (isMapped) return `v4:${[v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff].join(".")}`;
  return `v6:${v6
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(":")}::/64`;
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function parseIPv6(input: string): number[] | null {
  let s = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return null;

  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = `${s.slice(0, lastColon + 1)}0`; // a placeholder group, replaced by the two below
  }

  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const parsed = [...head, ...rest].map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : Number.NaN));
  if (parsed.some(Number.isNaN)) return null;
  const present = parsed.length - (tail.length > 0 ? 1 : 0) + tail.length;
  if (halves.length === 1 ? present !== 8 : present > 7) return null;

  const headNums = parsed.slice(0, head.length);
  const restNums = parsed.slice(head.length);
  const all =
    halves.length === 2
      ? [...headNums, ...Array<number>(8 - present).fill(0), ...restNums]
      : [...headNums, ...restNums];
  if (tail.length > 0) all.splice(all.length - 1, 1, ...tail);
  return all;
}
