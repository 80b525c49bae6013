#!/usr/bin/env node
// The local CLI (`strata plan|build`), from the committed bundle: installed from this package
// (`npm install -g <its tarball>`), never fetched by the bare name `strata`, which is not ours.
import '../dist/cli/index.js'
