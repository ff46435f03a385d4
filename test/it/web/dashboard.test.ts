import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { CheckpointingStatistics, JobList } from '../../../src/web/index.ts'
import { DEFAULT_DASHBOARD_DIR } from '../../../src/web/index.ts'
import { eventually } from './helpers.ts'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ARTIFACTS = 'test-artifacts'

/** The dashboard is built by `npm test` (pretest); running this file alone builds it when missing. */
function ensureDashboardBuilt(): void {
  if (existsSync(join(DEFAULT_DASHBOARD_DIR, 'index.html'))) return
  const built = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'], { stdio: 'inherit' })
  assert.equal(built.status, 0, 'vite build of the dashboard')
}

/** `weir run examples/live-clicks.ts --web --port 0`, as a user would start it; resolves with the dashboard's address. */
function startCli(): { child: ChildProcess; url: Promise<string>; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  // 2000 clicks/s at 300 µs each keeps the single enrich subtask busy: live figures, some back pressure.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', 'examples/live-clicks.ts', '--web', '--port', '0', '--no-progress', '--', '2000', '300'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Web dashboard: (http:\/\/\S+?)\/?\s/.exec(out)
      if (m) resolve(m[1])
    })
    void exit.then((code) => reject(new Error(`weir run exited with ${code} before serving: ${out}\n${err}`)))
  })
  return { child, url, stdout: () => out, stderr: () => err, exit }
}

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url)
  assert.equal(response.status, 200, `${url}: ${response.status}`)
  return (await response.json()) as T
}

/** Numbers shown in an element's text, e.g. "in 2,498/s · out 2,498/s" gives [2498, 2498]. */
function numbersIn(text: string): number[] {
  return [...text.matchAll(/\d[\d,]*(\.\d+)?/g)].map((m) => Number(m[0].replace(/,/g, '')))
}

describe('dashboard in headless Chromium', { timeout: 120_000 }, () => {
  let cli: ReturnType<typeof startCli>
  let base: string
  let context: BrowserContext
  let launching: Promise<BrowserContext> | undefined
  let page: Page
  let profile: string
  const consoleErrors: string[] = []

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get update && apt-get install -y chromium (.ci/run does this)`)
    ensureDashboardBuilt()
    mkdirSync(ARTIFACTS, { recursive: true })
    cli = startCli()
    profile = mkdtempSync(join(tmpdir(), 'weir-chromium-'))
    // The browser starts while weir run does; it is closed in after() even if weir run fails.
    launching = chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1440, height: 1250 },
    })
    ;[base, context] = await Promise.all([cli.url, launching])
    page = context.pages()[0] ?? (await context.newPage())
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
  }, { timeout: 60_000 })

  after(async () => {
    await (await launching?.catch(() => undefined))?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
    if (cli && cli.child.exitCode === null) {
      cli.child.kill('SIGTERM')
      await cli.exit
    }
  })

  it('shows the running job with its graph, live rates, checkpoint plots and watermarks', async () => {
    await page.goto(`${base}/`)
    await page.getByTestId('job-name').filter({ hasText: 'live-clicks' }).waitFor({ timeout: 20_000 })
    assert.equal(await page.getByTestId('job-link').count(), 1)

    const vertices = page.getByTestId('graph-vertex')
    await eventually('four vertices', async () => (await vertices.count()) === 4)
    assert.equal(await page.getByTestId('graph-edge').count(), 3)
    const names = await page.locator('[data-testid=graph-vertex] .vertex-name').allTextContents()
    assert.deepEqual(names, ['clicks', 'enrich', 'page-counts', 'sink'])

    // Real figures: the source's output rate and the enrich step's input rate are above zero.
    await eventually(
      'live rates in the graph',
      async () => {
        const source = numbersIn(await vertices.nth(0).getByTestId('vertex-rates').textContent() ?? '')
        const enrich = numbersIn(await vertices.nth(1).getByTestId('vertex-rates').textContent() ?? '')
        return source[0] > 0 && enrich[0] > 0
      },
      20_000,
    )
    for (const level of await vertices.evaluateAll((els) => els.map((e) => e.getAttribute('data-backpressure')))) assert.ok(['ok', 'low', 'high'].includes(level ?? ''))

    // The checkpoint plots are drawn once a checkpoint completed.
    const durationPlot = page.getByTestId('checkpoint-duration-plot')
    await eventually('a checkpoint in the plot', async () => Number(await durationPlot.getAttribute('data-points')) >= 1, 30_000, 250)
    assert.equal(await durationPlot.locator('canvas').count(), 1)
    assert.equal(await page.getByTestId('checkpoint-size-plot').locator('canvas').count(), 1)
    assert.ok(Number(await page.getByTestId('checkpoints-completed').textContent()) >= 1)
    assert.match((await page.getByTestId('checkpoint-latest').textContent()) ?? '', /latest: #\d+, [\d.]+ m?s, [\d.,]+ (B|KiB|MiB)/)

    // Watermarks per operator: event time follows the clock in this job.
    const rows = page.getByTestId('watermark-row')
    assert.equal(await rows.count(), 4)
    await eventually('watermarks shown', async () => /\d\d:\d\d:\d\d\.\d{3}/.test((await rows.nth(2).textContent()) ?? ''))

    // The subtasks of a vertex, on click.
    await vertices.nth(0).click()
    await page.getByTestId('vertex-panel').waitFor()
    assert.equal(await page.locator('[data-testid=vertex-panel] tbody tr').count(), 2)

    assert.equal(await page.getByTestId('exceptions-empty').count(), 1)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
  })

  it('triggers a savepoint from the button and shows it complete', async () => {
    await page.getByTestId('trigger-savepoint').click()
    const status = page.getByTestId('operation-status')
    await eventually('the savepoint to complete', async () => (await status.getAttribute('data-state')) === 'completed', 30_000, 200)
    assert.match((await status.textContent()) ?? '', /Savepoint \d+ completed at \S*savepoint/)
    const job = (await json<JobList>(`${base}/jobs`)).jobs[0]
    const stats = await json<CheckpointingStatistics>(`${base}/jobs/${job.id}/checkpoints`)
    assert.ok(stats.latest.savepoint, 'the API lists the savepoint')
    // The savepoint is plotted with the checkpoints.
    await eventually('two points in the plot', async () => Number(await page.getByTestId('checkpoint-duration-plot').getAttribute('data-points')) >= 2)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-savepoint.png'), fullPage: true })
  })

  it('cancels the job from the button; weir run ends and its logs are structured', async () => {
    const cancel = page.getByTestId('cancel-job')
    await cancel.click()
    assert.match((await cancel.textContent()) ?? '', /again/)
    await cancel.click()
    const code = await Promise.race([
      cli.exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`weir run did not end after the cancel:\n${cli.stderr()}`)), 30_000).unref()),
    ])
    assert.equal(code, 1, 'a cancelled job ends weir run with status 1')
    assert.match(cli.stderr(), /JOB_CANCELLED/)
    const logs = cli
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; component?: string; req?: { method: string; url: string } })
    assert.ok(logs.some((l) => l.msg === 'job started'))
    assert.ok(logs.some((l) => l.component === 'web' && l.req?.method === 'POST' && l.req.url.endsWith('/savepoints')), 'the savepoint request is logged')
    assert.ok(logs.some((l) => l.msg === 'cancelling job on request'))
    assert.ok(logs.some((l) => l.msg === 'job cancelled' && l.level === 40))
    // Polling GETs are not logged one by one.
    assert.ok(!logs.some((l) => l.req?.method === 'GET'))
    assert.deepEqual(consoleErrors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), [])
  })
})
