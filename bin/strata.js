#!/usr/bin/env node
// The local CLI (`npx strata plan|build`), from the committed bundle.
import '../dist/cli/index.js'
