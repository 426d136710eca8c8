// libp2p calls Promise.withResolvers, which Node 20 lacks; the same polyfill the node's entry installs.
import '../../src/host/polyfills.js';
