// A bare graphql-transport-ws client: every message is queued so none is missed,
// and the close code and reason are kept, for protocol-level assertions.
import WebSocket from 'ws';

export enum MessageType {
  ConnectionInit = 'connection_init',
  ConnectionAck = 'connection_ack',
  Subscribe = 'subscribe',
  Next = 'next',
  Error = 'error',
  Complete = 'complete',
}

export interface RawMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

export interface RawSocket {
  send(message: RawMessage): void;
  /** Any text, for protocol violations. */
  sendRaw(text: string): void;
  /** The next message not yet taken. */
  nextMessage(timeoutMs?: number): Promise<RawMessage>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function openRawSocket(url: string): Promise<RawSocket> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const queue: RawMessage[] = [];
  const waiters: Array<(message: RawMessage) => void> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as RawMessage;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (text) => socket.send(text),
    nextMessage: (timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const queued = queue.shift();
        if (queued) return resolve(queued);
        const timer = setTimeout(() => reject(new Error('no message within timeout')), timeoutMs);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
    closed,
    close: () => socket.close(),
  };
}

/** A raw socket whose connection_init (with `token`) the server has acknowledged. */
export async function openAcknowledgedSocket(url: string, token: string): Promise<RawSocket> {
  const socket = await openRawSocket(url);
  socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${token}` } });
  const answer = await socket.nextMessage();
  if (answer.type !== MessageType.ConnectionAck) throw new Error(`expected connection_ack, got ${JSON.stringify(answer)}`);
  return socket;
}
