import { BlockList, SocketAddress, isIPv4 } from 'node:net'
import { parseCidr } from '../util/cidr.js'

/**
 * Who sent a request. Behind a reverse proxy the TCP peer is the proxy; when the peer is one of
 * SLUICE_TRUSTED_PROXIES, X-Forwarded-For is believed: the client is its right-most address that
 * is not itself a trusted proxy (each proxy appends the address it received from, so everything
 * left of the first untrusted hop could have been written by the client). Anyone else's
 * X-Forwarded-For is ignored, so a client cannot pick its own rate-limit bucket.
 */
export class ClientAddresses {
  private readonly trusted: BlockList | null

  /** `proxies`: IP addresses and CIDRs (validated by the config; throws TypeError otherwise). */
  constructor(proxies: readonly string[] = []) {
    if (proxies.length === 0) {
      this.trusted = null
      return
    }
    const list = new BlockList()
    for (const text of proxies) {
      const cidr = parseCidr(text)
      if (!cidr) throw new TypeError(`trusted proxy '${text}' is not an IP address or CIDR`)
      list.addSubnet(cidr.address, cidr.prefix, cidr.family)
    }
    this.trusted = list
  }

  /**
   * The client address of a request from TCP peer `peerText` (as uWS reports it: IPv6 written
   * out in full, IPv4 on a dual-stack socket mapped) with this X-Forwarded-For header (all its
   * values joined by commas), in the usual short form (`::1`, `10.0.0.1`).
   */
  resolve(peerText: string, forwardedFor: string | undefined): string {
    const peer = normalize(peerText)
    if (!this.trusted || forwardedFor === undefined || peer === null || !this.isTrusted(peer)) {
      return peer ?? peerText
    }
    let client = peer
    const hops = forwardedFor.split(',')
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(stripPort(hops[i]!.trim()))
      // Garbage in the header: what the last trusted hop says cannot be read, so it is the client.
      if (hop === null) return client
      client = hop
      if (!this.isTrusted(hop)) return hop
    }
    return client
  }

  private isTrusted(address: string): boolean {
    return this.trusted!.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')
  }
}

// The last IPv6 text normalised: parsing costs ~1 us, and consecutive requests mostly come from
// the same peer (keep-alive connections, a proxy in front).
let lastText = ''
let lastShort: string | null = null

/** `::ffff:10.0.0.1` and `0000:...:0001` as `10.0.0.1` and `::1`; null when it is no address. */
function normalize(text: string): string | null {
  if (isIPv4(text)) return text
  if (!text.includes(':')) return null
  if (text === lastText) return lastShort
  let short: string | null
  try {
    short = new SocketAddress({ address: text, family: 'ipv6' }).address
    const mapped = short.startsWith('::ffff:') ? short.slice(7) : null
    if (mapped !== null && isIPv4(mapped)) short = mapped
  } catch {
    short = null
  }
  lastText = text
  lastShort = short
  return short
}

/** `1.2.3.4:5678` and `[::1]:80` (some proxies add the port) as bare addresses. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop)
  if (bracketed) return bracketed[1]!
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop)
  return v4 ? v4[1]! : hop
}
