// The HTTP server's requests: probes (/health, /ready), /metrics, the console's files, the CSV export, the
// OpenAI-compatible door (/v1/chat/completions, /v1/embeddings, /v1/models), the Anthropic Messages door
// (/v1/messages), and
// GraphQL through Yoga once the body's declared size is within bounds. WebSocket upgrades go elsewhere (graphql/websocket.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticate } from '../auth/authenticate.js';
import type { Config } from '../config.js';
import { CONSOLE_PATH, serveConsole } from '../console/serve.js';
import type { Database } from '../db/client.js';
import { ANTHROPIC_MESSAGES_PATH, createAnthropicDoor } from '../doors/anthropic/anthropic.door.js';
import { createOpenAiDoor, isOpenAiPath } from '../doors/openai/openai.door.js';
import type { OperationQuota } from '../graphql/operation-quota.js';
import type { Yoga } from '../graphql/yoga.js';
import type { Logger } from '../logging/logger.js';
import { exportUsageCsv } from '../modules/usage/csv-export.js';
import type { PubSubBus } from '../pubsub/pubsub.js';
import type { Services } from '../services.js';

export interface RouterDeps {
  config: Config;
  db: Database;
  bus: PubSubBus;
  services: Services;
  logger: Logger;
  authenticate: Authenticate;
  yoga: Yoga;
  operationQuota: OperationQuota;
  /** Aborted when the server starts stopping: /ready answers 503 from then on. */
  shutdownSignal: AbortSignal;
}

export function createRouter({ config, db, bus, services, logger, authenticate, yoga, operationQuota, shutdownSignal }: RouterDeps) {
  const openAiDoor = createOpenAiDoor({ services, authenticate, logger, maxRequestBodyBytes: config.maxRequestBodyBytes, operationQuota });
  const anthropicDoor = createAnthropicDoor({ authenticate, services, logger, maxBodyBytes: config.maxRequestBodyBytes, operationQuota });
  return async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') {
      if (shutdownSignal.aborted) return sendJson(res, 503, { status: 'shutting down' });
      try {
        await db.ping();
        // A lost Redis does not stop this instance serving (only events between instances wait): still ready, and said.
        return sendJson(res, 200, { status: 'ready', database: db.embedded ? 'pglite' : 'postgres', pubsub: bus.transport, bus: bus.connected() ? 'up' : 'down' });
      } catch {
        return sendJson(res, 503, { status: 'database unreachable' });
      }
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
      return void res.end(await services.metrics.registry.metrics());
    }
    if (config.consoleEnabled && (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`))) {
      return serveConsole(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'console file not served');
        if (!res.headersSent) sendJson(res, 500, { status: 'console file not served' });
      });
    }
    if (path === '/export/usage.csv') return exportUsageCsv(req, res, { authenticate, usage: services.usage, logger });
    if (path === ANTHROPIC_MESSAGES_PATH) return anthropicDoor(req, res);
    const bodyProblem = requestBodyProblem(req, config.maxRequestBodyBytes);
    if (isOpenAiPath(path)) return openAiDoor(req, res, path, bodyProblem);
    if (bodyProblem) return sendJson(res, bodyProblem.status, { errors: [{ message: bodyProblem.message, extensions: { code: 'BAD_USER_INPUT' } }] });
    return yoga.requestListener(req, res);
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Bodies are bounded before anything reads them: a declared length over the bound, or no length at all. */
function requestBodyProblem(req: IncomingMessage, max: number): { status: number; message: string } | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'A Content-Length header is required' } : undefined;
  }
  if (Number(length) > max) return { status: 413, message: `Request body exceeds ${max} bytes` };
  return undefined;
}
