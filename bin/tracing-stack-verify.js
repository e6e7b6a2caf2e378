#!/usr/bin/env node
'use strict';
// Runs the TypeScript verifier through tsx (a runtime dependency), so no build step is needed.
require('tsx/cjs');
require('../verifier/cli.ts').main();
