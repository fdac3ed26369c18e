// Moved to test/helpers/clients.ts (the example clients now live in examples/clients/). This re-export keeps test
// files written before the move working until they are merged; then import '../helpers/clients.js' and delete it.
export * from '../helpers/clients.js';
