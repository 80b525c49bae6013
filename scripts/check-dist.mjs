// Fails when dist/ differs from a fresh `npm run package` of the sources.
import { execFileSync } from 'node:child_process'

execFileSync('npm', ['run', '--silent', 'package'], { stdio: ['ignore', 'ignore', 'inherit'] })
const diff = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { encoding: 'utf8' })
if (diff.trim()) {
  console.error(`dist/ differs from the sources; run \`npm run package\` and commit dist/:\n${diff}`)
  process.exit(1)
}
console.log('dist/ matches the sources')
