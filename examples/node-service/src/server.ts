// A tiny HTTP service: GET /?name=x answers "hello, x".
// @ts-expect-error: the example keeps its dependencies to TypeScript alone, without @types/node.
import { createServer } from "node:http";
import { greet } from "./greeting.js";

interface Request {
  url?: string;
}
interface Response {
  end(body: string): void;
}

const port = 8080;
createServer((request: Request, response: Response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  response.end(greet(url.searchParams.get("name") ?? "") + "\n");
}).listen(port);
