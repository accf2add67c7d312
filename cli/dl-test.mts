import { createServer } from 'node:http';
import { prepareTarget } from '/work/wt-cli/cli/src/save-video.ts';
const server = createServer((req, res) => { const b = Buffer.alloc(100000, 7); res.writeHead(200, {'content-length': String(b.length), 'content-type':'video/mp4'}); res.end(b); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as any).port;
const res = await fetch(`http://127.0.0.1:${port}/`);

const t = await prepareTarget('/tmp/dl-out.mp4');
console.log('prepared');
console.log(await t.write(res)); server.close();
