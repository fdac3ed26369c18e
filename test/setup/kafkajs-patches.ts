// Runs before every test file (vitest setupFiles): kafkajs gets the gateway's patches exactly as in production,
// whatever a test file or helper imports first. Importing this module applies them, so a test-side module that loads
// kafkajs itself (the global set-up, the helpers) imports this first; loading kafkajs before it makes them throw.
import { applyKafkajsPatches } from '../../src/kafka/kafkajs-patches.js';

applyKafkajsPatches();
