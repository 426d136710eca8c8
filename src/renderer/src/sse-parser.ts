/** One Server-Sent Event as the node sends it (`id:`, `event:`, `data:`). */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * An incremental parser of the `text/event-stream` format (WHATWG HTML §9.2.6): feed it chunks
 * as they arrive, get whole events back. Remembers the last event id (for `Last-Event-ID` on
 * reconnect) and the server's `retry:` advice.
 */
export class SseParser {
  lastEventId: string | null = null;
  retryMs: number | null = null;
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  private sawField = false;

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    let newline: RegExpExecArray | null;
    const lineEnd = /\r\n|\r|\n/g;
    let consumed = 0;
    while ((newline = lineEnd.exec(this.buffer)) !== null) {
      // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
      if (newline[0] === '\r' && newline.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(consumed, newline.index);
      consumed = newline.index + newline[0].length;
      const message = this.line(line);
      if (message) messages.push(message);
    }
    this.buffer = this.buffer.slice(consumed);
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      if (!this.sawField) return null;
      const message: SseMessage | null =
        this.data.length > 0
          ? { id: this.id, event: this.event || 'message', data: this.data.join('\n') }
          : null;
      if (message && this.id !== null) this.lastEventId = this.id;
      this.data = [];
      this.event = '';
      this.sawField = false;
      return message;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.sawField = true;
        break;
      case 'event':
        this.event = value;
        this.sawField = true;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.id = value;
          this.lastEventId = value;
        }
        this.sawField = true;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
    return null;
  }
}
