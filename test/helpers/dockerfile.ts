import { readFileSync } from 'node:fs'

/** One Dockerfile instruction: its keyword (upper case), flags (`--from=build`) and arguments. */
export interface Instruction {
  keyword: string
  flags: Record<string, string>
  /** The text after the keyword and its flags, continuation lines joined. */
  text: string
  /** The exec (JSON array) form when the text is one, else null. */
  exec: string[] | null
}

export interface Stage {
  name: string | null
  from: string
  instructions: Instruction[]
}

/**
 * Parse a Dockerfile into stages, enough to check what it says without a Docker engine:
 * comments and `\` continuations as BuildKit reads them, leading `--flag=value` options, and
 * the JSON exec form. Instructions before the first FROM (ARG) go to a stage named `global`.
 */
export function parseDockerfile(path: string): Stage[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const logical: string[] = []
  let current = ''
  for (const raw of lines) {
    if (/^\s*#/.test(raw)) continue // comments, also between continuation lines
    const line = raw.replace(/\s+$/, '')
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' '
      continue
    }
    current += line
    if (current.trim()) logical.push(current.trim())
    current = ''
  }
  if (current.trim()) logical.push(current.trim())

  const stages: Stage[] = [{ name: 'global', from: '', instructions: [] }]
  for (const entry of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/s.exec(entry) ?? []
    const flags: Record<string, string> = {}
    let text = rest
    for (
      let m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(text);
      m;
      m = /^--([\w-]+)(?:=(\S*))?\s*/.exec(text)
    ) {
      flags[m[1]!] = m[2] ?? 'true'
      text = text.slice(m[0].length)
    }
    const upper = keyword.toUpperCase()
    const instruction: Instruction = { keyword: upper, flags, text, exec: execForm(text) }
    if (upper === 'FROM') {
      const [, image = '', name = null] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(text) ?? []
      stages.push({ name, from: image, instructions: [] })
    }
    stages[stages.length - 1]!.instructions.push(instruction)
  }
  return stages
}

function execForm(text: string): string[] | null {
  if (!text.startsWith('[')) return null
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null
  } catch {
    return null
  }
}

/** The last instruction of a keyword in a stage (Docker applies the last CMD, USER, ...). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1)
}

/** `KEY=value` pairs of every ENV in a stage (quotes removed; the old `ENV KEY value` too). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    const pairs = [...i.text.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)]
    if (pairs.length === 0) {
      const [, key = '', value = ''] = /^(\S+)\s+(.*)$/.exec(i.text) ?? []
      env[key] = value
    }
    for (const [, key = '', value = ''] of pairs) env[key] = value.replace(/^"(.*)"$/, '$1')
  }
  return env
}
