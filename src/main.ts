import * as core from '@actions/core'

export async function run(): Promise<void> {
  core.info('strata: not wired yet')
}
