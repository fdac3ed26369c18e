// Runs before every test file (vitest setupFiles): kafkajs gets the gateway's patches exactly as in production,
// whatever a test file or helper imports first. Importing kafkajs before the patches makes them throw.
import '../../src/kafka/kafkajs-patches.js';
