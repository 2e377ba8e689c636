// Serves the built frontend from ./public and the greeting API under /api/.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { greet } from "./greet.mjs";

const types = { ".html": "text/html", ".css": "text/css", ".js": "text/javascript" };
createServer(async (request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname === "/api/greet") {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(greet(url.searchParams.get("name"))));
    return;
  }
  const path = normalize(url.pathname === "/" ? "/index.html" : url.pathname);
  try {
    const body = await readFile(join("public", path));
    response.setHeader("content-type", types[extname(path)] ?? "application/octet-stream");
    response.end(body);
  } catch {
    response.statusCode = 404;
    response.end("not found\n");
  }
}).listen(8080);
