// `npm run console:build` (after codegen): the console bundled into dist/console/.
import path from 'node:path';
import { buildConsole } from '../console/build.js';
import { CONSOLE_DIR } from '../console/serve.js';

const written = await buildConsole();
const bundle = written.find((entry) => entry.file === 'app.js');
console.log(`console built in ${path.relative(process.cwd(), CONSOLE_DIR)} (app.js ${Math.round((bundle?.bytes ?? 0) / 1024)} KiB)`);
