import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import tls, { type SecureContext } from 'node:tls'

export const CA_FILE_VARIABLE = 'SLUICE_OUTBOUND_CA_FILE'

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/**
 * The certificates of a PEM bundle, read once at start-up, as PEM text (anything else in the
 * file, such as comments, is dropped). Throws an Error naming the variable: the file cannot be
 * read, holds no certificate, or one of them does not parse.
 */
export function readCaFile(path: string, variable = CA_FILE_VARIABLE): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code
    throw new Error(`${variable}: cannot read ${path} (${why ?? (err as Error).message})`, {
      cause: err,
    })
  }
  const blocks = text.match(PEM) ?? []
  if (blocks.length === 0) {
    throw new Error(
      `${variable}: ${path} holds no PEM certificate; expected one or more ` +
        `-----BEGIN CERTIFICATE----- blocks (a CA bundle)`,
    )
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block)
    } catch (err) {
      throw new Error(
        `${variable}: certificate ${i + 1} of ${path} does not parse (${(err as Error).message})`,
        { cause: err },
      )
    }
  })
  return blocks.join('\n')
}

/**
 * A TLS context that trusts Node's default roots and `pem` besides. Node's `ca` option replaces
 * the roots instead of adding to them, hence the explicit union. Built once: a context made per
 * connection would parse every root again each time.
 */
export function trustAlso(pem: string): SecureContext {
  return tls.createSecureContext({ ca: [...defaultRoots(), pem] })
}

/**
 * What Node trusts when given no `ca`: from Node 22.15 `getCACertificates('default')` says it
 * (bundled roots, NODE_EXTRA_CA_CERTS, the system store under --use-system-ca); before, the
 * bundled roots and NODE_EXTRA_CA_CERTS are read here (an unreadable one Node warned about
 * already at start-up, and trusted nothing from).
 */
function defaultRoots(): string[] {
  const node = tls as { getCACertificates?: (type: 'default') => string[] }
  if (node.getCACertificates) return node.getCACertificates('default')
  const extra = process.env.NODE_EXTRA_CA_CERTS
  let extraPem = ''
  try {
    extraPem = extra ? readFileSync(extra, 'utf8') : ''
  } catch {
    // As Node: the extra certificates are skipped.
  }
  return [...tls.rootCertificates, ...(extraPem.match(PEM) ?? [])]
}
