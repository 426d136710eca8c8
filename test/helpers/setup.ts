// libp2p calls Promise.withResolvers, which Node 20 lacks; the same polyfill the node's entry installs.
import '../../src/host/polyfills.js';

import { afterAll, afterEach } from 'vitest';
import { assertContractHeld } from './contract.js';

// These machines set UseSharedCompilation=false, which starts a fresh csc for every project. A
// developer machine's dotnet keeps the compiler server warm; so do the tests (every node and plain
// build they start inherits this), which makes each real build about 3× faster to compile.
// `.ci/run` shuts the server down at the end.
process.env.UseSharedCompilation = 'true';

// Every response a test got through api()/apiFetch() must match the OpenAPI spec (test/helpers/contract.ts).
afterEach(assertContractHeld);
afterAll(assertContractHeld);
