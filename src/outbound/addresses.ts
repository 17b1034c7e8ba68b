import { isIPv4, isIPv6 } from 'node:net'

/**
 * IP addresses as bytes (4 for IPv4, 16 for IPv6), CIDR ranges, and the special-purpose ranges
 * (IANA IPv4 and IPv6 Special-Purpose Address Registries) that outbound delivery refuses.
 * Pure functions: no DNS, no sockets.
 */
export interface Ip {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
}

export interface Cidr {
  readonly ip: Ip
  readonly prefix: number
}

/** Why an address is refused. */
export type AddressRange =
  | 'unspecified'
  | 'this-network'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'

/** A dotted quad or an IPv6 address (brackets and a `%zone` allowed), as DNS answers them. */
export function parseIp(text: string): Ip | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (isIPv4(bare)) return { family: 4, bytes: Uint8Array.from(bare.split('.'), Number) }
  const unzoned = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare
  return isIPv6(unzoned) ? { family: 6, bytes: ipv6Bytes(unzoned) } : null
}

/**
 * A URL host as an address, or null for a name. IPv4 in every form WHATWG URL and inet_aton
 * accept (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, a trailing dot): a host that
 * skipped `new URL` must not reach getaddrinfo as a name that it then reads as a number.
 */
export function parseHostAddress(host: string): Ip | null {
  const ip = parseIp(host)
  if (ip) return ip
  const n = parseLooseIpv4(host)
  return n === null ? null : { family: 4, bytes: Uint8Array.of(n >>> 24, n >>> 16, n >>> 8, n) }
}

/** WHATWG URL's IPv4 parser: 1 to 4 parts, each decimal, 0x hex or 0-octal; the last fills. */
function parseLooseIpv4(host: string): number | null {
  const parts = host.split('.')
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop()
  if (parts.length > 4) return null
  const nums: number[] = []
  for (const part of parts) {
    let n: number
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16)
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8)
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part)
    else return null
    nums.push(n)
  }
  const last = nums.pop()!
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null
  return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), last)
}

/** Expands a valid IPv6 text (isIPv6 checked) to 16 bytes, dotted IPv4 tail included. */
function ipv6Bytes(text: string): Uint8Array {
  const groups = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)]
          const q = g.split('.').map(Number)
          return [(q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!]
        })
  const gap = text.indexOf('::')
  const head = groups(gap < 0 ? text : text.slice(0, gap))
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2))
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  })
  return bytes
}

/** Dotted quad, or RFC 5952 IPv6 (longest run of zero groups as `::`), as net.connect takes. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return ip.bytes.join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!)
  let [best, bestLen] = [-1, 1]
  for (let i = 0; i < 8; i++) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) [best, bestLen] = [i, j - i]
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (best < 0) return hex(groups)
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address; host bits are ignored. Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/')
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash))
  if (!ip || (ip.family === 6 && text.includes('%'))) return null
  const max = ip.family === 4 ? 32 : 128
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1)
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) return null
  return { ip, prefix: Number(prefixText) }
}

export function inCidr(ip: Ip, cidr: Cidr): boolean {
  if (ip.family !== cidr.ip.family) return false
  const full = cidr.prefix >> 3
  for (let i = 0; i < full; i++) if (ip.bytes[i] !== cidr.ip.bytes[i]) return false
  const rest = cidr.prefix & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (ip.bytes[full]! & mask) === (cidr.ip.bytes[full]! & mask)
}

const cidr = (text: string): Cidr => parseCidr(text)!
const v4At = (b: Uint8Array, at: number): Ip => ({ family: 4, bytes: b.slice(at, at + 4) })

/** IPv6 forms that carry an IPv4 the packets end up at, which is what is judged. */
const EMBEDDING: readonly [Cidr, number][] = [
  [cidr('::ffff:0:0/96'), 12], // IPv4-mapped
  [cidr('64:ff9b::/96'), 12], // NAT64 well-known prefix (RFC 6052)
  [cidr('2002::/16'), 2], // 6to4 (RFC 3056)
  [cidr('::/96'), 12], // IPv4-compatible (deprecated), after :: and ::1 were named
]

/** The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or IPv4-compatible IPv6 address. */
export function embeddedIpv4(ip: Ip): Ip | null {
  if (ip.family === 4) return null
  for (const [range, at] of EMBEDDING) if (inCidr(ip, range)) return v4At(ip.bytes, at)
  return null
}

// First match names the range, so the narrower entries come first.
const V4: readonly [Cidr, AddressRange][] = [
  [cidr('0.0.0.0/32'), 'unspecified'],
  [cidr('0.0.0.0/8'), 'this-network'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'shared'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'],
  [cidr('192.0.2.0/24'), 'documentation'],
  [cidr('192.88.99.0/24'), 'reserved'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation'],
  [cidr('203.0.113.0/24'), 'documentation'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('240.0.0.0/4'), 'reserved'],
]
const V6: readonly [Cidr, AddressRange][] = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('64:ff9b:1::/48'), 'private'], // local-use NAT64 (RFC 8215)
  [cidr('100::/64'), 'reserved'], // discard-only
  [cidr('2001::/23'), 'reserved'], // IETF assignments, Teredo included
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('3fff::/20'), 'documentation'],
  [cidr('5f00::/16'), 'reserved'], // SRv6 SIDs
  [cidr('fc00::/7'), 'private'], // unique local
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'private'], // site-local (deprecated)
  [cidr('ff00::/8'), 'multicast'],
]
/** The only IPv6 space allocated for global unicast; anything else is not a public host. */
const GLOBAL_UNICAST = cidr('2000::/3')

/** The special range `ip` is in (judging the embedded IPv4 of IPv6 forms), null when public. */
export function specialRange(ip: Ip): AddressRange | null {
  const table = ip.family === 4 ? V4 : V6
  const named = table.find(([range]) => inCidr(ip, range))
  if (named && ip.family === 4) return named[1]
  if (named && (named[1] === 'unspecified' || named[1] === 'loopback')) return named[1]
  const v4 = embeddedIpv4(ip)
  if (v4) return specialRange(v4)
  if (named) return named[1]
  return ip.family === 6 && !inCidr(ip, GLOBAL_UNICAST) ? 'reserved' : null
}
