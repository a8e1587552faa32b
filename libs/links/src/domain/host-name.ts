/**
 * The form in which two host names are compared: what the WHATWG URL parser
 * makes of the host (lower case, IDN labels as A-labels per UTS #46, IPv4 in
 * dotted decimal, IPv6 compressed in brackets), without a port and without
 * trailing dots (`example.com.` is the fully qualified `example.com`).
 *
 * Accepts a bare host (`Bücher.Example`), a host with a port
 * (`short.example:443`), or an IPv6 address with or without brackets. Input
 * the parser refuses, or that holds a URL delimiter (`/?#@\`) and so is not
 * a host, is compared as its lower-cased self, minus trailing dots.
 *
 * @param host a host name or IP address
 * @returns the canonical host, e.g. `xn--bcher-kva.example`, `[::1]`
 */
export function canonicalHost(host: string): string {
  const trimmed = host.trim();
  const bareIpv6 = !trimmed.startsWith('[') && trimmed.indexOf(':') !== trimmed.lastIndexOf(':');
  let hostname = trimmed.toLowerCase();
  // Parsing `http://a@b/` would yield `b`: only what can be a host is parsed.
  if (!/[/?#@\\]/.test(trimmed)) {
    try {
      hostname = new URL(`http://${bareIpv6 ? `[${trimmed}]` : trimmed}/`).hostname;
    } catch {
      // Not a valid host: compared as written.
    }
  }
  return stripTrailingDots(hostname);
}

/**
 * Whether a host is on a blocklist: equal to an entry or a subdomain of one
 * (`evil.example` blocks `evil.example` and `a.b.evil.example`, not
 * `notevil.example`; `*.evil.example` means the same). IP addresses match
 * their exact entry only. Both sides are compared in {@link canonicalHost}
 * form, so case, ports, IDNA and trailing dots do not matter.
 *
 * @param host a host name or IP address, e.g. `URL.hostname`
 * @param blockedHosts the blocklist; read once per array (treat it as immutable)
 */
export function isHostBlocked(host: string, blockedHosts: readonly string[]): boolean {
  const blocked = canonicalSet(blockedHosts);
  if (blocked.size === 0) return false;
  let candidate = canonicalHost(host);
  if (isIpLiteral(candidate)) return blocked.has(candidate);
  for (;;) {
    if (blocked.has(candidate)) return true;
    const dot = candidate.indexOf('.');
    if (dot < 0) return false;
    candidate = candidate.slice(dot + 1);
  }
}

/**
 * Whether a host is exactly one of the given hosts (no subdomains), compared
 * in {@link canonicalHost} form.
 *
 * @param host a host name or IP address, e.g. `URL.hostname`
 * @param hosts the hosts to match; read once per array (treat it as immutable)
 */
export function isOneOfHosts(host: string, hosts: readonly string[]): boolean {
  return canonicalSet(hosts).has(canonicalHost(host));
}

// Policies are built once from configuration and consulted on every create,
// and a blocklist may be long, so each list is canonicalised once.
const canonicalSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function canonicalSet(hosts: readonly string[]): ReadonlySet<string> {
  let set = canonicalSets.get(hosts);
  if (set === undefined) {
    // `*.evil.example` is a common way to write a blocklist entry; the bare
    // domain already covers its subdomains, and `*` would never match.
    set = new Set(hosts.map((h) => canonicalHost(h.trim().replace(/^\*\./, ''))).filter((h) => h.length > 0));
    canonicalSets.set(hosts, set);
  }
  return set;
}

function stripTrailingDots(host: string): string {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 0x2e) end--;
  return host.slice(0, end);
}

// The WHATWG parser reads a host whose last label is numeric as IPv4 (and
// refuses it if it is not a valid address), so no domain name ends that way.
function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /(?:^|\.)\d+$/.test(host);
}
