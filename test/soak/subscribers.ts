// The soak's client side, in a process of its own so its sockets do not count
// in the gateway's memory. Reads commands on stdin: "open N" opens N sockets,
// each with one idle usageTicks subscription, and answers "opened N" once every
// one is acknowledged; "close" closes them all and answers "closed".
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const url = process.env.SOAK_WS_URL!;
const authorization = `Bearer ${process.env.SOAK_TOKEN!}`;
let sockets: WebSocket[] = [];

function openOne(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type !== 'connection_ack') return;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { usageTicks { providerId tokensUsedToday } }' } }));
      resolve(socket);
    });
  });
}

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(' ');
  if (command === 'open') {
    for (let opened = 0; opened < Number(count); opened += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, Number(count) - opened) }, openOne))));
    }
    console.log(`opened ${sockets.length}`);
  } else if (command === 'close') {
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise((resolve) => {
            socket.once('close', resolve);
            socket.close();
          }),
      ),
    );
    sockets = [];
    console.log('closed');
  }
}
