import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'

export interface TestCa {
  /** The CA certificate's PEM file (what SLUICE_OUTBOUND_CA_FILE names). */
  readonly caFile: string
  readonly dir: string
  /** A server certificate and key for `name` (subjectAltName DNS, or IP for an address). */
  serverCert(name: string): { cert: string; key: string }
  remove(): void
}

/**
 * A throwaway CA made with the openssl CLI in a temporary directory, independent of Node's TLS
 * code that the tests check. EC P-256 keys: quick to make on a loaded machine.
 */
export function testCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ca-'))
  const at = (file: string) => join(dir, file)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const key = (file: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at(file))
  key('ca.key')
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    at('ca.key'),
    '-days',
    '2',
    '-subj',
    '/CN=Sluice test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-out',
    at('ca.pem'),
  )
  let serial = 1
  return {
    caFile: at('ca.pem'),
    dir,
    serverCert(name) {
      const base = `${name}-${serial++}`
      key(`${base}.key`)
      openssl(
        'req',
        '-new',
        '-key',
        at(`${base}.key`),
        '-subj',
        `/CN=${name}`,
        '-out',
        at(`${base}.csr`),
      )
      writeFileSync(
        at(`${base}.ext`),
        `subjectAltName=${isIP(name) ? 'IP' : 'DNS'}:${name}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
      )
      openssl(
        'x509',
        '-req',
        '-in',
        at(`${base}.csr`),
        '-CA',
        at('ca.pem'),
        '-CAkey',
        at('ca.key'),
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-extfile',
        at(`${base}.ext`),
        '-out',
        at(`${base}.pem`),
      )
      return {
        cert: readFileSync(at(`${base}.pem`), 'utf8'),
        key: readFileSync(at(`${base}.key`), 'utf8'),
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
