// `bench:peers`'s floor: the least a Node proxy can do. It forwards each
// request to the upstream (argument 1, an origin such as http://127.0.0.1:4010)
// on kept-alive connections and pipes the answer back as it comes, reading
// nothing. What a gateway adds beyond this is its own work.
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const forwarded = request(
    { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forwarded.on('error', () => res.destroy());
  req.pipe(forwarded);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`floor proxy listening on http://127.0.0.1:${port}`);
});
process.once('SIGTERM', () => process.exit(0));
