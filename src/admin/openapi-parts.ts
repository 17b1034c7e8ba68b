/** Building blocks of the hand-written OpenAPI document (src/admin/openapi.ts). */
export const str = { type: 'string' }
export const int = { type: 'integer' }
export const iso = { type: 'string', format: 'date-time' }
export const nullable = (s: object) => ({ oneOf: [s, { type: 'null' }] })
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
export const json = (schema: object) => ({ content: { 'application/json': { schema } } })
export const error = (description: string) => ({ description, ...json(ref('Error')) })
export const q = (name: string, description: string, schema: object = str) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
})
export const limit = q('limit', 'page size, 1-1000', {
  ...int,
  minimum: 1,
  maximum: 1000,
  default: 100,
})
export const cursor = q('cursor', 'nextCursor of the previous page')
export const list = (item: string) => ({
  type: 'object',
  required: ['data', 'nextCursor'],
  properties: { data: { type: 'array', items: ref(item) }, nextCursor: nullable(str) },
})
export const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { ...str, format: 'uuid' },
}
export const authed = {
  security: [{ bearer: [] }],
}
export const common = {
  '400': error('invalid_request: a parameter or the body does not validate'),
  '401': error('unauthorized: no or wrong bearer token'),
  '503': error('pipeline_unavailable: the database is not up yet'),
}
