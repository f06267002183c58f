#!/usr/bin/env node
import { main } from './main.js';

// exitCode, not exit(): a piped stdout must be flushed before the process ends.
process.exitCode = await main(process.argv);
