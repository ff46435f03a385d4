import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'

const root = mkdtempSync(join(tmpdir(), 'weir-cli-'))
after(() => rmSync(root, { recursive: true, force: true }))

function weir(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/weir.js', ...args], { encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Command paths listed by a help text's "Commands:" section (without `help`). */
function commandsOf(help: string): string[] {
  const section = help.split('Commands:')[1] ?? ''
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help')
}

test('weir --help lists the commands, and every command and subcommand has its own --help', () => {
  const top = weir('--help')
  assert.equal(top.code, 0)
  assert.match(top.stdout, /Usage: weir/)
  const commands = commandsOf(top.stdout)
  assert.ok(commands.includes('run') && commands.includes('savepoint'), commands.join(' '))
  for (const command of commands) {
    const help = weir(command, '--help')
    assert.equal(help.code, 0, `weir ${command} --help exited ${help.code}: ${help.stderr}`)
    assert.match(help.stdout, new RegExp(`Usage: weir ${command}`))
    for (const sub of commandsOf(help.stdout)) {
      const subHelp = weir(command, sub, '--help')
      assert.equal(subHelp.code, 0, `weir ${command} ${sub} --help exited ${subHelp.code}`)
      assert.match(subHelp.stdout, new RegExp(`Usage: weir ${command} ${sub}`))
    }
  }
})

test('weir run prints progress and a summary, and exits 0', () => {
  const input = join(root, 'words.txt')
  writeFileSync(input, Array.from({ length: 20_000 }, (_, i) => `alpha beta w${i % 50}`).join('\n'))
  const r = weir('run', 'examples/word-count.ts', '--log-level', 'warn', input, join(root, 'out'))
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /Job 'word-count' finished in [\d.]+ s/)
  assert.match(r.stdout, /count\s+in\s+60,000\s+out\s+52/)
})

test('a bad job path is one clear line on stderr and exit code 1', () => {
  const r = weir('run', 'examples/no-such-job.ts')
  assert.equal(r.code, 1)
  assert.match(r.stderr, /JOB_NOT_FOUND: Job module 'examples\/no-such-job.ts' does not exist/)
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('weir:')).length, 1)
})
