// libp2p calls Promise.withResolvers, which Node 20 lacks; the same polyfill the node's entry installs.
import '../../src/host/polyfills.js';

import { afterAll, afterEach } from 'vitest';
import { assertContractHeld } from './contract.js';

// Every response a test got through api()/apiFetch() must match the OpenAPI spec (test/helpers/contract.ts).
afterEach(assertContractHeld);
afterAll(assertContractHeld);
