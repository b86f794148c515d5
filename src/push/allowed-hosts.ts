/**
 * Which hosts a push endpoint may name: the browsers' push services, nothing else.
 * The Worker POSTs to a stored endpoint whenever its user is offline, so an endpoint
 * anywhere else would make the Worker a request proxy aimed at whatever host a client
 * chose (an internal service, a cloud metadata address, a victim's server).
 *
 * `PUSH_ALLOWED_HOSTS` is a comma-separated list. A plain entry matches that host
 * exactly; `*.example.com` matches every host under example.com but not example.com
 * itself. Exact entries are used where the parent domain also serves content that
 * others control (googleapis.com hosts Cloud Storage buckets, for one); a wildcard only
 * where the push service's hosts vary and the whole domain is the push service's.
 */
export const DEFAULT_PUSH_ALLOWED_HOSTS = [
  // Chrome, Chromium browsers other than Edge (Opera, Samsung Internet, Brave), Android.
  "fcm.googleapis.com",
  // Firefox (autopush); the second is the service's own name, which older endpoints use.
  "updates.push.services.mozilla.com",
  "push.services.mozilla.com",
  // Safari on macOS 13+ and iOS 16.4+ (web.push.apple.com today); Apple asks servers
  // that restrict endpoints to allow all of *.push.apple.com.
  "*.push.apple.com",
  // Edge (Windows Push Notification Services): regional hosts such as wns2-par02p.notify.windows.com.
  "*.notify.windows.com",
].join(",");

export type HostRule = { exact: string } | { under: string };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** An IPv4 or IPv6 literal as `URL.hostname` gives it (the parser already turned 0x7f.1 or 2130706433 into dotted form). */
export function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith("[") || /^[\d.]+$/.test(hostname);
}

/** Parses the list; throws on an entry that is not a host name, an IP literal, or a wildcard over a top-level domain. */
export function parseAllowedHosts(list: string): HostRule[] {
  return list
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)
    .map((entry) => {
      const wildcard = entry.startsWith("*.");
      const host = wildcard ? entry.slice(2) : entry;
      if (!HOSTNAME.test(host)) throw new Error(`PUSH_ALLOWED_HOSTS: "${entry}" is not a host name`);
      if (wildcard && !host.includes("."))
        throw new Error(`PUSH_ALLOWED_HOSTS: "${entry}" covers a whole top-level domain`);
      return wildcard ? { under: host } : { exact: host };
    });
}

export function hostAllowed(rules: readonly HostRule[], hostname: string): boolean {
  if (isIpLiteral(hostname)) return false;
  return rules.some((rule) => ("exact" in rule ? hostname === rule.exact : hostname.endsWith(`.${rule.under}`)));
}
