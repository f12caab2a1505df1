// `npm run simulator -- [port]`: the simulated providers on that port (default 4010).
import { startSimulator } from '../simulator/simulator.js';

const port = Number(process.argv[2] ?? 4010);
let simulator;
try {
  simulator = await startSimulator(port);
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  console.error(`port ${port} is in use: run npm run simulator -- <another port>`);
  process.exit(1);
}
console.log(`simulator listening on ${simulator.url}`);
for (const [name, url] of Object.entries(simulator.baseUrls)) console.log(`  ${name.padEnd(10)} ${url}`);
const stop = () => void simulator.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
