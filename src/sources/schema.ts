import { z } from 'zod'
import { readSecretFile } from '../config-files.js'
import { OPERATIONAL_SOURCE } from '../event.js'

/** Schema of the SLUICE_CONFIG file (docs/sources.md). Secrets are resolved here. */
export function sourcesFileSchema(env: NodeJS.ProcessEnv) {
  const secretShape = 'a secret is a non-empty string or { "env": "NAME" } or { "file": "/path" }'
  const secretRef = z.union(
    [
      z.string().min(1, 'a secret must not be empty'),
      z.object({ env: z.string().min(1) }).strict(),
      // A file holding the secret (a Compose secret under /run/secrets, a systemd credential).
      z.object({ file: z.string().min(1) }).strict(),
    ],
    {
      error: secretShape,
    },
  )
  // A list of secrets allows rotation: any one of them verifies. Environment and file references
  // are resolved after the union, not inside it: a union reports only "invalid input" when every
  // branch fails, which would hide which variable is missing.
  const secrets = z
    .union([secretRef, z.array(secretRef).min(1, 'a list of secrets must not be empty')], {
      error: `${secretShape}, or a non-empty list of them`,
    })
    .transform((given, ctx) => {
      const list = Array.isArray(given) ? given : [given]
      const resolved: string[] = []
      for (const ref of list) {
        if (typeof ref === 'string') {
          resolved.push(ref)
          continue
        }
        if ('file' in ref) {
          const read = readSecretFile(ref.file)
          if ('error' in read || read.value === '') {
            const problem = 'error' in read ? read.error : `${ref.file} is empty`
            ctx.addIssue({ code: 'custom', message: `${problem} (named by a secret's "file")` })
            return z.NEVER
          }
          resolved.push(read.value)
          continue
        }
        const value = env[ref.env]
        if (!value) {
          ctx.addIssue({
            code: 'custom',
            message: `environment variable ${ref.env} is not set (named by a secret's "env")`,
          })
          return z.NEVER
        }
        resolved.push(value)
      }
      return resolved
    })

  const tolerance = z.number().int().positive().optional()
  const verify = z.discriminatedUnion('type', [
    z.object({ type: z.literal('github'), secret: secrets }),
    z.object({ type: z.literal('stripe'), secret: secrets, toleranceSeconds: tolerance }),
    z.object({ type: z.literal('shopify'), secret: secrets }),
    z.object({ type: z.literal('slack'), secret: secrets, toleranceSeconds: tolerance }),
    z.object({
      type: z.literal('standard-webhooks'),
      secret: secrets,
      toleranceSeconds: tolerance,
    }),
    z.object({
      type: z.literal('hmac'),
      header: z.string().min(1),
      algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
      encoding: z.enum(['hex', 'base64']).default('hex'),
      prefix: z.string().default(''),
      secret: secrets,
    }),
  ])
  const rateLimit = z.object({
    perSecond: z.number().positive(),
    burst: z.number().int().positive().optional(),
    /** Apply the limit per client address instead of per source. */
    perClient: z.boolean().default(false),
  })
  const source = z.object({ verify: verify.optional(), rateLimit: rateLimit.optional() }).strict()
  return z
    .object({
      sources: z.record(
        z.string().regex(/^[\w.-]{1,64}$/, 'source names are 1-64 of [A-Za-z0-9_.-]'),
        source,
      ),
    })
    .superRefine((file, ctx) => {
      // Its events are Sluice's own (src/db/operational-events.ts): none may be posted.
      if (!Object.hasOwn(file.sources, OPERATIONAL_SOURCE)) return
      ctx.addIssue({
        code: 'custom',
        path: ['sources', OPERATIONAL_SOURCE],
        message: `'${OPERATIONAL_SOURCE}' is the source of Sluice's own operational events; choose another name`,
      })
    })
}

export type SourcesFile = z.output<ReturnType<typeof sourcesFileSchema>>
export type SourceConfig = SourcesFile['sources'][string]
export type VerifyConfig = NonNullable<SourceConfig['verify']>
