import { chromium, type Browser, type Page } from 'playwright-core'

/**
 * Headless Chromium from Debian's `chromium` package (.ci/run installs it when missing), driven
 * by playwright-core, which brings no browser of its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

/** The text of the first element matching `selector`, trimmed ('' when there is none). */
export async function textOf(page: Page, selector: string): Promise<string> {
  const node = page.locator(selector).first()
  return (await node.count()) === 0 ? '' : ((await node.textContent()) ?? '').trim()
}

/** The first integer in an element's text, thousands separators allowed ("1,204 since start"). */
export async function numberOf(page: Page, selector: string): Promise<number | null> {
  const match = /\d[\d,]*/.exec(await textOf(page, selector))
  return match ? Number(match[0].replaceAll(',', '')) : null
}
