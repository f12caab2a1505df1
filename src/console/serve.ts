// Serves the built console (dist/console/) at /console/: a handful of static
// files, no directory walking, headers that keep the page to its own origin.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

export const CONSOLE_PATH = '/console';
/** Where `npm run console:build` writes the console. */
export const CONSOLE_DIR = path.resolve(import.meta.dirname, '../../dist/console');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  // The page talks only to this origin (GraphQL over fetch and WebSocket) and runs only its own bundle.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Answers a request under /console from the build in `dir`. */
export async function serveConsole(req: IncomingMessage, res: ServerResponse, dir = CONSOLE_DIR): Promise<void> {
  const pathname = (req.url ?? '/').split('?')[0];
  if (pathname === CONSOLE_PATH) return void res.writeHead(308, { location: `${CONSOLE_PATH}/` }).end();
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  const name = pathname.slice(CONSOLE_PATH.length + 1) || 'index.html';
  // One level of plain file names: nothing can climb out of the build directory.
  const type = CONTENT_TYPES[path.extname(name)];
  if (!/^[\w-]+(\.[\w-]+)+$/.test(name) || !type) return sendText(res, 404, 'Not found');
  let body: Buffer;
  try {
    body = await readFile(path.join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (name === 'index.html') return sendText(res, 503, 'The console is not built: run `npm run console:build` (npm start does it).');
    return sendText(res, 404, 'Not found');
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.byteLength });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}
