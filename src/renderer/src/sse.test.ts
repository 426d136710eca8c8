import { describe, expect, it } from 'vitest';
import { streamEvents, type StreamState } from './event-stream.js';
import { SseParser, type SseMessage } from './sse-parser.js';

describe('SseParser', () => {
  it('parses events split across chunks, with ids, types, multi-line data and comments', () => {
    const parser = new SseParser();
    expect(parser.push('retry: 2000\n\n: heartbeat\n\nid: 4\nevent: sta')).toEqual([]);
    expect(parser.push('tus\ndata: {"a":1}\n\nid: 5\r\ndata: x\r\ndata: y\r\n\r')).toEqual([
      { id: '4', event: 'status', data: '{"a":1}' },
    ]);
    expect(parser.push('\n')).toEqual([{ id: '5', event: 'message', data: 'x\ny' }]);
    expect(parser.lastEventId).toBe('5');
    expect(parser.retryMs).toBe(2000);
  });

  it('ignores unknown fields and events without data', () => {
    const parser = new SseParser();
    expect(parser.push('foo: bar\nevent: x\n\ndata\n\n')).toEqual([{ id: null, event: 'message', data: '' }]);
  });
});

function sseResponse(text: string, status = 200): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    }),
    { status, headers: { 'Content-Type': 'text/event-stream' } },
  );
}

describe('streamEvents', () => {
  it('sends the token, and resumes after the last event id when the connection drops', async () => {
    const requests: Headers[] = [];
    const messages: SseMessage[] = [];
    const states: StreamState[] = [];
    const controller = new AbortController();
    const answers = [
      () => sseResponse('retry: 1\n\nid: 1\nevent: status\ndata: {}\n\nid: 2\nevent: log\ndata: {}\n\n'),
      () => Promise.reject(new TypeError('network down')),
      () => sseResponse('id: 3\nevent: status\ndata: {}\n\n'),
    ];
    const fetchImpl: typeof fetch = (_url, init) => {
      requests.push(new Headers(init?.headers));
      const next = answers.shift();
      if (!next) {
        controller.abort();
        return Promise.reject(new DOMException('aborted', 'AbortError'));
      }
      return Promise.resolve(next());
    };
    await streamEvents({
      url: '/api/v1/events',
      token: 'tok',
      fetch: fetchImpl,
      signal: controller.signal,
      onMessage: (message) => messages.push(message),
      onState: (state) => states.push(state),
    });
    expect(messages.map((message) => message.id)).toEqual(['1', '2', '3']);
    expect(requests[0]?.get('Authorization')).toBe('Bearer tok');
    expect(requests[0]?.has('Last-Event-ID')).toBe(false);
    expect(requests[1]?.get('Last-Event-ID')).toBe('2');
    expect(requests[2]?.get('Last-Event-ID')).toBe('2');
    expect(requests[3]?.get('Last-Event-ID')).toBe('3');
    expect(states[0]).toBe('connecting');
    expect(states).toContain('open');
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('closed');
  });

  it('stops on 401 and tells the caller, and stops after a normal end when asked to', async () => {
    let unauthorized = 0;
    await streamEvents({
      url: '/x',
      token: null,
      fetch: () => Promise.resolve(new Response('{}', { status: 401 })),
      signal: new AbortController().signal,
      onMessage: () => {},
      onUnauthorized: () => unauthorized++,
    });
    expect(unauthorized).toBe(1);

    let calls = 0;
    const seen: string[] = [];
    await streamEvents({
      url: '/x',
      token: null,
      fetch: () => {
        calls++;
        return Promise.resolve(sseResponse('id: 9\nevent: status\ndata: {"status":"Succeeded"}\n\n'));
      },
      signal: new AbortController().signal,
      reconnectOnEnd: false,
      onMessage: (message) => seen.push(message.data),
    });
    expect(calls).toBe(1);
    expect(seen).toEqual(['{"status":"Succeeded"}']);

    calls = 0;
    await streamEvents({
      url: '/x',
      token: null,
      fetch: () => {
        calls++;
        return Promise.resolve(new Response('{}', { status: 404 }));
      },
      signal: new AbortController().signal,
      onMessage: () => {},
    });
    expect(calls).toBe(1);
  });
});
