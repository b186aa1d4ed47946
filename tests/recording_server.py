"""A tiny OpenAI-compatible HTTP server on loopback that records what it was sent (path and
Authorization header): the attacker's endpoint, or a victim's server, in the security tests. It
answers a completion by default; `reply` may make it answer an error (with a body that echoes the
request's Authorization header, as a careless server would) or a redirect."""
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(text: str) -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "text": text,
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


@dataclass
class Recorder:
    port: int = 0
    seen: list = field(default_factory=list)  # (method, path, Authorization header or "")
    bodies: list = field(default_factory=list)  # each request's JSON body (what a prompt test reads)
    reply: tuple | None = None  # (status, headers, body) instead of a completion; body may hold {auth}
    text: str = "Step 0: correct\n\\boxed{-1}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def auths(self) -> list[str]:
        return [a for _, _, a in self.seen]


def serve(recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                recorder.bodies.append(json.loads(raw) if raw else None)
            except ValueError:
                recorder.bodies.append(raw)
            auth = self.headers.get("Authorization", "")
            recorder.seen.append((self.command, self.path, auth))
            if recorder.reply is None:
                status, headers, body = 200, {}, json.dumps(completion(recorder.text))
            else:
                status, headers, body = recorder.reply
                body = body.replace("{auth}", auth)
            data = body.encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", recorder.port), Handler)
    recorder.port = httpd.server_port
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
