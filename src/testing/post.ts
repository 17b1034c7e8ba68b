import { request, type Agent } from 'node:http'

export interface PostResult {
  status: number
  body: string
  headers: Record<string, string | string[] | undefined>
}

/**
 * One POST (JSON unless `headers` say otherwise); rejects on connection errors, which is what a
 * sender sees while the engine is down.
 */
export function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  agent?: Agent,
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
