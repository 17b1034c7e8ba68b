import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { refuseExposedFile } from './private-file.js'

export const SECRET_KEY_FILE = 'secret-key'

/**
 * The key that encrypts subscription secrets at rest: SLUICE_SECRET_KEY (32 bytes, base64 or
 * hex) when set, else a random key created at first start in <dataDir>/secret-key (mode 0600).
 * Several nodes sharing one Postgres must share the key: set SLUICE_SECRET_KEY on all of them.
 */
export function loadSecretKey(
  configured: Buffer | undefined,
  dataDir: string,
): { key: Buffer; from: 'env' | 'file'; path?: string } {
  if (configured) return { key: configured, from: 'env' }
  const path = join(dataDir, SECRET_KEY_FILE)
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length === 32) {
      refuseSecretKeyExposed(path)
      return { key, from: 'file', path }
    }
    throw new Error(`${path} does not hold a 32-byte base64 key; restore it or remove it`)
  }
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32)
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  return { key, from: 'file', path }
}

/**
 * Deleting the key is no fix here (it would make every stored subscription secret unreadable),
 * so the message says to tighten the mode or move the key to SLUICE_SECRET_KEY.
 */
export function refuseSecretKeyExposed(path: string): void {
  refuseExposedFile(
    path,
    'key that encrypts subscription secrets',
    `chmod 600 ${path}; if others may have read it, rotate the subscriptions' secrets`,
  )
}

/** SLUICE_SECRET_KEY's value as 32 bytes, or null when it is neither 64 hex nor 32-byte base64. */
export function parseSecretKey(value: string): Buffer | null {
  if (/^[0-9a-f]{64}$/i.test(value)) return Buffer.from(value, 'hex')
  const b64 = Buffer.from(value, 'base64')
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && b64.length === 32 ? b64 : null
}

/** AES-256-GCM: 12-byte IV | 16-byte tag | ciphertext. A wrong key fails to open, loudly. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new TypeError('the secret key must be 32 bytes')
  }

  seal(plaintext: string): Buffer {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body])
  }

  open(sealed: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12))
    decipher.setAuthTag(sealed.subarray(12, 28))
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8')
  }
}
