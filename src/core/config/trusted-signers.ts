// The top-level `trusted-signers` (SPEC 1, 4b): workflow identities whose attestations `reuse: verified`
// accepts besides Strata's reusable workflow and the default branch's own workflows.
import type { Entry, YamlReader } from './yaml-reader.js'

const SIGNER =
  /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/\.github\/workflows\/[A-Za-z0-9_./-]+\.ya?ml@[A-Za-z0-9_./-]+$/

/** Each entry must read `owner/repo/.github/workflows/file.yml@ref`. */
export function readTrustedSigners(r: YamlReader, e: Entry): string[] {
  const list = r.strings(e, 'the config', '[acme/release/.github/workflows/images.yml@refs/heads/main]')
  r.seqItems(e).forEach((n, i) => {
    if (!SIGNER.test(list[i]))
      r.fail(
        n,
        `"trusted-signers" entry "${list[i]}" is not a workflow identity`,
        'write owner/repo/.github/workflows/file.yml@ref, e.g. acme/release/.github/workflows/images.yml@refs/heads/main'
      )
  })
  return list
}
