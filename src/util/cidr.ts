import { isIP } from 'node:net'

export interface Cidr {
  /** The network address as given (without the prefix). */
  address: string
  /** Prefix length; a single address is /32 (IPv4) or /128 (IPv6). */
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/** `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `::1` as a Cidr; null when it is none of these. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  const version = isIP(address)
  if (version === 0) return null
  const max = version === 4 ? 32 : 128
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' }
}
